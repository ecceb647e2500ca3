//! A short-lived lock per (cluster, user, group) across replicas, so two replicas that
//! accept the same request at the same moment cannot both create a session.
//!
//! The lock is a Lease named after a hash of the triple, in the server's namespace.
//! Creating an object is atomic in Kubernetes, so exactly one creator gets it; the
//! other answers 409. A holder that crashed leaves the Lease behind; it is taken over
//! once it is older than [`LOCK_SECONDS`].

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::{Api, Client};

/// How long a lock is honoured without being released.
pub const LOCK_SECONDS: i32 = 30;

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
                    labels: Some(
                        [(
                            "app.kubernetes.io/component".to_owned(),
                            "session-creation-lock".to_owned(),
                        )]
                        .into(),
                    ),
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
                    }));
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let Some(existing) = api.get_opt(name).await? else {
                        continue;
                    };
                    let acquired = existing
                        .spec
                        .as_ref()
                        .and_then(|s| s.acquire_time.as_ref())
                        .map(|t| t.0);
                    let stale = acquired
                        .is_none_or(|t| now.duration_since(t).as_secs() > i64::from(LOCK_SECONDS));
                    if !stale {
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
                        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Releases the lock (best effort: a lock left behind expires).
    pub async fn release(self) {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: self.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        if let Err(e) = self.api.delete(&self.name, &dp).await {
            tracing::warn!(lock = %self.name, error = %e, "releasing the session creation lock failed");
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
}
