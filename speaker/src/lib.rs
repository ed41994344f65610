//! ferrolb's speaker: makes the IPs of LoadBalancer Services reachable on the local network by
//! answering ARP and NDP from exactly one node per IP.
//!
//! The pure core decides and formats: [`model`] reduces Kubernetes objects to what matters,
//! [`election`] decides which IPs this node holds, [`responder`] and [`packet`] turn frames
//! into answers, [`link`] picks interfaces, and the pure parts of [`bgp`] plan routes. The edge
//! carries it out: [`watches`] watches the API, [`speaker`] starts [`layer2`] (the election
//! loop, with [`lease`] writing its Leases) and [`bgp`] (the sessions, with [`bfd`] under
//! those that ask for it) side by side, [`announcer`] and [`socket`] move frames, [`status`]
//! writes ServiceL2Status and ServiceBGPStatus objects and events, [`metrics`] serves
//! Prometheus metrics.

pub mod announcer;
pub mod bfd;
pub mod bgp;
pub mod config;
pub mod election;
#[cfg(test)]
mod fake_api;
pub mod layer2;
pub mod lease;
pub mod link;
pub mod metrics;
pub mod model;
pub mod packet;
pub mod responder;
pub mod sockaddr;
pub mod socket;
pub mod speaker;
pub mod status;
pub mod watches;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Hands `value` to `channel`'s receivers only if it differs from what the channel holds, so
/// they wake for real changes only.
pub fn publish_if_changed<T: PartialEq>(channel: &watch::Sender<Arc<T>>, value: Arc<T>) {
    channel.send_if_modified(|current| {
        let changed = **current != *value;
        if changed {
            *current = value;
        }
        changed
    });
}

/// Errors of the speaker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("{what} failed: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot configure the Kubernetes client: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A Lease write refused before any call (a copy without a resourceVersion).
    #[error(transparent)]
    Lease(ferrolb_lease::Error),
}
