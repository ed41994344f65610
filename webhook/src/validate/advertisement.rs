//! L2Advertisement and BGPAdvertisement rules: no pool, peer or selector listed twice, valid
//! selectors, aggregation lengths in range and not shorter than the widest prefix of any entry of a
//! selected pool,
//! serviceSelectors only with the default aggregation lengths, well-formed communities, and no
//! two advertisements setting different localPref for the same prefixes of a pool (same
//! aggregation lengths) towards peers and nodes both can select. Pools,
//! peers and community aliases that do not exist are warnings: they may be created next. The
//! rules within one object use the words of [`ferrolb_crds::rules`], which the CRD's CEL rules
//! say too.

use ferrolb_crds::address::{AddressRange, Family};
use ferrolb_crds::advertisement::Targets;
use ferrolb_crds::bgpadvertisement::BGPAdvertisementSpec;
use ferrolb_crds::community_value::{CommunityValue, looks_like_value};
use ferrolb_crds::rules::advertisement::{
    AGGREGATION_LENGTH_OUT_OF_RANGE, AGGREGATION_LENGTHS, SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS,
};
use ferrolb_crds::selector::can_select_together;
use ferrolb_crds::{BGPAdvertisement, IPAddressPool, L2Advertisement};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{Verdict, describe, no_duplicates, require_namespace, valid_selectors};
use crate::snapshot::Cluster;

/// The rules L2 and BGP advertisements share: namespace, pool references, selectors.
fn shared_rules(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    namespace: Option<&str>,
    targets: Targets<'_>,
) {
    require_namespace(verdict, cluster, object, namespace);
    pool_references(verdict, cluster, object, targets.pools);
    valid_selectors(
        verdict,
        object,
        "ipAddressPoolSelectors",
        targets.pool_selectors,
    );
    selectors_matching_nothing(verdict, cluster, object, targets.pool_selectors);
    valid_selectors(verdict, object, "nodeSelectors", targets.node_selectors);
    valid_selectors(
        verdict,
        object,
        "serviceSelectors",
        targets.service_selectors,
    );
}

/// Validates an L2Advertisement being created or updated.
pub fn validate_l2(ad: &L2Advertisement, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let object = describe("L2Advertisement", ad.metadata.name.as_deref());
    let spec = &ad.spec;
    shared_rules(
        &mut verdict,
        cluster,
        &object,
        ad.metadata.namespace.as_deref(),
        spec.targets(),
    );
    let preferences: Vec<_> = spec
        .preferred_node_selectors
        .iter()
        .map(|p| p.preference.clone())
        .collect();
    valid_selectors(
        &mut verdict,
        &object,
        "preferredNodeSelectors.preference",
        &preferences,
    );
    let interfaces: Vec<String> = spec.interfaces.iter().map(|i| format!("{i:?}")).collect();
    no_duplicates(&mut verdict, &object, "interfaces", &interfaces);
    verdict
}

/// Validates a BGPAdvertisement being created or updated.
pub fn validate_bgp(ad: &BGPAdvertisement, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let name = ad.metadata.name.as_deref().unwrap_or_default();
    let object = describe("BGPAdvertisement", Some(name));
    let spec = &ad.spec;
    shared_rules(
        &mut verdict,
        cluster,
        &object,
        ad.metadata.namespace.as_deref(),
        spec.targets(),
    );
    peer_references(&mut verdict, cluster, &object, &spec.peers);
    aggregation_lengths(&mut verdict, cluster, &object, spec);
    community_references(&mut verdict, cluster, &object, &spec.communities);
    local_pref_conflicts(&mut verdict, cluster, &object, name, spec);
    verdict
}

/// No peer listed twice; peers that do not exist are warnings.
fn peer_references(verdict: &mut Verdict, cluster: &Cluster, object: &str, peers: &[String]) {
    let quoted: Vec<String> = peers.iter().map(|p| format!("{p:?}")).collect();
    no_duplicates(verdict, object, "peers", &quoted);
    for peer in peers {
        if !cluster.peers.contains_key(peer) {
            verdict.warn(format!(
                "{object}: BGPPeer {peer:?} does not exist in namespace {}; nothing is advertised to it until it is created",
                cluster.namespace
            ));
        }
    }
}

