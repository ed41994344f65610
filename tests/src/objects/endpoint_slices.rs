//! A Service's EndpointSlices written as Kubernetes' endpoint-slice controller writes them: a
//! `kubernetes.io/service-name` label, the controller's `managed-by` label, generated names,
//! at most a fixed number of endpoints per slice (so a Service may have several slices), and
//! each endpoint's `ready`/`serving`/`terminating` conditions and `nodeName`.
//!
//! [`publish`] turns a list of [`Backend`]s into slices and converges the Service's slices in
//! the API on them the way the controller does: existing slices are updated in place, missing
//! ones created, surplus ones deleted. So a backend moving to another node is one slice update,
//! never a moment without endpoints.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::collections::BTreeMap;

/// The label naming the Service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The endpoint-slice controller's own mark on the slices it manages.
const MANAGED_BY: (&str, &str) = (
    "endpointslice.kubernetes.io/managed-by",
    "endpointslice-controller.k8s.io",
);
/// The controller's default `--max-endpoints-per-slice`.
pub const CONTROLLER_MAX_PER_SLICE: usize = 100;

/// A pod's state as its endpoint conditions tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Running and ready: ready, serving, not terminating.
    Ready,
    /// Running, failing its readiness probe: not ready, not serving.
    NotReady,
    /// Being deleted, still passing its readiness probe: not ready, serving, terminating.
    TerminatingServing,
    /// Being deleted and no longer serving: not ready, not serving, terminating.
    TerminatingStopped,
}

impl PodState {
    fn conditions(self) -> EndpointConditions {
        let (ready, serving, terminating) = match self {
            PodState::Ready => (true, true, false),
            PodState::NotReady => (false, false, false),
            PodState::TerminatingServing => (false, true, true),
            PodState::TerminatingStopped => (false, false, true),
        };
        EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }
    }
}

/// One backend pod of a Service: the node it runs on and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub node: String,
    pub state: PodState,
}

impl Backend {
    pub fn new(node: &str, state: PodState) -> Backend {
        Backend {
            node: node.to_owned(),
            state,
        }
    }

    /// A ready backend on each of `nodes`.
    pub fn ready_on(nodes: &[&str]) -> Vec<Backend> {
        nodes
            .iter()
            .map(|n| Backend::new(n, PodState::Ready))
            .collect()
    }
}

/// The pod address of the `index`th backend (documentation range, never routed here).
fn pod_address(index: usize) -> String {
    format!("203.0.113.{}", index % 250 + 1)
}

