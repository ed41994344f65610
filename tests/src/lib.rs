//! The harness of ferrolb's integration suites. Each suite under `tests/tests/` builds a
//! *world* (the processes and objects its tests need) from the pieces below, acts on it as a
//! user would, and waits for what a user would see.
//!
//! - [`infra`]: the ground every world stands on. A real control plane per suite process
//!   ([`infra::control_plane`], etcd and kube-apiserver started by `dev/control-plane run` on
//!   free loopback ports, so suites never see each other's objects), `kubectl` against it
//!   ([`infra::kubectl`]), ferrolb's binaries as child processes ([`infra::process`]), labs of
//!   network namespaces on a bridged segment ([`infra::netlab`]), the API server relayed into
//!   those namespaces ([`infra::api_relay`]) or behind a delaying relay ([`infra::slow_link`]).
//! - [`objects`]: Kubernetes objects as others write them: EndpointSlices as the
//!   endpoint-slice controller writes them ([`objects::endpoint_slices`]) and users' own
//!   MetalLB YAML ([`objects::seeds`]).
//! - [`routers`]: a real BGP router (BIRD or GoBGP) the speakers peer with, and a GoBGP
//!   stand-in for a node's speaker that proves the router harness on its own.
//! - [`worlds`]: one per kind of suite: the operator's, Layer 2's, BGP's, the webhook's, and
//!   the end-to-end suites' clusters.
//! - [`wait`]: the one patience and the waits every suite uses.
//!
//! Every process a suite starts ends when the suite's process ends, however it ends, and every
//! namespace lab is deleted when dropped, also after a panic.

pub mod infra;
pub mod objects;
pub mod routers;
pub mod wait;
pub mod worlds;

pub use infra::control_plane::ControlPlane;
pub use infra::kubectl::Kubectl;

/// The repository root (the workspace), for scripts and checked-in files.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start the control plane: {0}")]
    Start(String),
    #[error("{command} failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
}
