//! What users see of the election: a ServiceL2Status per announced Service naming the node and
//! interfaces, written by the owner and removed when it stops owning, and a `nodeAssigned`
//! event on the Service each time a node takes its IP.
//!
//! Status objects are named after the Service (`l2-<namespace>.<name>`, unambiguous since
//! neither part may hold a dot), so a new owner overwrites the old owner's object instead of
//! leaving a second one. A withdrawal deletes only the version this node wrote.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrolb_crds::ServiceL2Status;
use ferrolb_crds::servicestatus::{InterfaceInfo, ServiceL2StatusStatus};
use k8s_openapi::api::core::v1::Service as KubeService;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

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

/// Publishes ServiceL2Status objects and events for this node.
pub struct StatusWriter {
    api: Api<ServiceL2Status>,
    recorder: Recorder,
    node: String,
    timeout: Duration,
    /// Services this node published, with the resourceVersion it wrote and the interfaces.
    published: BTreeMap<ServiceKey, (String, Vec<String>)>,
}

impl StatusWriter {
    pub fn new(client: Client, namespace: &str, node: &str, timeout: Duration) -> StatusWriter {
        StatusWriter {
            api: Api::namespaced(client.clone(), namespace),
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: "ferrolb-speaker".into(),
                    instance: Some(node.into()),
                },
            ),
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

    /// Says this node announces `key` on `interfaces`, unless it already said exactly that.
    pub async fn publish(
        &mut self,
        key: &ServiceKey,
        interfaces: Vec<String>,
    ) -> Result<(), Error> {
        if self
            .published
            .get(key)
            .is_some_and(|(_, i)| *i == interfaces)
        {
            return Ok(());
        }
        let name = status_name(key);
        let mut object = ServiceL2Status::new(&name, Default::default());
        object.metadata.labels = Some(BTreeMap::from([
            (NODE_LABEL.into(), self.node.clone()),
            (SERVICE_NAME_LABEL.into(), key.name.clone()),
            (SERVICE_NAMESPACE_LABEL.into(), key.namespace.clone()),
        ]));
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let what = format!("writing ServiceL2Status {name:?}");
        self.timed(
            &what,
            self.api.patch(&name, &params, &Patch::Apply(&object)),
        )
        .await?;
        object.status = Some(ServiceL2StatusStatus {
            node: self.node.clone(),
            service_name: key.name.clone(),
            service_namespace: key.namespace.clone(),
            interfaces: interfaces
                .iter()
                .map(|n| InterfaceInfo { name: n.clone() })
                .collect(),
        });
        let stored = self
            .timed(
                &what,
                self.api
                    .patch_status(&name, &params, &Patch::Apply(&object)),
            )
            .await?;
        let version = stored.metadata.resource_version.unwrap_or_default();
        self.published.insert(key.clone(), (version, interfaces));
        Ok(())
    }

    /// Removes the status of `key` if it is still the version this node wrote.
    pub async fn withdraw(&mut self, key: &ServiceKey) -> Result<(), Error> {
        let Some((version, _)) = self.published.remove(key) else {
            return Ok(());
        };
        let name = status_name(key);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: Some(version),
                uid: None,
            }),
            ..Default::default()
        };
        match self
            .timed(
                &format!("deleting ServiceL2Status {name:?}"),
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
                "listing ServiceL2Status objects",
                self.api.list(&ListParams::default().labels(&selector)),
            )
            .await?;
        for object in list {
            let named_here = object.status.as_ref().is_some_and(|s| s.node == self.node);
            let name = object.metadata.name.clone().unwrap_or_default();
            if named_here && let Some(version) = object.metadata.resource_version.clone() {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        resource_version: Some(version),
                        uid: None,
                    }),
                    ..Default::default()
                };
                let _ = self
                    .timed(
                        &format!("deleting ServiceL2Status {name:?}"),
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
                "announcing from node \"{}\" with protocol \"layer2\"",
                self.node
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
}
