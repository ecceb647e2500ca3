//! `/api/breakglassSessions`: request ([`create`]), list and read ([`read`]), and decide
//! on sessions ([`decide`]). Who the caller is comes from [`crate::identity`] only.

use std::sync::Arc;
use std::time::Duration;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionState as SessionState,
};
use breakglass_core::approval::{self, ClusterPolicy, Denial};
use breakglass_core::selector::is_dns1123_subdomain;
use jiff::Timestamp;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::sync::broadcast;

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::identity::{self, Me};
use crate::session_writes;
use crate::store::{ClusterLookup, Mirror};

pub mod create;
pub mod decide;
pub mod read;

pub use create::{create, create_alias};
pub use decide::{approve, cancel, drop_session, reject, withdraw};
pub use read::{get, list};

pub use breakglass_api::rest::sessions::{CreateSessionRequest, DecisionRequest, ListQuery};

/// What a caller does to an existing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An approver grants the request.
    Approve,
    /// An approver (or the requester) refuses the pending request.
    Reject,
    /// The requester takes back a pending request.
    Withdraw,
    /// The requester ends their approved or scheduled session.
    Drop,
    /// An approver ends an approved or scheduled session.
    Cancel,
}

impl Action {
    /// The path segment and the word used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Withdraw => "withdraw",
            Self::Drop => "drop",
            Self::Cancel => "cancel",
        }
    }
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

pub(crate) fn state_of(s: &BreakglassSession) -> Option<SessionState> {
    s.status.as_ref().and_then(|st| st.state)
}

/// Refuses a session name that is not a Kubernetes object name before it reaches a
/// hub request (a `,` or `=` would otherwise change a field selector).
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    if is_dns1123_subdomain(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(64).collect();
    Err(ApiError::BadRequest(format!(
        "invalid session name {shown:?}: a session name is a Kubernetes object name \
         (at most 253 characters of a-z, 0-9, '-' and '.', starting and ending with a \
         letter or digit)"
    )))
}

/// How long a name the synced mirror does not hold is awaited on its change feed before
/// the answer is 404: covers a session created a moment ago (here or on another
/// replica) whose watch event has not arrived yet, without asking the hub.
const MIRROR_GRACE: Duration = Duration::from_millis(500);

/// A session by name, from the mirror. Once the mirror is synced its "not found" is
/// trusted (after a short wait for a just-created session): an unknown name never
/// becomes a hub request. Only before the first sync is the hub asked.
pub async fn find(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    find_in(&app.stores.sessions, &app.hub, name, None).await
}

/// An object of a session kind by name (and, when given, namespace) from `mirror`, with
/// the same trust in the synced mirror as [`find`]. Shared by escalation and debug
/// sessions.
pub(crate) async fn find_in<K>(
    mirror: &Mirror<K>,
    hub: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<K, ApiError>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    validate_name(name)?;
    let in_namespace = |found: Vec<Arc<K>>| -> Vec<Arc<K>> {
        match namespace {
            Some(ns) => found
                .into_iter()
                .filter(|s| s.meta().namespace.as_deref() == Some(ns))
                .collect(),
            None => found,
        }
    };
    let several = || {
        ApiError::conflict(format!(
            "several sessions are named {name:?}; session names must be unique"
        ))
    };
    let not_found = || ApiError::NotFound(format!("session {name:?} not found"));
    let one = |found: Vec<Arc<K>>| {
        let mut found = in_namespace(found);
        if found.len() > 1 {
            return Err(several());
        }
        Ok(found.pop().map(|s| (*s).clone()))
    };
    if mirror.is_synced() {
        // Subscribe before looking, so that an arrival in between is not missed.
        let mut changes = mirror.subscribe();
        if let Some(s) = one(mirror.by_name(name))? {
            return Ok(s);
        }
        let arrived = tokio::time::timeout(MIRROR_GRACE, async {
            loop {
                match changes.recv().await {
                    Ok(c) if c.deleted || (!c.name.is_empty() && c.name != name) => {}
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(s) = one(mirror.by_name(name))? {
                            return Ok::<_, ApiError>(Some(s));
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(None),
                }
            }
        })
        .await;
        return match arrived {
            Ok(found) => found?.ok_or_else(not_found),
            Err(_) => Err(not_found()),
        };
    }
    let api: Api<K> = Api::all(hub.clone());
    let items = api
        .list(&ListParams::default().fields(&format!("metadata.name={name}")))
        .await?
        .items;
    one(items.into_iter().map(Arc::new).collect())?.ok_or_else(not_found)
}

/// The latest version of a session from the hub (for decisions, which must not act on
/// a stale copy).
async fn fresh(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    let cached = find(app, name).await?;
    let api = session_writes::api_for(&app.hub, &cached);
    api.get_opt(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session {name:?} not found")))
}

fn cluster_policy(lookup: &ClusterLookup) -> ClusterPolicy<'_> {
    match lookup {
        ClusterLookup::Found(cc) => ClusterPolicy::Found(&cc.spec),
        ClusterLookup::Missing => ClusterPolicy::Missing,
        ClusterLookup::Ambiguous => ClusterPolicy::Ambiguous,
    }
}

/// The caller's relation to sessions: owner (by [`identity::Person`]) and approver (by
/// verified e-mail and groups). Built once per request so that a list checks every
/// session against one copy of the escalations.
struct Relation<'a> {
    app: &'a App,
    me: Me<'a>,
    caller: &'a Identity,
    groups: Vec<String>,
    escalations: Vec<Arc<BreakglassEscalation>>,
}

