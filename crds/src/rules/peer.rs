//! BGPPeer rules that need only the peer: myASN set, one of peerASN and dynamicASN, one of
//! peerAddress and interface, addresses that are IPs, durations that parse, holdTime 0 or at
//! least 3s, keepaliveTime not above the hold time in effect, connectTime whole seconds, no
//! ebgpMultiHop on iBGP, not both password and passwordSecret; and valid node selectors.
//!
//! v1beta1 carries only the rules of the fields it has: its v1beta2-only fields may sit in the
//! annotation conversion keeps them in, which CEL cannot read, so the pair rules are checked
//! on it by the webhook only.

use schemars::Schema;
use serde_json::json;

use super::cel::{self, Rule, bind};
use super::selector;
use super::wording::Wording;

pub const MY_ASN_MISSING: Wording = Wording("myASN is missing; set the AS number of the local end");
pub const ASN_BOTH: Wording =
    Wording("peerASN and dynamicASN are mutually exclusive; set only one");
pub const ASN_NEITHER: Wording = Wording("one of peerASN and dynamicASN must be set");
pub const ADDRESS_BOTH: Wording =
    Wording("peerAddress and interface are mutually exclusive; set only one");
pub const ADDRESS_NEITHER: Wording = Wording("one of peerAddress and interface must be set");
/// Field, value.
pub const NOT_AN_IP: Wording = Wording("{} {:?} is not a valid IP address");
pub const ROUTER_ID_NOT_IPV4: Wording = Wording("routerID {:?} is not a valid IPv4 address");
/// Field, what is wrong with it.
pub const IN_FIELD: Wording = Wording("{}: {}");
pub const HOLD_TIME_TOO_SHORT: Wording =
    Wording("holdTime {} is invalid: it must be 0 or at least 3s");
pub const KEEPALIVE_ABOVE_HOLD_TIME: Wording =
    Wording("keepaliveTime {} is greater than holdTime {}");
pub const CONNECT_TIME_INVALID: Wording =
    Wording("connectTime {} is invalid: it must be a whole number of seconds from 1s to 65535s");
pub const MULTIHOP_ON_IBGP: Wording =
    Wording("ebgpMultiHop cannot be set on an iBGP session (peerASN equals myASN)");
pub const PASSWORD_BOTH: Wording =
    Wording("password and passwordSecret are mutually exclusive; set only one");

/// A duration that does not parse: the text, what is wrong.
pub const DURATION_INVALID: Wording = Wording("duration {:?} is invalid: {}");
pub const DURATION_EMPTY: Wording = Wording("it is empty");
pub const DURATION_NEGATIVE: Wording = Wording("it is negative");
pub const DURATION_NO_NUMBER: Wording = Wording("expected a number such as 90s or 1m30s");
pub const DURATION_NOT_A_NUMBER: Wording = Wording("{:?} is not a number");
pub const DURATION_NO_UNIT: Wording = Wording("a unit is missing (h, m, s, ms, us or ns)");
pub const DURATION_UNKNOWN_UNIT: Wording = Wording("unit {:?} is not one of h, m, s, ms, us, ns");
pub const DURATION_TOO_LONG: Wording = Wording("it is too long");

/// Longest duration text: bounds the cost of the regular expressions that read it.
pub const MAX_DURATION_LENGTH: u64 = 64;
/// Longest address text (an IPv6 address with an embedded IPv4 part is 45 characters).
pub const MAX_ADDRESS_LENGTH: u64 = 64;
/// The hold time a peer gets when it sets none, as in MetalLB.
pub const DEFAULT_HOLD_TIME: &str = "90s";

