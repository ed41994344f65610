//! Reading a Service for the allocator, and what its status should say.
//!
//! [`read`] decides whether a Service is ours (`type: LoadBalancer`, and the load balancer
//! class this operator serves, by the rule of [`service_class`] shared with the speaker and
//! the webhook) and turns it into a [`Demand`]: its IP families, the IPs or pool it asks for,
//! and its sharing key and ports, or a [`Refusal`] when the request is malformed.
//! [`condition`] builds the `metallb.io/IPAllocated` condition kept in step with events.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrolb_crds::address::Family;
use ferrolb_crds::annotations::{Annotation, Deprecation, ServiceRequest};
use ferrolb_crds::service_class;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::allocator::{Demand, FamilyPolicy, Refusal, Sharing};

/// The condition type the operator keeps on every Service it handles.
pub const CONDITION_TYPE: &str = "metallb.io/IPAllocated";

/// How the operator sees a Service.
#[derive(Debug)]
pub enum View {
    /// Not a LoadBalancer of our class: leave it alone (and release what it held).
    NotOurs,
    /// Ours, but its request cannot be understood.
    Invalid(Refusal, Vec<Deprecation>),
    /// Ours, asking for this.
    Ours(Box<Demand>, Vec<Deprecation>),
}

/// `namespace/name` of a Service.
pub fn key(svc: &Service) -> String {
    format!(
        "{}/{}",
        svc.metadata.namespace.as_deref().unwrap_or_default(),
        svc.metadata.name.as_deref().unwrap_or_default()
    )
}

pub use ferrolb_crds::service_ingress::ingress_ips;

/// Whether the operator has written to this Service (its condition or pool annotation), so
/// that it may clear what it wrote when the Service stops being one of its own.
pub fn carries_our_marks(svc: &Service) -> bool {
    let annotated = svc
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| Annotation::IpAllocatedFromPool.lookup(a).is_some());
    annotated || our_condition(svc).is_some()
}

/// The operator's condition on a Service, if present.
pub fn our_condition(svc: &Service) -> Option<&Condition> {
    svc.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == CONDITION_TYPE)
}

/// Reads a Service; `lb_class` is the `--lb-class` this operator serves, as
/// [`service_class::serves`] reads it (`None`: Services without a class).
pub fn read(
    svc: &Service,
    namespace_labels: &BTreeMap<String, String>,
    lb_class: Option<&str>,
) -> View {
    if !service_class::serves_service(lb_class, svc) {
        return View::NotOurs;
    }
    let Some(spec) = &svc.spec else {
        return View::NotOurs;
    };
    let empty = BTreeMap::new();
    let annotations = svc.metadata.annotations.as_ref().unwrap_or(&empty);
    let request = match ServiceRequest::parse(annotations, spec.load_balancer_ip.as_deref()) {
        Ok(request) => request,
        Err(e) => {
            let deprecations = ServiceRequest::parse(&without_ip_requests(annotations), None)
                .map(|r| r.deprecations)
                .unwrap_or_default();
            return View::Invalid(Refusal::invalid(e.to_string()), deprecations);
        }
    };
    let policy = match spec.ip_family_policy.as_deref() {
        Some("PreferDualStack") => FamilyPolicy::PreferDualStack,
        Some("RequireDualStack") => FamilyPolicy::RequireDualStack,
        _ => FamilyPolicy::SingleStack,
    };
    let cluster_ips: Vec<IpAddr> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.iter().filter_map(|s| s.parse().ok()).collect(),
        _ => spec
            .cluster_ip
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
    };
    if policy == FamilyPolicy::RequireDualStack && cluster_ips.len() < 2 {
        return View::Invalid(
            Refusal::invalid(format!(
                "ipFamilyPolicy is RequireDualStack but the Service has {} cluster IP{}; it needs one of each family",
                cluster_ips.len(),
                if cluster_ips.len() == 1 { "" } else { "s" }
            )),
            request.deprecations,
        );
    }
    let mut families: Vec<Family> = spec
        .ip_families
        .iter()
        .flatten()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some(Family::V4),
            "IPv6" => Some(Family::V6),
            _ => None,
        })
        .collect();
    if families.is_empty() {
        families = cluster_ips.iter().map(|ip| Family::of(*ip)).collect();
    }
    if families.is_empty() {
        families.push(Family::V4);
    }
    if policy != FamilyPolicy::SingleStack {
        for f in [Family::V4, Family::V6] {
            if !families.contains(&f) {
                families.push(f);
            }
        }
    }
    let demand = Demand {
        key: key(svc),
        namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        namespace_labels: namespace_labels.clone(),
        service_labels: svc.metadata.labels.clone().unwrap_or_default(),
        policy,
        families,
        ips: request.ips,
        pool: request.pool,
        sharing: sharing_of(svc, request.sharing_key),
    };
    View::Ours(Box::new(demand), request.deprecations)
}

fn without_ip_requests(annotations: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    annotations
        .iter()
        .filter(|(k, _)| {
            *k != &Annotation::LoadBalancerIps.key()
                && *k != &Annotation::LoadBalancerIps.legacy_key()
                && *k != &Annotation::AddressPool.key()
                && *k != &Annotation::AddressPool.legacy_key()
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn sharing_of(svc: &Service, key: Option<String>) -> Sharing {
    let spec = svc.spec.as_ref();
    let ports = spec
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                p.port,
            )
        })
        .collect();
    let local = spec.and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local");
    Sharing {
        key,
        ports,
        local_selector: local.then(|| spec.and_then(|s| s.selector.clone()).unwrap_or_default()),
    }
}

/// The operator's condition for a Service, keeping the transition time of the current one
/// when its status does not change.
pub fn condition(
    svc: &Service,
    allocated: bool,
    reason: &str,
    message: &str,
    now: Time,
) -> Condition {
    let status = if allocated { "True" } else { "False" };
    let last_transition_time = match our_condition(svc) {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => now,
    };
    Condition {
        type_: CONDITION_TYPE.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: svc.metadata.generation,
        last_transition_time,
    }
}

/// Whether the Service's current condition already says this (ignoring the time).
pub fn condition_matches(svc: &Service, wanted: &Condition) -> bool {
    our_condition(svc).is_some_and(|c| {
        c.status == wanted.status
            && c.reason == wanted.reason
            && c.message == wanted.message
            && c.observed_generation == wanted.observed_generation
    })
}

#[cfg(test)]
mod tests;
