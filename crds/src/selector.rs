//! Label selectors as Kubernetes reads them: [`validate`] checks one the way the API server
//! would (keys, values, operators), naming the part at fault; [`matches`] says whether a set
//! of labels is selected; [`can_select_together`] says whether two lists of selectors could
//! both select one object, whatever objects exist. The webhook validates the selectors of
//! pools and advertisements with it, resolves `ipAddressPoolSelectors`, and finds peers or
//! advertisements that may apply to the same node; the operator and speaker can match with it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::rules::selector::{NEEDS_VALUES, TAKES_NO_VALUES, UNKNOWN_OPERATOR};
use crate::rules::wording::quote_list;

/// Why a selector is invalid, as a lowercase sentence naming the key, value or operator.
pub fn validate(selector: &LabelSelector) -> Result<(), String> {
    for (key, value) in selector.match_labels.iter().flatten() {
        label_key(key)?;
        label_value(key, value)?;
    }
    for requirement in selector.match_expressions.iter().flatten() {
        label_key(&requirement.key)?;
        let values = requirement.values.as_deref().unwrap_or_default();
        match requirement.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    return Err(NEEDS_VALUES.fill(&[&requirement.operator, &requirement.key]));
                }
                for value in values {
                    label_value(&requirement.key, value)?;
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    return Err(TAKES_NO_VALUES.fill(&[
                        &requirement.operator,
                        &requirement.key,
                        &quote_list(values),
                    ]));
                }
            }
            other => {
                return Err(UNKNOWN_OPERATOR.fill(&[&other, &requirement.key]));
            }
        }
    }
    Ok(())
}

/// Whether `labels` satisfy every label and expression of `selector` (an empty selector
/// selects everything).
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    labels_match
        && selector
            .match_expressions
            .iter()
            .flatten()
            .all(|r| requirement_matches(r, labels))
}

/// Whether some set of labels is selected by a selector of `a` and by a selector of `b`; an
/// empty list selects everything, as a node selector does. Invalid selectors are read as
/// their valid parts: they are denied on their own.
pub fn can_select_together(a: &[LabelSelector], b: &[LabelSelector]) -> bool {
    let everything = [LabelSelector::default()];
    let a = if a.is_empty() { &everything[..] } else { a };
    let b = if b.is_empty() { &everything[..] } else { b };
    a.iter().any(|x| b.iter().any(|y| satisfiable(&[x, y])))
}

/// What the selectors ask of one label key, all together.
#[derive(Default)]
struct KeyConstraint<'a> {
    present: bool,
    absent: bool,
    /// The values it may take, when some requirement lists them.
    allowed: Option<BTreeSet<&'a str>>,
    forbidden: BTreeSet<&'a str>,
}

impl<'a> KeyConstraint<'a> {
    fn allow_only(&mut self, values: impl IntoIterator<Item = &'a str>) {
        let values: BTreeSet<&str> = values.into_iter().collect();
        self.present = true;
        self.allowed = Some(match self.allowed.take() {
            Some(before) => before.intersection(&values).copied().collect(),
            None => values,
        });
    }

    fn satisfiable(&self) -> bool {
        if self.absent {
            return !self.present;
        }
        self.allowed
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|v| !self.forbidden.contains(v)))
    }
}

/// Whether one set of labels satisfies every selector of `selectors`. Keys are independent,
/// and a key constrained only by `Exists` or `NotIn` can always take a fresh value.
fn satisfiable(selectors: &[&LabelSelector]) -> bool {
    let mut keys: BTreeMap<&str, KeyConstraint> = BTreeMap::new();
    for selector in selectors {
        for (key, value) in selector.match_labels.iter().flatten() {
            keys.entry(key).or_default().allow_only([value.as_str()]);
        }
        for r in selector.match_expressions.iter().flatten() {
            let constraint = keys.entry(&r.key).or_default();
            let values = r.values.iter().flatten().map(String::as_str);
            match r.operator.as_str() {
                "In" => constraint.allow_only(values),
                "NotIn" => constraint.forbidden.extend(values),
                "Exists" => constraint.present = true,
                "DoesNotExist" => constraint.absent = true,
                _ => {}
            }
        }
    }
    keys.values().all(KeyConstraint::satisfiable)
}

