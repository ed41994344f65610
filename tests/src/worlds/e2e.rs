//! The clusters of the end-to-end suites. [`cluster_under_test`] is the one `tests/tests/e2e.rs`
//! runs on: a local control plane with the operator as a process, or an existing cluster named
//! by `FERROLB_E2E_KUBECONFIG` (CI's kind cluster). [`real_cluster`] is the real cluster of
//! `dev/cluster` (kubelets, containerd, the chart installed by helm), met from this machine as
//! from a laptop on the nodes' LAN, for the `e2e_cluster_*` suites, which deploy and read
//! back through [`workloads`] and reach BGP Services through a [`lan_router`].

pub mod cluster_under_test;
pub mod lan_router;
pub mod real_cluster;
pub mod workloads;
