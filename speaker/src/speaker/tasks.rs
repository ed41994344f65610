//! The background tasks of the election: the Lease watch and the heartbeat. Each reports to the election loop over a channel and decides nothing.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::watcher;
use tokio::sync::{mpsc, watch};

use crate::election::usable::Usable;
use crate::lease::{LeaseWriter, MANAGED_BY, Written};
use crate::metrics::Metrics;

/// What the Lease watch reports.
#[derive(Debug)]
pub enum LeaseEvent {
    Applied(Box<Lease>),
    Deleted(String),
    /// A complete listing, after start or after the watch broke.
    Relisted(Vec<Lease>),
    /// The watch failed; the book may be stale until the next listing.
    Broken,
}

/// Watches every speaker Lease of the namespace.
pub async fn watch_leases(writer: LeaseWriter, events: mpsc::Sender<LeaseEvent>) {
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let stream = watcher::watcher(
        writer.api.clone(),
        watcher::Config::default().labels(&selector),
    );
    futures::pin_mut!(stream);
    let mut listing = Vec::new();
    while let Some(event) = stream.next().await {
        let report = match event {
            Ok(watcher::Event::Apply(lease)) => LeaseEvent::Applied(Box::new(lease)),
            Ok(watcher::Event::Delete(lease)) => {
                LeaseEvent::Deleted(lease.metadata.name.unwrap_or_default())
            }
            Ok(watcher::Event::Init) => {
                listing.clear();
                continue;
            }
            Ok(watcher::Event::InitApply(lease)) => {
                listing.push(lease);
                continue;
            }
            Ok(watcher::Event::InitDone) => LeaseEvent::Relisted(std::mem::take(&mut listing)),
            Err(e) => {
                tracing::debug!("Lease watch failed, retrying: {e}");
                let _ = events.send(LeaseEvent::Broken).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if events.send(report).await.is_err() {
            return;
        }
    }
}

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
