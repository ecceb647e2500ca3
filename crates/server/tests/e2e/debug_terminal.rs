//! End-to-end: terminal sharing. Workload sessions with `terminalSharing` are created on
//! the hub (spec only, as the REST create writes them); the leader's reconciler deploys
//! them on target-a. The deployed workload's first container runs inside tmux or
//! screen, `status.terminalSharing` names the attach command, and the webhook decides
//! exec on the session's pod by role (§0.4): invited joiners are `participant` (exec)
//! or, with `readOnlyParticipants`, `viewer` (get and logs, no exec/attach); uninvited
//! users cannot join; the owner cannot leave; leaving ends exec.

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_core::debug::workload::terminal;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::*;
use crate::webhook::{can_i, until_can_i};

const A: &str = "target-a";
const OWNER: &str = "requester@example.com";
const INVITEE: &str = "requester2@example.com";
const READER: &str = "approver2@example.com";
const WAIT: Duration = Duration::from_secs(5);

/// Per-test objects: a hub namespace for sessions, a target namespace for the
/// workloads, and cluster-scoped templates (removed at the end).
struct Terminal {
    fx: Fixture,
    target: Client,
    target_ns: String,
    created: Vec<(&'static str, &'static str, String)>,
}

impl Terminal {
    async fn new(env: &TestEnv) -> anyhow::Result<Self> {
        let fx = Fixture::new(env, "term").await?;
        let target = env.target_client(A).await?;
        let target_ns = format!("dbg-term-{}", fx.id);
        Api::<Namespace>::all(target.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": target_ns}}))?,
            )
            .await?;
        Ok(Self {
            fx,
            target,
            target_ns,
            created: Vec::new(),
        })
    }

    fn api(hub: Client, kind: &str, plural: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("breakglass.t-caas.telekom.com", "v1alpha1", kind);
        Api::all_with(
            hub,
            &kube::api::ApiResource::from_gvk_with_plural(&gvk, plural),
        )
    }

    async fn create(
        &mut self,
        kind: &'static str,
        plural: &'static str,
        name: &str,
        spec: Value,
    ) -> anyhow::Result<()> {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": kind, "metadata": {"name": name}, "spec": spec,
        }))?;
        Self::api(self.fx.hub(), kind, plural)
            .create(&PostParams::default(), &obj)
            .await?;
        self.created.push((kind, plural, name.to_owned()));
        Ok(())
    }

    /// A pod template with `containers` and a Deployment session template
    /// `term-<suffix>-<id>` with `terminalSharing` as given and every pod operation.
    async fn templates_with(
        &mut self,
        suffix: &str,
        sharing: Value,
        containers: Value,
    ) -> anyhow::Result<String> {
        let name = format!("term-{suffix}-{}", self.fx.id);
        self.create(
            "DebugPodTemplate",
            "debugpodtemplates",
            &name,
            json!({
                "template": {"spec": {"containers": containers}},
            }),
        )
        .await?;
        let spec = json!({
            "podTemplateRef": {"name": name},
            "workloadType": "Deployment",
            "targetNamespace": self.target_ns,
            "allowed": {"clusters": [A], "groups": ["developers"]},
            "allowedPodOperations": {"exec": true, "attach": true, "logs": true, "portForward": true},
            "terminalSharing": sharing,
        });
        self.create("DebugSessionTemplate", "debugsessiontemplates", &name, spec)
            .await?;
        Ok(name)
    }

    /// [`Self::templates_with`] two containers: `debug` (`sh -c` with an argument that
    /// needs quoting) and `side`.
    async fn templates(&mut self, suffix: &str, sharing: Value) -> anyhow::Result<String> {
        let containers = json!([
            {"name": "debug", "image": "breakglass-tmux-debug:latest", "command": ["sh", "-c"], "args": ["echo 'ready' && sleep infinity"]},
            {"name": "side", "image": "busybox:stable", "command": ["sleep", "infinity"]},
        ]);
        self.templates_with(suffix, sharing, containers).await
    }

    /// Creates the session (spec only) and returns its name.
    async fn request(&self, template: &str, invited: &[&str]) -> anyhow::Result<String> {
        let name = format!("{template}-s");
        let s: DebugSession = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DebugSession",
            "metadata": {"name": name, "namespace": self.fx.ns},
            "spec": {"cluster": A, "templateRef": template, "requestedBy": OWNER,
                     "userGroups": ["developers"], "invitedParticipants": invited},
        }))?;
        self.sessions().create(&PostParams::default(), &s).await?;
        Ok(name)
    }

    fn sessions(&self) -> Api<DebugSession> {
        Api::namespaced(self.fx.hub(), &self.fx.ns)
    }

    /// Creates the session (spec only) and waits until it is Active with one running
    /// pod; returns the session and its pod's name.
    async fn active(
        &self,
        template: &str,
        invited: &[&str],
    ) -> anyhow::Result<(DebugSession, String)> {
        let name = self.request(template, invited).await?;
        let api = self.sessions();
        wait_for(
            Duration::from_secs(45),
            &format!("{name} Active with a running pod"),
            || async {
                let s = api.get(&name).await?;
                let st = s.status.unwrap_or_default();
                let state = st.state.map(|s| s.to_string()).unwrap_or_default();
                anyhow::ensure!(
                    matches!(
                        state.as_str(),
                        "" | "Pending" | "PendingApproval" | "Active"
                    ),
                    "{name} ended in {state}: {:?}",
                    st.message
                );
                let pods = st.allowed_pods.unwrap_or_default();
                Ok(state == "Active" && pods.len() == 1 && pods[0].ready == Some(true))
            },
        )
        .await?;
        let s = api.get(&name).await?;
        let pod = s
            .status
            .as_ref()
            .and_then(|st| st.allowed_pods.as_ref())
            .and_then(|p| p.first())
            .map(|p| p.name.clone())
            .unwrap_or_default();
        Ok((s, pod))
    }

    /// The first two containers' commands and args of the session's Deployment.
    async fn commands(&self, session: &str) -> anyhow::Result<Vec<Value>> {
        let d = Api::<Deployment>::namespaced(self.target.clone(), &self.target_ns)
            .get(session)
            .await?;
        let spec = d.spec.and_then(|s| s.template.spec).unwrap_or_default();
        Ok(spec
            .containers
            .iter()
            .map(|c| json!({"command": c.command, "args": c.args}))
            .collect())
    }

    async fn cleanup(self) -> anyhow::Result<()> {
        for (kind, plural, name) in &self.created {
            let _ = Self::api(self.fx.hub(), kind, plural)
                .delete(name, &DeleteParams::default())
                .await;
        }
        let _ = Api::<Namespace>::all(self.target.clone())
            .delete(&self.target_ns, &DeleteParams::background())
            .await;
        self.fx.cleanup().await
    }
}

