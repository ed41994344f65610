//! The nodes allowed to announce each IP, with the interfaces they announce it on.
//!
//! An IP is announced when a LoadBalancer Service carries it in its status, its pool is covered
//! by at least one L2Advertisement selecting the Service, and the Service has a ready endpoint.
//! A node is a candidate when such an advertisement selects it, it may announce (network
//! available, not excluded) and, for `externalTrafficPolicy: Local`, it runs a ready endpoint.
//! Services sharing an IP share its candidates: the nodes every announced one of them allows.
//! Whether a candidate runs a live speaker is the business of [`super::ownership`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::{Advertisement, Node, Pool, Service, ServiceKey, any_selects, selects};

/// The interfaces a node announces an IP on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interfaces {
    /// Every suitable interface ([`crate::link::suitable`]).
    Any,
    /// Only these, by name.
    Named(BTreeSet<String>),
}

impl Interfaces {
    /// The union of two allowances.
    fn widen(&mut self, other: &Interfaces) {
        match (&mut *self, other) {
            (Interfaces::Any, _) => {}
            (_, Interfaces::Any) => *self = Interfaces::Any,
            (Interfaces::Named(mine), Interfaces::Named(theirs)) => {
                mine.extend(theirs.iter().cloned())
            }
        }
    }

    fn from_list(names: &[String]) -> Interfaces {
        if names.is_empty() {
            Interfaces::Any
        } else {
            Interfaces::Named(names.iter().cloned().collect())
        }
    }

    /// Whether announcing on interface `name` is allowed.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Interfaces::Any => true,
            Interfaces::Named(names) => names.contains(name),
        }
    }
}

/// One node allowed to announce an IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub interfaces: Interfaces,
    /// Sum of the `preferredNodeSelectors` weights that match the node (the highest sum over
    /// the advertisements selecting it).
    pub weight: i32,
}

/// An announced IP: the Services carrying it and the nodes allowed to announce it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claim {
    pub services: BTreeSet<ServiceKey>,
    pub candidates: BTreeMap<String, Candidate>,
}

/// The candidates of one Service's IP.
fn for_service(
    ip: IpAddr,
    service: &Service,
    nodes: &[Node],
    pools: &[Pool],
    advertisements: &[Advertisement],
) -> BTreeMap<String, Candidate> {
    let mut out: BTreeMap<String, Candidate> = BTreeMap::new();
    if !service.endpoints.any_serving {
        return out;
    }
    let Some(pool) = pools.iter().find(|p| p.contains(ip)) else {
        return out;
    };
    for ad in advertisements {
        if !ad.covers_pool(pool) || !any_selects(&ad.spec.service_selectors, &service.labels) {
            continue;
        }
        let interfaces = Interfaces::from_list(&ad.spec.interfaces);
        for node in nodes {
            if !node.may_announce() || !any_selects(&ad.spec.node_selectors, &node.labels) {
                continue;
            }
            if service.local_traffic && !service.endpoints.serving_nodes.contains(&node.name) {
                continue;
            }
            let weight: i32 = ad
                .spec
                .preferred_node_selectors
                .iter()
                .filter(|p| selects(&p.preference, &node.labels))
                .map(|p| p.weight)
                .sum();
            out.entry(node.name.clone())
                .and_modify(|c| {
                    c.interfaces.widen(&interfaces);
                    c.weight = c.weight.max(weight);
                })
                .or_insert(Candidate {
                    interfaces: interfaces.clone(),
                    weight,
                });
        }
    }
    out
}

/// Every announced IP with its Services and candidate nodes. IPs without any candidate are
/// left out: nobody may announce them.
pub fn claims(
    nodes: &[Node],
    services: &[Service],
    pools: &[Pool],
    advertisements: &[Advertisement],
) -> BTreeMap<IpAddr, Claim> {
    let mut out: BTreeMap<IpAddr, Claim> = BTreeMap::new();
    for service in services {
        for &ip in &service.ips {
            let allowed = for_service(ip, service, nodes, pools, advertisements);
            // A Service no advertisement announces (not selected, no ready endpoint) has no
            // say over an IP it shares with one that is announced.
            if allowed.is_empty() {
                continue;
            }
            let claim = out.entry(ip).or_default();
            if claim.services.is_empty() {
                claim.candidates = allowed;
            } else {
                claim.candidates.retain(|node, c| match allowed.get(node) {
                    Some(other) => {
                        c.interfaces.widen(&other.interfaces);
                        c.weight = c.weight.max(other.weight);
                        true
                    }
                    None => false,
                });
            }
            claim.services.insert(service.key.clone());
        }
    }
    out.retain(|_, claim| !claim.candidates.is_empty());
    out
}

#[cfg(test)]
mod tests;
