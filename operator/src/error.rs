//! The operator's one error type. Decisions never fail (a Service that cannot be served is a
//! [`Refusal`](crate::allocator::Refusal) written into its status, not an error); what fails is
//! the edge: starting up, and the API calls that carry decisions out. Each API failure names
//! the action and the object it was for (`writing Service shop/web`), so a log line says what
//! was lost, and [`Error::Refused`] is told apart from the rest because a write refused by its
//! leader term is dropped, never retried.

use std::net::SocketAddr;
use std::time::Duration;

use crate::term::Refusal;

/// Everything that can go wrong in the operator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The leader term a write was decided in may no longer write: the write is dropped, and
    /// the next term decides afresh.
    #[error("{action}: refused: {refusal}")]
    Refused { action: String, refusal: Refusal },
    /// The API server did not answer in time (the call's limit or the term's window).
    #[error("{action}: no answer within {:.1}s", .waited.as_secs_f64())]
    Timeout { action: String, waited: Duration },
    /// The API server answered with an error, or could not be reached.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: kube::Error,
    },
    /// A value of a write could not be encoded as JSON.
    #[error("{action}: encoding the body: {source}")]
    Encode {
        action: String,
        #[source]
        source: serde_json::Error,
    },
    /// No client could be built from the kubeconfig or the in-cluster configuration.
    #[error("cannot reach the API server: {0}")]
    Connect(#[source] kube::Error),
    /// The leader election flags contradict each other.
    #[error("leader election: {0}")]
    Election(String),
    /// The async runtime could not start.
    #[error("starting the tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The metrics and health endpoints could not be served.
    #[error("serving /metrics, /healthz and /readyz on {address}: {source}")]
    Metrics {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The term's refusal, when the write was refused rather than failed.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}

/// A result of the operator.
pub type Result<T, E = Error> = std::result::Result<T, E>;
