//! IPAddressPool rules that need only the pool: at least one address, and every entry a CIDR
//! or a range of one family in order. [`crate::address`] parses entries with these words; the
//! CRD judges each entry with the same steps in CEL, in the same order, so both name the same
//! fault. Overlaps, within a pool or between pools, stay with the webhook.

use schemars::Schema;
use serde_json::json;

use super::cel::{self, Rule, bind, bind_bool};
use super::wording::Wording;

/// An entry that does not parse, as the CRD says it (the API server names the pool).
pub const ADDRESS_INVALID: Wording = Wording("address {:?} is invalid: {}");
/// An entry that does not parse, as the webhook says it.
pub const ADDRESS_IN_POOL_INVALID: Wording =
    Wording("address {:?} in IPAddressPool {:?} is invalid: {}");
pub const NO_ADDRESSES: Wording = Wording("addresses is empty; list at least one CIDR or range");
pub const EMPTY: Wording = Wording("it is empty");
pub const ADDRESS_MISSING: Wording = Wording("an address is missing");
pub const NOT_AN_IP: Wording = Wording("{:?} is not an IP address");
pub const PREFIX_NOT_A_NUMBER: Wording = Wording("prefix length {:?} is not a number");
pub const PREFIX_TOO_LONG: Wording = Wording("prefix length {} exceeds {}");
pub const FAMILIES_DIFFER: Wording = Wording("start {} is {} but end {} is {}");
pub const START_AFTER_END: Wording = Wording("start {} is after end {}");
pub const SINGLE_ADDRESS: Wording =
    Wording("a single address needs a prefix length (/32 or /128) or a range");
pub const NOT_AN_ENTRY: Wording = Wording(
    "{}; expected a CIDR such as 192.168.10.0/24 or a range such as 192.168.10.1-192.168.10.9",
);

/// Most entries a pool may list: bounds the estimated cost of the per-entry rule (about 2,800
/// units an entry against a budget of 10,000,000 a rule).
pub const MAX_ADDRESSES: u64 = 2048;
/// Longest entry: an IPv6 range with embedded IPv4 parts and spaces round the dash fits.
pub const MAX_ENTRY_LENGTH: u64 = 128;

/// The transform of `spec.addresses`: bounds, at least one entry, each entry valid.
pub fn addresses(schema: &mut Schema) {
    cel::set(schema, "maxItems", json!(MAX_ADDRESSES));
    cel::add(schema, vec![Rule::fixed("size(self) > 0", NO_ADDRESSES)]);
    let entry = cel::items(schema);
    cel::set(entry, "maxLength", json!(MAX_ENTRY_LENGTH));
    cel::add(entry, vec![entry_rule()]);
}

/// One entry (`self`, a string) parses. CEL has no `let`: a value is named by iterating over
/// a list of it alone (`[x].all(t, ...)`), which keeps the size the cost estimate knows.
fn entry_rule() -> Rule {
    Rule::new(
        entry_parses(),
        ADDRESS_INVALID,
        ADDRESS_INVALID.cel(&["self", &entry_fault()]),
    )
}

/// CEL: the trimmed entry `t` is a CIDR or a range.
fn entry_parses() -> String {
    bind_bool(
        "t",
        "self.trim()",
        &format!(
            "t != '' && (t.contains('/') ? {cidr} : t.contains('-') ? {range} : false)",
            cidr = cidr_parses(),
            range = range_parses(),
        ),
    )
}

/// CEL: the entry `t` holding a `/` is an address and a prefix length that fits it.
fn cidr_parses() -> String {
    bind_bool(
        "n",
        &before("t", '/'),
        &bind_bool(
            "p",
            &after("t", '/'),
            &format!(
                "isIP(n) && {} && int(p) <= {}",
                prefix_is_number("p"),
                bits("n")
            ),
        ),
    )
}

/// CEL: the entry `t` holding a `-` is two addresses of one family, in order.
fn range_parses() -> String {
    bind_bool(
        "a",
        &before("t", '-'),
        &bind_bool(
            "b",
            &after("t", '-'),
            &format!(
                "isIP(a) && isIP(b) && ip(a).family() == ip(b).family() && {}",
                not_after("a", "b")
            ),
        ),
    )
}

/// CEL: why the entry does not parse, in the words [`crate::address`] uses.
fn entry_fault() -> String {
    bind(
        "t",
        "self.trim()",
        &format!(
            "t == '' ? {empty} : t.contains('/') ? {cidr_reason} : t.contains('-') ? {range_reason} : \
             isIP(t) ? {single} : {not_entry}",
            empty = EMPTY.cel(&[]),
            cidr_reason = cidr_fault(),
            range_reason = range_fault(),
            single = SINGLE_ADDRESS.cel(&[]),
            not_entry = NOT_AN_ENTRY.cel(&[&NOT_AN_IP.cel(&["t"])]),
        ),
    )
}

