//! The churn's actions carried out through the API as a user and the endpoint-slice
//! controller would (a Service with ready endpoints on every node, deleted with its slices; the
//! pool's address list patched), and the Services read back as the invariants see them. Every
//! call is bounded, since the API server may be down at any moment.

use std::time::Duration;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::service_ingress::ingress_ips;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};

use super::ChaosWorld;
use super::churn::{Action, NewService};
use super::invariants::ServiceView;
use crate::objects::endpoint_slices::{self, Backend, CONTROLLER_MAX_PER_SLICE};

/// The longest any call of the churn or the checks may take.
pub const CALL_LIMIT: Duration = Duration::from_secs(3);

async fn bounded<T>(
    what: &str,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_LIMIT, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {CALL_LIMIT:?}")),
    }
}

/// Like [`bounded`], with an answer of status `done` (409 to a create, 404 to a delete)
/// counting as success: an earlier try already made the change.
async fn bounded_or<T>(
    what: &str,
    done: u16,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<(), String> {
    let done_before =
        |e: &kube::Error| matches!(e, kube::Error::Api(status) if status.code == done);
    bounded(what, async {
        match call.await {
            Err(e) if done_before(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    })
    .await
}

/// The Service a [`NewService`] describes, labelled for the world's advertisement.
fn service_object(world: &ChaosWorld, new: &NewService) -> Service {
    let mut annotations = serde_json::Map::new();
    if let Some(key) = &new.sharing_key {
        annotations.insert("metallb.io/allow-shared-ip".into(), key.clone().into());
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": new.name,
            "namespace": world.namespace(),
            "labels": { "ferrolb.io/lab": world.world.lab.id },
            "annotations": annotations,
        },
        "spec": {
            "type": "LoadBalancer",
            "ports": [{ "port": new.port, "protocol": "TCP" }],
        },
    }))
    .expect("a Service")
}

impl ChaosWorld {
    /// Carries out `action`; a retry after a partial failure completes it.
    pub async fn apply(&self, action: &Action) -> Result<(), String> {
        let client = &self.world.client;
        let namespace = self.namespace();
        let services = Api::<Service>::namespaced(client.clone(), namespace);
        match action {
            Action::Create(new) => {
                let object = service_object(self, new);
                bounded_or(
                    &format!("creating {}", new.name),
                    409,
                    services.create(&PostParams::default(), &object),
                )
                .await?;
                let nodes = self.world.lab.node_names();
                bounded(
                    "its EndpointSlices",
                    endpoint_slices::publish(
                        client,
                        namespace,
                        &new.name,
                        &Backend::ready_on(&nodes),
                        CONTROLLER_MAX_PER_SLICE,
                    ),
                )
                .await
            }
            Action::Delete(name) => {
                bounded_or(
                    &format!("deleting {name}"),
                    404,
                    services.delete(name, &DeleteParams::default()),
                )
                .await?;
                bounded(
                    "its EndpointSlices",
                    endpoint_slices::delete_all(client, namespace, name),
                )
                .await
            }
            Action::EditPool(ranges) => {
                let pools = Api::<IPAddressPool>::namespaced(client.clone(), namespace);
                let patch = serde_json::json!({ "spec": { "addresses": ranges } });
                bounded(
                    "the pool edit",
                    pools.patch("lab", &PatchParams::default(), &Patch::Merge(patch)),
                )
                .await
                .map(|_| ())
            }
        }
    }
}

/// The Services of `namespace` as the invariants see them.
pub async fn services(client: &kube::Client, namespace: &str) -> Result<Vec<ServiceView>, String> {
    let api = Api::<Service>::namespaced(client.clone(), namespace);
    let list = bounded("listing Services", api.list(&ListParams::default())).await?;
    Ok(list.items.iter().map(view).collect())
}

/// What the invariants need of a Service.
pub fn view(service: &Service) -> ServiceView {
    let annotations = service.metadata.annotations.clone().unwrap_or_default();
    let spec = service.spec.clone().unwrap_or_default();
    ServiceView {
        name: service.metadata.name.clone().unwrap_or_default(),
        ips: ingress_ips(service),
        sharing_key: annotations
            .get("metallb.io/allow-shared-ip")
            .or_else(|| annotations.get("metallb.universe.tf/allow-shared-ip"))
            .cloned(),
        ports: spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.protocol.unwrap_or_else(|| "TCP".into()), p.port))
            .collect(),
        local: spec.external_traffic_policy.as_deref() == Some("Local"),
        selector: spec.selector.unwrap_or_default(),
    }
}
