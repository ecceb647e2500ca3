use super::*;
use crate::debug::workload::{PodParts, WorkloadInput, assemble};
use breakglass_api::debug_pod_template::DebugPodTemplateSpec;
use serde_json::json;

fn session(name: &str) -> DebugSession {
    serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSession",
        "metadata": {"name": name, "namespace": "breakglass-system"},
        "spec": {"cluster": "target-a", "templateRef": "t", "requestedBy": "u@example.com"},
    }))
    .unwrap()
}

fn template(spec: serde_json::Value) -> DebugSessionTemplateSpec {
    serde_json::from_value(spec).unwrap()
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// A container's (command, args).
type CommandArgs = (Option<Vec<String>>, Option<Vec<String>>);

/// The workload's containers (command, args) for a pod template's containers.
fn built(
    tpl: serde_json::Value,
    containers: serde_json::Value,
) -> Result<Vec<CommandArgs>, WorkloadError> {
    let s = session("debug-alice-target-a-1");
    let effective = template(tpl);
    let pt: DebugPodTemplateSpec =
        serde_json::from_value(json!({"template": {"spec": {"containers": containers}}})).unwrap();
    let input = WorkloadInput {
        session: &s,
        effective: &effective,
        pod_template: Some(("p", &pt)),
        node_names: &[],
    };
    let parts = PodParts::structured(pt.template.as_ref().unwrap());
    let w = assemble(&input, parts, &[])?;
    Ok(w.pod_spec()
        .unwrap()
        .containers
        .iter()
        .map(|c| (c.command.clone(), c.args.clone()))
        .collect())
}

#[test]
fn session_names_are_safe_bounded_and_distinct() {
    let long = "debug-someone-with-a-long-name-target-cluster-1234567890";
    let other = "debug-someone-with-a-long-name-target-cluster-1234567891";
    let cases: [(&str, Option<&str>); 5] = [
        ("debug-alice-1", Some("debug-alice-1")),
        ("a.b.c", Some("a-b-c")),
        ("", Some("breakglass")),
        (
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Some("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ),
        (long, None),
    ];
    for (input, want) in cases {
        let got = session_name(input);
        assert!(got.len() <= MAX_NAME, "{input}: {got}");
        assert!(
            got.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{got}"
        );
        if let Some(want) = want {
            assert_eq!(got, want);
        }
    }
    let a = session_name(long);
    assert_eq!(a.len(), MAX_NAME);
    assert!(a.starts_with("debug-someone-with-a-lo-"), "{a}");
    assert_ne!(
        a,
        session_name(other),
        "a hash of the whole name keeps them apart"
    );
    assert_eq!(a, session_name(long), "stable");
}

#[test]
fn attach_commands() {
    assert_eq!(
        attach_command(TerminalSharingProvider::Tmux, "s1"),
        "tmux attach-session -t s1"
    );
    assert_eq!(
        attach_command(TerminalSharingProvider::Screen, "s1"),
        "screen -x s1"
    );
}

#[test]
fn quoting_keeps_every_word_literal() {
    let cases = [
        ("plain", "'plain'"),
        ("", "''"),
        ("it's", "'it'\\''s'"),
        (
            "$(rm -rf /); `x` \"y\" $HOME",
            "'$(rm -rf /); `x` \"y\" $HOME'",
        ),
    ];
    for (word, want) in cases {
        assert_eq!(shell_quote(word), want);
    }
}

#[test]
fn wrapping_table() {
    let tmux = |script_args: &str| {
        Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            TMUX_SCRIPT.to_owned(),
            "debug-alice-target-a-1".to_owned(),
            script_args.to_owned(),
        ])
    };
    // (template, containers, first container's (command, args))
    let cases = [
        (
            json!({"terminalSharing": {"enabled": true}}),
            json!([{"name": "d", "image": "i", "command": ["sleep", "infinity"]}]),
            (tmux("'sleep' 'infinity'"), None),
        ),
        (
            json!({"terminalSharing": {"enabled": true, "provider": "tmux"}}),
            json!([{"name": "d", "image": "i", "command": ["sh", "-c"], "args": ["echo 'hi' && sleep 1d"]}]),
            (tmux("'sh' '-c' 'echo '\\''hi'\\'' && sleep 1d'"), None),
        ),
        (
            json!({"terminalSharing": {"enabled": true, "provider": "screen"}}),
            json!([{"name": "d", "image": "i", "command": ["sleep"], "args": ["infinity"]}]),
            (
                Some(strings(&[
                    "screen",
                    "-DmS",
                    "debug-alice-target-a-1",
                    "sleep",
                    "infinity",
                ])),
                None,
            ),
        ),
        (
            json!({"terminalSharing": {"enabled": false}}),
            json!([{"name": "d", "image": "i", "command": ["sleep"], "args": ["9"]}]),
            (Some(strings(&["sleep"])), Some(strings(&["9"]))),
        ),
        (
            json!({}),
            json!([{"name": "d", "image": "i", "command": ["sleep", "9"]}]),
            (Some(strings(&["sleep", "9"])), None),
        ),
    ];
    for (tpl, containers, want) in cases {
        let got = built(tpl.clone(), containers).unwrap();
        assert_eq!(got[0], want, "{tpl}");
    }
}

#[test]
fn only_the_first_container_is_wrapped() {
    let got = built(
        json!({"terminalSharing": {"enabled": true, "provider": "screen"}}),
        json!([
            {"name": "a", "image": "i", "command": ["sleep", "1d"]},
            {"name": "b", "image": "i", "command": ["sleep", "2d"]},
        ]),
    )
    .unwrap();
    assert_eq!(got[0].0.as_ref().unwrap()[0], "screen");
    assert_eq!(got[1], (Some(strings(&["sleep", "2d"])), None));
}

#[test]
fn a_first_container_without_command_is_refused() {
    for containers in [
        json!([{"name": "d", "image": "i"}]),
        json!([{"name": "d", "image": "i", "command": [], "args": ["x"]}]),
    ] {
        let err = built(json!({"terminalSharing": {"enabled": true}}), containers).unwrap_err();
        assert_eq!(err, WorkloadError::TerminalSharingNoCommand("d".to_owned()));
        assert!(err.to_string().contains("terminalSharing"), "{err}");
    }
    // Off: a container without command is deployed as it is.
    assert!(built(json!({}), json!([{"name": "d", "image": "i"}])).is_ok());
}

#[test]
fn status_table() {
    let s = session("debug-alice-target-a-1");
    let on = |extra: serde_json::Value| {
        let mut t = json!({"terminalSharing": {"enabled": true}});
        if let (Some(t), Some(e)) = (t.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                t.insert(k.clone(), v.clone());
            }
        }
        template(t)
    };
    let tmux = TerminalSharingStatus {
        enabled: Some(true),
        session_name: Some("debug-alice-target-a-1".to_owned()),
        attach_command: Some("tmux attach-session -t debug-alice-target-a-1".to_owned()),
    };
    let screen = TerminalSharingStatus {
        attach_command: Some("screen -x debug-alice-target-a-1".to_owned()),
        ..tmux.clone()
    };
    // (template, workload deployed, status)
    let cases = [
        (on(json!({})), true, Some(tmux.clone())),
        (on(json!({"mode": "hybrid"})), true, Some(tmux)),
        (
            template(json!({"terminalSharing": {"enabled": true, "provider": "screen"}})),
            true,
            Some(screen),
        ),
        (on(json!({})), false, None),
        (on(json!({"mode": "kubectl-debug"})), true, None),
        (
            template(json!({"terminalSharing": {"enabled": false}})),
            true,
            None,
        ),
        (template(json!({})), true, None),
    ];
    for (tpl, deployed, want) in cases {
        assert_eq!(status(&s, &tpl, deployed), want, "{tpl:?} {deployed}");
    }
}

#[test]
fn rendered_pods_are_wrapped_too() {
    use breakglass_api::debug_session_template::DebugWorkloadType;
    let s = session("debug-alice-target-a-1");
    let effective = template(json!({"terminalSharing": {"enabled": true, "provider": "screen"}}));
    let doc = json!({"containers": [{"name": "d", "image": "i", "command": ["sleep", "1d"]}]});
    let parts =
        crate::debug::workload::rendered::first_document(&doc, DebugWorkloadType::DaemonSet)
            .unwrap();
    let input = WorkloadInput {
        session: &s,
        effective: &effective,
        pod_template: None,
        node_names: &[],
    };
    let w = assemble(&input, parts, &[]).unwrap();
    assert_eq!(
        w.pod_spec().unwrap().containers[0].command,
        Some(strings(&[
            "screen",
            "-DmS",
            "debug-alice-target-a-1",
            "sleep",
            "1d"
        ]))
    );
}
