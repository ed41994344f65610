//! The harness of ferrolb's integration suites: a real control plane per test binary
//! ([`control_plane`]), `kubectl` against it ([`kubectl`]), EndpointSlices as the endpoint-slice
//! controller writes them ([`endpoint_slices`]), and users' MetalLB YAML, checked in under
//! `examples/metallb/` ([`seeds`]).
//!
//! Each suite under `tests/tests/` starts its own etcd and kube-apiserver on free loopback
//! ports through `dev/control-plane run`, so suites never see each other's objects; the
//! processes end when the suite's process ends, however it ends.

pub mod api_relay;
pub mod bgp;
pub mod bgp_node_standin;
pub mod bgp_router;
pub mod cluster;
pub mod control_plane;
pub mod endpoint_slices;
pub mod kubectl;
pub mod layer2;
pub mod netlab;
pub mod process;
pub mod real_cluster;
pub mod seeds;
pub mod slow_link;
pub mod webhook;

pub use control_plane::ControlPlane;
pub use kubectl::Kubectl;

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
