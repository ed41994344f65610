use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;
use serde_json::{Value, json};

use super::*;

fn pool_object(name: &str, addresses: &[&str]) -> IPAddressPool {
    let spec = IPAddressPoolSpec {
        addresses: addresses.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    IPAddressPool::new(name, spec)
}

fn allocator(pools: &[(&str, &[&str])]) -> Allocator {
    let mut a = Allocator::default();
    a.set_pools(
        pools
            .iter()
            .map(|(name, addresses)| Pool::from_object(&pool_object(name, addresses)).unwrap()),
    );
    a
}

/// A single-stack IPv4 LoadBalancer `shop/<name>` with these annotations and this status.
fn service(name: &str, annotations: Value, status: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"port": 80, "protocol": "TCP"}]},
        "status": status,
    }))
    .unwrap()
}

fn now() -> Time {
    Time(Timestamp::from_second(1_700_000_000).unwrap())
}

/// Converges `svc` in `a` as an operator serving Services without a class.
fn converge_in(a: &mut Allocator, warned: &mut Warned, svc: &Service) -> Decision {
    converge(a, warned, svc, &BTreeMap::new(), None, now())
}

fn once(a: &mut Allocator, svc: &Service) -> Decision {
    converge_in(a, &mut Warned::default(), svc)
}

/// The Service as it reads once `decision`'s write landed.
fn written(svc: &Service, decision: &Decision) -> Service {
    let write = decision.write.as_ref().expect("a write");
    let mut svc = svc.clone();
    if let Some((ips, conditions)) = &write.status {
        let status = svc.status.get_or_insert_with(Default::default);
        status.load_balancer = Some(
            serde_json::from_value(json!({
                "ingress": ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect::<Vec<_>>()
            }))
            .unwrap(),
        );
        status.conditions = Some(conditions.clone());
    }
    if let Some(pool) = &write.pool_annotation {
        let annotations = svc
            .metadata
            .annotations
            .get_or_insert_with(Default::default);
        let key = Annotation::IpAllocatedFromPool.key();
        match pool {
            Some(pool) => annotations.insert(key, pool.clone()),
            None => annotations.remove(&key),
        };
    }
    svc
}

fn normal(reason: &'static str, note: &str) -> ServiceEvent {
    info(reason, note.to_owned())
}

fn warn(reason: &'static str, note: &str) -> ServiceEvent {
    warning(reason, note.to_owned())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_new_service_gets_the_lowest_free_ip_its_pool_annotation_and_an_allocated_condition() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service("web", json!({}), json!({}));
    let d = once(&mut a, &svc);
    let write = d.write.clone().unwrap();
    let (ips, conditions) = write.status.unwrap();
    assert_eq!(ips, [ip("192.0.2.10")]);
    assert_eq!(write.pool_annotation, Some(Some("prod".to_owned())));
    let condition = d.condition.clone().unwrap();
    assert_eq!(conditions, std::slice::from_ref(&condition));
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("True", "IPAllocated")
    );
    assert_eq!(condition.message, r#"assigned 192.0.2.10 from pool "prod""#);
    assert_eq!(
        d.events,
        [normal("IPAllocated", "Assigned IP [192.0.2.10]")]
    );
    assert!(!d.waiting);
}

#[test]
fn a_service_that_already_shows_its_ip_needs_no_write_and_no_event() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service("web", json!({}), json!({}));
    let first = once(&mut a, &svc);
    let settled = written(&svc, &first);
    // Again in the same term, and in a new term that reads the IP back from the status.
    assert_eq!(once(&mut a, &settled).write, None);
    let mut fresh = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let again = once(&mut fresh, &settled);
    assert_eq!(again.write, None);
    assert_eq!(again.events, []);
    assert_eq!(
        fresh.assignment("shop/web").unwrap().ips,
        [ip("192.0.2.10")]
    );
}