/// CEL: why the entry `t` holding a `/` is not a valid CIDR.
fn cidr_fault() -> String {
    bind(
        "n",
        &before("t", '/'),
        &bind(
            "p",
            &after("t", '/'),
            &format!(
                "n == '' ? {missing} : !isIP(n) ? {not_ip} : !{number} ? {not_number} : {too_long}",
                missing = ADDRESS_MISSING.cel(&[]),
                not_ip = NOT_AN_IP.cel(&["n"]),
                number = prefix_is_number("p"),
                not_number = PREFIX_NOT_A_NUMBER.cel(&["p"]),
                too_long =
                    PREFIX_TOO_LONG.cel(&["string(int(p))", &format!("string({})", bits("n"))]),
            ),
        ),
    )
}

/// CEL: why the entry `t` holding a `-` is not a valid range.
fn range_fault() -> String {
    bind(
        "a",
        &before("t", '-'),
        &bind(
            "b",
            &after("t", '-'),
            &format!(
                "a == '' ? {missing} : !isIP(a) ? {start_not_ip} : b == '' ? {missing} : \
                 !isIP(b) ? {end_not_ip} : ip(a).family() != ip(b).family() ? {families} : {order}",
                missing = ADDRESS_MISSING.cel(&[]),
                start_not_ip = NOT_AN_IP.cel(&["a"]),
                end_not_ip = NOT_AN_IP.cel(&["b"]),
                families = FAMILIES_DIFFER.cel(&[
                    "string(ip(a))",
                    &family_name("a"),
                    "string(ip(b))",
                    &family_name("b"),
                ]),
                order = START_AFTER_END.cel(&["string(ip(a))", "string(ip(b))"]),
            ),
        ),
    )
}

/// CEL: the part of `text` before the first `separator`, trimmed, as Rust's `split_once` and
/// `trim` give it.
fn before(text: &str, separator: char) -> String {
    format!("{text}.substring(0, {text}.indexOf('{separator}')).trim()")
}

/// CEL: the part of `text` after the first `separator`, trimmed.
fn after(text: &str, separator: char) -> String {
    format!("{text}.substring({text}.indexOf('{separator}') + 1).trim()")
}

/// CEL: the prefix text `p` reads as a number from 0 to 255, as Rust's `u8` parser reads one.
fn prefix_is_number(p: &str) -> String {
    format!("({p}.matches('^[+]?0*[0-9]{{1,3}}$') && int({p}) <= 255)")
}

/// CEL: the width in bits of the address `ip`.
fn bits(ip: &str) -> String {
    format!("(ip({ip}).family() == 4 ? 32 : 128)")
}

/// CEL: `IPv4` or `IPv6`, as [`crate::address::Family`] prints it.
fn family_name(ip: &str) -> String {
    format!("(ip({ip}).family() == 4 ? 'IPv4' : 'IPv6')")
}

/// CEL: the address `a` is not after the address `b`, both of one family.
///
/// CEL cannot compare addresses, and building a sortable text of an IPv6 address costs more
/// than the budget allows, so this finds the length of the prefix the two share by binary
/// search with the CIDR library (`b` within `a/len`), in seven steps that each name their
/// result; past that prefix, `a` comes first when it is in the lower half of its block.
fn not_after(a: &str, b: &str) -> String {
    let prefixes = format!(
        "[{}]",
        (0..=128)
            .map(|length| format!("'/{length}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let bits = bits(a);
    let block = |length: &str| format!("cidr({a} + {prefixes}[{length}])");
    let mut expression = format!(
        "l7 == {bits} || {}.masked().ip() == {}.masked().ip()",
        block("l7 + 1"),
        block("l7")
    );
    let steps = [64, 32, 16, 8, 4, 2, 1];
    for (i, step) in steps.iter().enumerate().rev() {
        let known = if i == 0 {
            "0".to_owned()
        } else {
            format!("l{i}")
        };
        let longer = format!("{known} + {step}");
        let next = format!(
            "({longer} <= {bits} && {}.containsIP({b}) ? {longer} : {known})",
            block(&longer)
        );
        expression = bind_bool(&format!("l{}", i + 1), &next, &expression);
    }
    expression
}

/// The transform of `spec.serviceAllocation`: valid selectors.
pub fn service_allocation(schema: &mut Schema) {
    for field in ["namespaceSelectors", "serviceSelectors"] {
        super::selector::selector_list(cel::property(schema, field));
    }
}
