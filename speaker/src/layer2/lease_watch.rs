//! The watch of every speaker Lease of the namespace (heartbeats and per-IP Leases), reduced
//! to [`LeaseEvent`]s for the election loop: single changes, complete listings (after start
//! and after every break) and breaks. It decides nothing.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::watcher;
use tokio::sync::mpsc;

use crate::lease::{LeaseWriter, MANAGED_BY};

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
