//! What the suites run on, below any ferrolb logic: a control plane and `kubectl` against it,
//! ferrolb's binaries as child processes, and network namespaces that play the nodes and the
//! client of a LAN. Worlds ([`crate::worlds`]) combine these; suites rarely use them directly.

pub mod api_relay;
pub mod control_plane;
pub mod kubectl;
pub mod netlab;
pub mod process;
pub mod prometheus;
pub mod scrape;
pub mod slow_link;
