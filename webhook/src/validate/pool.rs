//! IPAddressPool rules: every address entry parses; no entry overlaps another entry of the
//! pool or of any other pool (found through the [`PoolIndex`](crate::pool_index::PoolIndex),
//! not by walking all pools); serviceAllocation lists no namespace or selector twice and its
//! selectors are valid; its `ferrolb.io/sharing-scope` annotation, if any, is `namespace` or
//! `cluster`; and the pool does not break the aggregation length of a
//! BGPAdvertisement that selects it. The rules within one pool use the words of
//! [`ferrolb_crds::rules::pool`], which the CRD's CEL rules say too.

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::AddressRange;
use ferrolb_crds::rules::pool::NO_ADDRESSES;
use ferrolb_crds::sharing_scope::SharingScope;

use super::{Verdict, describe, no_duplicates, require_namespace, valid_selectors};
use crate::cluster::Cluster;

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
    overlaps_within(&mut verdict, &object, &mut entries);
    for (range, text) in &entries {
        for other in cluster.pools.overlapping(range) {
            if other.pool != name {
                verdict.deny(format!(
                    "CIDR {text:?} in {object} overlaps with already defined CIDR {:?} in IPAddressPool {:?}",
                    other.text, other.pool
                ));
            }
        }
    }

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

/// Denies entries of one pool that share addresses, naming both. Sorting first keeps this
/// linear after the sort: an entry can only overlap the furthest-reaching entry before it.
fn overlaps_within(verdict: &mut Verdict, object: &str, entries: &mut [(AddressRange, &str)]) {
    entries.sort_by_key(|(range, _)| (range.family(), range.bounds()));
    let mut furthest: Option<(AddressRange, &str)> = None;
    for &(range, text) in entries.iter() {
        if let Some((reach, reach_text)) = furthest
            && reach.overlaps(&range)
        {
            verdict.deny(format!(
                "CIDR {text:?} in {object} overlaps with already defined CIDR {reach_text:?} in the same pool"
            ));
        }
        let extends = furthest.is_none_or(|(reach, _)| {
            reach.family() != range.family() || range.bounds().1 > reach.bounds().1
        });
        if extends {
            furthest = Some((range, text));
        }
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
