//! IPAddressPool rules: every address entry parses; no entry overlaps another entry of the
//! pool or of any other pool (found through the [`PoolIndex`](crate::pool_index::PoolIndex),
//! not by walking all pools); serviceAllocation lists no namespace or selector twice and its
//! selectors are valid; its `ferrolb.io/sharing-scope` annotation, if any, is `namespace` or
//! `cluster`; and the pool does not break the aggregation length of a
//! BGPAdvertisement that selects it. The rules within one pool use the words of
//! [`ferrolb_crds::rules::pool`], which the CRD's CEL rules say too.

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::AddressRange;
use ferrolb_crds::pool_overlap::{self, Overlaps};
use ferrolb_crds::rules::pool::NO_ADDRESSES;
use ferrolb_crds::sharing_scope::SharingScope;

use super::{Verdict, describe, no_duplicates, require_namespace, valid_selectors};
use crate::pool_index::PoolIndex;
use crate::snapshot::Cluster;

/// Validates a pool being created or updated.
pub fn validate(pool: &IPAddressPool, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let name = pool.name();
    let object = describe("IPAddressPool", Some(name));
    require_namespace(
        &mut verdict,
        cluster,
        &object,
        pool.metadata.namespace.as_deref(),
    );

    if pool.spec.addresses.is_empty() {
        verdict.deny(format!("{object}: {}", NO_ADDRESSES.fill(&[])));
    }
    let mut entries: Vec<(AddressRange, &str)> = Vec::new();
    for text in &pool.spec.addresses {
        match text.parse::<AddressRange>() {
            Ok(range) => entries.push((range, text.trim())),
            Err(source) => verdict.deny(
                ferrolb_crds::Error::PoolAddress {
                    pool: name.to_owned(),
                    source,
                }
                .to_string(),
            ),
        }
    }
    entries.sort_by_key(|(range, _)| *range);
    overlaps_within(&mut verdict, &object, &entries);
    overlaps_with_others(&mut verdict, &object, name, &entries, &cluster.pools);

    if let Some(allocation) = &pool.spec.service_allocation {
        let namespaces: Vec<String> = allocation
            .namespaces
            .iter()
            .map(|n| format!("{n:?}"))
            .collect();
        no_duplicates(
            &mut verdict,
            &object,
            "serviceAllocation.namespaces",
            &namespaces,
        );
        valid_selectors(
            &mut verdict,
            &object,
            "serviceAllocation.namespaceSelectors",
            &allocation.namespace_selectors,
        );
        valid_selectors(
            &mut verdict,
            &object,
            "serviceAllocation.serviceSelectors",
            &allocation.service_selectors,
        );
    }

    if let Err(unknown) = SharingScope::of_pool(pool) {
        verdict.deny(unknown.to_string());
    }

    for advertisement in cluster.bgp_advertisements.values() {
        if super::advertisement::selects(&advertisement.spec, pool) {
            for fault in super::advertisement::aggregation_faults(&advertisement.spec, pool) {
                verdict.deny(format!(
                    "{object} is advertised by BGPAdvertisement {:?}, whose {fault}",
                    advertisement.metadata.name.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    verdict
}

/// Denies entries of one pool that share addresses, naming both, each pair once, the first
/// [`pool_overlap::LISTED`] pairs by name and the rest counted. `entries` are in address order.
fn overlaps_within(verdict: &mut Verdict, object: &str, entries: &[(AddressRange, &str)]) {
    // Tagged with their position, so equal ranges keep the order of `entries`.
    let tagged = entries
        .iter()
        .enumerate()
        .map(|(i, &(range, text))| (range, (i, text)));
    let found = pool_overlap::overlapping_pairs(tagged, pool_overlap::LISTED);
    for ((_, (_, text)), (_, (_, earlier))) in &found.listed {
        verdict.deny(format!(
            "CIDR {text:?} in {object} overlaps with already defined CIDR {earlier:?} in the same pool"
        ));
    }
    if found.unlisted > 0 {
        verdict.deny(format!(
            "{object}: {} more overlapping pairs of CIDRs in the same pool are not listed",
            found.unlisted
        ));
    }
}

/// Denies entries that share addresses with an entry of another stored pool, found through
/// the index, naming both; bounded as [`overlaps_within`]. `entries` are in address order.
fn overlaps_with_others(
    verdict: &mut Verdict,
    object: &str,
    name: &str,
    entries: &[(AddressRange, &str)],
    pools: &PoolIndex,
) {
    let mut found = Overlaps::default();
    for &(range, text) in entries {
        for other in pools.overlapping(&range) {
            if other.pool != name {
                let theirs = (other.pool.as_str(), other.text.as_str());
                found.record(
                    pool_overlap::LISTED,
                    (range, (name, text)),
                    (other.range, theirs),
                );
            }
        }
    }
    for ((_, (_, text)), (_, (pool, other))) in &found.listed {
        verdict.deny(format!(
            "CIDR {text:?} in {object} overlaps with already defined CIDR {other:?} in IPAddressPool {pool:?}"
        ));
    }
    if found.unlisted > 0 {
        verdict.deny(format!(
            "{object}: {} more overlaps with already defined CIDRs of other pools are not listed",
            found.unlisted
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fixtures::{NS, labels_selector, pool, pools};
    use ferrolb_crds::ipaddresspool::ServiceAllocation;

    fn cluster(existing: &[(&str, &[&str])]) -> Cluster {
        Cluster::empty(NS).with_pools(pools(existing))
    }

    #[test]
    fn a_pool_of_valid_disjoint_entries_is_admitted() {
        let verdict = validate(
            &pool("prod", &["10.0.0.0/24", "10.0.1.1-10.0.1.9", "fd00::/120"]),
            &cluster(&[("other", &["10.0.2.0/24"])]),
        );
        assert_eq!(verdict, Verdict::default());
    }

    #[test]
    fn a_malformed_entry_is_denied_with_the_entry_and_the_reason() {
        let verdict = validate(
            &pool("prod", &["10.0.0.0/33", "10.0.0.9-10.0.0.1"]),
            &cluster(&[]),
        );
        assert_eq!(
            verdict.denials,
            [
                r#"address "10.0.0.0/33" in IPAddressPool "prod" is invalid: prefix length 33 exceeds 32"#,
                r#"address "10.0.0.9-10.0.0.1" in IPAddressPool "prod" is invalid: start 10.0.0.9 is after end 10.0.0.1"#,
            ]
        );
    }

    #[test]
    fn overlapping_pool_is_denied_with_both_cidrs_named() {
        let verdict = validate(
            &pool("new", &["10.0.0.128/25"]),
            &cluster(&[("old", &["10.0.0.0/24"])]),
        );
        assert_eq!(
            verdict.denials,
            [
                r#"CIDR "10.0.0.128/25" in IPAddressPool "new" overlaps with already defined CIDR "10.0.0.0/24" in IPAddressPool "old""#
            ]
        );
    }

    #[test]
    fn updating_a_pool_does_not_overlap_its_own_stored_entries() {
        let verdict = validate(
            &pool("prod", &["10.0.0.0/23"]),
            &cluster(&[("prod", &["10.0.0.0/24"])]),
        );
        assert!(verdict.allowed(), "{verdict:?}");
    }

    #[test]
    fn overlapping_entries_within_one_pool_are_denied() {
        let verdict = validate(
            &pool("prod", &["10.0.0.0/24", "fd00::/64", "10.0.0.10-10.0.0.20"]),
            &cluster(&[]),
        );
        assert_eq!(
            verdict.denials,
            [
                r#"CIDR "10.0.0.10-10.0.0.20" in IPAddressPool "prod" overlaps with already defined CIDR "10.0.0.0/24" in the same pool"#
            ]
        );
    }

    #[test]
    fn an_entry_inside_two_overlapping_entries_is_denied_with_each() {
        let verdict = validate(
            &pool(
                "prod",
                &["10.0.0.0-10.0.0.10", "10.0.0.2-10.0.0.20", "10.0.0.8/31"],
            ),
            &cluster(&[]),
        );
        assert_eq!(
            verdict.denials,
            [
                r#"CIDR "10.0.0.2-10.0.0.20" in IPAddressPool "prod" overlaps with already defined CIDR "10.0.0.0-10.0.0.10" in the same pool"#,
                r#"CIDR "10.0.0.8/31" in IPAddressPool "prod" overlaps with already defined CIDR "10.0.0.0-10.0.0.10" in the same pool"#,
                r#"CIDR "10.0.0.8/31" in IPAddressPool "prod" overlaps with already defined CIDR "10.0.0.2-10.0.0.20" in the same pool"#,
            ]
        );
    }

    #[test]
    fn overlaps_with_many_pools_name_the_first_and_count_the_rest() {
        let names: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
        let entries: Vec<String> = (0..30).map(|i| format!("10.0.0.{i}/32")).collect();
        let existing: Vec<(&str, [&str; 1])> = names
            .iter()
            .zip(&entries)
            .map(|(n, e)| (n.as_str(), [e.as_str()]))
            .collect();
        let existing: Vec<(&str, &[&str])> =
            existing.iter().map(|(n, e)| (*n, e.as_slice())).collect();
        let verdict = validate(&pool("wide", &["10.0.0.0/24"]), &cluster(&existing));
        assert_eq!(verdict.denials.len(), pool_overlap::LISTED + 1);
        assert_eq!(
            verdict.denials[0],
            r#"CIDR "10.0.0.0/24" in IPAddressPool "wide" overlaps with already defined CIDR "10.0.0.0/32" in IPAddressPool "p0""#
        );
        assert_eq!(
            verdict.denials[pool_overlap::LISTED],
            format!(
                r#"IPAddressPool "wide": {} more overlaps with already defined CIDRs of other pools are not listed"#,
                30 - pool_overlap::LISTED
            )
        );
    }

    #[test]
    fn a_pool_outside_the_namespace_is_denied() {
        let mut p = pool("prod", &["10.0.0.0/24"]);
        p.metadata.namespace = Some("default".into());
        assert_eq!(
            validate(&p, &cluster(&[])).denials,
            [
                r#"IPAddressPool "prod": resource must be created in metallb-system namespace, not "default""#
            ]
        );
    }

    #[test]
    fn an_empty_pool_is_denied() {
        assert_eq!(
            validate(&pool("prod", &[]), &cluster(&[])).denials,
            [r#"IPAddressPool "prod": addresses is empty; list at least one CIDR or range"#]
        );
    }

    #[test]
    fn duplicate_namespaces_and_selectors_are_denied() {
        let mut p = pool("prod", &["10.0.0.0/24"]);
        p.spec.service_allocation = Some(ServiceAllocation {
            namespaces: vec!["a".into(), "b".into(), "a".into()],
            namespace_selectors: vec![
                labels_selector(&[("team", "x")]),
                labels_selector(&[("team", "x")]),
            ],
            service_selectors: vec![labels_selector(&[("bad key", "x")])],
            ..Default::default()
        });
        let verdict = validate(&p, &cluster(&[]));
        assert_eq!(verdict.denials.len(), 3, "{verdict:?}");
        assert_eq!(
            verdict.denials[0],
            r#"IPAddressPool "prod": serviceAllocation.namespaces lists "a" more than once"#
        );
        assert_eq!(
            verdict.denials[1],
            r#"IPAddressPool "prod": serviceAllocation.namespaceSelectors[1] duplicates serviceAllocation.namespaceSelectors[0]"#
        );
        assert!(
            verdict.denials[2].starts_with(
                r#"IPAddressPool "prod": serviceAllocation.serviceSelectors[0] is invalid: label key "bad key" is invalid"#
            ),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_service_selector_listing_a_value_twice_is_denied() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
            LabelSelector, LabelSelectorRequirement,
        };
        let mut p = pool("prod", &["203.0.113.0/24"]);
        p.spec.service_allocation = Some(ServiceAllocation {
            service_selectors: vec![LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "foo".into(),
                    operator: "In".into(),
                    values: Some(vec!["bar".into(), "bar".into()]),
                }]),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(
            validate(&p, &cluster(&[])).denials,
            [
                r#"IPAddressPool "prod": serviceAllocation.serviceSelectors[0].matchExpressions[0].values lists "bar" more than once"#
            ]
        );
    }

    fn with_scope(value: &str) -> IPAddressPool {
        let mut p = pool("shared", &["198.51.100.0/24"]);
        p.metadata.annotations = Some(
            [(
                ferrolb_crds::sharing_scope::ANNOTATION.to_owned(),
                value.to_owned(),
            )]
            .into(),
        );
        p
    }

    #[test]
    fn a_sharing_scope_of_namespace_or_cluster_is_admitted() {
        for value in ["namespace", "cluster"] {
            assert_eq!(
                validate(&with_scope(value), &cluster(&[])),
                Verdict::default(),
                "{value}"
            );
        }
    }

    #[test]
    fn any_other_sharing_scope_is_denied_naming_the_pool_and_the_value() {
        assert_eq!(
            validate(&with_scope("Namespace"), &cluster(&[])).denials,
            [
                r#"IPAddressPool "shared": annotation ferrolb.io/sharing-scope is "Namespace"; use "namespace" (Services share an IP only within one namespace) or "cluster" (any namespace, as MetalLB), or remove it"#
            ]
        );
    }
}
