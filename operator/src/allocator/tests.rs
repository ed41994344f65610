use std::collections::BTreeMap;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::ipaddresspool::{IPAddressPoolSpec, ServiceAllocation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::*;

mod sharing_scope;

fn pool(name: &str, addresses: &[&str]) -> Pool {
    pool_with(name, addresses, |_| {})
}

fn pool_with(name: &str, addresses: &[&str], edit: impl FnOnce(&mut IPAddressPoolSpec)) -> Pool {
    let mut spec = IPAddressPoolSpec {
        addresses: addresses.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    edit(&mut spec);
    Pool::from_object(&IPAddressPool::new(name, spec)).unwrap()
}

fn demand(key: &str) -> Demand {
    let (namespace, _) = key.split_once('/').unwrap();
    Demand {
        key: key.to_owned(),
        namespace: namespace.to_owned(),
        namespace_labels: BTreeMap::new(),
        service_labels: BTreeMap::new(),
        policy: FamilyPolicy::SingleStack,
        families: vec![Family::V4],
        ips: vec![],
        pool: None,
        sharing: Sharing::default(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ips(a: &Allocator, key: &str) -> Vec<String> {
    a.assignment(key)
        .map(|x| x.ips.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

fn allocator(pools: Vec<Pool>) -> Allocator {
    let mut a = Allocator::default();
    a.set_pools(pools);
    a
}

#[test]
fn addresses_are_handed_out_lowest_free_first_and_reused_after_release() {
    let mut a = allocator(vec![pool("p", &["192.0.2.10-192.0.2.12"])]);
    for (i, want) in ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
        .iter()
        .enumerate()
    {
        let got = a.converge(&demand(&format!("ns/s{i}")), &[]).unwrap();
        assert_eq!(got.assignment.ips, [ip(want)]);
        assert_eq!(got.change, Change::Allocated);
    }
    let full = a.converge(&demand("ns/s3"), &[]).unwrap_err();
    assert_eq!(full.refusal.reason, Reason::PoolExhausted);
    assert_eq!(full.refusal.message, r#"no free IPv4 address in pool "p""#);
    a.release("ns/s1");
    assert_eq!(
        a.converge(&demand("ns/s3"), &[]).unwrap().assignment.ips,
        [ip("192.0.2.11")]
    );
}

#[test]
fn ranges_are_used_in_address_order_across_entries() {
    let mut a = allocator(vec![pool(
        "p",
        &["198.51.100.20-198.51.100.20", "198.51.100.5/32"],
    )]);
    assert_eq!(
        a.converge(&demand("ns/a"), &[]).unwrap().assignment.ips,
        [ip("198.51.100.5")]
    );
    assert_eq!(
        a.converge(&demand("ns/b"), &[]).unwrap().assignment.ips,
        [ip("198.51.100.20")]
    );
}

#[test]
fn avoid_buggy_ips_skips_dot_zero_and_dot_255_and_counts_254_per_slash_24() {
    let mut a = allocator(vec![pool_with("p", &["192.0.2.255-198.51.100.1"], |s| {
        s.avoid_buggy_ips = true
    })]);
    let p = pool_with("q", &["192.0.2.0/24"], |s| s.avoid_buggy_ips = true);
    assert_eq!(p.capacity(Family::V4), 254);
    assert_eq!(
        a.converge(&demand("ns/a"), &[]).unwrap().assignment.ips,
        [ip("192.0.3.1")]
    );
    let mut d = demand("ns/b");
    d.ips = vec![ip("192.0.3.255")];
    let err = a.converge(&d, &[]).unwrap_err();
    assert_eq!(err.refusal.reason, Reason::NotInAnyPool);
    assert_eq!(
        err.refusal.message,
        r#"requested IP 192.0.3.255 ends in .0 or .255, which pool "p" avoids (avoidBuggyIPs)"#
    );
}

#[test]
fn services_restored_from_status_keep_their_ips_even_when_not_lowest() {
    let mut a = allocator(vec![pool("p", &["192.0.2.0/30"])]);
    let got = a.converge(&demand("ns/a"), &[ip("192.0.2.3")]).unwrap();
    assert_eq!(got.change, Change::Kept);
    assert_eq!(got.assignment.ips, [ip("192.0.2.3")]);
    assert_eq!(
        a.converge(&demand("ns/b"), &[]).unwrap().assignment.ips,
        [ip("192.0.2.0")]
    );
}

#[test]
fn restart_with_more_services_than_free_ips_keeps_every_existing_ip() {
    let mut a = allocator(vec![pool("p", &["192.0.2.1-192.0.2.3"])]);
    // Three Services hold the three addresses; a fourth waits. A restarted operator converges
    // holders first, then the waiting one, which must not take anybody's address.
    let held = [
        ("ns/c", "192.0.2.1"),
        ("ns/a", "192.0.2.2"),
        ("ns/b", "192.0.2.3"),
    ];
    for (key, addr) in held {
        assert_eq!(
            a.converge(&demand(key), &[ip(addr)]).unwrap().change,
            Change::Kept
        );
    }
    let waiting = a
        .converge(&demand("ns/aaa-first-by-name"), &[])
        .unwrap_err();
    assert_eq!(waiting.refusal.reason, Reason::PoolExhausted);
    for (key, addr) in held {
        assert_eq!(ips(&a, key), [addr]);
    }
}

#[test]
fn a_status_ip_held_by_another_service_is_not_taken_over() {
    let mut a = allocator(vec![pool("p", &["192.0.2.1-192.0.2.2"])]);
    a.converge(&demand("ns/a"), &[ip("192.0.2.1")]).unwrap();
    let got = a.converge(&demand("ns/b"), &[ip("192.0.2.1")]).unwrap();
    assert!(matches!(got.change, Change::Moved(_)), "{got:?}");
    assert_eq!(got.assignment.ips, [ip("192.0.2.2")]);
}

#[test]
fn widening_or_shrinking_a_pool_touches_only_services_whose_ips_left_it() {
    let mut a = allocator(vec![pool("p", &["192.0.2.1-192.0.2.4"])]);
    for k in ["ns/a", "ns/b", "ns/c"] {
        a.converge(&demand(k), &[]).unwrap();
    }
    a.set_pools(vec![pool(
        "p",
        &["192.0.2.1-192.0.2.2", "192.0.2.4-192.0.2.9"],
    )]);
    assert_eq!(a.stale(), ["ns/c"]);
    let moved = a.converge(&demand("ns/c"), &[]).unwrap();
    assert_eq!(
        moved.change,
        Change::Moved(r#"192.0.2.3 is no longer in pool "p""#.to_owned())
    );
    assert_eq!(moved.assignment.ips, [ip("192.0.2.4")]);
    assert_eq!(ips(&a, "ns/a"), ["192.0.2.1"]);
    assert_eq!(ips(&a, "ns/b"), ["192.0.2.2"]);
}

#[test]
fn deleting_a_pool_makes_its_services_stale_and_they_move_or_wait() {
    let mut a = allocator(vec![
        pool("old", &["192.0.2.1/32"]),
        pool("new", &["198.51.100.1/32"]),
    ]);
    let mut d = demand("ns/a");
    d.pool = Some("old".into());
    a.converge(&d, &[]).unwrap();
    a.set_pools(vec![pool("new", &["198.51.100.1/32"])]);
    assert_eq!(a.stale(), ["ns/a"]);
    let err = a.converge(&d, &[]).unwrap_err();
    assert_eq!(err.refusal.reason, Reason::UnknownPool);
    assert_eq!(
        err.cleared.as_deref(),
        Some(r#"its pool "old" no longer exists"#)
    );
    assert!(a.assignment("ns/a").is_none());
    assert_eq!(
        a.converge(&demand("ns/b"), &[]).unwrap().assignment.ips,
        [ip("198.51.100.1")]
    );
}

#[test]
fn auto_assign_false_pools_serve_only_services_that_ask() {
    let mut a = allocator(vec![pool_with("reserved", &["192.0.2.1/32"], |s| {
        s.auto_assign = Some(false)
    })]);
    assert_eq!(
        a.converge(&demand("ns/a"), &[]).unwrap_err().refusal.reason,
        Reason::NoMatchingPool
    );
    let mut by_pool = demand("ns/b");
    by_pool.pool = Some("reserved".into());
    assert_eq!(
        a.converge(&by_pool, &[]).unwrap().assignment.pool,
        "reserved"
    );
    a.release("ns/b");
    let mut by_ip = demand("ns/c");
    by_ip.ips = vec![ip("192.0.2.1")];
    assert_eq!(a.converge(&by_ip, &[]).unwrap().assignment.pool, "reserved");
}

fn allocation(
    priority: i32,
    namespaces: &[&str],
    selector: Option<(&str, &str)>,
) -> ServiceAllocation {
    ServiceAllocation {
        priority,
        namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
        service_selectors: selector
            .map(|(k, v)| {
                vec![LabelSelector {
                    match_labels: Some([(k.to_owned(), v.to_owned())].into()),
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

#[test]
fn matching_pools_go_first_by_priority_with_zero_last_then_plain_pools_by_name() {
    let pools = vec![
        pool("a-plain", &["192.0.2.1/32"]),
        pool_with("b-prio0", &["192.0.2.2/32"], |s| {
            s.service_allocation = Some(allocation(0, &["team"], None))
        }),
        pool_with("c-prio5", &["192.0.2.3/32"], |s| {
            s.service_allocation = Some(allocation(5, &["team"], None))
        }),
        pool_with("d-prio1", &["192.0.2.4/32"], |s| {
            s.service_allocation = Some(allocation(1, &["team"], None))
        }),
        pool_with("e-other-ns", &["192.0.2.5/32"], |s| {
            s.service_allocation = Some(allocation(1, &["other"], None))
        }),
    ];
    let mut a = allocator(pools);
    let order: Vec<String> = (0..5)
        .map_while(|i| {
            a.converge(&demand(&format!("team/s{i}")), &[])
                .ok()
                .map(|c| c.assignment.pool)
        })
        .collect();
    assert_eq!(order, ["d-prio1", "c-prio5", "b-prio0", "a-plain"]);
    assert_eq!(
        a.converge(&demand("other/x"), &[]).unwrap().assignment.pool,
        "e-other-ns"
    );
}

#[test]
fn service_selectors_and_namespace_selectors_restrict_a_pool() {
    let mut sel = allocation(1, &[], Some(("tier", "gold")));
    sel.namespace_selectors = vec![LabelSelector {
        match_labels: Some([("env".to_owned(), "prod".to_owned())].into()),
        ..Default::default()
    }];
    let mut a = allocator(vec![pool_with("gold", &["192.0.2.1/32"], |s| {
        s.service_allocation = Some(sel)
    })]);
    let mut d = demand("shop/web");
    assert_eq!(
        a.converge(&d, &[]).unwrap_err().refusal.reason,
        Reason::NoMatchingPool
    );
    d.namespace_labels = [("env".to_owned(), "prod".to_owned())].into();
    d.service_labels = [("tier".to_owned(), "gold".to_owned())].into();
    assert_eq!(a.converge(&d, &[]).unwrap().assignment.pool, "gold");
}

#[test]
fn requests_for_unknown_pools_foreign_ips_and_mismatches_are_refused_clearly() {
    let mut a = allocator(vec![
        pool("p", &["192.0.2.0/28"]),
        pool("q", &["198.51.100.0/28"]),
    ]);
    let mut d = demand("ns/a");
    d.pool = Some("nope".into());
    let e = a.converge(&d, &[]).unwrap_err().refusal;
    assert_eq!(
        (e.reason, e.message.as_str()),
        (
            Reason::UnknownPool,
            r#"IPAddressPool "nope" does not exist"#
        )
    );

    let mut d = demand("ns/a");
    d.ips = vec![ip("203.0.113.9")];
    let e = a.converge(&d, &[]).unwrap_err().refusal;
    assert_eq!(
        (e.reason, e.message.as_str()),
        (
            Reason::NotInAnyPool,
            "requested IP 203.0.113.9 is not in any IPAddressPool"
        )
    );

    let mut d = demand("ns/a");
    d.ips = vec![ip("198.51.100.3")];
    d.pool = Some("p".into());
    let e = a.converge(&d, &[]).unwrap_err().refusal;
    assert_eq!(e.reason, Reason::InvalidRequest);
    assert_eq!(
        e.message,
        r#"requested IP 198.51.100.3 is not in the requested pool "p" (it is in pool "q")"#
    );

    let mut d = demand("ns/a");
    d.ips = vec![ip("2001:db8::1")];
    let e = a.converge(&d, &[]).unwrap_err().refusal;
    assert_eq!(
        e.message,
        "requested IP 2001:db8::1 is IPv6 but the Service's ipFamilies are IPv4"
    );
}

#[test]
fn a_requested_ip_held_by_another_service_is_a_sharing_conflict() {
    let mut a = allocator(vec![pool("p", &["192.0.2.0/28"])]);
    let mut first = demand("ns/a");
    first.ips = vec![ip("192.0.2.5")];
    a.converge(&first, &[]).unwrap();
    let mut second = demand("ns/b");
    second.ips = vec![ip("192.0.2.5")];
    let e = a.converge(&second, &[]).unwrap_err().refusal;
    assert_eq!(e.reason, Reason::SharingConflict);
    assert!(
        e.message
            .starts_with("requested IP 192.0.2.5 is not available: it is in use by ns/a"),
        "{}",
        e.message
    );
}

fn sharing(key: &str, port: i32) -> Sharing {
    Sharing {
        key: Some(key.to_owned()),
        ports: [("TCP".to_owned(), port)].into(),
        local_selector: None,
    }
}

#[test]
fn services_with_the_same_key_and_other_ports_share_one_ip() {
    let mut a = allocator(vec![pool("p", &["192.0.2.0/28"])]);
    let mut web = demand("ns/web");
    web.sharing = sharing("k", 80);
    let mut tls = demand("ns/tls");
    tls.sharing = sharing("k", 443);
    let mut clash = demand("ns/clash");
    clash.sharing = sharing("k", 80);
    assert_eq!(
        a.converge(&web, &[]).unwrap().assignment.ips,
        [ip("192.0.2.0")]
    );
    assert_eq!(
        a.converge(&tls, &[]).unwrap().assignment.ips,
        [ip("192.0.2.0")]
    );
    assert_eq!(
        a.converge(&clash, &[]).unwrap().assignment.ips,
        [ip("192.0.2.1")]
    );
    // The shared IP stays in use until its last holder lets go.
    a.release("ns/web");
    assert_eq!(a.usage()["p"].assigned_v4, 2);
    a.release("ns/tls");
    assert_eq!(a.usage()["p"].assigned_v4, 1);
}

fn dual(key: &str, policy: FamilyPolicy) -> Demand {
    let mut d = demand(key);
    d.policy = policy;
    d.families = vec![Family::V4, Family::V6];
    d
}

#[test]
fn dual_stack_takes_both_families_from_one_pool() {
    let mut a = allocator(vec![
        pool("v4only", &["192.0.2.0/28"]),
        pool("both", &["198.51.100.0/28", "2001:db8::/120"]),
    ]);
    let got = a
        .converge(&dual("ns/a", FamilyPolicy::RequireDualStack), &[])
        .unwrap();
    assert_eq!(got.assignment.pool, "both");
    assert_eq!(got.assignment.ips, [ip("198.51.100.0"), ip("2001:db8::")]);
}

#[test]
fn require_dual_stack_without_a_dual_pool_is_exhausted_and_prefer_falls_back() {
    let mut a = allocator(vec![pool("v4only", &["192.0.2.0/28"])]);
    let e = a
        .converge(&dual("ns/a", FamilyPolicy::RequireDualStack), &[])
        .unwrap_err()
        .refusal;
    assert_eq!(
        e.message,
        r#"no free IPv4 and IPv6 address in pool "v4only""#
    );
    let got = a
        .converge(&dual("ns/b", FamilyPolicy::PreferDualStack), &[])
        .unwrap();
    assert_eq!(got.assignment.ips, [ip("192.0.2.0")]);
}

#[test]
fn prefer_dual_stack_gains_the_missing_family_when_its_pool_can_give_it() {
    let mut a = allocator(vec![pool("p", &["192.0.2.0/28"])]);
    let d = dual("ns/a", FamilyPolicy::PreferDualStack);
    a.converge(&d, &[]).unwrap();
    a.set_pools(vec![pool("p", &["192.0.2.0/28", "2001:db8::/120"])]);
    let got = a.converge(&d, &[]).unwrap();
    assert_eq!(got.change, Change::Extended(ip("2001:db8::")));
    assert_eq!(got.assignment.ips, [ip("192.0.2.0"), ip("2001:db8::")]);
}

#[test]
fn single_stack_request_of_two_ips_is_invalid() {
    let mut a = allocator(vec![pool("p", &["192.0.2.0/28", "2001:db8::/120"])]);
    let mut d = demand("ns/a");
    d.families = vec![Family::V4, Family::V6];
    d.ips = vec![ip("192.0.2.1"), ip("2001:db8::1")];
    let e = a.converge(&d, &[]).unwrap_err().refusal;
    assert_eq!(
        e.message,
        "2 IPs are requested but the Service is SingleStack; request one, or set ipFamilyPolicy"
    );
    d.policy = FamilyPolicy::RequireDualStack;
    assert_eq!(
        a.converge(&d, &[]).unwrap().assignment.ips,
        [ip("192.0.2.1"), ip("2001:db8::1")]
    );
}

#[test]
fn changing_the_requested_ip_or_pool_moves_the_service() {
    let mut a = allocator(vec![
        pool("p", &["192.0.2.0/28"]),
        pool("q", &["198.51.100.0/28"]),
    ]);
    let mut d = demand("ns/a");
    a.converge(&d, &[]).unwrap();
    d.pool = Some("q".into());
    let got = a.converge(&d, &[]).unwrap();
    assert_eq!(
        got.change,
        Change::Moved(r#"it asks for pool "q" but its IPs are from "p""#.into())
    );
    d.ips = vec![ip("198.51.100.7")];
    let got = a.converge(&d, &[]).unwrap();
    assert_eq!(got.assignment.ips, [ip("198.51.100.7")]);
    assert_eq!(a.usage()["q"].assigned_v4, 1);
}

#[test]
fn usage_saturates_for_huge_ipv6_pools_and_counts_per_family() {
    let mut a = allocator(vec![pool("big", &["2001:db8::/32", "192.0.2.0/24"])]);
    let mut d = dual("ns/a", FamilyPolicy::RequireDualStack);
    d.families = vec![Family::V6, Family::V4];
    a.converge(&d, &[]).unwrap();
    let u = a.usage()["big"];
    assert_eq!((u.assigned_v4, u.assigned_v6), (1, 1));
    assert_eq!(u.capacity_v6, 1u128 << 96);
    assert_eq!(u.available_v4(), 255);
}

#[test]
fn prefer_dual_stack_takes_one_family_from_its_namespace_pool_before_both_from_a_general_pool() {
    let mut a = allocator(vec![
        pool("general", &["198.51.100.0/28", "2001:db8::/120"]),
        pool_with("team-v4", &["192.0.2.0/28"], |s| {
            s.service_allocation = Some(allocation(0, &["team"], None))
        }),
    ]);
    let got = a
        .converge(&dual("team/web", FamilyPolicy::PreferDualStack), &[])
        .unwrap();
    assert_eq!(got.assignment.pool, "team-v4");
    assert_eq!(got.assignment.ips, [ip("192.0.2.0")]);
    let elsewhere = a
        .converge(&dual("other/web", FamilyPolicy::PreferDualStack), &[])
        .unwrap();
    assert_eq!(
        elsewhere.assignment.ips,
        [ip("198.51.100.0"), ip("2001:db8::")]
    );
}

#[test]
fn an_exhausted_namespace_pool_falls_back_to_the_general_pools() {
    let mut a = allocator(vec![
        pool("general", &["198.51.100.0/28"]),
        pool_with("team", &["192.0.2.1/32"], |s| {
            s.service_allocation = Some(allocation(0, &["team"], None))
        }),
    ]);
    assert_eq!(
        a.converge(&demand("team/a"), &[]).unwrap().assignment.pool,
        "team"
    );
    assert_eq!(
        a.converge(&demand("team/b"), &[]).unwrap().assignment.pool,
        "general"
    );
}

#[test]
fn a_service_whose_labels_leave_its_pools_service_selectors_loses_its_ip() {
    let mut a = allocator(vec![pool_with("gold", &["192.0.2.1/32"], |s| {
        s.service_allocation = Some(allocation(0, &[], Some(("tier", "gold"))))
    })]);
    let mut d = demand("shop/web");
    d.service_labels = [("tier".to_owned(), "gold".to_owned())].into();
    assert_eq!(
        a.converge(&d, &[]).unwrap().assignment.ips,
        [ip("192.0.2.1")]
    );
    d.service_labels = [("tier".to_owned(), "silver".to_owned())].into();
    let failed = a.converge(&d, &[]).unwrap_err();
    assert_eq!(
        failed.cleared.as_deref(),
        Some(
            r#"pool "gold" serves Services selected by serviceAllocation.serviceSelectors, which no longer select it"#
        )
    );
    assert_eq!(failed.refusal.reason, Reason::NoMatchingPool);
    assert_eq!(a.assignment("shop/web"), None);
    let restored = a.converge(&d, &[ip("192.0.2.1")]).unwrap_err();
    assert!(
        restored.cleared.is_some(),
        "an IP read back from status is judged the same way"
    );
}

#[test]
fn a_service_of_a_namespace_its_pool_no_longer_lists_loses_its_ip() {
    let team_pool = |namespaces: &[&str]| {
        pool_with("team", &["192.0.2.1/32"], |s| {
            s.service_allocation = Some(allocation(0, namespaces, None))
        })
    };
    let mut a = allocator(vec![
        team_pool(&["team"]),
        pool("general", &["198.51.100.0/28"]),
    ]);
    let d = demand("team/web");
    assert_eq!(a.converge(&d, &[]).unwrap().assignment.pool, "team");
    a.set_pools(vec![
        team_pool(&["other"]),
        pool("general", &["198.51.100.0/28"]),
    ]);
    let moved = a.converge(&d, &[]).unwrap();
    assert_eq!(
        moved.change,
        Change::Moved(
            r#"pool "team" no longer lists namespace "team" in serviceAllocation.namespaces"#
                .to_owned()
        )
    );
    assert_eq!(moved.assignment.pool, "general");
}

#[test]
fn prefer_to_require_dual_stack_on_a_single_stack_pool_removes_the_single_ip() {
    let mut a = allocator(vec![pool("v4only", &["192.0.2.0/28"])]);
    let mut d = dual("ns/a", FamilyPolicy::PreferDualStack);
    assert_eq!(
        a.converge(&d, &[]).unwrap().assignment.ips,
        [ip("192.0.2.0")]
    );
    d.policy = FamilyPolicy::RequireDualStack;
    let failed = a.converge(&d, &[]).unwrap_err();
    assert_eq!(failed.refusal.reason, Reason::PoolExhausted);
    assert!(
        failed
            .cleared
            .as_deref()
            .is_some_and(|why| why.contains("RequireDualStack")),
        "{failed:?}"
    );
    assert_eq!(a.assignment("ns/a"), None);
}
