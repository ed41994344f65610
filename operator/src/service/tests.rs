use super::*;
use serde_json::json;

fn svc(value: serde_json::Value) -> Service {
    serde_json::from_value(value).unwrap()
}

fn lb(extra_spec: serde_json::Value, annotations: serde_json::Value) -> Service {
    let mut spec = json!({"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [{"port": 80, "protocol": "TCP"}]});
    for (k, v) in extra_spec.as_object().unwrap() {
        spec[k] = v.clone();
    }
    svc(
        json!({"metadata": {"name": "web", "namespace": "shop", "annotations": annotations}, "spec": spec}),
    )
}

fn demand_of(view: View) -> Demand {
    match view {
        View::Ours(d, _) => *d,
        other => panic!("expected a demand, got {other:?}"),
    }
}

#[test]
fn only_load_balancers_of_our_class_are_ours() {
    let none = BTreeMap::new();
    let cluster_ip =
        svc(json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {"type": "ClusterIP"}}));
    assert!(matches!(read(&cluster_ip, &none, None), View::NotOurs));
    let classed = lb(json!({"loadBalancerClass": "other.io/lb"}), json!({}));
    assert!(matches!(read(&classed, &none, None), View::NotOurs));
    assert!(matches!(
        read(&classed, &none, Some("other.io/lb")),
        View::Ours(..)
    ));
    assert!(matches!(
        read(&lb(json!({}), json!({})), &none, Some("other.io/lb")),
        View::NotOurs
    ));
}

#[test]
fn annotations_become_the_demand_and_legacy_ones_are_reported() {
    let s = lb(
        json!({}),
        json!({"metallb.universe.tf/address-pool": "gold", "metallb.io/allow-shared-ip": "k"}),
    );
    let View::Ours(d, deprecations) = read(&s, &BTreeMap::new(), None) else {
        panic!()
    };
    assert_eq!(d.key, "shop/web");
    assert_eq!(d.pool.as_deref(), Some("gold"));
    assert_eq!(d.sharing.key.as_deref(), Some("k"));
    assert_eq!(d.sharing.ports, [("TCP".to_owned(), 80)].into());
    assert_eq!(deprecations[0].replacement, "metallb.io/address-pool");
}

#[test]
fn malformed_requests_are_invalid_with_the_parser_message() {
    let s = lb(
        json!({}),
        json!({"metallb.io/loadBalancerIPs": "192.0.2.1,192.0.2.2,192.0.2.3"}),
    );
    let View::Invalid(refusal, _) = read(&s, &BTreeMap::new(), None) else {
        panic!()
    };
    assert!(
        refusal.message.contains("lists 3 addresses"),
        "{}",
        refusal.message
    );
}

#[test]
fn require_dual_stack_without_two_cluster_ips_is_invalid() {
    let s = lb(
        json!({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}),
        json!({}),
    );
    let View::Invalid(refusal, _) = read(&s, &BTreeMap::new(), None) else {
        panic!()
    };
    assert_eq!(
        refusal.message,
        "ipFamilyPolicy is RequireDualStack but the Service has 1 cluster IP; it needs one of each family"
    );
}

#[test]
fn families_follow_ip_families_and_prefer_dual_stack_adds_the_other() {
    let v6 = lb(
        json!({"ipFamilies": ["IPv6"], "clusterIPs": ["fd00:10:96::a"]}),
        json!({}),
    );
    assert_eq!(
        demand_of(read(&v6, &BTreeMap::new(), None)).families,
        [Family::V6]
    );
    let prefer = lb(json!({"ipFamilyPolicy": "PreferDualStack"}), json!({}));
    let d = demand_of(read(&prefer, &BTreeMap::new(), None));
    assert_eq!(d.policy, FamilyPolicy::PreferDualStack);
    assert_eq!(d.families, [Family::V4, Family::V6]);
}

#[test]
fn local_traffic_policy_shares_only_with_the_same_selector() {
    let mut s = lb(json!({"externalTrafficPolicy": "Local"}), json!({}));
    s.spec.as_mut().unwrap().selector = Some([("app".to_owned(), "web".to_owned())].into());
    let d = demand_of(read(&s, &BTreeMap::new(), None));
    assert_eq!(
        d.sharing.local_selector,
        Some([("app".to_owned(), "web".to_owned())].into())
    );
}

#[test]
fn condition_keeps_its_transition_time_while_its_status_holds() {
    let then = Time(k8s_openapi::jiff::Timestamp::from_second(1_000).unwrap());
    let now = Time(k8s_openapi::jiff::Timestamp::from_second(2_000).unwrap());
    let mut s = lb(json!({}), json!({}));
    let first = condition(&s, false, "PoolExhausted", "full", then.clone());
    s.status = Some(k8s_openapi::api::core::v1::ServiceStatus {
        conditions: Some(vec![first.clone()]),
        ..Default::default()
    });
    assert_eq!(
        condition(&s, false, "PoolExhausted", "still full", now.clone()).last_transition_time,
        then
    );
    assert_eq!(
        condition(&s, true, "IPAllocated", "ok", now.clone()).last_transition_time,
        now
    );
    assert!(condition_matches(&s, &first));
}
