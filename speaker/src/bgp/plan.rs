//! What this node advertises to each peer: a pure function of the node, the Services with
//! their IPs and endpoints, the pools, the BGPAdvertisements, the Community aliases and the
//! node's sessions.
//!
//! A Service IP is advertised from this node when the node may announce, the Service has a
//! ready endpoint (on this node, for `externalTrafficPolicy: Local`), and a BGPAdvertisement
//! covers the IP's pool, selects the Service and the node, and names the peer (or names
//! none). The prefix is the IP cut to the advertisement's aggregation length. When several
//! advertisements yield the same prefix for one peer, their communities are merged and the
//! highest local preference wins; local preference only goes to iBGP peers, as in MetalLB.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_bgp::{LargeCommunity, Prefix, Route};
use ferrolb_crds::community_value::{CommunityValue, looks_like_value};
use ferrolb_crds::{BGPAdvertisement, Community};

use super::peers::PeerSession;
use crate::model::{Node, Pool, Service, ServiceKey, any_selects, covers_pool};

/// A BGPAdvertisement by name with its spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advertisement {
    pub name: String,
    pub spec: ferrolb_crds::bgpadvertisement::BGPAdvertisementSpec,
}

impl Advertisement {
    pub fn from_kube(ad: &BGPAdvertisement) -> Advertisement {
        Advertisement {
            name: ad.metadata.name.clone().unwrap_or_default(),
            spec: ad.spec.clone(),
        }
    }

    fn covers_pool(&self, pool: &Pool) -> bool {
        covers_pool(
            &self.spec.ip_address_pools,
            &self.spec.ip_address_pool_selectors,
            pool,
        )
    }

    fn prefix(&self, ip: IpAddr) -> Option<Prefix> {
        let length = match ip {
            IpAddr::V4(_) => self.spec.aggregation_length(),
            IpAddr::V6(_) => self.spec.aggregation_length_v6(),
        };
        Prefix::new(ip, u8::try_from(length).ok()?).ok()
    }
}

/// The Community aliases of every Community object, by alias name.
pub fn aliases(communities: &[Community]) -> BTreeMap<String, String> {
    communities
        .iter()
        .flat_map(|c| c.spec.communities.iter())
        .map(|alias| (alias.name.clone(), alias.value.clone()))
        .collect()
}

/// What one advertisement attaches to its routes, or why a community of it cannot be used.
fn attachments(
    ad: &Advertisement,
    aliases: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> Route {
    let mut route = Route {
        local_pref: (ad.spec.local_pref != 0).then_some(ad.spec.local_pref),
        ..Route::default()
    };
    for text in &ad.spec.communities {
        let value = if looks_like_value(text) {
            text.as_str()
        } else if let Some(value) = aliases.get(text) {
            value.as_str()
        } else {
            problems.push(format!(
                "BGPAdvertisement {:?}: community alias {text:?} is not defined in any Community",
                ad.name
            ));
            continue;
        };
        match value.parse::<CommunityValue>() {
            Ok(CommunityValue::Standard(high, low)) => {
                route
                    .communities
                    .insert(u32::from(high) << 16 | u32::from(low));
            }
            Ok(CommunityValue::Large(global, local1, local2)) => {
                route.large_communities.insert(LargeCommunity {
                    global,
                    local1,
                    local2,
                });
            }
            Err(e) => problems.push(format!("BGPAdvertisement {:?}: {e}", ad.name)),
        }
    }
    route
}

fn merge(into: &mut Route, from: &Route, ibgp: bool) {
    if ibgp {
        into.local_pref = into.local_pref.max(from.local_pref);
    }
    into.communities.extend(from.communities.iter().copied());
    into.large_communities
        .extend(from.large_communities.iter().copied());
}

/// Everything this node advertises, per peer, and to whom each Service goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutePlan {
    /// The routes of each peer, by peer name.
    pub routes: BTreeMap<String, BTreeMap<Prefix, Route>>,
    /// The peers each Service is advertised to from this node.
    pub services: BTreeMap<ServiceKey, BTreeSet<String>>,
    /// Advertisements that cannot be applied as written, named with the value at fault.
    pub problems: Vec<String>,
}

/// Whether this node may advertise the Service: it has a ready endpoint, on this node when
/// the traffic policy is Local.
fn serves(service: &Service, node: &Node) -> bool {
    if service.local_traffic {
        service.endpoints.serving_nodes.contains(&node.name)
    } else {
        service.endpoints.any_serving
    }
}

/// The plan of `node` for its `sessions`.
pub fn plan(
    node: &Node,
    services: &[Service],
    pools: &[Pool],
    advertisements: &[Advertisement],
    aliases: &BTreeMap<String, String>,
    sessions: &BTreeMap<String, PeerSession>,
) -> RoutePlan {
    let mut plan = RoutePlan::default();
    for name in sessions.keys() {
        plan.routes.insert(name.clone(), BTreeMap::new());
    }
    let usable: Vec<(&Advertisement, Route)> = advertisements
        .iter()
        .filter(|ad| any_selects(&ad.spec.node_selectors, &node.labels))
        .map(|ad| (ad, attachments(ad, aliases, &mut plan.problems)))
        .collect();
    if !node.may_announce() {
        return plan;
    }
    for service in services.iter().filter(|s| serves(s, node)) {
        for &ip in &service.ips {
            let Some(pool) = pools.iter().find(|p| p.contains(ip)) else {
                continue;
            };
            for (ad, attached) in &usable {
                if !ad.covers_pool(pool)
                    || !any_selects(&ad.spec.service_selectors, &service.labels)
                {
                    continue;
                }
                let Some(prefix) = ad.prefix(ip) else {
                    continue;
                };
                for (name, session) in sessions {
                    if !ad.spec.peers.is_empty() && !ad.spec.peers.contains(name) {
                        continue;
                    }
                    if !session.families.contains(&prefix.family()) {
                        continue;
                    }
                    let routes = plan.routes.entry(name.clone()).or_default();
                    let ibgp = session.ibgp();
                    let route = routes.entry(prefix).or_insert_with(|| Route {
                        local_pref: None,
                        ..attached.clone()
                    });
                    merge(route, attached, ibgp);
                    plan.services
                        .entry(service.key.clone())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
