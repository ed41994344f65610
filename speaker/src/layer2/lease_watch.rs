//! The watch of every speaker Lease of the namespace (heartbeats and per-IP Leases), reduced
//! to [`LeaseEvent`]s for the election loop: single changes, complete listings (after start
//! and after every break) and breaks. It decides nothing.
//!
//! A break always ends in a complete listing: the election counts this node in touch with
//! the API server only while its Lease watch is synced, and a watch that resumed from its last
//! resourceVersion would never say so again (kube-runtime lists again only after the API
//! server refuses the version), which left a node live to its peers but never acquiring.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::watcher;
use tokio::sync::mpsc;

use crate::lease::{LeaseWriter, MANAGED_BY};

/// The pause after the first break, doubled on each further one up to [`LONGEST_PAUSE`] and
/// back to the first after a complete listing.
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

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

/// Watches every speaker Lease of the namespace, listing them all again after every break.
pub async fn watch_leases(writer: LeaseWriter, events: mpsc::Sender<LeaseEvent>) {
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let mut pause = FIRST_PAUSE;
    loop {
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
                Ok(watcher::Event::InitDone) => {
                    pause = FIRST_PAUSE;
                    LeaseEvent::Relisted(std::mem::take(&mut listing))
                }
                Err(e) => {
                    tracing::debug!("Lease watch failed, listing again: {e}");
                    if events.send(LeaseEvent::Broken).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                    break;
                }
            };
            if events.send(report).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;
    use kube::Api;
    use serde_json::json;

    use super::*;
    use crate::fake_api::{self, failure};

    fn list(version: &str) -> serde_json::Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "LeaseList",
            "metadata": { "resourceVersion": version },
            "items": [{
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": { "name": "ferrolb-speaker-node-a", "resourceVersion": version },
                "spec": { "holderIdentity": "node-a" },
            }],
        })
    }

    /// A watch that breaks while it is resumed (a connection refused, as while the API server
    /// restarts) is followed by a complete listing, not by a resumed watch that would never
    /// tell the election it is synced again.
    #[tokio::test]
    async fn a_broken_watch_lists_everything_again() {
        let (client, seen) = fake_api::client(|request| {
            if request.query.contains("watch=true") {
                failure(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
            } else {
                (StatusCode::OK, list("7"))
            }
        });
        let writer = LeaseWriter {
            api: Api::namespaced(client, "metallb-system"),
            node: "node-a".into(),
            timeout: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(2),
        };
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(watch_leases(writer, tx));
        let mut reports = Vec::new();
        while reports.len() < 4 {
            let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("the watch reports")
                .expect("the watch runs");
            reports.push(match event {
                LeaseEvent::Relisted(leases) => format!("relisted {}", leases.len()),
                LeaseEvent::Broken => "broken".into(),
                other => format!("{other:?}"),
            });
        }
        task.abort();
        assert_eq!(
            reports,
            ["relisted 1", "broken", "relisted 1", "broken"],
            "requests: {:?}",
            seen.all()
                .iter()
                .map(|r| r.query.clone())
                .collect::<Vec<_>>()
        );
        let lists = seen
            .all()
            .iter()
            .filter(|r| !r.query.contains("watch=true"))
            .count();
        assert!(lists >= 2, "every break is followed by a listing");
    }
}
