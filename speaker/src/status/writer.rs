//! The API calls behind the status objects of one kind: server-side apply of the object and
//! its status, deletion guarded by the resourceVersion this node wrote, the sweep of objects
//! an earlier run of this node left, and the `nodeAssigned` event. Every call has a timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service as KubeService;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

use super::{NODE_LABEL, SERVICE_NAME_LABEL, SERVICE_NAMESPACE_LABEL, StatusKind};
use crate::Error;
use crate::model::ServiceKey;

const FIELD_MANAGER: &str = "ferrolb-speaker";

/// Publishes status objects of kind `K` and events for this node.
pub struct StatusWriter<K: StatusKind> {
    api: Api<K>,
    recorder: Recorder,
    node: String,
    timeout: Duration,
    /// Services this node published, with the resourceVersion it wrote and the interfaces.
    published: BTreeMap<ServiceKey, (String, Vec<String>)>,
}

/// A deletion that applies only while the object is still at `version`, so an object another
/// node wrote since is left alone.
fn delete_if_unchanged(version: String) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: Some(version),
            uid: None,
        }),
        ..Default::default()
    }
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
        let params = delete_if_unchanged(version);
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
                let params = delete_if_unchanged(version);
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

#[cfg(test)]
mod tests;
