//! BGP community rules that need only the object: a value is a standard community `65000:100`
//! or a large community `large:65000:1:2` ([`crate::community_value`] parses them with these
//! words), and a Community's aliases have names, without a colon, each defined once. Whether an
//! alias a BGPAdvertisement names exists, and aliases defined by two Community objects, are
//! the webhook's to judge. Where a Community has several nameless or repeated aliases, the CRD
//! names the first and the webhook each.

use schemars::Schema;
use serde_json::json;

use super::cel::{self, Rule, bind_bool};
use super::wording::Wording;

/// The value, why it does not parse.
pub const COMMUNITY_INVALID: Wording = Wording(
    "community {:?} is invalid: {}; expected a standard community such as 65000:100 or a large \
     community such as large:65000:1:2",
);
pub const LARGE_NEEDS_THREE_NUMBERS: Wording =
    Wording("a large community has three numbers after \"large:\"");
pub const NOT_A_32_BIT_NUMBER: Wording = Wording("{:?} is not a number from 0 to 4294967295");
pub const STANDARD_NEEDS_TWO_NUMBERS: Wording =
    Wording("a standard community has two numbers separated by ':'");
pub const NOT_A_16_BIT_NUMBER: Wording = Wording("{:?} is not a number from 0 to 65535");
/// Alias name, why its value does not parse.
pub const ALIAS_VALUE_INVALID: Wording = Wording("alias {:?}: {}");
pub const ALIAS_NAME_HAS_COLON: Wording =
    Wording("alias name {:?} contains ':'; names with a colon read as community values");
/// Index of the alias.
pub const ALIAS_WITHOUT_NAME: Wording = Wording("communities[{}] has no name");
pub const ALIAS_DEFINED_TWICE: Wording = Wording("alias {:?} is defined more than once");

/// Most aliases one Community defines.
pub const MAX_ALIASES: u64 = 256;
/// Longest alias name, and longest item of a BGPAdvertisement's `communities`.
pub const MAX_NAME_LENGTH: u64 = 253;
/// Longest value (a large community of three 10-digit numbers has 38 characters).
pub const MAX_VALUE_LENGTH: u64 = 64;
/// Most communities one BGPAdvertisement attaches.
pub const MAX_ADVERTISED: u64 = 256;

/// The transform of `Community.spec`.
pub fn community_spec(schema: &mut Schema) {
    let aliases = cel::property(schema, "communities");
    cel::set(aliases, "maxItems", json!(MAX_ALIASES));
    let named = "has(c.name) && c.name != ''";
    cel::add(
        aliases,
        vec![
            Rule::new(
                format!("self.all(c, {named})"),
                ALIAS_WITHOUT_NAME,
                ALIAS_WITHOUT_NAME.cel(&[&format!("self.transformList(i, c, !({named}), i)[0]")]),
            ),
            Rule::new(
                bind_bool(
                    "n",
                    &format!("self.filter(c, {named}).map(c, c.name)"),
                    "size(n) == size(n.distinct())",
                ),
                ALIAS_DEFINED_TWICE,
                ALIAS_DEFINED_TWICE.cel(&[&format!(
                    "self.transformList(i, c, {named} && self.slice(0, i).exists(d, has(d.name) && d.name == c.name), c.name)[0]"
                )]),
            ),
        ],
    );
    let alias = cel::items(aliases);
    cel::set(
        cel::property(alias, "name"),
        "maxLength",
        json!(MAX_NAME_LENGTH),
    );
    cel::set(
        cel::property(alias, "value"),
        "maxLength",
        json!(MAX_VALUE_LENGTH),
    );
    let value = "(has(self.value) ? self.value : '')";
    let name = "(has(self.name) ? self.name : '')";
    cel::add(
        alias,
        vec![
            Rule::new(
                "!has(self.name) || !self.name.contains(':')",
                ALIAS_NAME_HAS_COLON,
                ALIAS_NAME_HAS_COLON.cel(&["self.name"]),
            )
            .blaming(".name"),
            Rule::new(
                valid(value),
                ALIAS_VALUE_INVALID,
                ALIAS_VALUE_INVALID.cel(&[name, &invalid(value)]),
            )
            .blaming(".value"),
        ],
    );
}

/// The transform of `BGPAdvertisement.spec.communities`: values (with a colon) must parse;
/// alias names are left to the webhook.
pub fn advertised(schema: &mut Schema) {
    cel::set(schema, "maxItems", json!(MAX_ADVERTISED));
    let item = cel::items(schema);
    cel::set(item, "maxLength", json!(MAX_NAME_LENGTH));
    cel::add(
        item,
        vec![Rule::new(
            format!("!self.contains(':') || {}", valid("self")),
            COMMUNITY_INVALID,
            invalid("self"),
        )],
    );
}

/// CEL: the community value `text` parses.
fn valid(text: &str) -> String {
    let n32 = U32_PATTERN;
    let n16 = U16_PATTERN;
    format!(
        "({text}.startsWith('large:') ? \
         ({text}.matches('^large:{n32}:{n32}:{n32}$') && {text}.substring(6).split(':').all(n, int(n) <= 4294967295)) : \
         ({text}.matches('^{n16}:{n16}$') && {text}.split(':').all(n, int(n) <= 65535)))"
    )
}

/// CEL: the message for the community value `text` that does not parse, with the reason the
/// parser gives: the count of numbers, then the first number out of range.
fn invalid(text: &str) -> String {
    let large_parts = format!("{text}.substring(6).split(':')");
    let parts = format!("{text}.split(':')");
    let large = format!(
        "size({large_parts}) != 3 ? {} : {}",
        LARGE_NEEDS_THREE_NUMBERS.cel(&[]),
        NOT_A_32_BIT_NUMBER.cel(&[&format!(
            "{large_parts}.filter(n, !(n.matches('^{U32_PATTERN}$') && int(n) <= 4294967295))[0]"
        )])
    );
    let standard = format!(
        "size({parts}) != 2 ? {} : {}",
        STANDARD_NEEDS_TWO_NUMBERS.cel(&[]),
        NOT_A_16_BIT_NUMBER.cel(&[&format!(
            "{parts}.filter(n, !(n.matches('^{U16_PATTERN}$') && int(n) <= 65535))[0]"
        )])
    );
    COMMUNITY_INVALID.cel(&[
        text,
        &format!("{text}.startsWith('large:') ? ({large}) : ({standard})"),
    ])
}

/// A number Rust's `u16` parser may read (then at most 65535).
const U16_PATTERN: &str = "[+]?0*[0-9]{1,5}";
/// A number Rust's `u32` parser may read (then at most 4294967295).
const U32_PATTERN: &str = "[+]?0*[0-9]{1,10}";