#[tokio::test]
async fn terminal_sharing_wraps_the_workload_and_roles_decide_exec() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut t = Terminal::new(&env).await?;
    let rest = RestClient::new(&server.url);
    let result = async {
        let owner = token(&env, "requester").await?;
        let invitee = token(&env, "requester2").await?;
        let reader = token(&env, "approver2").await?;
        let nobody = token(&env, "nobody").await?;

        // tmux, participants: the invitee joins as participant.
        let tpl = t.templates("tmux", json!({"enabled": true, "provider": "tmux"})).await?;
        let (s, pod) = t.active(&tpl, &[INVITEE]).await?;
        let name = s.metadata.name.clone().unwrap_or_default();
        let tmux_name = terminal::session_name(&name);
        assert!(tmux_name.len() <= 32, "{tmux_name}");
        let commands = t.commands(&name).await?;
        assert_eq!(
            commands[0],
            json!({"command": ["sh", "-c",
                "tmux new-session -d -s \"$0\" \"$1\" && while tmux has-session -t \"$0\" 2>/dev/null; do sleep 1; done",
                tmux_name, "'sh' '-c' 'echo '\\''ready'\\'' && sleep infinity'"], "args": null}),
            "the first container runs inside a detached tmux session"
        );
        assert_eq!(
            commands[1],
            json!({"command": ["sleep", "infinity"], "args": null}),
            "only the first container is wrapped"
        );
        let sharing = s.status.as_ref().and_then(|st| st.terminal_sharing.clone());
        let sharing = serde_json::to_value(sharing)?;
        assert_eq!(
            sharing,
            json!({"enabled": true, "sessionName": tmux_name,
                   "attachCommand": format!("tmux attach-session -t {tmux_name}")})
        );
        let ns = t.target_ns.clone();
        let n = ns.as_str();
        let target = format!("pods/{pod}");
        let exec = ["create", target.as_str(), "--subresource=exec", "-n", n];
        let get = ["get", target.as_str(), "-n", n];
        let log = ["get", target.as_str(), "--subresource=log", "-n", n];
        until_can_i(&env, A, &owner, &exec, true, WAIT).await?;
        assert!(!can_i(&env, A, &invitee, &exec).await?, "invited, not yet joined");

        let path = |action: &str| format!("/api/debugSessions/{name}/{action}");
        let r = rest.post_empty(&path("join"), &nobody).await?;
        assert_eq!(r.status, 403, "uninvited join: {}", r.text);
        assert!(!can_i(&env, A, &nobody, &exec).await?);
        assert!(!can_i(&env, A, &nobody, &get).await?);

        let r = rest.post_empty(&path("join"), &invitee).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["role"], "participant");
        until_can_i(&env, A, &invitee, &exec, true, WAIT).await?;
        let attach = ["create", target.as_str(), "--subresource=attach", "-n", n];
        assert!(can_i(&env, A, &invitee, &attach).await?);
        assert!(can_i(&env, A, &invitee, &log).await?);

        let r = rest.post_empty(&path("leave"), &owner).await?;
        assert_eq!(r.status, 403, "the owner cannot leave: {}", r.text);
        assert!(can_i(&env, A, &owner, &exec).await?);

        let r = rest.post_empty(&path("leave"), &invitee).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        until_can_i(&env, A, &invitee, &exec, false, WAIT).await?;
        assert!(can_i(&env, A, &owner, &exec).await?, "the owner keeps exec");

        // screen, readOnlyParticipants: the invitee joins as viewer.
        let tpl = t
            .templates("screen", json!({"enabled": true, "provider": "screen", "readOnlyParticipants": true}))
            .await?;
        let (s, pod) = t.active(&tpl, &[READER]).await?;
        let name = s.metadata.name.clone().unwrap_or_default();
        let screen_name = terminal::session_name(&name);
        let commands = t.commands(&name).await?;
        assert_eq!(
            commands[0],
            json!({"command": ["screen", "-DmS", screen_name, "sh", "-c", "echo 'ready' && sleep infinity"], "args": null})
        );
        let sharing = serde_json::to_value(s.status.as_ref().and_then(|st| st.terminal_sharing.clone()))?;
        assert_eq!(sharing["attachCommand"], format!("screen -x {screen_name}"));
        let target = format!("pods/{pod}");
        let exec = ["create", target.as_str(), "--subresource=exec", "-n", n];
        let attach = ["create", target.as_str(), "--subresource=attach", "-n", n];
        let get = ["get", target.as_str(), "-n", n];
        let log = ["get", target.as_str(), "--subresource=log", "-n", n];
        let r = rest
            .post_empty(&format!("/api/debugSessions/{name}/join"), &reader)
            .await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["role"], "viewer");
        until_can_i(&env, A, &reader, &get, true, WAIT).await?;
        assert!(can_i(&env, A, &reader, &log).await?, "a viewer reads logs");
        assert!(!can_i(&env, A, &reader, &exec).await?, "a viewer cannot exec");
        assert!(!can_i(&env, A, &reader, &attach).await?, "a viewer cannot attach");
        assert!(can_i(&env, A, &owner, &exec).await?);
        anyhow::Ok(())
    }
    .await;
    t.cleanup().await?;
    result
}