/// The durations [`crate::duration::parse`] accepts: `0`, or an optional `+` and one or more
/// numbers with a unit.
const DURATION_PATTERN: &str = "^(0|[+]?(([0-9]+[.]?[0-9]*|[.][0-9]+)(h|m|s|ms|us|µs|ns))+)$";
/// A run of digits and dots with two dots or more: a number part that does not parse.
const MANY_DOTS_PATTERN: &str = "[0-9.]*[.][0-9.]*[.]";
/// A dot alone between units: a number part that does not parse.
const LONE_DOT_PATTERN: &str = "(^|[^0-9.])[.]([^0-9.]|$)";
/// A whole run of unit letters that is not h, m, s, ms, us, µs or ns (the run is bounded by
/// digits or the end where this is used).
const UNKNOWN_UNIT_PATTERN: &str = "[^0-9.]{3,}|[^0-9.muµn][^0-9.]|[muµn][^0-9.s]|[^0-9.hms]";

/// The transform of v1beta2 `BGPPeerSpec`.
pub fn v1beta2_spec(schema: &mut Schema) {
    shared(schema);
    let set = |field: &str| format!("(has(self.{field}) && self.{field} != '')");
    let peer_asn = "(has(self.peerASN) && self.peerASN != 0)";
    let dynamic_asn = "has(self.dynamicASN)";
    let ibgp = format!(
        "(({peer_asn} && self.peerASN == self.myASN) || ({dynamic_asn} && self.dynamicASN == 'internal'))"
    );
    cel::add(
        schema,
        vec![
            Rule::fixed(format!("!({peer_asn} && {dynamic_asn})"), ASN_BOTH).blaming(".peerASN"),
            Rule::fixed(format!("{peer_asn} || {dynamic_asn}"), ASN_NEITHER).blaming(".peerASN"),
            Rule::fixed(
                format!("!({} && {})", set("peerAddress"), set("interface")),
                ADDRESS_BOTH,
            )
            .blaming(".peerAddress"),
            Rule::fixed(
                format!("{} || {}", set("peerAddress"), set("interface")),
                ADDRESS_NEITHER,
            )
            .blaming(".peerAddress"),
            multihop(&ibgp),
            Rule::fixed(
                format!("!({} && has(self.passwordSecret))", set("password")),
                PASSWORD_BOTH,
            )
            .blaming(".passwordSecret"),
        ],
    );
    let connect = cel::property(schema, "connectTime");
    duration_syntax(connect, "connectTime");
    cel::add(
        connect,
        vec![Rule::new(
            format!(
                "!{} || [duration(self)].all(d, d >= duration('1s') && d <= duration('65535s') \
                 && int(d) % 1000000000 == 0)",
                valid_duration("self")
            ),
            CONNECT_TIME_INVALID,
            CONNECT_TIME_INVALID.cel(&["string(duration(self))"]),
        )],
    );
    selector::selector_list(cel::property(schema, "nodeSelectors"));
}

/// The transform of v1beta1 `BGPPeerSpec`.
pub fn v1beta1_spec(schema: &mut Schema) {
    shared(schema);
    cel::add(
        schema,
        vec![multihop(
            "(self.peerASN != 0 && self.peerASN == self.myASN)",
        )],
    );
    let expressions = cel::property(
        cel::items(cel::property(schema, "nodeSelectors")),
        "matchExpressions",
    );
    selector::requirement_list(expressions);
}

