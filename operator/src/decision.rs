//! What one Service needs, decided without any I/O.
//!
//! [`converge`] reads a Service (with its namespace's labels) the way [`service::read`] does,
//! brings the [`Allocator`] in line with it, and compares the outcome with what the Service
//! shows today. The answer is a [`Decision`]: the write that makes its status, condition and
//! `metallb.io/ip-allocated-from-pool` annotation right (none when they already are), the
//! events that tell people what happened (worded as MetalLB words them), the
//! `metallb.io/IPAllocated` condition, and whether the Service now waits for an address. The
//! reconciler only feeds it from the caches and applies the answer. [`order`] decides which
//! Service goes first, and [`configuration`] the pools the allocator gets and the errors the
//! ConfigurationState reports.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::annotations::{Annotation, Deprecation};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;

use crate::allocator::{Allocator, Change, Converged, Failed, Pool, Refusal, pool};
use crate::service::{self, View};
use crate::status_patch::ServiceWrite;

/// An event to publish about a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub note: String,
}

/// What converging one Service decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The write its object needs; `None` when it already shows the decision.
    pub write: Option<ServiceWrite>,
    /// Events to publish, in order.
    pub events: Vec<ServiceEvent>,
    /// The operator's condition it must carry (`None`: it must carry none).
    pub condition: Option<Condition>,
    /// Whether it waits for an address, to be looked at again when addresses are freed.
    pub waiting: bool,
    /// Whether Services waiting for an address may fit now: IPs were freed, or a Service that
    /// shares its IP was converged (its sharing terms may have changed to admit a partner).
    pub may_admit_waiting: bool,
}

/// The legacy annotations each Service was already warned about in this term, so each is
/// warned about once.
#[derive(Debug, Default)]
pub struct Warned(HashSet<(String, String)>);

impl Warned {
    /// One warning naming every legacy annotation of Service `key` not warned about yet (events
    /// of one reason on one object are folded together, so several would hide each other).
    fn fresh(&mut self, key: &str, deprecations: &[Deprecation]) -> Option<ServiceEvent> {
        let text = deprecations
            .iter()
            .filter(|d| self.0.insert((key.to_owned(), d.legacy_key.clone())))
            .map(|d| {
                format!(
                    "{} is deprecated, use {} instead",
                    d.legacy_key, d.replacement
                )
            })
            .collect::<Vec<_>>();
        (!text.is_empty()).then(|| {
            warning(
                "deprecatedAnnotation",
                format!("annotation {}", text.join("; ")),
            )
        })
    }
}

/// What the allocator made of a Service.
enum Outcome {
    /// Not a LoadBalancer of this class; `released` when it held IPs until now.
    NotOurs { released: bool },
    /// Its request cannot be understood; `released` when it held IPs until now.
    Invalid { refusal: Refusal, released: bool },
    /// It holds these IPs; `shares` when it has a sharing key.
    Assigned { converged: Converged, shares: bool },
    /// It holds none.
    Unassigned(Failed),
}

/// Converges Service `svc` (whose namespace carries `namespace_labels`) in `allocator`, for
/// the operator serving `lb_class`, at `now`.
pub fn converge(
    allocator: &mut Allocator,
    warned: &mut Warned,
    svc: &Service,
    namespace_labels: &BTreeMap<String, String>,
    lb_class: Option<&str>,
    now: Time,
) -> Decision {
    let key = service::key(svc);
    let (outcome, deprecations) = match service::read(svc, namespace_labels, lb_class) {
        View::NotOurs => {
            let released = allocator.release(&key).is_some();
            (Outcome::NotOurs { released }, Vec::new())
        }
        View::Invalid(refusal, deprecations) => {
            let released = allocator.release(&key).is_some();
            (Outcome::Invalid { refusal, released }, deprecations)
        }
        View::Ours(demand, deprecations) => {
            let outcome = match allocator.converge(&demand, &service::ingress_ips(svc)) {
                Ok(converged) => Outcome::Assigned {
                    converged,
                    shares: demand.sharing.key.is_some(),
                },
                Err(failed) => Outcome::Unassigned(failed),
            };
            (outcome, deprecations)
        }
    };
    let mut events: Vec<ServiceEvent> = warned.fresh(&key, &deprecations).into_iter().collect();
    let mut decision = decide(svc, &key, outcome, now);
    events.append(&mut decision.events);
    decision.events = events;
    decision
}

/// The Service `key` was deleted: its IPs are freed.
pub fn deleted(allocator: &mut Allocator, key: &str) -> Decision {
    Decision {
        write: None,
        events: Vec::new(),
        condition: None,
        waiting: false,
        may_admit_waiting: allocator.release(key).is_some(),
    }
}