#[test]
fn a_request_for_an_ip_in_no_pool_is_refused_with_a_warning_and_no_ip() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service(
        "web",
        json!({"metallb.io/loadBalancerIPs": "198.51.100.1"}),
        json!({}),
    );
    let d = once(&mut a, &svc);
    let (ips, _) = d.write.clone().unwrap().status.unwrap();
    assert_eq!(ips, Vec::<IpAddr>::new());
    let condition = d.condition.clone().unwrap();
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("False", "NotInAnyPool")
    );
    assert_eq!(
        d.events,
        [warn(
            "AllocationFailed",
            r#"Failed to allocate IP for "shop/web": requested IP 198.51.100.1 is not in any IPAddressPool"#
        )]
    );
    assert!(d.waiting);
    assert_eq!(a.assignment("shop/web"), None);
}

#[test]
fn a_refusal_the_service_already_shows_is_not_warned_about_again() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service(
        "web",
        json!({"metallb.io/loadBalancerIPs": "198.51.100.1"}),
        json!({}),
    );
    let shown = written(&svc, &once(&mut a, &svc));
    let d = once(&mut a, &shown);
    assert_eq!(d.events, []);
    assert_eq!(d.write, None);
    assert!(d.waiting);
}

#[test]
fn a_service_finding_its_pool_exhausted_waits_with_a_pool_exhausted_condition() {
    let mut a = allocator(&[("prod", &["192.0.2.10/32"])]);
    once(&mut a, &service("first", json!({}), json!({})));
    let d = once(&mut a, &service("second", json!({}), json!({})));
    let condition = d.condition.clone().unwrap();
    assert_eq!(condition.reason, "PoolExhausted");
    assert_eq!(condition.message, r#"no free IPv4 address in pool "prod""#);
    assert_eq!(
        d.events,
        [warn(
            "AllocationFailed",
            r#"Failed to allocate IP for "shop/second": no free IPv4 address in pool "prod""#
        )]
    );
    assert!(d.waiting);
    assert!(!d.may_admit_waiting);
}

#[test]
fn a_service_leaving_the_class_releases_its_ips_and_clears_what_the_operator_wrote() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service("web", json!({}), json!({}));
    let mut left = written(&svc, &once(&mut a, &svc));
    left.spec.as_mut().unwrap().load_balancer_class = Some("other.io/lb".to_owned());
    let d = once(&mut a, &left);
    assert_eq!(
        d.events,
        [normal(
            "ClearAssignment",
            "the Service is no longer a LoadBalancer of this class; its IPs are released"
        )]
    );
    let write = d.write.unwrap();
    assert_eq!(write.status, Some((Vec::new(), Vec::new())));
    assert_eq!(write.pool_annotation, Some(None));
    assert_eq!(d.condition, None);
    assert!(d.may_admit_waiting, "its IP is free for a waiting Service");
    assert_eq!(a.assignment("shop/web"), None);
}

#[test]
fn a_service_the_operator_never_wrote_to_is_left_alone_when_not_ours() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let mut svc = service("web", json!({}), json!({}));
    svc.spec.as_mut().unwrap().type_ = Some("ClusterIP".to_owned());
    let d = once(&mut a, &svc);
    assert_eq!((d.write, d.events, d.waiting), (None, vec![], false));
}

#[test]
fn legacy_annotations_are_warned_about_once_per_term_in_one_event() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.11"])]);
    let svc = service(
        "web",
        json!({"metallb.universe.tf/address-pool": "prod", "metallb.universe.tf/allow-shared-ip": "k"}),
        json!({}),
    );
    let mut warned = Warned::default();
    let d = converge_in(&mut a, &mut warned, &svc);
    assert_eq!(
        d.events,
        [
            warn(
                "deprecatedAnnotation",
                "annotation metallb.universe.tf/address-pool is deprecated, use metallb.io/address-pool instead; \
                 metallb.universe.tf/allow-shared-ip is deprecated, use metallb.io/allow-shared-ip instead"
            ),
            normal("IPAllocated", "Assigned IP [192.0.2.10]"),
        ]
    );
    let again = converge_in(&mut a, &mut warned, &written(&svc, &d));
    assert_eq!(again.events, []);
    let next_term = converge_in(&mut a, &mut Warned::default(), &svc);
    assert_eq!(next_term.events[0].reason, "deprecatedAnnotation");
}

