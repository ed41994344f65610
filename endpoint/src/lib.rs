//! The HTTPS edge that ferrolb's components share.
//!
//! [`tls`] holds the certificate a server presents (swappable while serving, or generated
//! self-signed at start) and builds the rustls configuration; [`https`] accepts TLS connections
//! and serves an axum router on each. [`metrics`] is the `/metrics` endpoint of the operator,
//! the speaker and the webhook: a scrape must carry a bearer token that the API server
//! authenticates (TokenReview) and authorizes for `get` on the non-resource URL `/metrics`
//! (SubjectAccessReview), as kube-rbac-proxy does in front of MetalLB, so a Prometheus with a
//! ServiceAccount token and the RBAC verb is served and nobody else is. The decisions of that
//! guard are pure ([`access`]); the two reviews are the only API calls ([`review`]), and their
//! answers are cached for a short while so a scrape every few seconds costs no API round trip.
//! Plain HTTP stays available as an explicit choice ([`Scheme::PlainHttp`]).

pub mod access;
pub mod https;
pub mod metrics;
pub mod review;
pub mod tls;

pub use metrics::{MetricsEndpoint, Scheme};

/// Errors of the HTTPS edge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the certificate in {source_name} is unusable: {reason}")]
    Certificate { source_name: String, reason: String },
    #[error("the private key in {source_name} is unusable: {reason}")]
    Key { source_name: String, reason: String },
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cannot generate a self-signed certificate for {names:?}: {reason}")]
    SelfSigned { names: Vec<String>, reason: String },
    #[error("cannot listen on {address}: {error}")]
    Listen {
        address: std::net::SocketAddr,
        error: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