/// Aggregation lengths in range, the default ones with serviceSelectors, and, when in range,
/// not shorter than the widest prefix of an entry of any selected pool.
fn aggregation_lengths(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    spec: &BGPAdvertisementSpec,
) {
    let (v4, v6) = (spec.aggregation_length(), spec.aggregation_length_v6());
    let mut lengths_valid = true;
    for ((field, max), length) in AGGREGATION_LENGTHS.into_iter().zip([v4, v6]) {
        if !(0..=max).contains(&length) {
            lengths_valid = false;
            verdict.deny(format!(
                "{object}: {}",
                AGGREGATION_LENGTH_OUT_OF_RANGE.fill(&[&field, &length, &max])
            ));
        }
    }
    let [(_, default_v4), (_, default_v6)] = AGGREGATION_LENGTHS;
    if !spec.service_selectors.is_empty() && (v4 != default_v4 || v6 != default_v6) {
        verdict.deny(format!(
            "{object}: {}",
            SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS.fill(&[&v4, &v6])
        ));
    }
    if lengths_valid {
        for pool in cluster.pools.pools().filter(|p| selects(spec, p)) {
            for fault in aggregation_faults(spec, pool) {
                verdict.deny(format!("{object}: {fault}"));
            }
        }
    }
}

/// No community listed twice, every community value well-formed; aliases no Community
/// defines are warnings.
fn community_references(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    communities: &[String],
) {
    let quoted: Vec<String> = communities.iter().map(|c| format!("{c:?}")).collect();
    no_duplicates(verdict, object, "communities", &quoted);
    for community in communities {
        if looks_like_value(community) {
            if let Err(why) = community.parse::<CommunityValue>() {
                verdict.deny(format!("{object}: {why}"));
            }
        } else if !alias_exists(cluster, community) {
            verdict.warn(format!(
                "{object}: community alias {community:?} is not defined by any Community in namespace {}",
                cluster.namespace
            ));
        }
    }
}

/// No other advertisement (`name` is this one) sets a different localPref for the same
/// prefixes of a pool towards peers and nodes both can select.
fn local_pref_conflicts(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    name: &str,
    spec: &BGPAdvertisementSpec,
) {
    // The pools this advertisement applies to, found once; the conflict check below only
    // looks at them, and only for advertisements that could conflict at all. As in MetalLB,
    // an advertisement with serviceSelectors conflicts with none: which Services it carries
    // is not known here.
    let mine: Vec<_> = cluster.pools.pools().filter(|p| selects(spec, p)).collect();
    for other in cluster.bgp_advertisements.values() {
        let other_name = other.metadata.name.as_deref().unwrap_or_default();
        if other_name == name
            || other.spec.local_pref == spec.local_pref
            || !spec.service_selectors.is_empty()
            || !other.spec.service_selectors.is_empty()
            || !peers_intersect(&spec.peers, &other.spec.peers)
            || !can_select_together(&spec.node_selectors, &other.spec.node_selectors)
        {
            continue;
        }
        let conflicting = mine
            .iter()
            .find(|p| selects(&other.spec, p) && same_prefixes(spec, &other.spec, p));
        if let Some(pool) = conflicting {
            verdict.deny(format!(
                "{object}: localPref {} conflicts with localPref {} of BGPAdvertisement {other_name:?} \
                 for the same IPAddressPool {:?}, aggregation lengths, nodes and peers",
                spec.local_pref,
                other.spec.local_pref,
                pool.name()
            ));
        }
    }
}

/// Whether two advertisements announce the same prefixes of `pool`: their aggregation
/// lengths are equal for every family the pool has (as MetalLB judges it, a pool of no valid
/// entry is announced by neither).
fn same_prefixes(a: &BGPAdvertisementSpec, b: &BGPAdvertisementSpec, pool: &IPAddressPool) -> bool {
    let families: Vec<Family> = pool
        .spec
        .addresses
        .iter()
        .filter_map(|entry| entry.parse::<AddressRange>().ok())
        .map(|range| range.family())
        .collect();
    let same_v4 = a.aggregation_length() == b.aggregation_length();
    let same_v6 = a.aggregation_length_v6() == b.aggregation_length_v6();
    match (
        families.contains(&Family::V4),
        families.contains(&Family::V6),
    ) {
        (false, false) => false,
        (true, false) => same_v4,
        (false, true) => same_v6,
        (true, true) => same_v4 || same_v6,
    }
}

