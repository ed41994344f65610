//! The writes the reconciler decides on, and carrying them out against the API server: a
//! Service's status (ingress IPs and the `metallb.io/IPAllocated` condition), its
//! `metallb.io/ip-allocated-from-pool` annotation, pool status by server-side apply, the
//! ConfigurationState of the operator, and events. No decisions are made here.

use std::net::IpAddr;
use std::time::Duration;

use ferrolb_crds::annotations::Annotation;
use ferrolb_crds::ipaddresspool::IPAddressPoolStatus;
use ferrolb_crds::{ConfigurationState, IPAddressPool};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use serde_json::{Value, json};

use crate::allocator::PoolUsage;

/// The field manager of the operator's server-side applies.
pub const FIELD_MANAGER: &str = "ferrolb-operator";
/// Timeout of each write.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What must change on one Service: its status (ingress IPs and every condition, the
/// operator's one updated), its `metallb.io/ip-allocated-from-pool` annotation, or both.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceWrite {
    pub namespace: String,
    pub name: String,
    pub status: Option<(Vec<IpAddr>, Vec<Condition>)>,
    /// `Some(None)` removes the annotation.
    pub pool_annotation: Option<Option<String>>,
}

/// Every condition of `svc` but the operator's, plus `ours`.
pub fn merged_conditions(svc: &Service, ours: Option<Condition>) -> Vec<Condition> {
    let mut all: Vec<Condition> = svc
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_ != crate::service::CONDITION_TYPE)
        .collect();
    all.extend(ours);
    all
}

async fn timed<T>(call: impl Future<Output = Result<T, kube::Error>>) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Err(_) => Err("timed out".to_owned()),
        Ok(r) => r.map_err(|e| e.to_string()),
    }
}

impl ServiceWrite {
    /// One PATCH of the status subresource carrying the annotation too; API servers that do
    /// not keep metadata changes made through `/status` get a second PATCH for it.
    pub async fn apply(&self, client: &kube::Client) -> Result<(), String> {
        let mut patch = json!({});
        if let Some((ips, conditions)) = &self.status {
            let ingress: Value = if ips.is_empty() {
                Value::Null
            } else {
                ips.iter()
                    .map(|ip| json!({ "ip": ip.to_string() }))
                    .collect()
            };
            let conditions: Value = if conditions.is_empty() {
                Value::Null
            } else {
                serde_json::to_value(conditions).map_err(|e| e.to_string())?
            };
            patch["status"] =
                json!({ "loadBalancer": { "ingress": ingress }, "conditions": conditions });
        }
        let key = Annotation::IpAllocatedFromPool.key();
        if let Some(pool) = &self.pool_annotation {
            patch["metadata"] = json!({ "annotations": { &key: pool } });
        }
        let api: Api<Service> = Api::namespaced(client.clone(), &self.namespace);
        let fail = |e: String| format!("writing Service {}/{}: {e}", self.namespace, self.name);
        let written =
            timed(api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch)))
                .await
                .map_err(fail)?;
        let Some(pool) = &self.pool_annotation else {
            return Ok(());
        };
        let kept = written
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(&key))
            == pool.as_ref();
        if kept {
            return Ok(());
        }
        let patch = json!({ "metadata": { "annotations": { &key: pool } } });
        timed(api.patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)))
            .await
            .map(drop)
            .map_err(fail)
    }
}

/// Saturates a count for the 64-bit status fields of a pool.
fn saturated(n: u128) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The status a pool must show for usage `u`.
pub fn pool_status(u: &PoolUsage) -> IPAddressPoolStatus {
    IPAddressPoolStatus {
        assigned_ipv4: saturated(u.assigned_v4),
        assigned_ipv6: saturated(u.assigned_v6),
        available_ipv4: saturated(u.available_v4()),
        available_ipv6: saturated(u.available_v6()),
    }
}

/// Writes a pool's usage into its status subresource by server-side apply.
pub async fn write_pool_status(
    client: &kube::Client,
    namespace: &str,
    pool: &str,
    u: &PoolUsage,
) -> Result<(), String> {
    let body = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "status": pool_status(u),
    });
    let api: Api<IPAddressPool> = Api::namespaced(client.clone(), namespace);
    timed(api.patch_status(
        pool,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    ))
    .await
    .map(drop)
    .map_err(|e| format!("writing the status of IPAddressPool {namespace}/{pool}: {e}"))
}

/// Reports the configuration the operator loaded: `errors` empty means valid.
pub async fn write_configuration_state(
    client: &kube::Client,
    namespace: &str,
    errors: &[String],
) -> Result<(), String> {
    const NAME: &str = "controller";
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let object = json!({"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "metadata": {"name": NAME}});
    let params = PatchParams::apply(FIELD_MANAGER).force();
    timed(api.patch(NAME, &params, &Patch::Apply(&object))).await?;
    let mut status = json!({ "result": if errors.is_empty() { "Valid" } else { "Invalid" } });
    if !errors.is_empty() {
        status["errorSummary"] = json!(errors.join("\n"));
    }
    let status = json!({ "apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "status": status });
    timed(api.patch_status(NAME, &params, &Patch::Apply(&status)))
        .await
        .map(drop)
        .map_err(|e| format!("writing ConfigurationState {namespace}/{NAME}: {e}"))
}

/// An event about a Service.
#[derive(Clone, Debug)]
pub struct ServiceEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub note: String,
}

/// Publishes events in the background: they must never hold up status writes.
pub fn publish(recorder: &Recorder, svc: &Service, events: Vec<ServiceEvent>) {
    if events.is_empty() {
        return;
    }
    let recorder = recorder.clone();
    let reference = svc.object_ref(&());
    tokio::spawn(async move {
        for e in events {
            let event = Event {
                type_: if e.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: e.reason.to_owned(),
                note: Some(e.note),
                action: "Allocate".to_owned(),
                secondary: None,
            };
            if let Err(err) = recorder.publish(&event, &reference).await {
                tracing::debug!("publishing event {}: {err}", e.reason);
            }
        }
    });
}
