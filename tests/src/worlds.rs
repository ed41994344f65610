//! One world per kind of suite: everything its tests need, started together and torn down
//! when dropped, with methods that act and read as a user would.
//!
//! - [`operator`]: a control plane per test and operator processes, for allocation and status.
//! - [`layer2`]: a namespace lab with a speaker per node, for ARP/NDP announcement and
//!   election; [`bgp`] adds a real router and the BGP objects.
//! - [`webhook`]: the admission webhook run as a process, registered with the control plane.
//! - [`e2e`]: the clusters the end-to-end suites run against.

pub mod bgp;
pub mod chaos;
pub mod e2e;
pub mod layer2;
pub mod operator;
pub mod webhook;
