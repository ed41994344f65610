//! What L2Advertisements and BGPAdvertisements have in common: the pools they advertise (by
//! name or selector), the nodes and the Services they are limited to. Each spec lends a
//! [`Targets`] view of its own fields, so a rule over them (the webhook's validation, which
//! pools an advertisement applies to) is written once for both kinds.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::bgpadvertisement::BGPAdvertisementSpec;
use crate::l2advertisement::L2AdvertisementSpec;

/// The fields of an advertisement that say what it applies to.
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    /// `ipAddressPools`: pools by name.
    pub pools: &'a [String],
    /// `ipAddressPoolSelectors`: pools by label.
    pub pool_selectors: &'a [LabelSelector],
    /// `nodeSelectors`.
    pub node_selectors: &'a [LabelSelector],
    /// `serviceSelectors`.
    pub service_selectors: &'a [LabelSelector],
}

impl Targets<'_> {
    /// Whether the advertisement applies to the pool `name` with `labels`: named, selected,
    /// or every pool when it names and selects none.
    pub fn selects_pool(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        if self.pools.is_empty() && self.pool_selectors.is_empty() {
            return true;
        }
        self.pools.iter().any(|n| n == name)
            || self
                .pool_selectors
                .iter()
                .any(|s| crate::selector::matches(s, labels))
    }
}

impl L2AdvertisementSpec {
    pub fn targets(&self) -> Targets<'_> {
        Targets {
            pools: &self.ip_address_pools,
            pool_selectors: &self.ip_address_pool_selectors,
            node_selectors: &self.node_selectors,
            service_selectors: &self.service_selectors,
        }
    }
}

impl BGPAdvertisementSpec {
    pub fn targets(&self) -> Targets<'_> {
        Targets {
            pools: &self.ip_address_pools,
            pool_selectors: &self.ip_address_pool_selectors,
            node_selectors: &self.node_selectors,
            service_selectors: &self.service_selectors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn selector(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs)),
            ..Default::default()
        }
    }

    #[test]
    fn an_advertisement_naming_no_pool_applies_to_every_pool() {
        let spec = L2AdvertisementSpec::default();
        assert!(spec.targets().selects_pool("any", &labels(&[])));
    }

    #[test]
    fn an_advertisement_applies_to_pools_it_names_or_selects_only() {
        let spec = BGPAdvertisementSpec {
            ip_address_pools: vec!["prod".into()],
            ip_address_pool_selectors: vec![selector(&[("tier", "edge")])],
            ..Default::default()
        };
        let targets = spec.targets();
        assert!(targets.selects_pool("prod", &labels(&[])));
        assert!(targets.selects_pool("other", &labels(&[("tier", "edge")])));
        assert!(!targets.selects_pool("other", &labels(&[("tier", "core")])));
    }
}
