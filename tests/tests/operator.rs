//! The operator against a real kube-apiserver: each test starts its own control plane and
//! operator process ([`OperatorWorld`]), creates pools and Services as a user would, and reads
//! back what a user would see: IPs in status, the pool annotation, the condition, events, pool
//! status.

use std::time::Duration;

use ferrolb_tests::infra::scrape::{scrape, scraper_token};
use ferrolb_tests::wait::eventually;
use ferrolb_tests::worlds::operator::{OperatorWorld, condition, ingress};

#[tokio::test(flavor = "multi_thread")]
async fn pending_service_gets_the_lowest_free_ip_with_annotation_condition_event_and_pool_status() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool(
        "web",
        "  addresses: [192.0.2.0/28]\n  avoidBuggyIPs: true\n",
    );
    world.service("first", "", "");
    world.wait_ips("first", &["192.0.2.1"]).await;
    world.wait_annotation("first", Some("web")).await;
    let c = world.wait_condition("first", "IPAllocated").await;
    assert_eq!(
        (c.status.as_str(), c.message.as_str()),
        ("True", r#"assigned 192.0.2.1 from pool "web""#)
    );
    world.wait_event("first", "IPAllocated").await;
    world.wait_pool_status("web", (1, 14, 0, 0)).await;
    world.service("second", "", "");
    world.wait_ips("second", &["192.0.2.2"]).await;
    world.wait_pool_status("web", (2, 13, 0, 0)).await;
    let table = world
        .kubectl
        .ok(&["get", "ipaddresspools", "-n", "metallb-system"], None)
        .unwrap();
    assert!(
        table.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .ends_with(&["2", "13"])),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_every_assigned_ip_even_with_more_services_than_free_ips() {
    let world = OperatorWorld::start().await;
    let mut operator = world.operator("op-1");
    world.pool("small", "  addresses: [192.0.2.10-192.0.2.12]\n");
    for name in ["c", "a", "b"] {
        world.service(name, "", "");
        world.wait_condition(name, "IPAllocated").await;
    }
    let before: Vec<Vec<String>> = world.ingresses(&["a", "b", "c"]).await;
    operator.terminate(Duration::from_secs(5));
    // While the operator is down: one holder goes away and two Services arrive. After the
    // restart, exactly one of them gets the freed address; nobody else moves.
    world.kubectl.ok(&["delete", "service", "c"], None).unwrap();
    world.service("d", "", "");
    world.service("e", "", "");
    let _operator = world.operator("op-2");
    let freed = before[2][0].clone();
    let winner = eventually("the freed IP to be reassigned", || async {
        for name in ["d", "e"] {
            if ingress(&world.get(name).await?) == [freed.clone()] {
                return Some(name);
            }
        }
        None
    })
    .await;
    let loser = if winner == "d" { "e" } else { "d" };
    let c = world.wait_condition(loser, "PoolExhausted").await;
    assert_eq!(c.message, r#"no free IPv4 address in pool "small""#);
    let after = world.ingresses(&["a", "b"]).await;
    assert_eq!(after, before[..2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_end_in_a_condition_and_an_event_naming_the_problem() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("p", "  addresses: [192.0.2.0/28]\n");
    world.pool(
        "reserved",
        "  addresses: [198.51.100.0/28]\n  autoAssign: false\n",
    );
    world.service(
        "three",
        r#"metallb.io/loadBalancerIPs: "192.0.2.1,192.0.2.2,192.0.2.3""#,
        "",
    );
    world.service(
        "outside",
        r#"metallb.io/loadBalancerIPs: "203.0.113.7""#,
        "",
    );
    world.service("nopool", r#"metallb.io/address-pool: "gone""#, "");
    world.service(
        "disagree",
        r#"metallb.io/loadBalancerIPs: "192.0.2.5", metallb.io/address-pool: "reserved""#,
        "",
    );
    let c = world.wait_condition("three", "InvalidRequest").await;
    assert!(c.message.contains("lists 3 addresses"), "{}", c.message);
    let c = world.wait_condition("outside", "NotInAnyPool").await;
    assert_eq!(
        c.message,
        "requested IP 203.0.113.7 is not in any IPAddressPool"
    );
    let c = world.wait_condition("nopool", "UnknownPool").await;
    assert_eq!(c.message, r#"IPAddressPool "gone" does not exist"#);
    let c = world.wait_condition("disagree", "InvalidRequest").await;
    assert_eq!(
        c.message,
        r#"requested IP 192.0.2.5 is not in the requested pool "reserved" (it is in pool "p")"#
    );
    let events = world.wait_event("outside", "AllocationFailed").await;
    assert!(events.contains("203.0.113.7"), "{events}");
    for name in ["three", "outside", "nopool", "disagree"] {
        assert!(ingress(&world.get(name).await.unwrap()).is_empty());
    }
    // Fixing the request resolves it.
    world.service("nopool", r#"metallb.io/address-pool: "reserved""#, "");
    world.wait_ips("nopool", &["198.51.100.0"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_annotations_work_and_warn() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool(
        "priority-pool",
        "  addresses: [192.0.2.200-192.0.2.204]\n  autoAssign: false\n",
    );
    world.service("legacy", r#"metallb.universe.tf/address-pool: priority-pool, metallb.universe.tf/loadBalancerIPs: "192.0.2.203""#, "");
    world.wait_ips("legacy", &["192.0.2.203"]).await;
    let events = world.wait_event("legacy", "deprecatedAnnotation").await;
    assert!(
        events.contains(
            "metallb.universe.tf/address-pool is deprecated, use metallb.io/address-pool instead"
        ),
        "{events}"
    );
    assert!(events.contains("metallb.universe.tf/loadBalancerIPs is deprecated, use metallb.io/loadBalancerIPs instead"), "{events}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sharing_follows_keys_and_ports() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("p", "  addresses: [192.0.2.0/29]\n");
    world.service("http", r#"metallb.io/allow-shared-ip: k"#, "");
    world.wait_ips("http", &["192.0.2.0"]).await;
    world.apply("apiVersion: v1\nkind: Service\nmetadata:\n  name: https\n  namespace: default\n  annotations: {metallb.io/allow-shared-ip: k}\nspec:\n  type: LoadBalancer\n  ports: [{port: 443}]\n");
    world.wait_ips("https", &["192.0.2.0"]).await;
    // Same port as "http": may not share, gets its own address.
    world.service("clash", r#"metallb.io/allow-shared-ip: k"#, "");
    world.wait_ips("clash", &["192.0.2.1"]).await;
    // Asking for the shared IP without the key is a conflict.
    world.service("intruder", r#"metallb.io/loadBalancerIPs: "192.0.2.0""#, "");
    let c = world.wait_condition("intruder", "SharingConflict").await;
    assert!(
        c.message
            .starts_with("requested IP 192.0.2.0 is not available: it is in use by default/"),
        "{}",
        c.message
    );
    world.wait_pool_status("p", (2, 6, 0, 0)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_stack_services_get_one_ip_per_family_from_one_pool() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("v4", "  addresses: [192.0.2.0/28]\n");
    world.pool("dual", "  addresses: [198.51.100.0/28, 2001:db8::/124]\n");
    world.service(
        "both",
        "",
        "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n",
    );
    world
        .wait_ips("both", &["198.51.100.0", "2001:db8::"])
        .await;
    world.service(
        "v6first",
        "",
        "  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]\n",
    );
    world
        .wait_ips("v6first", &["2001:db8::1", "198.51.100.1"])
        .await;
    world.service("single6", "", "  ipFamilies: [IPv6]\n");
    world.wait_ips("single6", &["2001:db8::2"]).await;
    world.wait_pool_status("dual", (2, 14, 3, 13)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_pool_clears_its_services_and_a_new_pool_serves_them() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("old", "  addresses: [192.0.2.0/28]\n");
    world.service("svc", "", "");
    world.wait_ips("svc", &["192.0.2.0"]).await;
    world
        .kubectl
        .ok(
            &["delete", "ipaddresspool", "old", "-n", "metallb-system"],
            None,
        )
        .unwrap();
    world.wait_condition("svc", "NoMatchingPool").await;
    world.wait_ips("svc", &[]).await;
    world.wait_annotation("svc", None).await;
    world.wait_event("svc", "ClearAssignment").await;
    world.pool("new", "  addresses: [198.51.100.0/28]\n");
    world.wait_ips("svc", &["198.51.100.0"]).await;
    world.wait_annotation("svc", Some("new")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shrinking_a_pool_moves_only_the_services_whose_ips_left_it() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("p", "  addresses: [192.0.2.1-192.0.2.4]\n");
    for name in ["a", "b", "c"] {
        world.service(name, "", "");
        world.wait_condition(name, "IPAllocated").await;
    }
    let b = ingress(&world.get("b").await.unwrap())[0].clone();
    let keep: Vec<(&str, Vec<String>)> = vec![
        ("a", ingress(&world.get("a").await.unwrap())),
        ("c", ingress(&world.get("c").await.unwrap())),
    ];
    world.pool(
        "p",
        &format!("  addresses: [192.0.2.1-192.0.2.9]\n  # {b} stays\n"),
    );
    let spec = keep
        .iter()
        .flat_map(|(_, ips)| ips.iter().map(|ip| format!("{ip}/32")))
        .collect::<Vec<_>>()
        .join(", ");
    world.pool("p", &format!("  addresses: [{spec}, 192.0.2.8/32]\n"));
    world.wait_ips("b", &["192.0.2.8"]).await;
    for (name, ips) in keep {
        assert_eq!(
            ingress(&world.get(name).await.unwrap()),
            ips,
            "{name} must not move"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_stops_being_a_load_balancer_releases_its_ip() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("p", "  addresses: [192.0.2.0/28]\n");
    world.service("svc", "", "");
    world.wait_ips("svc", &["192.0.2.0"]).await;
    world.wait_pool_status("p", (1, 15, 0, 0)).await;
    world
        .kubectl
        .ok(
            &[
                "patch",
                "service",
                "svc",
                "--type=merge",
                "-p",
                r#"{"spec":{"type":"ClusterIP"}}"#,
            ],
            None,
        )
        .unwrap();
    world.wait_pool_status("p", (0, 16, 0, 0)).await;
    world.wait_ips("svc", &[]).await;
    world.wait_annotation("svc", None).await;
    world.service("next", "", "");
    world.wait_ips("next", &["192.0.2.0"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_pools_are_reported_and_never_give_one_ip_twice() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("a", "  addresses: [192.0.2.0/31]\n");
    world.pool("b", "  addresses: [192.0.2.1/32]\n");
    for name in ["s1", "s2", "s3"] {
        world.service(name, "", "");
    }
    world.wait_condition("s3", "PoolExhausted").await;
    let mut all: Vec<String> = world.ingresses(&["s1", "s2"]).await.concat();
    all.sort();
    assert_eq!(all, ["192.0.2.0", "192.0.2.1"]);
    let state = eventually("ConfigurationState to report the overlap", || async {
        let out = world
            .kubectl
            .ok(
                &[
                    "get",
                    "configurationstate",
                    "controller",
                    "-n",
                    "metallb-system",
                    "-o",
                    "jsonpath={.status.result} {.status.errorSummary}",
                ],
                None,
            )
            .ok()?;
        out.starts_with("Invalid").then_some(out)
    })
    .await;
    assert!(state.contains(r#"IPAddressPool "b" address 192.0.2.1/32 overlaps with IPAddressPool "a" address 192.0.2.0/31"#), "{state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn standby_takes_over_when_the_leader_dies_and_metrics_follow() {
    let world = OperatorWorld::start().await;
    let mut first = world.operator("op-first");
    world.pool("p", "  addresses: [192.0.2.0/28]\n");
    world.service("before", "", "");
    world.wait_ips("before", &["192.0.2.0"]).await;
    let (second, metrics_addr) = world.operator_with_metrics("op-second");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let holder = || {
        world
            .kubectl
            .ok(
                &[
                    "get",
                    "lease",
                    "ferrolb-operator",
                    "-n",
                    "metallb-system",
                    "-o",
                    "jsonpath={.spec.holderIdentity}",
                ],
                None,
            )
            .unwrap()
    };
    assert_eq!(holder(), "op-first");
    first.kill();
    let started = std::time::Instant::now();
    world.service("after", "", "");
    world.wait_ips("after", &["192.0.2.1"]).await;
    let takeover = started.elapsed();
    eprintln!("standby served a new Service {takeover:?} after the leader was killed");
    assert_eq!(holder(), "op-second");
    assert!(second.output().contains("leading"), "{}", second.output());
    let token = scraper_token(&world.kubectl, "metallb-system", "prometheus", true);
    let metrics = eventually("the new leader's metrics", || async {
        let (_, text) = scrape(&metrics_addr, Some(&token));
        text.contains(r#"metallb_allocator_addresses_in_use_total{pool="p"} 2"#)
            .then_some(text)
    })
    .await;
    assert!(
        metrics.contains(r#"metallb_allocator_addresses_total{pool="p"} 16"#),
        "{metrics}"
    );
    assert!(metrics.contains("ferrolb_operator_leader 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_without_node_ports_gets_its_ip_and_keeps_no_node_port() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("p", "  addresses: [192.0.2.64/28]\n");
    world.service(
        "no-node-ports",
        "",
        "  allocateLoadBalancerNodePorts: false\n",
    );
    let svc = world.wait_ips("no-node-ports", &["192.0.2.64"]).await;
    let spec = svc.spec.unwrap();
    assert_eq!(spec.allocate_load_balancer_node_ports, Some(false));
    assert!(
        spec.ports
            .unwrap_or_default()
            .iter()
            .all(|p| p.node_port.is_none()),
        "the API server allocated a node port although the Service asked for none"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_status_edited_by_hand_is_written_back() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("edited", "  addresses: [192.0.2.80/30]\n");
    world.service("holder", "", "");
    world.wait_ips("holder", &["192.0.2.80"]).await;
    world.wait_pool_status("edited", (1, 3, 0, 0)).await;
    let forged =
        r#"{"status":{"assignedIPv4":0,"availableIPv4":4,"assignedIPv6":0,"availableIPv6":0}}"#;
    world
        .kubectl
        .ok(
            &[
                "patch",
                "ipaddresspool",
                "edited",
                "-n",
                "metallb-system",
                "--subresource=status",
                "--type=merge",
                "-p",
                forged,
            ],
            None,
        )
        .unwrap();
    world.wait_pool_status("edited", (1, 3, 0, 0)).await;
}

/// A Service sharing an IP: key `k`, one port, and the given traffic policy.
fn sharing_service(name: &str, port: u16, policy: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{metallb.io/allow-shared-ip: k, metallb.io/loadBalancerIPs: 192.0.2.96}}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: {policy}\n  selector: {{app: shared}}\n  ports: [{{port: {port}, protocol: TCP}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_service_gets_the_shared_ip_once_its_partner_changes_to_compatible_terms() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    world.pool("single", "  addresses: [192.0.2.96/32]\n");
    world.apply(&sharing_service("first", 80, "Cluster"));
    world.wait_ips("first", &["192.0.2.96"]).await;
    // Local beside Cluster may not share: the second waits.
    world.apply(&sharing_service("second", 81, "Local"));
    world.wait_condition("second", "SharingConflict").await;
    // The partner moves to Local with the same selector: now they may share, and the waiting
    // Service must be reconsidered without being touched itself.
    world.apply(&sharing_service("first", 80, "Local"));
    world.wait_ips("second", &["192.0.2.96"]).await;
    world.wait_ips("first", &["192.0.2.96"]).await;
}

/// A Service `namespace/name` with sharing key `k` on `port`, from `pool`.
fn team_service(namespace: &str, name: &str, pool: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations: {{metallb.io/allow-shared-ip: k, metallb.io/address-pool: {pool}}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: {port}}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_sharing_key_in_two_namespaces_shares_only_from_an_unscoped_pool() {
    let world = OperatorWorld::start().await;
    let _operator = world.operator("op-1");
    for namespace in ["team-a", "team-b"] {
        world.kubectl.ensure_namespace(namespace).unwrap();
    }
    world.apply(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: scoped\n  namespace: metallb-system\n  annotations: {ferrolb.io/sharing-scope: namespace}\nspec:\n  addresses: [192.0.2.0/29]\n",
    );
    world.pool("open", "  addresses: [198.51.100.0/29]\n");
    world.apply(&team_service("team-a", "web", "scoped", 80));
    world.wait_ips_in("team-a", "web", &["192.0.2.0"]).await;
    world.apply(&team_service("team-b", "web", "scoped", 443));
    world.wait_ips_in("team-b", "web", &["192.0.2.1"]).await;
    world.apply(&team_service("team-a", "api", "open", 80));
    world.wait_ips_in("team-a", "api", &["198.51.100.0"]).await;
    world.apply(&team_service("team-b", "api", "open", 443));
    world.wait_ips_in("team-b", "api", &["198.51.100.0"]).await;
    // Within one namespace the scoped pool still shares.
    world.apply(&team_service("team-a", "dns", "scoped", 53));
    world.wait_ips_in("team-a", "dns", &["192.0.2.0"]).await;
    // Asking for team-a's IP from team-b waits, naming both Services.
    world.apply(&format!(
        "{}  loadBalancerIP: 192.0.2.0\n",
        team_service("team-b", "dns", "scoped", 53)
    ));
    let pending = eventually("team-b/dns to wait with SharingConflict", || async {
        condition(&world.get_in("team-b", "dns").await?).filter(|c| c.reason == "SharingConflict")
    })
    .await;
    assert!(
        pending.message.contains("it is in use by team-a/")
            && pending.message.ends_with("not team-b/dns"),
        "{}",
        pending.message
    );
    world.wait_pool_status("scoped", (2, 6, 0, 0)).await;
    world.wait_pool_status("open", (1, 7, 0, 0)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_over_https_only_to_a_service_account_allowed_to_get_them() {
    let world = OperatorWorld::start().await;
    let (_operator, address) = world.operator_with_metrics("op-1");
    let allowed = scraper_token(&world.kubectl, "metallb-system", "prometheus", true);
    let other = scraper_token(&world.kubectl, "metallb-system", "curious", false);

    let (code, body) = eventually("the metrics endpoint answers", || async {
        let answer = scrape(&address, Some(&allowed));
        (answer.0 == 200).then_some(answer)
    })
    .await;
    assert_eq!(code, 200);
    assert!(body.contains("ferrolb_operator_leader"), "{body}");

    let (code, body) = scrape(&address, None);
    assert_eq!(code, 401, "an anonymous scrape: {body}");
    assert!(!body.contains("ferrolb_operator"), "{body}");
    let (code, body) = scrape(&address, Some("not-a-token"));
    assert_eq!(code, 401, "a forged token: {body}");
    let (code, body) = scrape(&address, Some(&other));
    assert_eq!(code, 403, "a token without get /metrics: {body}");
    assert!(
        body.contains("system:serviceaccount:metallb-system:curious"),
        "the refusal names the user: {body}"
    );

    let plain = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "5",
            &format!("http://{address}/metrics"),
        ])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("ferrolb_operator"),
        "no metrics over plain HTTP"
    );
}