fn requirement_matches(r: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match (r.operator.as_str(), labels.get(&r.key)) {
        ("In", Some(v)) => values.contains(v),
        ("NotIn", Some(v)) => !values.contains(v),
        ("NotIn", None) | ("DoesNotExist", None) | ("Exists", Some(_)) => true,
        _ => false,
    }
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// characters.
fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Err(format!(
            "label key {key:?} is invalid: prefix {prefix:?} is not a lowercase DNS subdomain"
        ));
    }
    if name.is_empty() || name.len() > 63 || !is_label_name(name) {
        return Err(format!(
            "label key {key:?} is invalid: name part must be 1 to 63 characters of letters, \
             digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn label_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 || !is_label_name(value) {
        return Err(format!(
            "label value {value:?} for key {key:?} is invalid: it must be at most 63 characters \
             of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
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

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: operator.into(),
                values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn a_selector_with_prefixed_keys_and_every_operator_is_valid() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("example.com/zone", "east-1"), ("tier", "")])),
            ..Default::default()
        };
        assert_eq!(validate(&selector), Ok(()));
        for (op, values) in [
            ("In", &["a"][..]),
            ("NotIn", &["a"]),
            ("Exists", &[]),
            ("DoesNotExist", &[]),
        ] {
            assert_eq!(validate(&expression("k", op, values)), Ok(()));
        }
    }

    #[test]
    fn an_unknown_operator_is_named() {
        assert_eq!(
            validate(&expression("zone", "Equals", &["a"])),
            Err(
                r#"operator "Equals" on key "zone" is not one of In, NotIn, Exists, DoesNotExist"#
                    .into()
            )
        );
    }

    #[test]
    fn in_without_values_and_exists_with_values_are_invalid() {
        assert_eq!(
            validate(&expression("zone", "In", &[])),
            Err(r#"operator "In" on key "zone" needs at least one value"#.into())
        );
        assert_eq!(
            validate(&expression("zone", "Exists", &["a"])),
            Err(r#"operator "Exists" on key "zone" takes no values, got ["a"]"#.into())
        );
    }

    #[test]
    fn bad_keys_and_values_are_quoted() {
        let bad_key = LabelSelector {
            match_labels: Some(labels(&[("-zone", "a")])),
            ..Default::default()
        };
        assert!(
            validate(&bad_key)
                .unwrap_err()
                .starts_with(r#"label key "-zone" is invalid"#)
        );
        let bad_prefix = LabelSelector {
            match_labels: Some(labels(&[("Example.com/zone", "a")])),
            ..Default::default()
        };
        assert!(
            validate(&bad_prefix)
                .unwrap_err()
                .contains(r#"prefix "Example.com" is not a lowercase DNS subdomain"#)
        );
        let bad_value = LabelSelector {
            match_labels: Some(labels(&[("zone", "east 1")])),
            ..Default::default()
        };
        assert!(
            validate(&bad_value)
                .unwrap_err()
                .starts_with(r#"label value "east 1" for key "zone" is invalid"#)
        );
    }

    fn labelled(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs)),
            ..Default::default()
        }
    }

    #[test]
    fn selector_lists_can_select_together_unless_they_contradict_each_other() {
        let zone_a = labelled(&[("zone", "a")]);
        let zone_b = labelled(&[("zone", "b")]);
        let rack_1 = labelled(&[("rack", "1")]);
        assert!(can_select_together(&[], &[]));
        assert!(can_select_together(&[], std::slice::from_ref(&zone_a)));
        assert!(can_select_together(
            std::slice::from_ref(&zone_a),
            std::slice::from_ref(&rack_1)
        ));
        assert!(!can_select_together(
            std::slice::from_ref(&zone_a),
            std::slice::from_ref(&zone_b)
        ));
        assert!(can_select_together(
            std::slice::from_ref(&zone_a),
            &[zone_b.clone(), rack_1.clone()]
        ));
        assert!(can_select_together(
            &[expression("zone", "In", &["a", "b"])],
            std::slice::from_ref(&zone_b)
        ));
        assert!(!can_select_together(
            &[expression("zone", "NotIn", &["a"])],
            std::slice::from_ref(&zone_a)
        ));
        assert!(can_select_together(
            &[expression("zone", "NotIn", &["a"])],
            &[expression("zone", "Exists", &[])]
        ));
        assert!(!can_select_together(
            &[expression("zone", "DoesNotExist", &[])],
            &[expression("zone", "Exists", &[])]
        ));
        assert!(!can_select_together(
            &[expression("zone", "DoesNotExist", &[])],
            std::slice::from_ref(&zone_a)
        ));
        assert!(can_select_together(
            &[expression("zone", "DoesNotExist", &[])],
            &[expression("zone", "NotIn", &["a"])]
        ));
        assert!(!can_select_together(
            &[expression("zone", "In", &["a", "b"])],
            &[expression("zone", "In", &["c"])]
        ));
    }

    #[test]
    fn matching_follows_labels_and_expressions() {
        let node = labels(&[("zone", "east"), ("tier", "edge")]);
        assert!(matches(&LabelSelector::default(), &node));
        assert!(matches(&expression("zone", "In", &["east", "west"]), &node));
        assert!(!matches(&expression("zone", "NotIn", &["east"]), &node));
        assert!(matches(&expression("rack", "NotIn", &["r1"]), &node));
        assert!(matches(&expression("tier", "Exists", &[]), &node));
        assert!(!matches(&expression("tier", "DoesNotExist", &[]), &node));
        let by_label = LabelSelector {
            match_labels: Some(labels(&[("zone", "west")])),
            ..Default::default()
        };
        assert!(!matches(&by_label, &node));
    }
}