/// Whether an advertisement applies to a pool: by name, by selector, or because it names no
/// pool at all (then it applies to every pool).
pub fn selects(spec: &BGPAdvertisementSpec, pool: &IPAddressPool) -> bool {
    let labels = pool.metadata.labels.clone().unwrap_or_default();
    spec.targets().selects_pool(pool.name(), &labels)
}

/// The entries of `pool` whose widest prefix is more specific than the advertisement's
/// aggregation length, at most one per family. As MetalLB judges it, a range is summarized
/// into prefixes and only the widest counts: `203.0.113.2-203.0.113.254` has /26 prefixes,
/// so an aggregation length of 26 fits it and 24 does not.
pub fn aggregation_faults(spec: &BGPAdvertisementSpec, pool: &IPAddressPool) -> Vec<String> {
    let mut faults = Vec::new();
    for family in [Family::V4, Family::V6] {
        let (field, length) = match family {
            Family::V4 => ("aggregationLength", spec.aggregation_length()),
            Family::V6 => ("aggregationLengthV6", spec.aggregation_length_v6()),
        };
        let too_specific = pool
            .spec
            .addresses
            .iter()
            .filter_map(|entry| Some((entry.trim(), entry.parse::<AddressRange>().ok()?)))
            .filter(|(_, range)| range.family() == family)
            .filter_map(|(entry, range)| {
                let widest = range
                    .cidrs()
                    .into_iter()
                    .min_by_key(|(_, prefix)| *prefix)?;
                Some((entry, widest))
            })
            .find(|(_, (_, prefix))| i32::from(*prefix) > length);
        if let Some((entry, (network, prefix))) = too_specific {
            let entry = if entry == format!("{network}/{prefix}") {
                String::new()
            } else {
                format!(" (the widest of {entry:?})")
            };
            faults.push(format!(
                "{field} {length} is shorter than prefix {network}/{prefix}{entry} of IPAddressPool {:?} \
                 (invalid aggregation length: the aggregate would cover addresses outside the pool)",
                pool.name()
            ));
        }
    }
    faults
}

fn pool_references(verdict: &mut Verdict, cluster: &Cluster, object: &str, pools: &[String]) {
    let quoted: Vec<String> = pools.iter().map(|p| format!("{p:?}")).collect();
    no_duplicates(verdict, object, "ipAddressPools", &quoted);
    for pool in pools {
        if cluster.pools.get(pool).is_none() {
            verdict.warn(format!(
                "{object}: IPAddressPool {pool:?} does not exist in namespace {}; nothing is advertised for it until it is created",
                cluster.namespace
            ));
        }
    }
}

/// Warns about pool selectors that select no existing pool (valid ones only: an invalid
/// selector is already denied).
fn selectors_matching_nothing(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    selectors: &[LabelSelector],
) {
    for (i, selector) in selectors.iter().enumerate() {
        let valid = ferrolb_crds::selector::validate(selector).is_ok();
        let matches_one = cluster.pools.pools().any(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            ferrolb_crds::selector::matches(selector, &labels)
        });
        if valid && !matches_one {
            verdict.warn(format!(
                "{object}: ipAddressPoolSelectors[{i}] selects no IPAddressPool in namespace {}; nothing is advertised for it until one matches",
                cluster.namespace
            ));
        }
    }
}

fn alias_exists(cluster: &Cluster, alias: &str) -> bool {
    cluster
        .communities
        .values()
        .any(|c| c.spec.communities.iter().any(|a| a.name == alias))
}

/// Whether two peer lists share a peer; an empty list means every peer.
fn peers_intersect(a: &[String], b: &[String]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|p| b.contains(p))
}

#[cfg(test)]
mod tests;
