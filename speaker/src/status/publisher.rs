//! Keeps the status objects of one kind in line with what the announcing loop wants shown:
//! the loop publishes a [`DesiredStatus`] on a watch channel, and one task per kind writes
//! the difference, retrying failed writes, and withdraws everything once the loop is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service as KubeService;
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{StatusKind, StatusWriter};
use crate::model::ServiceKey;
use crate::publish_if_changed;

/// The status this node should show: each announced Service with its interfaces or peers.
pub type DesiredStatus = BTreeMap<ServiceKey, Vec<String>>;

/// Keeps the status objects of kind `K` and events in line with `desired`, retrying failed
/// writes on the next change or every second.
pub async fn publish_status<K: StatusKind>(
    mut writer: StatusWriter<K>,
    services: Store<KubeService>,
    mut desired: watch::Receiver<Arc<DesiredStatus>>,
) {
    if let Err(e) = writer.remove_leftovers().await {
        tracing::warn!("cannot remove leftover status objects: {e}");
    }
    let mut assigned: BTreeSet<ServiceKey> = BTreeSet::new();
    loop {
        let want = desired.borrow_and_update().clone();
        let mut failed = false;
        for (key, interfaces) in want.iter() {
            if let Err(e) = writer.publish(key, interfaces.clone()).await {
                tracing::warn!("{e}");
                failed = true;
                continue;
            }
            if assigned.insert(key.clone())
                && let Some(service) =
                    services.get(&ObjectRef::new(&key.name).within(&key.namespace))
                && let Err(e) = writer.node_assigned(&service).await
            {
                tracing::warn!("{e}");
            }
        }
        let gone: Vec<ServiceKey> = writer
            .published()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            assigned.remove(&key);
            if let Err(e) = writer.withdraw(&key).await {
                tracing::warn!("{e}");
            }
        }
        assigned.retain(|k| want.contains_key(k));
        let wait = async {
            if failed {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(())
            } else {
                desired.changed().await
            }
        };
        if wait.await.is_err() {
            break;
        }
    }
    // The announcing loop is gone (shutdown): withdraw everything this node published.
    let all: Vec<ServiceKey> = writer.published().cloned().collect();
    for key in all {
        if let Err(e) = writer.withdraw(&key).await {
            tracing::warn!("{e}");
        }
    }
}

/// The status task of one kind, as the announcing loop holds it: what it should show goes in
/// through [`StatusPublisher::show`], and [`StatusPublisher::finish`] withdraws everything.
pub struct StatusPublisher {
    desired: watch::Sender<Arc<DesiredStatus>>,
    task: JoinHandle<()>,
    /// How long the withdrawal on shutdown may take.
    grace: Duration,
}

impl StatusPublisher {
    /// Starts publishing status objects of kind `K` for `node` in `namespace`, each API call
    /// bounded by `timeout`; `services` names the Services the `nodeAssigned` events are for.
    pub fn start<K: StatusKind>(
        client: Client,
        namespace: &str,
        node: &str,
        timeout: Duration,
        services: Store<KubeService>,
    ) -> StatusPublisher {
        let (desired, wanted) = watch::channel(Arc::new(DesiredStatus::new()));
        let writer = StatusWriter::<K>::new(client, namespace, node, timeout);
        StatusPublisher {
            desired,
            task: tokio::spawn(publish_status(writer, services, wanted)),
            grace: timeout * 3,
        }
    }

    /// Asks for `desired` to be shown; the same status again wakes nothing.
    pub fn show(&self, desired: DesiredStatus) {
        publish_if_changed(&self.desired, Arc::new(desired));
    }

    /// Withdraws every status object this node published, waiting for it a bounded time.
    pub async fn finish(self) {
        drop(self.desired);
        let _ = tokio::time::timeout(self.grace, self.task).await;
    }
}
