//! What users see of the announcements: a ServiceL2Status per announced Service naming the
//! node and interfaces, written by the owner and removed when it stops owning; a
//! ServiceBGPStatus per (Service, node) naming the peers the node advertises it to; and a
//! `nodeAssigned` event on the Service each time a node starts announcing it.
//!
//! One writer serves both kinds through [`StatusKind`]. ServiceL2Status objects are named
//! after the Service (`l2-<namespace>.<name>`, unambiguous since neither part may hold a
//! dot), so a new owner overwrites the old owner's object instead of leaving a second one;
//! ServiceBGPStatus objects add the node (`bgp-<namespace>.<name>.<node>`), since every
//! advertising node has its own. A withdrawal deletes only the version this node wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::servicestatus::{InterfaceInfo, ServiceBGPStatusStatus, ServiceL2StatusStatus};
use ferrolb_crds::{ServiceBGPStatus, ServiceL2Status};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Service as KubeService;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::Error;
use crate::model::ServiceKey;

const FIELD_MANAGER: &str = "ferrolb-speaker";
/// Labels of MetalLB's status objects.
pub const NODE_LABEL: &str = "metallb.io/node";
pub const SERVICE_NAME_LABEL: &str = "metallb.io/service-name";
pub const SERVICE_NAMESPACE_LABEL: &str = "metallb.io/service-namespace";

/// The name of the ServiceL2Status of a Service.
pub fn status_name(key: &ServiceKey) -> String {
    format!("l2-{}.{}", key.namespace, key.name)
}

/// The name of the ServiceBGPStatus of a Service on a node; a name too long for the API is
/// shortened with a hash of the node name in place of its tail.
pub fn bgp_status_name(key: &ServiceKey, node: &str) -> String {
    let name = format!("bgp-{}.{}.{node}", key.namespace, key.name);
    if name.len() <= 253 {
        return name;
    }
    let hash = node.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut short = name[..236].trim_end_matches(['.', '-']).to_owned();
    short.push_str(&format!(".{hash:016x}"));
    short
}

/// A status kind the speaker publishes per Service: its name, and how one is written.
pub trait StatusKind:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The protocol named in `nodeAssigned` events: `layer2` or `bgp`.
    const PROTOCOL: &'static str;
    fn object_name(key: &ServiceKey, node: &str) -> String;
    /// The object with labels only, for the metadata write.
    fn empty(name: &str) -> Self;
    /// Sets the status: the node, the Service, and the interfaces or peers.
    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]);
    fn node(&self) -> Option<&str>;
}

impl StatusKind for ServiceL2Status {
    const PROTOCOL: &'static str = "layer2";

    fn object_name(key: &ServiceKey, _node: &str) -> String {
        status_name(key)
    }

    fn empty(name: &str) -> Self {
        ServiceL2Status::new(name, Default::default())
    }

    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]) {
        self.status = Some(ServiceL2StatusStatus {
            node: node.into(),
            service_name: key.name.clone(),
            service_namespace: key.namespace.clone(),
            interfaces: detail
                .iter()
                .map(|n| InterfaceInfo { name: n.clone() })
                .collect(),
        });
    }

    fn node(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.node.as_str())
    }
}

impl StatusKind for ServiceBGPStatus {
    const PROTOCOL: &'static str = "bgp";

    fn object_name(key: &ServiceKey, node: &str) -> String {
        bgp_status_name(key, node)
    }

    fn empty(name: &str) -> Self {
        ServiceBGPStatus::new(name, Default::default())
    }

    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]) {
        self.status = Some(ServiceBGPStatusStatus {
            node: node.into(),
            service_name: key.name.clone(),
            service_namespace: key.namespace.clone(),
            peers: detail.to_vec(),
        });
    }

    fn node(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.node.as_str())
    }
}

/// Publishes status objects of kind `K` and events for this node.
pub struct StatusWriter<K: StatusKind> {
    api: Api<K>,
    recorder: Recorder,
    node: String,
    timeout: Duration,
    /// Services this node published, with the resourceVersion it wrote and the interfaces.
    published: BTreeMap<ServiceKey, (String, Vec<String>)>,
}

/// The speaker's event recorder on `node`: events it publishes name `ferrolb-speaker` and the
/// node as their reporter.
pub(crate) fn event_recorder(client: Client, node: &str) -> Recorder {
    Recorder::new(
        client,
        Reporter {
            controller: "ferrolb-speaker".into(),
            instance: Some(node.into()),
        },
    )
}

impl<K: StatusKind> StatusWriter<K> {
    pub fn new(client: Client, namespace: &str, node: &str, timeout: Duration) -> Self {
        StatusWriter {
            api: Api::namespaced(client.clone(), namespace),
            recorder: event_recorder(client, node),
            node: node.into(),
            timeout,
            published: BTreeMap::new(),
        }
    }

