//! CEL validation rules (`x-kubernetes-validations`) as Rust values, and the schemars
//! transforms that put them into the generated schemas, so the API server refuses a malformed
//! object by itself, with the webhook's words, even while the webhook is down.
//!
//! A rule sits on the schema of the value it judges (`self`), never on the root: the API server
//! ratchets a rule whose value did not change, so an object stored before a rule existed can
//! still have its metadata or status updated. CEL has no `let`; [`bind`] and [`bind_bool`] give
//! a name to a value by iterating over a one-element list.

use schemars::Schema;
use serde_json::{Value, json};

use super::wording::Wording;

/// One `x-kubernetes-validations` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The CEL expression true for a valid value.
    pub rule: String,
    /// The words of the message; its summary is the static fallback `message`.
    pub wording: Wording,
    /// The CEL expression of the message, naming the value at fault; `None` when the wording
    /// has no hole and is the message itself.
    pub message_expression: Option<String>,
    /// The field blamed, relative to the schema node, when it is not the node itself.
    pub field_path: Option<&'static str>,
}

impl Rule {
    pub fn new(rule: impl Into<String>, wording: Wording, message_expression: String) -> Self {
        Self {
            rule: rule.into(),
            wording,
            message_expression: Some(message_expression),
            field_path: None,
        }
    }

    /// A rule whose message names no value: the wording as it stands.
    pub fn fixed(rule: impl Into<String>, wording: Wording) -> Self {
        assert_eq!(wording.holes(), 0, "{wording} has holes");
        Self {
            rule: rule.into(),
            wording,
            message_expression: None,
            field_path: None,
        }
    }

    /// The same rule, blaming `field_path` (such as `.keepaliveTime`).
    pub fn blaming(self, field_path: &'static str) -> Self {
        Self {
            field_path: Some(field_path),
            ..self
        }
    }

    fn to_json(&self) -> Value {
        let mut rule = json!({
            "rule": self.rule,
            "message": self.wording.summary(),
        });
        if let Some(expression) = &self.message_expression {
            rule["messageExpression"] = json!(expression);
        }
        if let Some(path) = self.field_path {
            rule["fieldPath"] = json!(path);
        }
        rule
    }
}

/// Appends `rules` to the `x-kubernetes-validations` of `schema`.
pub fn add(schema: &mut Schema, rules: Vec<Rule>) {
    let object = schema.ensure_object();
    let list = object
        .entry("x-kubernetes-validations")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = list {
        list.extend(rules.iter().map(Rule::to_json));
    }
}

/// Sets `key` to `value` on `schema`.
pub fn set(schema: &mut Schema, key: &str, value: Value) {
    schema.insert(key.to_owned(), value);
}

/// The schema of the items of the array `schema`.
///
/// # Panics
/// When `schema` is not an array schema: the transform is on the wrong field.
pub fn items(schema: &mut Schema) -> &mut Schema {
    schema
        .get_mut("items")
        .and_then(|items| <&mut Schema>::try_from(items).ok())
        .expect("an array schema has an item schema")
}

/// The schema of property `name` of the object `schema`.
///
/// # Panics
/// When `schema` has no such property.
pub fn property<'a>(schema: &'a mut Schema, name: &str) -> &'a mut Schema {
    schema
        .get_mut("properties")
        .and_then(|p| p.get_mut(name))
        .and_then(|p| <&mut Schema>::try_from(p).ok())
        .unwrap_or_else(|| panic!("the schema has a property {name:?}"))
}

/// The CEL expression `body` with `name` bound to the value of `value`.
pub fn bind(name: &str, value: &str, body: &str) -> String {
    format!("[{value}].map({name}, {body})[0]")
}

/// The boolean CEL expression `body` with `name` bound to the value of `value`.
pub fn bind_bool(name: &str, value: &str, body: &str) -> String {
    format!("[{value}].all({name}, {body})")
}

/// `field` of `object` when set, else `default` (all CEL).
pub fn or_default(object: &str, field: &str, default: &str) -> String {
    format!("(has({object}.{field}) ? {object}.{field} : {default})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_renders_with_its_summary_and_blamed_field() {
        let rule = Rule::new(
            "self.a <= self.b",
            Wording("a {} is above b"),
            "'a ' + string(self.a) + ' is above b'".into(),
        )
        .blaming(".a");
        assert_eq!(
            rule.to_json(),
            json!({
                "rule": "self.a <= self.b",
                "message": "a … is above b",
                "messageExpression": "'a ' + string(self.a) + ' is above b'",
                "fieldPath": ".a",
            })
        );
    }

    #[test]
    fn a_fixed_rule_has_its_wording_as_message_and_no_expression() {
        let rule = Rule::fixed("self != 0", Wording("myASN is missing"));
        assert_eq!(
            rule.to_json(),
            json!({"rule": "self != 0", "message": "myASN is missing"})
        );
    }

    #[test]
    fn rules_are_appended_to_those_already_there() {
        let mut schema = schemars::json_schema!({"type": "string"});
        let rule = || Rule::new("true", Wording("x"), "'x'".into());
        add(&mut schema, vec![rule()]);
        add(&mut schema, vec![rule()]);
        assert_eq!(
            schema
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .map(Vec::len),
            Some(2)
        );
    }
}