#[tokio::test]
async fn terminal_sharing_without_a_command_fails_the_session() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut t = Terminal::new(&env).await?;
    let result = async {
        // The first container relies on the image's entrypoint: nothing to wrap.
        let containers = json!([
            {"name": "debug", "image": "busybox:stable", "args": ["sleep", "infinity"]},
        ]);
        let tpl = t
            .templates_with("nocmd", json!({"enabled": true}), containers)
            .await?;
        let name = t.request(&tpl, &[]).await?;
        let api = t.sessions();
        wait_for(
            Duration::from_secs(30),
            &format!("{name} Failed"),
            || async {
                let st = api.get(&name).await?.status.unwrap_or_default();
                Ok(st.state.map(|s| s.to_string()).as_deref() == Some("Failed"))
            },
        )
        .await?;
        let st = api.get(&name).await?.status.unwrap_or_default();
        let message = st.message.unwrap_or_default();
        assert!(
            message.contains(
                "terminalSharing is enabled but the first container \"debug\" sets no command"
            ),
            "{message}"
        );
        assert!(st.terminal_sharing.is_none());
        let deployments = Api::<Deployment>::namespaced(t.target.clone(), &t.target_ns)
            .list_metadata(&Default::default())
            .await?;
        assert!(deployments.items.is_empty(), "nothing deployed");
        anyhow::Ok(())
    }
    .await;
    t.cleanup().await?;
    result
}