#[test]
fn a_service_asking_for_another_pool_is_moved_with_both_events() {
    // "gold" comes first by name, so a Service asking for no pool lands there.
    let pools: &[(&str, &[&str])] = &[("prod", &["192.0.2.10/32"]), ("gold", &["203.0.113.5/32"])];
    let mut a = allocator(pools);
    let held = written(
        &service("web", json!({}), json!({})),
        &once(&mut allocator(pools), &service("web", json!({}), json!({}))),
    );
    let mut moved = held.clone();
    moved
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("metallb.io/address-pool".to_owned(), "prod".to_owned());
    let d = once(&mut a, &moved);
    assert_eq!(
        d.events,
        [
            normal(
                "ClearAssignment",
                r#"current IP for "shop/web" not allowed by config, will attempt for new IP assignment: it asks for pool "prod" but its IPs are from "gold""#
            ),
            normal("IPAllocated", "Assigned IP [192.0.2.10]"),
        ]
    );
    let write = d.write.unwrap();
    assert_eq!(write.status.unwrap().0, [ip("192.0.2.10")]);
    assert_eq!(write.pool_annotation, Some(Some("prod".to_owned())));
}

#[test]
fn conditions_of_other_controllers_are_kept_beside_the_operators() {
    let mut a = allocator(&[("prod", &["192.0.2.10/32"])]);
    let other = json!({"type": "example.com/Ready", "status": "True", "reason": "Ready",
        "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z"});
    let svc = service("web", json!({}), json!({"conditions": [other]}));
    let (_, conditions) = once(&mut a, &svc).write.unwrap().status.unwrap();
    let types: Vec<&str> = conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, ["example.com/Ready", service::CONDITION_TYPE]);
}

#[test]
fn a_deleted_service_frees_its_ips_for_those_waiting() {
    let mut a = allocator(&[("prod", &["192.0.2.10/32"])]);
    once(&mut a, &service("first", json!({}), json!({})));
    assert!(once(&mut a, &service("second", json!({}), json!({}))).waiting);
    assert!(deleted(&mut a, "shop/first").may_admit_waiting);
    assert!(
        !deleted(&mut a, "shop/first").may_admit_waiting,
        "nothing left to free"
    );
    let d = once(&mut a, &service("second", json!({}), json!({})));
    assert_eq!(d.write.unwrap().status.unwrap().0, [ip("192.0.2.10")]);
}

#[test]
fn the_configuration_lists_unreadable_pools_and_overlaps_sorted() {
    let objects = [
        Arc::new(pool_object("zeta", &["192.0.2.0/24"])),
        Arc::new(pool_object("alpha", &["192.0.2.128/25"])),
        Arc::new(pool_object("broken", &["not-an-address"])),
    ];
    let (pools, errors) = configuration(&objects);
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.is_sorted());
    assert!(
        errors.iter().any(|e| e.contains(r#""broken""#)),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains(r#""alpha""#) && e.contains(r#""zeta""#)),
        "{errors:?}"
    );
}

#[test]
fn services_holding_ips_go_first_then_the_oldest() {
    let mut a = allocator(&[("prod", &["192.0.2.10-192.0.2.20"])]);
    let created = |name: &str, second: i64| {
        let mut svc = service(name, json!({}), json!({}));
        svc.metadata.creation_timestamp = Some(Time(Timestamp::from_second(second).unwrap()));
        Arc::new(svc)
    };
    let held_in_memory = created("memory", 300);
    once(&mut a, &held_in_memory);
    let held_in_status = Arc::new(written(
        &created("status", 400),
        &once(
            &mut allocator(&[("prod", &["192.0.2.30/32"])]),
            &created("status", 400),
        ),
    ));
    let services = [
        created("young", 200),
        held_in_status,
        created("old", 100),
        held_in_memory,
    ];
    let keys = services.iter().map(|s| service::key(s));
    let ordered = order(&a, keys, |k| {
        services.iter().find(|s| service::key(s) == k).cloned()
    });
    assert_eq!(
        ordered,
        ["shop/memory", "shop/status", "shop/old", "shop/young"]
    );
}