impl<'a> Relation<'a> {
    fn new(app: &'a App, caller: &'a Identity) -> Self {
        Self {
            app,
            me: Me::new(caller, &app.config, &app.stores),
            caller,
            groups: identity::groups(app.prefixes(), caller),
            escalations: app.stores.escalations.all(),
        }
    }

    /// True when the caller requested `session`.
    fn owns(&self, session: &BreakglassSession) -> bool {
        self.me.owns(session)
    }

    /// Whether the caller may approve (reject, cancel) `session`.
    fn approver(&self, session: &BreakglassSession) -> Result<(), Denial> {
        let prefixes = self.app.prefixes();
        let candidates = approval::candidates(
            session,
            self.escalations.iter().map(|e| e.as_ref()),
            prefixes,
        );
        let lookup = self.app.stores.cluster(&session.spec.cluster);
        // The self-approval block must hold for every name the caller could be, not only
        // the exact identity that owns the session.
        let claim =
            identity::claim_for_cluster(&self.app.config, &self.app.stores, &session.spec.cluster);
        let claim_missing = identity::Person::of_caller(self.caller, claim).is_err();
        let maybe_requester = identity::might_be_requester(
            self.owns(session),
            self.caller,
            &session.spec.user,
            claim_missing,
        );
        let approver = identity::approver(self.caller, &self.groups, maybe_requester);
        approval::authorize(
            &approver,
            session,
            &candidates,
            cluster_policy(&lookup),
            prefixes,
        )
        .map(|_| ())
    }

    /// True when the caller's verified e-mail is recorded as having decided `session`.
    fn decided(&self, session: &BreakglassSession) -> bool {
        let Some(email) = identity::verified_email(self.caller) else {
            return false;
        };
        session
            .status
            .as_ref()
            .and_then(|s| s.approvers.as_ref())
            .is_some_and(|a| a.iter().any(|x| x == email))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn session(namespace: &str, name: &str) -> BreakglassSession {
        let mut s = BreakglassSession::new(name, Default::default());
        s.metadata.namespace = Some(namespace.to_owned());
        s
    }

    /// A hub client whose every connection is counted (and then dropped).
    async fn counting_hub() -> (Client, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(conn);
            }
        });
        let config = kube::Config::new(url.parse().unwrap());
        (Client::try_from(config).unwrap(), count)
    }

    /// Regression: every unknown (but well-formed) name on GET, the actions or
    /// `?token=` became a cluster-wide hub LIST.
    #[tokio::test]
    async fn unknown_names_never_reach_the_hub() {
        let (hub, calls) = counting_hub().await;
        let mirror = Mirror::from_objects([
            session("team", "known"),
            session("a", "twice"),
            session("b", "twice"),
        ]);
        for name in ["unknown", "random-x7k2p", "a.b"] {
            let err = find_in(&mirror, &hub, name, None).await.unwrap_err();
            assert_eq!(err.status(), 404, "{name}: {err}");
        }
        let found = find_in(&mirror, &hub, "known", None).await.unwrap();
        assert_eq!(found.metadata.namespace.as_deref(), Some("team"));
        let err = find_in(&mirror, &hub, "twice", None).await.unwrap_err();
        assert_eq!(err.status(), 409, "{err}");
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "hub calls"
        );
    }

    /// Regression: `a,b` reached the hub in a field selector and came back as a 500.
    #[test]
    fn session_names_are_object_names() {
        for bad in ["a,b", "a=b", "A", "", "a b", "-a", "a/b", &"a".repeat(254)] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.to_string().contains("invalid session name"), "{err}");
        }
        for good in ["target-a-admin-x7k2p", "a.b", "a"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
    }
}
