//! Label selector rules that CEL checks: every match expression has a known operator, values
//! for In and NotIn, none for Exists and DoesNotExist. [`crate::selector::validate`] says the
//! same with these words; label key and value syntax, and selectors, match expressions or
//! values listed twice, stay with the webhook.

use schemars::Schema;
use serde_json::json;

use super::cel::{self, Rule};
use super::wording::{Wording, cel_quote_list};

/// Operator, key.
pub const UNKNOWN_OPERATOR: Wording =
    Wording("operator {:?} on key {:?} is not one of In, NotIn, Exists, DoesNotExist");
/// Operator, key.
pub const NEEDS_VALUES: Wording = Wording("operator {:?} on key {:?} needs at least one value");
/// Operator, key, the values as a quoted list.
pub const TAKES_NO_VALUES: Wording = Wording("operator {:?} on key {:?} takes no values, got {}");

/// Most selectors in one list field.
pub const MAX_SELECTORS: u64 = 128;
/// Most match expressions in one selector.
pub const MAX_EXPRESSIONS: u64 = 128;
/// Most values in one match expression.
pub const MAX_VALUES: u64 = 1024;
/// Longest label value Kubernetes accepts.
pub const MAX_VALUE_LENGTH: u64 = 63;
/// Longest operator text (the longest operator, DoesNotExist, has 12 characters).
pub const MAX_OPERATOR_LENGTH: u64 = 32;

/// The transform of a list of label selectors.
pub fn selector_list(schema: &mut Schema) {
    cel::set(schema, "maxItems", json!(MAX_SELECTORS));
    selector(cel::items(schema));
}

/// The transform of one label selector.
pub fn selector(schema: &mut Schema) {
    requirement_list(cel::property(schema, "matchExpressions"));
}

/// The transform of the match expressions of a selector.
pub fn requirement_list(schema: &mut Schema) {
    cel::set(schema, "maxItems", json!(MAX_EXPRESSIONS));
    requirement(cel::items(schema));
}

fn requirement(schema: &mut Schema) {
    cel::set(
        cel::property(schema, "operator"),
        "maxLength",
        json!(MAX_OPERATOR_LENGTH),
    );
    let values = cel::property(schema, "values");
    cel::set(values, "maxItems", json!(MAX_VALUES));
    cel::set(cel::items(values), "maxLength", json!(MAX_VALUE_LENGTH));
    let names = ["self.operator", "self.key"];
    cel::add(
        schema,
        vec![
            Rule::new(
                "self.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist']",
                UNKNOWN_OPERATOR,
                UNKNOWN_OPERATOR.cel(&names),
            ),
            Rule::new(
                "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
                NEEDS_VALUES,
                NEEDS_VALUES.cel(&names),
            ),
            Rule::new(
                "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
                TAKES_NO_VALUES,
                TAKES_NO_VALUES.cel(&["self.operator", "self.key", &cel_quote_list("self.values")]),
            ),
        ],
    );
}
