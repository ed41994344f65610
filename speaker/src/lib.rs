//! ferrolb's speaker: makes the IPs of LoadBalancer Services reachable on the local network by
//! answering ARP and NDP from exactly one node per IP.
//!
//! The pure core decides and formats: [`model`] reduces Kubernetes objects to what matters,
//! [`election`] decides which IPs this node holds, [`responder`] and [`packet`] turn frames
//! into answers, [`link`] picks interfaces. The edge carries it out: [`cluster`] watches the
//! API, [`lease`] writes Leases, [`announcer`] and [`socket`] move frames, [`status`] reports
//! ServiceL2Status objects and events, [`metrics`] serves Prometheus metrics.

pub mod election;
pub mod link;
pub mod model;
pub mod packet;
pub mod responder;
