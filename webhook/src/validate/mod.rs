//! The admission rules, as pure functions from an incoming object and the [`Cluster`] snapshot
//! to a [`Verdict`]: the reasons to deny, and the warnings `kubectl` prints even when the
//! object is admitted. One module per kind; the helpers here are the rules several kinds
//! share (namespace, duplicate entries, label selectors).

pub mod advertisement;
pub mod bfdprofile;
pub mod community;
#[cfg(test)]
mod metallb_cases;
pub mod peer;
pub mod pool;
pub mod service;

use std::fmt::Display;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::snapshot::Cluster;

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

/// Denies invalid selectors, selectors listed twice in `field` (the order of an expression's
/// values aside, as MetalLB compares them), and within one selector a match expression listed
/// twice or a value listed twice in one expression.
pub fn valid_selectors(
    verdict: &mut Verdict,
    object: &str,
    field: &str,
    selectors: &[LabelSelector],
) {
    let normalized: Vec<LabelSelector> = selectors.iter().map(values_sorted).collect();
    for (i, selector) in selectors.iter().enumerate() {
        if let Err(why) = ferrolb_crds::selector::validate(selector) {
            verdict.deny(format!("{object}: {field}[{i}] is invalid: {why}"));
        }
        let expressions = selector.match_expressions.as_deref().unwrap_or_default();
        for (j, expression) in expressions.iter().enumerate() {
            let values: Vec<String> = expression
                .values
                .iter()
                .flatten()
                .map(|v| format!("{v:?}"))
                .collect();
            no_duplicates(
                verdict,
                object,
                &format!("{field}[{i}].matchExpressions[{j}].values"),
                &values,
            );
            let sorted = &normalized[i]
                .match_expressions
                .as_deref()
                .unwrap_or_default();
            if let Some(k) = sorted[..j].iter().position(|e| *e == sorted[j]) {
                verdict.deny(format!(
                    "{object}: {field}[{i}].matchExpressions[{j}] duplicates {field}[{i}].matchExpressions[{k}]"
                ));
            }
        }
        if let Some(j) = normalized[..i].iter().position(|s| *s == normalized[i]) {
            verdict.deny(format!("{object}: {field}[{i}] duplicates {field}[{j}]"));
        }
    }
}

/// The selector with each expression's values in order, for comparing selectors as sets.
fn values_sorted(selector: &LabelSelector) -> LabelSelector {
    let mut selector = selector.clone();
    for expression in selector.match_expressions.iter_mut().flatten() {
        if let Some(values) = &mut expression.values {
            values.sort();
        }
    }
    selector
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