fn decide(svc: &Service, key: &str, outcome: Outcome, now: Time) -> Decision {
    let mut events = Vec::new();
    let (ips, pool, condition, waiting, may_admit_waiting) = match outcome {
        Outcome::NotOurs { released } => {
            if !service::carries_our_marks(svc) {
                return Decision {
                    write: None,
                    events,
                    condition: None,
                    waiting: false,
                    may_admit_waiting: released,
                };
            }
            if released {
                events.push(info(
                    "ClearAssignment",
                    "the Service is no longer a LoadBalancer of this class; its IPs are released"
                        .into(),
                ));
            }
            (Vec::new(), None, None, false, released)
        }
        Outcome::Invalid { refusal, released } => {
            let condition = refused(svc, key, &refusal, now, &mut events);
            (Vec::new(), None, Some(condition), true, released)
        }
        Outcome::Assigned { converged, shares } => {
            let Converged { assignment, change } = converged;
            let listed = list(&assignment.ips);
            events.extend(assigned_events(key, &change, &listed));
            let message = format!("assigned {listed} from pool {:?}", assignment.pool);
            let condition = service::condition(svc, true, "IPAllocated", &message, now);
            let pool = Some(assignment.pool);
            (assignment.ips, pool, Some(condition), false, shares)
        }
        Outcome::Unassigned(Failed { refusal, cleared }) => {
            if let Some(why) = &cleared {
                events.push(info(
                    "ClearAssignment",
                    format!("current IP for {key:?} not allowed by config: {why}"),
                ));
            }
            let condition = refused(svc, key, &refusal, now, &mut events);
            (Vec::new(), None, Some(condition), true, cleared.is_some())
        }
    };
    Decision {
        write: desired(svc, ips, pool, condition.clone()),
        events,
        condition,
        waiting,
        may_admit_waiting,
    }
}

/// The condition of a Service whose demand is refused; an `AllocationFailed` warning when the
/// Service does not say so yet.
fn refused(
    svc: &Service,
    key: &str,
    refusal: &Refusal,
    now: Time,
    events: &mut Vec<ServiceEvent>,
) -> Condition {
    let condition = service::condition(svc, false, refusal.reason.as_str(), &refusal.message, now);
    if !service::condition_matches(svc, &condition) {
        events.push(warning(
            "AllocationFailed",
            format!("Failed to allocate IP for {key:?}: {}", refusal.message),
        ));
    }
    condition
}

/// The events of a Service that holds IPs after a `change`; `listed` names its IPs.
fn assigned_events(key: &str, change: &Change, listed: &str) -> Vec<ServiceEvent> {
    let allocated = || info("IPAllocated", format!("Assigned IP [{listed}]"));
    match change {
        Change::Kept => Vec::new(),
        Change::Allocated => vec![allocated()],
        Change::Extended(ip) => vec![info("IPAllocated", format!("Assigned additional IP {ip}"))],
        Change::Moved(why) => vec![
            info(
                "ClearAssignment",
                format!(
                    "current IP for {key:?} not allowed by config, will attempt for new IP assignment: {why}"
                ),
            ),
            allocated(),
        ],
    }
}

/// The write that brings `svc` to these IPs, pool annotation and condition, if any is needed.
fn desired(
    svc: &Service,
    ips: Vec<IpAddr>,
    pool: Option<String>,
    condition: Option<Condition>,
) -> Option<ServiceWrite> {
    let condition_current = match &condition {
        Some(c) => service::condition_matches(svc, c),
        None => service::our_condition(svc).is_none(),
    };
    let status = (service::ingress_ips(svc) != ips || !condition_current)
        .then(|| (ips, merged_conditions(svc, condition)));
    let current_pool = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(&Annotation::IpAllocatedFromPool.key()))
        .cloned();
    let pool_annotation = (current_pool != pool).then_some(pool);
    (status.is_some() || pool_annotation.is_some()).then(|| ServiceWrite {
        namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        status,
        pool_annotation,
    })
}

/// Every condition of `svc` but the operator's, plus `ours`.
fn merged_conditions(svc: &Service, ours: Option<Condition>) -> Vec<Condition> {
    let mut all: Vec<Condition> = svc
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_ != service::CONDITION_TYPE)
        .collect();
    all.extend(ours);
    all
}

/// The order in which to converge the Services `keys` (looked up with `service`): those
/// holding IPs first (in `allocator`, or in their status), so nobody waiting can take an
/// address someone already has; then by age, so earlier Services get the lower addresses.
pub fn order(
    allocator: &Allocator,
    keys: impl IntoIterator<Item = String>,
    service: impl Fn(&str) -> Option<Arc<Service>>,
) -> Vec<String> {
    let mut ordered: Vec<(bool, Option<Timestamp>, String)> = keys
        .into_iter()
        .map(|k| {
            let svc = service(&k);
            let holds = allocator.assignment(&k).is_some()
                || svc
                    .as_deref()
                    .is_some_and(|s| !service::ingress_ips(s).is_empty());
            let created = svc
                .and_then(|s| s.metadata.creation_timestamp.clone())
                .map(|t| t.0);
            (!holds, created, k)
        })
        .collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, k)| k).collect()
}

/// The pools the allocator gets from these IPAddressPool objects, and every error of the
/// configuration (pools that cannot be read, overlapping ranges), sorted.
pub fn configuration(objects: &[Arc<IPAddressPool>]) -> (Vec<Pool>, Vec<String>) {
    let mut pools = Vec::new();
    let mut errors = Vec::new();
    for object in objects {
        match Pool::from_object(object) {
            Ok(pool) => pools.push(pool),
            Err(e) => errors.push(e.to_string()),
        }
    }
    errors.extend(pool::overlaps(&pools));
    errors.sort();
    (pools, errors)
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn info(reason: &'static str, note: String) -> ServiceEvent {
    ServiceEvent {
        type_: EventType::Normal,
        reason,
        note,
    }
}

fn warning(reason: &'static str, note: String) -> ServiceEvent {
    ServiceEvent {
        type_: EventType::Warning,
        reason,
        note,
    }
}

#[cfg(test)]
mod tests;