/// The rules of the fields both versions have.
fn shared(schema: &mut Schema) {
    cel::add(
        cel::property(schema, "myASN"),
        vec![Rule::fixed("self != 0", MY_ASN_MISSING)],
    );
    for field in ["peerAddress", "sourceAddress"] {
        let address = cel::property(schema, field);
        cel::set(address, "maxLength", json!(MAX_ADDRESS_LENGTH));
        let name = super::wording::cel_string(field);
        cel::add(
            address,
            vec![Rule::new(
                "self == '' || isIP(self)",
                NOT_AN_IP,
                NOT_AN_IP.cel(&[&name, "self"]),
            )],
        );
    }
    let router_id = cel::property(schema, "routerID");
    cel::set(router_id, "maxLength", json!(MAX_ADDRESS_LENGTH));
    cel::add(
        router_id,
        vec![Rule::new(
            "self == '' || (isIP(self) && ip(self).family() == 4)",
            ROUTER_ID_NOT_IPV4,
            ROUTER_ID_NOT_IPV4.cel(&["self"]),
        )],
    );

    let hold = cel::property(schema, "holdTime");
    duration_syntax(hold, "holdTime");
    cel::add(
        hold,
        vec![Rule::new(
            format!(
                "!{} || [duration(self)].all(d, d == duration('0s') || d >= duration('3s'))",
                valid_duration("self")
            ),
            HOLD_TIME_TOO_SHORT,
            HOLD_TIME_TOO_SHORT.cel(&["string(duration(self))"]),
        )],
    );
    duration_syntax(cel::property(schema, "keepaliveTime"), "keepaliveTime");
    let hold_in_effect = format!(
        "(has(self.holdTime) && {} ? duration(self.holdTime) : duration('{DEFAULT_HOLD_TIME}'))",
        valid_duration("self.holdTime")
    );
    cel::add(
        schema,
        vec![
            Rule::new(
                format!(
                    "!has(self.keepaliveTime) || !{} || duration(self.keepaliveTime) <= {hold_in_effect}",
                    valid_duration("self.keepaliveTime")
                ),
                KEEPALIVE_ABOVE_HOLD_TIME,
                KEEPALIVE_ABOVE_HOLD_TIME.cel(&[
                    "string(duration(self.keepaliveTime))",
                    &format!("string({hold_in_effect})"),
                ]),
            )
            .blaming(".keepaliveTime"),
        ],
    );
}

fn multihop(ibgp: &str) -> Rule {
    Rule::fixed(
        format!("!(has(self.ebgpMultiHop) && self.ebgpMultiHop && {ibgp})"),
        MULTIHOP_ON_IBGP,
    )
    .blaming(".ebgpMultiHop")
}

/// CEL: the duration text `text` parses.
fn valid_duration(text: &str) -> String {
    format!("{text}.matches('{DURATION_PATTERN}')")
}

/// Bounds the duration field `schema` and adds the rule that it parses, with the reason
/// [`crate::duration::parse`] gives, found by the same checks in the same order.
fn duration_syntax(schema: &mut Schema, field: &str) {
    cel::set(schema, "maxLength", json!(MAX_DURATION_LENGTH));
    let unknown_unit = format!("[0-9.]({UNKNOWN_UNIT_PATTERN})([0-9.]|$)");
    let reason = format!(
        "self == '' ? {empty} : self.startsWith('-') ? {negative} : !self.matches('^[+]?[0-9.]') ? {no_number} : \
         self.matches('{MANY_DOTS_PATTERN}') ? {many_dots} : self.matches('{LONE_DOT_PATTERN}') ? {lone_dot} : \
         self.matches('{unknown_unit}') ? {unknown} : self.matches('[0-9.]$') ? {no_unit} : {too_long}",
        empty = DURATION_EMPTY.cel(&[]),
        negative = DURATION_NEGATIVE.cel(&[]),
        no_number = DURATION_NO_NUMBER.cel(&[]),
        many_dots =
            DURATION_NOT_A_NUMBER.cel(&[&format!("self.find('{MANY_DOTS_PATTERN}[0-9.]*')")]),
        lone_dot = DURATION_NOT_A_NUMBER.cel(&["'.'"]),
        unknown = DURATION_UNKNOWN_UNIT.cel(&[&bind(
            "u",
            &format!("self.find('{unknown_unit}')"),
            "u.substring(1, u.matches('[0-9.]$') ? size(u) - 1 : size(u))",
        )]),
        no_unit = DURATION_NO_UNIT.cel(&[]),
        too_long = DURATION_TOO_LONG.cel(&[]),
    );
    let message = IN_FIELD.cel(&[
        &super::wording::cel_string(field),
        &DURATION_INVALID.cel(&["self", &reason]),
    ]);
    cel::add(
        schema,
        vec![Rule::new(valid_duration("self"), DURATION_INVALID, message)],
    );
}
