//! ferrolb's admission webhook: refuses a wrong metallb.io object or LoadBalancer Service at
//! `kubectl apply`, with a message that names the object and the value at fault.
//!
//! Requests flow from the HTTPS server ([`server`]) to [`admission`], which decodes the
//! AdmissionReview and hands the object and the current [`cluster::Cluster`] snapshot to the
//! pure rules in [`validate`]. The snapshot is kept by [`stores`] from watches of the
//! namespace. [`conversion`] converts BGPPeer between its versions. Certificates are generated
//! and rotated by [`certs`] and [`cert_manager`], served through [`tls`], and registered with
//! the API server by [`registration`].

pub mod admission;
pub mod cert_manager;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod conversion;
pub mod pool_index;
pub mod registration;
pub mod server;
pub mod stores;
pub mod tls;
pub mod validate;

/// Errors of the webhook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}