    async fn timed<T>(
        &self,
        what: &str,
        call: impl Future<Output = kube::Result<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(Error::Timeout {
                what: what.to_owned(),
                after: self.timeout,
            }),
            Ok(result) => result.map_err(|source| Error::Kube {
                what: what.to_owned(),
                source,
            }),
        }
    }

    /// Says this node announces `key` with `detail` (interfaces or peers), unless it already
    /// said exactly that.
    pub async fn publish(&mut self, key: &ServiceKey, detail: Vec<String>) -> Result<(), Error> {
        if self.published.get(key).is_some_and(|(_, d)| *d == detail) {
            return Ok(());
        }
        let name = K::object_name(key, &self.node);
        let mut object = K::empty(&name);
        object.meta_mut().labels = Some(BTreeMap::from([
            (NODE_LABEL.into(), self.node.clone()),
            (SERVICE_NAME_LABEL.into(), key.name.clone()),
            (SERVICE_NAMESPACE_LABEL.into(), key.namespace.clone()),
        ]));
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let what = format!("writing {} {name:?}", K::kind(&()));
        self.timed(
            &what,
            self.api.patch(&name, &params, &Patch::Apply(&object)),
        )
        .await?;
        object.set_status(&self.node, key, &detail);
        let stored = self
            .timed(
                &what,
                self.api
                    .patch_status(&name, &params, &Patch::Apply(&object)),
            )
            .await?;
        let version = stored.meta().resource_version.clone().unwrap_or_default();
        self.published.insert(key.clone(), (version, detail));
        Ok(())
    }

    /// Removes the status of `key` if it is still the version this node wrote.
    pub async fn withdraw(&mut self, key: &ServiceKey) -> Result<(), Error> {
        let Some((version, _)) = self.published.remove(key) else {
            return Ok(());
        };
        let name = K::object_name(key, &self.node);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: Some(version),
                uid: None,
            }),
            ..Default::default()
        };
        match self
            .timed(
                &format!("deleting {} {name:?}", K::kind(&())),
                self.api.delete(&name, &params),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Another node wrote it since, or it is gone already: nothing of ours to remove.
            Err(Error::Kube {
                source: kube::Error::Api(status),
                ..
            }) if status.code == 409 || status.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The Services this node has published a status for.
    pub fn published(&self) -> impl Iterator<Item = &ServiceKey> {
        self.published.keys()
    }

    /// Deletes status objects naming this node left by an earlier run.
    pub async fn remove_leftovers(&mut self) -> Result<(), Error> {
        let selector = format!("{NODE_LABEL}={}", self.node);
        let list = self
            .timed(
                &format!("listing {} objects", K::kind(&())),
                self.api.list(&ListParams::default().labels(&selector)),
            )
            .await?;
        for object in list {
            let named_here = object.node() == Some(self.node.as_str());
            let name = object.meta().name.clone().unwrap_or_default();
            if named_here && let Some(version) = object.meta().resource_version.clone() {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        resource_version: Some(version),
                        uid: None,
                    }),
                    ..Default::default()
                };
                let _ = self
                    .timed(
                        &format!("deleting {} {name:?}", K::kind(&())),
                        self.api.delete(&name, &params),
                    )
                    .await;
            }
        }
        Ok(())
    }

    /// Records the `nodeAssigned` event on a Service.
    pub async fn node_assigned(&self, service: &KubeService) -> Result<(), Error> {
        let event = Event {
            type_: EventType::Normal,
            reason: "nodeAssigned".into(),
            note: Some(format!(
                "announcing from node \"{}\" with protocol \"{}\"",
                self.node,
                K::PROTOCOL
            )),
            action: "Announce".into(),
            secondary: None,
        };
        let reference = service.object_ref(&());
        self.timed(
            "recording event nodeAssigned",
            self.recorder.publish(&event, &reference),
        )
        .await
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_cannot_collide_across_namespaces() {
        let a = ServiceKey {
            namespace: "a-b".into(),
            name: "c".into(),
        };
        let b = ServiceKey {
            namespace: "a".into(),
            name: "b-c".into(),
        };
        assert_eq!(status_name(&a), "l2-a-b.c");
        assert_ne!(status_name(&a), status_name(&b));
    }

    #[test]
    fn bgp_status_names_carry_the_node_and_fit_the_api() {
        let key = ServiceKey {
            namespace: "web".into(),
            name: "front".into(),
        };
        assert_eq!(bgp_status_name(&key, "node-a"), "bgp-web.front.node-a");
        let long_node = "n".repeat(250);
        let other_node = format!("{}m", "n".repeat(249));
        let long = bgp_status_name(&key, &long_node);
        assert!(long.len() <= 253, "{}", long.len());
        assert_ne!(long, bgp_status_name(&key, &other_node));
    }
}
