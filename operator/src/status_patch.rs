//! Carrying decided writes out against the API server: a Service's status (ingress IPs and
//! its conditions) with its `metallb.io/ip-allocated-from-pool` annotation by merge patch,
//! an IPAddressPool's status and the operator's ConfigurationState by server-side apply. No
//! decisions are made here: the [`ServiceWrite`] comes from [`decision`](crate::decision) and
//! the pool status from [`pool_status`](crate::pool_status). Every call is made for a leader
//! [`Term`] and passes its fence: it does not start once the term may no longer write, and it
//! is given up at the end of the term's window.

use std::net::IpAddr;
use std::time::Duration;

use ferrolb_crds::annotations::Annotation;
use ferrolb_crds::ipaddresspool::IPAddressPoolStatus;
use ferrolb_crds::{ConfigurationState, IPAddressPool};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::term::Term;
use crate::{Error, Result};

/// The field manager of the operator's server-side applies.
pub const FIELD_MANAGER: &str = "ferrolb-operator";
/// Timeout of each write, unless the term's window ends sooner.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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

impl ServiceWrite {
    /// `namespace/name` of the Service written.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The merge patch of the status subresource: the status, and the annotation too.
    pub fn status_patch(&self) -> Result<Value> {
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
                serde_json::to_value(conditions).map_err(|source| Error::Encode {
                    action: format!("writing the conditions of Service {}", self.key()),
                    source,
                })?
            };
            patch["status"] =
                json!({ "loadBalancer": { "ingress": ingress }, "conditions": conditions });
        }
        if let Some(pool) = &self.pool_annotation {
            let key = Annotation::IpAllocatedFromPool.key();
            patch["metadata"] = json!({ "annotations": { &key: pool } });
        }
        Ok(patch)
    }

    /// One PATCH of the status subresource carrying the annotation too; API servers that do
    /// not keep metadata changes made through `/status` get a second PATCH for it. Each passes
    /// `term`'s fence.
    pub async fn apply(&self, client: &kube::Client, term: &Term) -> Result<()> {
        let patch = self.status_patch()?;
        let api: Api<Service> = Api::namespaced(client.clone(), &self.namespace);
        let action = format!("writing Service {}", self.key());
        let written = term
            .call(
                &action,
                CALL_TIMEOUT,
                api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await?;
        let Some(pool) = &self.pool_annotation else {
            return Ok(());
        };
        let key = Annotation::IpAllocatedFromPool.key();
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
        let action = format!("writing the {key} annotation of Service {}", self.key());
        term.call(
            &action,
            CALL_TIMEOUT,
            api.patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)),
        )
        .await
        .map(drop)
    }
}

/// Writes `status` into the status subresource of pool `pool` by server-side apply.
pub async fn write_pool_status(
    client: &kube::Client,
    term: &Term,
    namespace: &str,
    pool: &str,
    status: IPAddressPoolStatus,
) -> Result<()> {
    let body = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "status": status,
    });
    let api: Api<IPAddressPool> = Api::namespaced(client.clone(), namespace);
    term.call(
        &format!("writing the status of IPAddressPool {namespace}/{pool}"),
        CALL_TIMEOUT,
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
) -> Result<()> {
    const NAME: &str = "controller";
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let object = json!({"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "metadata": {"name": NAME}});
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let action = format!("writing ConfigurationState {namespace}/{NAME}");
    term.call(
        &action,
        CALL_TIMEOUT,
        api.patch(NAME, &params, &Patch::Apply(&object)),
    )
    .await?;
    let mut status = json!({ "result": if errors.is_empty() { "Valid" } else { "Invalid" } });
    if !errors.is_empty() {
        status["errorSummary"] = json!(errors.join("\n"));
    }
    let status = json!({ "apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "status": status });
    term.call(
        &format!("writing the status of ConfigurationState {namespace}/{NAME}"),
        CALL_TIMEOUT,
        api.patch_status(NAME, &params, &Patch::Apply(&status)),
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests;
