//! Errors of the test-support API.

use crate::layout::ENV_SKIP;

/// An error of the test-support API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The environment is not up.
    #[error(
        "testenv is not running ({reason}): start it with `cargo xtask testenv up` \
         (or set {ENV_SKIP}=1 to skip the tests that need it)"
    )]
    NotRunning {
        /// What is missing.
        reason: String,
    },
    /// The environment is up, but without Kafka.
    #[error(
        "Kafka is not running in testenv ({reason}): start it with \
         `cargo xtask testenv up --with kafka` (it joins a running environment)"
    )]
    KafkaNotRunning {
        /// What is missing.
        reason: String,
    },
    /// A cluster name that is not `hub`, `target-a` or `target-b`.
    #[error("unknown cluster {0:?} (known: hub, target-a, target-b)")]
    UnknownCluster(String),
    /// A user name that is not in [`crate::users::ALL`].
    #[error("unknown test user {0:?} (see breakglass_testenv::users)")]
    UnknownUser(String),
    /// Loading a kubeconfig failed.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The kubeconfig.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A Kubernetes API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// An HTTP call failed.
    #[error("{context}: {source}")]
    Http {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: reqwest::Error,
    },
    /// Dex did not hand out a token.
    #[error("dex: {0}")]
    Dex(String),
    /// An object could not be built.
    #[error("object {0}")]
    Object(String),
    /// The mail catcher answered something unexpected.
    #[error("mailbox: {0}")]
    Mail(String),
    /// Waiting for something timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn http(context: impl Into<String>) -> impl FnOnce(reqwest::Error) -> Error {
        let context = context.into();
        move |source| Error::Http { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
