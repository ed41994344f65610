//! Who announces which IP: a pure function of the cluster model, the Leases and the observed
//! heartbeats.
//!
//! [`candidates`] turns nodes, Services, pools and advertisements into the nodes allowed to
//! announce each IP (with the interfaces and preference weight the advertisements give them);
//! [`preference`] orders candidates deterministically per IP (rendezvous hashing), which
//! spreads IPs evenly; [`lease_name`] names the Lease of an IP; [`ownership`] decides which
//! IPs this node holds, acquires and releases; [`usable`] drops candidates that cannot
//! announce on any interface they are allowed. The Lease code ([`crate::lease`]) only
//! carries the decision out.

pub mod candidates;
pub mod lease_name;
pub mod liveness;
pub mod ownership;
pub mod preference;
pub mod usable;
