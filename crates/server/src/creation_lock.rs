//! A short-lived lock per (cluster, user, group) across replicas, so two replicas that
//! accept the same request at the same moment cannot both create a session.
//!
//! The lock is a Lease named after a hash of the triple, in the server's namespace.
//! Creating an object is atomic in Kubernetes, so exactly one creator gets it; the
//! other answers 409. A holder that crashed leaves the Lease behind; it is taken over
//! once it is older than [`LOCK_SECONDS`]. A lock whose request was dropped before
//! its release (the client went away) is deleted in the background, and the leader
//! deletes every lock left behind past its validity ([`collect_loop`]), so locks never
//! pile up.

use crate::hub_answer::{is_conflict, is_not_found};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions};
use kube::{Api, Client};

/// How long a lock is honoured without being released.
pub const LOCK_SECONDS: i32 = 30;

/// The label that marks a session creation lock.
pub const LOCK_LABEL: (&str, &str) = ("app.kubernetes.io/component", "session-creation-lock");

/// How often the leader looks for locks left behind.
pub const COLLECT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// The name of the lock of one (cluster, user, group) triple: a stable 64-bit FNV-1a
/// hash, so the name is a valid object name whatever the inputs are. A collision only
/// makes two unrelated requests take turns.
pub fn lock_name(cluster: &str, user: &str, group: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [cluster, user, group] {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("breakglass-create-{hash:016x}")
}

/// A held lock; release it with [`CreationLock::release`].
pub struct CreationLock {
    api: Api<Lease>,
    name: String,
    uid: Option<String>,
    released: bool,
}

impl CreationLock {
    /// Takes the lock, or returns `None` when another creation holds it.
    pub async fn acquire(
        hub: &Client,
        namespace: &str,
        holder: &str,
        name: &str,
    ) -> Result<Option<Self>, kube::Error> {
        let api: Api<Lease> = Api::namespaced(hub.clone(), namespace);
        for _ in 0..2 {
            let now = jiff::Timestamp::now();
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    labels: Some([(LOCK_LABEL.0.to_owned(), LOCK_LABEL.1.to_owned())].into()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(holder.to_owned()),
                    acquire_time: Some(MicroTime(now)),
                    lease_duration_seconds: Some(LOCK_SECONDS),
                    ..LeaseSpec::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    return Ok(Some(Self {
                        api,
                        name: name.to_owned(),
                        uid: created.metadata.uid,
                        released: false,
                    }));
                }
                Err(e) if is_conflict(&e) => {
                    let Some(existing) = api.get_opt(name).await? else {
                        continue;
                    };
                    if !is_stale(&existing, now) {
                        return Ok(None);
                    }
                    tracing::warn!(lock = name, "taking over a stale session creation lock");
                    let dp = DeleteParams {
                        preconditions: Some(Preconditions {
                            uid: existing.metadata.uid.clone(),
                            resource_version: existing.metadata.resource_version.clone(),
                        }),
                        ..DeleteParams::default()
                    };
                    match api.delete(name, &dp).await {
                        Ok(_) => continue,
                        Err(e) if is_conflict(&e) || is_not_found(&e) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Releases the lock (best effort: a lock left behind is collected by the leader).
    pub async fn release(mut self) {
        self.released = true;
        delete_own(&self.api, &self.name, self.uid.clone()).await;
    }
}

impl Drop for CreationLock {
    /// A request dropped while holding the lock (client gone) still releases it.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (api, name, uid) = (self.api.clone(), self.name.clone(), self.uid.clone());
            runtime.spawn(async move { delete_own(&api, &name, uid).await });
        }
    }
}

/// Deletes the lock this creator made (uid precondition: never a successor's lock).
async fn delete_own(api: &Api<Lease>, name: &str, uid: Option<String>) {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => {}
        Err(e) if is_conflict(&e) || is_not_found(&e) => {}
        Err(e) => {
            tracing::warn!(lock = %name, error = %e, "releasing the session creation lock failed");
        }
    }
}

/// True when a lock is past its validity (or carries no acquire time): nobody may rely
/// on it any more, so it may be taken over or deleted.
pub fn is_stale(lease: &Lease, now: jiff::Timestamp) -> bool {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.acquire_time.as_ref())
        .map(|t| t.0)
        .is_none_or(|t| now.duration_since(t).as_secs() > i64::from(LOCK_SECONDS))
}

/// Leader task: every [`COLLECT_INTERVAL`], deletes the stale locks in `namespace`
/// (each on the resourceVersion that was listed, so a lock re-taken meanwhile stays).
pub async fn collect_loop(hub: Client, namespace: String) {
    let api: Api<Lease> = Api::namespaced(hub, &namespace);
    let selector = format!("{}={}", LOCK_LABEL.0, LOCK_LABEL.1);
    let mut tick = tokio::time::interval(COLLECT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let listed = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing session creation locks failed");
                continue;
            }
        };
        let now = jiff::Timestamp::now();
        for lease in listed.items.iter().filter(|l| is_stale(l, now)) {
            let name = lease.metadata.name.clone().unwrap_or_default();
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: lease.metadata.uid.clone(),
                    resource_version: lease.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => tracing::info!(lock = %name, "deleted a stale session creation lock"),
                Err(e) if is_conflict(&e) || is_not_found(&e) => {}
                Err(e) => tracing::warn!(lock = %name, error = %e, "deleting a stale lock failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_valid_and_distinct() {
        let a = lock_name("target-a", "alice@example.com", "admins");
        assert_eq!(a, lock_name("target-a", "alice@example.com", "admins"));
        assert_eq!(a.len(), "breakglass-create-".len() + 16);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(lock_name("ab", "c", "g"), lock_name("a", "bc", "g"));
        assert_ne!(a, lock_name("target-b", "alice@example.com", "admins"));
    }

    #[test]
    fn only_locks_past_their_validity_are_stale() {
        let now = jiff::Timestamp::now();
        let at = |secs: i64| Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                acquire_time: Some(MicroTime(now - jiff::SignedDuration::from_secs(secs))),
                ..LeaseSpec::default()
            }),
        };
        assert!(!is_stale(&at(0), now));
        assert!(!is_stale(&at(i64::from(LOCK_SECONDS)), now));
        assert!(is_stale(&at(i64::from(LOCK_SECONDS) + 1), now));
        assert!(is_stale(&Lease::default(), now));
    }
}
