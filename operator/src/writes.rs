//! The writes the reconciler decides on, and carrying them out against the API server: a
//! Service's status (ingress IPs and the `metallb.io/IPAllocated` condition), its
//! `metallb.io/ip-allocated-from-pool` annotation, pool status by server-side apply, the
//! ConfigurationState of the operator, and events. No decisions are made here. Every call is
//! made for a leader [`Term`] and passes its fence: it does not start once the term may no
//! longer write, and it is given up at the end of the term's window.

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
use crate::term::{Term, WriteError};

/// The field manager of the operator's server-side applies.
pub const FIELD_MANAGER: &str = "ferrolb-operator";
/// Timeout of each write, unless the term's window ends sooner.
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

/// One call of `term`, its failure named by `what`.
async fn timed<T>(
    term: &Term,
    what: impl FnOnce() -> String,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, WriteError> {
    term.call(CALL_TIMEOUT, call).await.map_err(|e| match e {
        WriteError::Failed(why) => WriteError::Failed(format!("{}: {why}", what())),
        refused => refused,
    })
}

impl ServiceWrite {
    /// One PATCH of the status subresource carrying the annotation too; API servers that do
    /// not keep metadata changes made through `/status` get a second PATCH for it. Each passes
    /// `term`'s fence.
    pub async fn apply(&self, client: &kube::Client, term: &Term) -> Result<(), WriteError> {
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
                serde_json::to_value(conditions).map_err(|e| {
                    WriteError::Failed(format!(
                        "writing Service {}/{}: {e}",
                        self.namespace, self.name
                    ))
                })?
            };
            patch["status"] =
                json!({ "loadBalancer": { "ingress": ingress }, "conditions": conditions });
        }
        let key = Annotation::IpAllocatedFromPool.key();
        if let Some(pool) = &self.pool_annotation {
            patch["metadata"] = json!({ "annotations": { &key: pool } });
        }
        let api: Api<Service> = Api::namespaced(client.clone(), &self.namespace);
        let what = || format!("writing Service {}/{}", self.namespace, self.name);
        let written = timed(
            term,
            what,
            api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch)),
        )
        .await?;
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
        timed(
            term,
            what,
            api.patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)),
        )
        .await
        .map(drop)
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
    term: &Term,
    namespace: &str,
    pool: &str,
    u: &PoolUsage,
) -> Result<(), WriteError> {
    let body = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "status": pool_status(u),
    });
    let api: Api<IPAddressPool> = Api::namespaced(client.clone(), namespace);
    timed(
        term,
        || format!("writing the status of IPAddressPool {namespace}/{pool}"),
        api.patch_status(
            pool,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        ),
    )
    .await
    .map(drop)
}

/// Reports the configuration the operator loaded: `errors` empty means valid.
pub async fn write_configuration_state(
    client: &kube::Client,
    term: &Term,
    namespace: &str,
    errors: &[String],
) -> Result<(), WriteError> {
    const NAME: &str = "controller";
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let object = json!({"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "metadata": {"name": NAME}});
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let what = || format!("writing ConfigurationState {namespace}/{NAME}");
    timed(term, what, api.patch(NAME, &params, &Patch::Apply(&object))).await?;
    let mut status = json!({ "result": if errors.is_empty() { "Valid" } else { "Invalid" } });
    if !errors.is_empty() {
        status["errorSummary"] = json!(errors.join("\n"));
    }
    let status = json!({ "apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "status": status });
    timed(
        term,
        what,
        api.patch_status(NAME, &params, &Patch::Apply(&status)),
    )
    .await
    .map(drop)
}

/// An event about a Service.
#[derive(Clone, Debug)]
pub struct ServiceEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub note: String,
}

/// Publishes events in the background: they must never hold up status writes. Each passes
/// `term`'s fence; once one is refused, the rest are dropped.
pub fn publish(recorder: &Recorder, term: &Term, svc: &Service, events: Vec<ServiceEvent>) {
    if events.is_empty() {
        return;
    }
    let recorder = recorder.clone();
    let reference = svc.object_ref(&());
    let term = term.clone();
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
            match term
                .call(CALL_TIMEOUT, recorder.publish(&event, &reference))
                .await
            {
                Ok(()) => {}
                Err(WriteError::Refused(why)) => {
                    tracing::debug!("dropped event {}: {why}", e.reason);
                    return;
                }
                Err(err) => tracing::debug!("publishing event {}: {err}", e.reason),
            }
        }
    });
}
