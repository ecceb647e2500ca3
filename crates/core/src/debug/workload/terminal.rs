//! Terminal sharing (`terminalSharing.enabled`): the first container's command runs
//! inside a detached tmux or GNU screen session, so every participant who may exec into
//! the pod attaches to the same terminal with [`attach_command`].
//!
//! * tmux: `sh -c 'tmux new-session -d -s "$0" "$1" && while tmux has-session -t "$0"
//!   2>/dev/null; do sleep 1; done' <name> <command>` — the server session keeps the
//!   original command (its words POSIX-quoted into one shell string, never interpolated
//!   into the script), and the container lives exactly as long as that session.
//! * screen: `screen -DmS <name> <command…>` — detached, without forking; screen
//!   executes the original words itself (no shell, nothing to quote).
//!
//! The original command is `command` followed by `args` (Kubernetes runs them so);
//! `args` is cleared. A first container without `command` cannot be wrapped (the
//! image's entrypoint is unknown here), so it is refused ([`WorkloadError`]) rather
//! than silently deployed without the declared shared terminal.

use breakglass_api::debug_session::{DebugSession, TerminalSharingStatus};
use breakglass_api::debug_session_template::{DebugSessionTemplateSpec, TerminalSharingProvider};
use k8s_openapi::api::core::v1::PodSpec;

use super::{WorkloadError, deploys_workload, fnv1a};

/// Longest multiplexer session name.
pub const MAX_NAME: usize = 32;

/// The tmux wrapper script: `$0` is the session name, `$1` the original command.
const TMUX_SCRIPT: &str = "tmux new-session -d -s \"$0\" \"$1\" && while tmux has-session -t \"$0\" 2>/dev/null; do sleep 1; done";

/// The multiplexer of an effective template with terminal sharing on (`None`: off).
pub fn provider(effective: &DebugSessionTemplateSpec) -> Option<TerminalSharingProvider> {
    let t = effective.terminal_sharing.as_ref()?;
    t.enabled
        .unwrap_or(false)
        .then(|| t.provider.unwrap_or(TerminalSharingProvider::Tmux))
}

/// The multiplexer session name of a debug session: its name with every character
/// other than `[a-z0-9-]` replaced by `-` (tmux gives `.` and `:` meaning); a longer
/// name keeps 23 characters plus `-` and 8 hex digits of a hash of the whole name.
pub fn session_name(debug_session: &str) -> String {
    let cleaned: String = debug_session
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '-' }
        })
        .collect();
    if cleaned.is_empty() {
        return "breakglass".to_owned();
    }
    if cleaned.len() <= MAX_NAME {
        return cleaned;
    }
    let hash = fnv1a(debug_session.as_bytes());
    let folded = (hash >> 32) ^ (hash & 0xffff_ffff);
    format!("{}-{folded:08x}", &cleaned[..MAX_NAME - 9])
}

/// The command that attaches to the shared terminal (run inside the pod).
pub fn attach_command(provider: TerminalSharingProvider, name: &str) -> String {
    match provider {
        TerminalSharingProvider::Tmux => format!("tmux attach-session -t {name}"),
        TerminalSharingProvider::Screen => format!("screen -x {name}"),
    }
}

/// One word, quoted for a POSIX shell (`'…'`, an inner `'` as `'\''`).
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The first container's command and args wrapped for `provider` and session `name`.
pub fn wrapped(provider: TerminalSharingProvider, name: &str, original: &[String]) -> Vec<String> {
    match provider {
        TerminalSharingProvider::Tmux => {
            let quoted: Vec<String> = original.iter().map(|w| shell_quote(w)).collect();
            vec![
                "sh".to_owned(),
                "-c".to_owned(),
                TMUX_SCRIPT.to_owned(),
                name.to_owned(),
                quoted.join(" "),
            ]
        }
        TerminalSharingProvider::Screen => {
            let mut out = vec!["screen".to_owned(), "-DmS".to_owned(), name.to_owned()];
            out.extend(original.iter().cloned());
            out
        }
    }
}

/// Wraps the first container's command when the template turns terminal sharing on.
pub fn wrap(
    spec: &mut PodSpec,
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
) -> Result<(), WorkloadError> {
    let Some(provider) = provider(effective) else {
        return Ok(());
    };
    let Some(first) = spec.containers.first_mut() else {
        return Err(WorkloadError::NoContainers);
    };
    let mut original = first.command.take().unwrap_or_default();
    if original.is_empty() {
        return Err(WorkloadError::TerminalSharingNoCommand(first.name.clone()));
    }
    original.extend(first.args.take().unwrap_or_default());
    let name = session_name(session.metadata.name.as_deref().unwrap_or_default());
    first.command = Some(wrapped(provider, &name, &original));
    Ok(())
}

/// `status.terminalSharing` at activation: set when terminal sharing is on and the
/// session's workload (whose first container [`wrap`] wrapped) was deployed; `None`
/// otherwise (off, `kubectl-debug` mode, or no workload under `failMode: open`).
pub fn status(
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
    workload_deployed: bool,
) -> Option<TerminalSharingStatus> {
    let provider = provider(effective)?;
    if !deploys_workload(effective) || !workload_deployed {
        return None;
    }
    let name = session_name(session.metadata.name.as_deref().unwrap_or_default());
    Some(TerminalSharingStatus {
        enabled: Some(true),
        attach_command: Some(attach_command(provider, &name)),
        session_name: Some(name),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "terminal_tests.rs"]
mod tests;
