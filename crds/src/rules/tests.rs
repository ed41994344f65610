//! The generated CRDs carry each rule where the API server evaluates it, with the bounds its
//! cost needs, and every message expression is built from the wording the webhook fills.

use serde_json::Value;

use super::{advertisement, bfd, community, peer, pool, selector};
use crate::manifest::crds;

/// The `openAPIV3Schema` of `kind` at `version`, as JSON.
fn schema(kind: &str, version: &str) -> Value {
    let crd = crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let version = crd
        .spec
        .versions
        .into_iter()
        .find(|v| v.name == version)
        .unwrap_or_else(|| panic!("{kind} serves no {version}"));
    serde_json::to_value(version.schema.unwrap().open_api_v3_schema.unwrap()).unwrap()
}

/// The node at `path` (property names, `[]` for array items) under `spec`.
fn node<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    let mut at = &schema["properties"]["spec"];
    for step in path {
        at = if *step == "[]" {
            &at["items"]
        } else {
            &at["properties"][step]
        };
        assert!(!at.is_null(), "no schema node {path:?}");
    }
    at
}

/// The rules at a node, as (rule, messageExpression or else message, fieldPath).
fn rules(at: &Value) -> Vec<(String, String, String)> {
    at["x-kubernetes-validations"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                    let message = match text("messageExpression") {
                        expression if expression.is_empty() => {
                            super::wording::cel_string(&text("message"))
                        }
                        expression => expression,
                    };
                    (text("rule"), message, text("fieldPath"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether some rule at `at` has a message built from `wording`'s first literal words.
fn has_message(at: &Value, wording: super::Wording) -> bool {
    let words = wording.0.split('{').next().unwrap();
    let literal = super::wording::cel_string(words);
    let literal = literal.trim_end_matches('\'');
    rules(at)
        .iter()
        .any(|(_, message, _)| message.contains(literal))
}

#[test]
fn every_pool_entry_is_judged_with_the_parser_words_and_bounded() {
    let pool = schema("IPAddressPool", "v1beta1");
    let addresses = node(&pool, &["addresses"]);
    assert_eq!(addresses["maxItems"], pool::MAX_ADDRESSES);
    assert!(has_message(addresses, pool::NO_ADDRESSES));
    let entry = node(&pool, &["addresses", "[]"]);
    assert_eq!(entry["maxLength"], pool::MAX_ENTRY_LENGTH);
    for wording in [
        pool::ADDRESS_INVALID,
        pool::PREFIX_TOO_LONG,
        pool::START_AFTER_END,
        pool::FAMILIES_DIFFER,
        pool::SINGLE_ADDRESS,
    ] {
        let (_, message, _) = &rules(entry)[0];
        let words = super::wording::cel_string(wording.0.split('{').next().unwrap());
        assert!(
            message.contains(words.trim_end_matches('\'')),
            "{wording} is not in {message}"
        );
    }
    let selectors = node(
        &pool,
        &[
            "serviceAllocation",
            "serviceSelectors",
            "[]",
            "matchExpressions",
            "[]",
        ],
    );
    assert_eq!(rules(selectors).len(), 3);
}

#[test]
fn bgppeer_v1beta2_carries_every_object_only_rule() {
    let peer = schema("BGPPeer", "v1beta2");
    let spec = &peer["properties"]["spec"];
    let paths: Vec<String> = rules(spec).into_iter().map(|(_, _, path)| path).collect();
    assert_eq!(
        paths,
        [
            ".keepaliveTime",
            ".peerASN",
            ".peerASN",
            ".peerAddress",
            ".peerAddress",
            ".ebgpMultiHop",
            ".passwordSecret",
        ]
    );
    assert_eq!(rules(spec).len(), 7);
    assert!(has_message(node(&peer, &["myASN"]), peer::MY_ASN_MISSING));
    assert_eq!(node(&peer, &["myASN"])["maximum"], 4294967295.0);
    assert!(has_message(
        node(&peer, &["holdTime"]),
        peer::HOLD_TIME_TOO_SHORT
    ));
    assert!(has_message(node(&peer, &["holdTime"]), peer::IN_FIELD));
    assert!(has_message(
        node(&peer, &["connectTime"]),
        peer::CONNECT_TIME_INVALID
    ));
    assert!(has_message(
        node(&peer, &["routerID"]),
        peer::ROUTER_ID_NOT_IPV4
    ));
    assert_eq!(
        node(&peer, &["holdTime"])["maxLength"],
        peer::MAX_DURATION_LENGTH
    );
    assert!(has_message(spec, peer::KEEPALIVE_ABOVE_HOLD_TIME));
    assert!(has_message(spec, peer::ASN_NEITHER));
    let requirement = node(&peer, &["nodeSelectors", "[]", "matchExpressions", "[]"]);
    assert!(has_message(requirement, selector::UNKNOWN_OPERATOR));
}

#[test]
fn bgppeer_v1beta1_carries_only_the_rules_of_its_own_fields() {
    let peer = schema("BGPPeer", "v1beta1");
    let spec = &peer["properties"]["spec"];
    let paths: Vec<String> = rules(spec).into_iter().map(|(_, _, path)| path).collect();
    assert_eq!(paths, [".keepaliveTime", ".ebgpMultiHop"]);
    assert!(!has_message(spec, peer::ASN_NEITHER));
    assert!(has_message(node(&peer, &["myASN"]), peer::MY_ASN_MISSING));
    let requirement = node(&peer, &["nodeSelectors", "[]", "matchExpressions", "[]"]);
    assert!(has_message(requirement, selector::TAKES_NO_VALUES));
}

#[test]
fn advertisements_judge_lengths_communities_and_selectors() {
    let bgp = schema("BGPAdvertisement", "v1beta1");
    for (field, max) in advertisement::AGGREGATION_LENGTHS {
        let (rule, _, _) = &rules(node(&bgp, &[field]))[0];
        assert_eq!(rule, &format!("self >= 0 && self <= {max}"));
    }
    assert!(has_message(
        &bgp["properties"]["spec"],
        advertisement::SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS
    ));
    let community = node(&bgp, &["communities", "[]"]);
    assert!(rules(community)[0].0.starts_with("!self.contains(':') || "));
    assert!(has_message(community, community::COMMUNITY_INVALID));
    for field in [
        "ipAddressPoolSelectors",
        "nodeSelectors",
        "serviceSelectors",
    ] {
        let list = node(&bgp, &[field]);
        assert_eq!(list["maxItems"], selector::MAX_SELECTORS);
        assert_eq!(
            rules(node(&bgp, &[field, "[]", "matchExpressions", "[]"])).len(),
            3
        );
    }
    let l2 = schema("L2Advertisement", "v1beta1");
    let preference = node(
        &l2,
        &[
            "preferredNodeSelectors",
            "[]",
            "preference",
            "matchExpressions",
            "[]",
        ],
    );
    assert!(has_message(preference, selector::NEEDS_VALUES));
}

#[test]
fn community_aliases_and_bfd_ranges_carry_the_webhook_words() {
    let aliases = schema("Community", "v1beta1");
    let list = node(&aliases, &["communities"]);
    assert!(has_message(list, community::ALIAS_WITHOUT_NAME));
    assert!(has_message(list, community::ALIAS_DEFINED_TWICE));
    let alias = node(&aliases, &["communities", "[]"]);
    assert!(has_message(alias, community::ALIAS_NAME_HAS_COLON));
    assert!(has_message(alias, community::ALIAS_VALUE_INVALID));
    let profile = schema("BFDProfile", "v1beta1");
    for (field, min, max, _) in bfd::RANGES {
        let (rule, _, _) = &rules(node(&profile, &[field]))[0];
        assert_eq!(rule, &format!("self >= {min} && self <= {max}"));
        assert!(has_message(node(&profile, &[field]), bfd::OUT_OF_RANGE));
    }
}

#[test]
fn no_rule_sits_on_a_root_where_the_api_server_could_not_ratchet_it() {
    for crd in crds() {
        for version in crd.spec.versions {
            let root = version.schema.unwrap().open_api_v3_schema.unwrap();
            assert!(
                root.x_kubernetes_validations.is_none(),
                "{} {} has root rules",
                crd.spec.names.kind,
                version.name
            );
        }
    }
}
