//! This node's heartbeat: renews its heartbeat Lease every interval, and at once when the
//! interfaces it publishes change, and reports each renewal (or its failure) to the election
//! loop, which judges from them whether this node is in touch with the API server.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use tokio::sync::{mpsc, watch};

use crate::election::usable::Usable;
use crate::lease::{LeaseWriter, Written};
use crate::metrics::Metrics;

/// What the heartbeat reports: the Lease as renewed, or `None` when a renewal failed.
pub type Beat = Option<Lease>;

/// Renews this node's heartbeat Lease every `interval`, and at once when this node's usable
/// interfaces change (they are published on it), until the receiver is gone.
pub async fn heartbeat(
    writer: LeaseWriter,
    interval: Duration,
    metrics: Arc<Metrics>,
    mut usable: watch::Receiver<Option<Usable>>,
    beats: mpsc::Sender<Beat>,
) {
    let name = crate::election::lease_name::heartbeat(&writer.node);
    let mut current = writer.get(&name).await.ok().flatten();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut following = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = usable.changed(), if following => following = changed.is_ok(),
        }
        let published = usable.borrow_and_update().clone();
        let beat = match writer
            .heartbeat(current.as_ref(), false, published.as_ref())
            .await
        {
            Ok(Written::Won(lease)) => {
                current = Some((*lease).clone());
                Some(*lease)
            }
            Ok(Written::Lost) => {
                // Someone else wrote this node's heartbeat (an earlier run's leftover write):
                // read it again and renew on top of it next time.
                current = writer.get(&name).await.ok().flatten();
                None
            }
            Err(e) => {
                tracing::debug!("heartbeat failed: {e}");
                metrics.lease_write_failed("heartbeat");
                None
            }
        };
        if beats.send(beat).await.is_err() {
            return;
        }
    }
}
