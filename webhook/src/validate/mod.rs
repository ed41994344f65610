//! The admission rules, as pure functions from an incoming object and the [`Cluster`] snapshot
//! to a [`Verdict`]: the reasons to deny, and the warnings `kubectl` prints even when the
//! object is admitted. One module per kind; the helpers here are the rules several kinds
//! share (namespace, duplicate entries, label selectors).

pub mod advertisement;
pub mod bfdprofile;
pub mod community;
pub mod peer;
pub mod pool;
pub mod service;

use std::fmt::Display;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::cluster::Cluster;

/// The outcome of validating one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Why the object is refused; empty when it is admitted.
    pub denials: Vec<String>,
    /// What the user should know although the object is admitted.
    pub warnings: Vec<String>,
}

impl Verdict {
    pub fn deny(&mut self, reason: impl Into<String>) {
        self.denials.push(reason.into());
    }

    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    pub fn allowed(&self) -> bool {
        self.denials.is_empty()
    }

    /// Every denial, in the order found, as one message.
    pub fn message(&self) -> String {
        self.denials.join("; ")
    }
}

/// Denies objects outside ferrolb's namespace, as MetalLB does.
pub fn require_namespace(
    verdict: &mut Verdict,
    cluster: &Cluster,
    object: &str,
    namespace: Option<&str>,
) {
    let namespace = namespace.unwrap_or_default();
    if namespace != cluster.namespace {
        verdict.deny(format!(
            "{object}: resource must be created in {} namespace, not {namespace:?}",
            cluster.namespace
        ));
    }
}

/// Denies items listed more than once in `field`, naming each repeated item once.
pub fn no_duplicates<T: PartialEq + Display>(
    verdict: &mut Verdict,
    object: &str,
    field: &str,
    items: &[T],
) {
    for (i, item) in items.iter().enumerate() {
        let first = items.iter().position(|other| other == item) == Some(i);
        let repeated = items[i + 1..].contains(item);
        if first && repeated {
            verdict.deny(format!("{object}: {field} lists {item} more than once"));
        }
    }
}

/// Denies invalid selectors and selectors listed twice in `field`.
pub fn valid_selectors(
    verdict: &mut Verdict,
    object: &str,
    field: &str,
    selectors: &[LabelSelector],
) {
    for (i, selector) in selectors.iter().enumerate() {
        if let Err(why) = ferrolb_crds::selector::validate(selector) {
            verdict.deny(format!("{object}: {field}[{i}] is invalid: {why}"));
        }
        if let Some(j) = selectors[..i].iter().position(|s| s == selector) {
            verdict.deny(format!("{object}: {field}[{i}] duplicates {field}[{j}]"));
        }
    }
}

/// `Kind "name"` for messages.
pub fn describe(kind: &str, name: Option<&str>) -> String {
    format!("{kind} {:?}", name.unwrap_or_default())
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Objects for the validators' tests.

    use std::sync::Arc;

    use ferrolb_crds::IPAddressPool;
    use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    pub const NS: &str = "metallb-system";

    pub fn meta(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..Default::default()
        }
    }

    pub fn pool(name: &str, addresses: &[&str]) -> IPAddressPool {
        IPAddressPool {
            metadata: meta(name),
            spec: IPAddressPoolSpec {
                addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
                ..Default::default()
            },
            status: None,
        }
    }

    pub fn pools(list: &[(&str, &[&str])]) -> Vec<Arc<IPAddressPool>> {
        list.iter()
            .map(|(name, addresses)| Arc::new(pool(name, addresses)))
            .collect()
    }

    pub fn labels_selector(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        }
    }
}
