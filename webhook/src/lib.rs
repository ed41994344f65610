//! ferrolb's admission webhook: refuses a wrong metallb.io object or LoadBalancer Service at
//! `kubectl apply`, with a message that names the object and the value at fault.
//!
//! Requests flow from the HTTPS server ([`server`]) to [`admission`], which decodes the
//! AdmissionReview and hands the object and the current [`snapshot::Cluster`] (what the
//! validators know of the cluster) to the pure rules in [`validate`]. The snapshot is kept by
//! [`stores`] from watches of the namespace; its pools are indexed by address in
//! [`pool_index`] so overlap checks cost a binary search, and the IPs Services share in
//! [`service_index`]. [`conversion`] converts BGPPeer between its versions. Certificates are
//! generated and rotated by [`certs`] and [`cert_manager`], served through [`tls`], and
//! registered with the API server by [`registration`]; the webhook is ready once the API server
//! trusts the served certificate ([`trust`]). [`metrics`] counts reviews, denials and their
//! latency per kind and the certificate's expiry. [`cli`] holds the flags.

pub mod admission;
pub mod cert_manager;
pub mod certs;
pub mod cli;
pub mod conversion;
pub mod metrics;
pub mod pool_index;
pub mod registration;
pub mod server;
pub mod service_index;
pub mod snapshot;
pub mod stores;
pub mod tls;
pub mod trust;
pub mod validate;

/// Errors of the webhook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot generate a certificate: {0}")]
    GenerateCertificate(#[from] rcgen::Error),
    #[error("certificate in {what} cannot be read: {why}")]
    ReadCertificate { what: &'static str, why: String },
    #[error(transparent)]
    Serving(#[from] ferrolb_endpoint::Error),
    #[error("Secret {0:?} changed while it was being renewed; reading it again")]
    SecretConflict(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the HTTPS server stopped: {0}")]
    Server(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