/// The IPv4 slices of Service `service` for `backends`, at most `per_slice` endpoints each,
/// without names (the API generates them); one empty slice when there are no backends, as the
/// controller leaves it.
pub fn slices(service: &Service, backends: &[Backend], per_slice: usize) -> Vec<EndpointSlice> {
    let name = service.metadata.name.clone().unwrap_or_default();
    let mut labels = BTreeMap::from([(SERVICE_NAME_LABEL.to_owned(), name.clone())]);
    labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
    let owner = service.metadata.uid.clone().map(|uid| OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: name.clone(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    });
    let endpoints: Vec<Endpoint> = backends
        .iter()
        .enumerate()
        .map(|(i, b)| Endpoint {
            addresses: vec![pod_address(i)],
            conditions: Some(b.state.conditions()),
            node_name: Some(b.node.clone()),
            ..Default::default()
        })
        .collect();
    let chunks: Vec<&[Endpoint]> = if endpoints.is_empty() {
        vec![&[]]
    } else {
        endpoints.chunks(per_slice.max(1)).collect()
    };
    chunks
        .into_iter()
        .map(|chunk| EndpointSlice {
            metadata: ObjectMeta {
                generate_name: Some(format!("{name}-")),
                namespace: service.metadata.namespace.clone(),
                labels: Some(labels.clone()),
                owner_references: owner.clone().map(|o| vec![o]),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: chunk.to_vec(),
            ports: Some(vec![EndpointPort {
                name: Some(String::new()),
                port: Some(80),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
        })
        .collect()
}

/// Converges the EndpointSlices of `service` (read from the API, so its uid owns the slices)
/// on `backends`, `per_slice` endpoints at most per slice: updates in place, creates what is
/// missing, deletes what is left over.
pub async fn publish(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    backends: &[Backend],
    per_slice: usize,
) -> Result<(), kube::Error> {
    let object = Api::<Service>::namespaced(client.clone(), namespace)
        .get(service)
        .await?;
    let api = Api::<EndpointSlice>::namespaced(client.clone(), namespace);
    let mut existing = api
        .list(&ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={service}")))
        .await?
        .items;
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let pp = PostParams::default();
    let mut current = existing.into_iter();
    for mut slice in slices(&object, backends, per_slice) {
        match current.next() {
            Some(old) => {
                slice.metadata.name = old.metadata.name.clone();
                slice.metadata.resource_version = old.metadata.resource_version.clone();
                let name = old.metadata.name.clone().unwrap_or_default();
                api.replace(&name, &pp, &slice).await?;
            }
            None => {
                api.create(&pp, &slice).await?;
            }
        }
    }
    for surplus in current {
        let name = surplus.metadata.name.unwrap_or_default();
        api.delete(&name, &DeleteParams::default()).await?;
    }
    Ok(())
}

/// Deletes every EndpointSlice of `service` (the garbage collector would, after the Service;
/// there is no controller-manager on the test control plane).
pub async fn delete_all(
    client: &kube::Client,
    namespace: &str,
    service: &str,
) -> Result<(), kube::Error> {
    Api::<EndpointSlice>::namespaced(client.clone(), namespace)
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={service}")),
        )
        .await
        .map(|_| ())
}

/// One EndpointSlice of `service` with a ready endpoint on each of `nodes`, as YAML for
/// `kubectl apply` (named, since apply needs a name; no owner, since the Service's uid is not
/// known here).
pub fn ready_yaml(service: &str, namespace: &str, nodes: &[&str]) -> String {
    let owner = Service {
        metadata: ObjectMeta {
            name: Some(service.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut slice = slices(&owner, &Backend::ready_on(nodes), CONTROLLER_MAX_PER_SLICE).remove(0);
    slice.metadata.generate_name = None;
    slice.metadata.name = Some(format!("{service}-ready"));
    serde_yaml::to_string(&slice).expect("an EndpointSlice serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                uid: Some("uid-1".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn backends_beyond_the_slice_size_spill_into_more_slices_owned_by_the_service() {
        let backends = Backend::ready_on(&["a", "b", "c", "d", "e"]);
        let out = slices(&service("web"), &backends, 2);
        assert_eq!(
            out.iter().map(|s| s.endpoints.len()).collect::<Vec<_>>(),
            [2, 2, 1]
        );
        for slice in &out {
            let labels = slice.metadata.labels.as_ref().unwrap();
            assert_eq!(labels[SERVICE_NAME_LABEL], "web");
            assert_eq!(
                slice.metadata.owner_references.as_ref().unwrap()[0].uid,
                "uid-1"
            );
        }
    }

    #[test]
    fn the_yaml_for_kubectl_is_a_named_slice_with_one_ready_endpoint_per_node() {
        let yaml = ready_yaml("web", "shop", &["a", "b"]);
        assert!(yaml.contains("apiVersion: discovery.k8s.io/v1"), "{yaml}");
        assert!(yaml.contains("kind: EndpointSlice"), "{yaml}");
        let slice: EndpointSlice = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(slice.metadata.name.as_deref(), Some("web-ready"));
        assert_eq!(slice.metadata.labels.unwrap()[SERVICE_NAME_LABEL], "web");
        let nodes: Vec<_> = slice
            .endpoints
            .iter()
            .map(|e| e.node_name.clone())
            .collect();
        assert_eq!(nodes, [Some("a".to_owned()), Some("b".to_owned())]);
    }

    #[test]
    fn a_terminating_pod_that_still_serves_is_not_ready_but_serving() {
        let out = slices(
            &service("web"),
            &[Backend::new("a", PodState::TerminatingServing)],
            CONTROLLER_MAX_PER_SLICE,
        );
        let conditions = out[0].endpoints[0].conditions.clone().unwrap();
        assert_eq!(
            (conditions.ready, conditions.serving, conditions.terminating),
            (Some(false), Some(true), Some(true))
        );
    }
}
