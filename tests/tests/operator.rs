//! The operator against a real kube-apiserver: each test starts its own control plane and
//! operator process, creates pools and Services as a user would, and reads back what a user
//! would see: IPs in status, the pool annotation, the condition, events, pool status.

use std::time::Duration;

use ferrolb_crds::IPAddressPool;
use ferrolb_tests::process::{Daemon, binary, eventually};
use ferrolb_tests::{ControlPlane, Kubectl};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;

const WAIT: Duration = Duration::from_secs(30);

struct Lab {
    control_plane: ControlPlane,
    kubectl: Kubectl,
    client: kube::Client,
}

impl Lab {
    async fn new() -> Lab {
        let control_plane = tokio::task::spawn_blocking(|| ControlPlane::start().unwrap())
            .await
            .unwrap();
        control_plane.install_crds().unwrap();
        let kubectl = control_plane.kubectl();
        kubectl.ensure_namespace("metallb-system").unwrap();
        let client = control_plane.client().await.unwrap();
        Lab {
            control_plane,
            kubectl,
            client,
        }
    }

    fn operator(&self, identity: &str) -> Daemon {
        self.operator_with_metrics(identity).0
    }

    /// An operator process and the address of its metrics endpoint.
    fn operator_with_metrics(&self, identity: &str) -> (Daemon, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let kubeconfig = self.control_plane.kubeconfig.to_string_lossy().into_owned();
        let daemon = Daemon::spawn(
            identity,
            &binary("ferrolb-operator", "ferrolb-operator"),
            &[
                "--metrics-addr",
                &addr,
                "--identity",
                identity,
                "--lease-duration",
                "4",
                "--renew-deadline",
                "3",
                "--retry-period",
                "1",
            ],
            &[("KUBECONFIG", &kubeconfig), ("RUST_LOG", "info")],
        )
        .unwrap();
        (daemon, addr)
    }

    fn apply(&self, yaml: &str) {
        self.kubectl.ok(&["apply", "-f", "-"], Some(yaml)).unwrap();
    }

    fn pool(&self, name: &str, spec: &str) {
        self.apply(&format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n{spec}"
        ));
    }

    fn service(&self, name: &str, annotations: &str, spec: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{{annotations}}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\n{spec}"
        ));
    }

    async fn get(&self, name: &str) -> Option<Service> {
        self.get_in("default", name).await
    }

    async fn get_in(&self, namespace: &str, name: &str) -> Option<Service> {
        Api::<Service>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .ok()
            .flatten()
    }

    /// Waits until the Service has exactly these ingress IPs.
    async fn wait_ips(&self, name: &str, want: &[&str]) -> Service {
        self.wait_ips_in("default", name, want).await
    }

    /// Waits until the Service `namespace/name` has exactly these ingress IPs.
    async fn wait_ips_in(&self, namespace: &str, name: &str, want: &[&str]) -> Service {
        eventually(
            WAIT,
            &format!("Service {namespace}/{name} to get {want:?}"),
            || async {
                let svc = self.get_in(namespace, name).await?;
                (ingress(&svc) == want).then_some(svc)
            },
        )
        .await
    }

    /// Waits until the Service carries this `metallb.io/ip-allocated-from-pool` value.
    async fn wait_annotation(&self, name: &str, want: Option<&str>) {
        eventually(
            WAIT,
            &format!("Service {name} pool annotation {want:?}"),
            || async { (pool_annotation(&self.get(name).await?).as_deref() == want).then_some(()) },
        )
        .await
    }

    /// Waits until the Service's condition has this reason.
    async fn wait_condition(&self, name: &str, reason: &str) -> Condition {
        eventually(
            WAIT,
            &format!("Service {name} condition {reason}"),
            || async { condition(&self.get(name).await?).filter(|c| c.reason == reason) },
        )
        .await
    }

    async fn pool_status(&self, name: &str) -> Option<(i64, i64, i64, i64)> {
        let pool = Api::<IPAddressPool>::namespaced(self.client.clone(), "metallb-system")
            .get(name)
            .await
            .ok()?;
        let s = pool.status?;
        Some((
            s.assigned_ipv4,
            s.available_ipv4,
            s.assigned_ipv6,
            s.available_ipv6,
        ))
    }

    async fn wait_pool_status(&self, name: &str, want: (i64, i64, i64, i64)) {
        eventually(WAIT, &format!("pool {name} status {want:?}"), || async {
            (self.pool_status(name).await? == want).then_some(())
        })
        .await
    }

    fn events(&self, name: &str) -> String {
        self.kubectl
            .ok(
                &[
                    "get",
                    "events",
                    "-n",
                    "default",
                    "--field-selector",
                    &format!("involvedObject.name={name}"),
                    "-o",
                    "custom-columns=TYPE:.type,REASON:.reason,NOTE:.note,MESSAGE:.message",
                ],
                None,
            )
            .unwrap()
    }

    async fn wait_event(&self, name: &str, reason: &str) -> String {
        eventually(WAIT, &format!("event {reason} on {name}"), || async {
            let events = self.events(name);
            events.contains(reason).then_some(events)
        })
        .await
    }
}

fn ingress(svc: &Service) -> Vec<String> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone())
        .collect()
}

fn condition(svc: &Service) -> Option<Condition> {
    svc.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "metallb.io/IPAllocated")
        .cloned()
}

fn pool_annotation(svc: &Service) -> Option<String> {
    svc.metadata
        .annotations
        .as_ref()?
        .get("metallb.io/ip-allocated-from-pool")
        .cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_service_gets_the_lowest_free_ip_with_annotation_condition_event_and_pool_status() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool(
        "web",
        "  addresses: [192.0.2.0/28]\n  avoidBuggyIPs: true\n",
    );
    lab.service("first", "", "");
    lab.wait_ips("first", &["192.0.2.1"]).await;
    lab.wait_annotation("first", Some("web")).await;
    let c = lab.wait_condition("first", "IPAllocated").await;
    assert_eq!(
        (c.status.as_str(), c.message.as_str()),
        ("True", r#"assigned 192.0.2.1 from pool "web""#)
    );
    lab.wait_event("first", "IPAllocated").await;
    lab.wait_pool_status("web", (1, 14, 0, 0)).await;
    lab.service("second", "", "");
    lab.wait_ips("second", &["192.0.2.2"]).await;
    lab.wait_pool_status("web", (2, 13, 0, 0)).await;
    let table = lab
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
    let lab = Lab::new().await;
    let mut operator = lab.operator("op-1");
    lab.pool("small", "  addresses: [192.0.2.10-192.0.2.12]\n");
    for name in ["c", "a", "b"] {
        lab.service(name, "", "");
        lab.wait_condition(name, "IPAllocated").await;
    }
    let before: Vec<Vec<String>> = ingress_of(&lab, &["a", "b", "c"]).await;
    operator.terminate(Duration::from_secs(5));
    // While the operator is down: one holder goes away and two Services arrive. After the
    // restart, exactly one of them gets the freed address; nobody else moves.
    lab.kubectl.ok(&["delete", "service", "c"], None).unwrap();
    lab.service("d", "", "");
    lab.service("e", "", "");
    let _operator = lab.operator("op-2");
    let freed = before[2][0].clone();
    let winner = eventually(WAIT, "the freed IP to be reassigned", || async {
        for name in ["d", "e"] {
            if ingress(&lab.get(name).await?) == [freed.clone()] {
                return Some(name);
            }
        }
        None
    })
    .await;
    let loser = if winner == "d" { "e" } else { "d" };
    let c = lab.wait_condition(loser, "PoolExhausted").await;
    assert_eq!(c.message, r#"no free IPv4 address in pool "small""#);
    let after = ingress_of(&lab, &["a", "b"]).await;
    assert_eq!(after, before[..2]);
}

async fn ingress_of(lab: &Lab, names: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for name in names {
        out.push(ingress(&lab.get(name).await.unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_end_in_a_condition_and_an_event_naming_the_problem() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("p", "  addresses: [192.0.2.0/28]\n");
    lab.pool(
        "reserved",
        "  addresses: [198.51.100.0/28]\n  autoAssign: false\n",
    );
    lab.service(
        "three",
        r#"metallb.io/loadBalancerIPs: "192.0.2.1,192.0.2.2,192.0.2.3""#,
        "",
    );
    lab.service(
        "outside",
        r#"metallb.io/loadBalancerIPs: "203.0.113.7""#,
        "",
    );
    lab.service("nopool", r#"metallb.io/address-pool: "gone""#, "");
    lab.service(
        "disagree",
        r#"metallb.io/loadBalancerIPs: "192.0.2.5", metallb.io/address-pool: "reserved""#,
        "",
    );
    let c = lab.wait_condition("three", "InvalidRequest").await;
    assert!(c.message.contains("lists 3 addresses"), "{}", c.message);
    let c = lab.wait_condition("outside", "NotInAnyPool").await;
    assert_eq!(
        c.message,
        "requested IP 203.0.113.7 is not in any IPAddressPool"
    );
    let c = lab.wait_condition("nopool", "UnknownPool").await;
    assert_eq!(c.message, r#"IPAddressPool "gone" does not exist"#);
    let c = lab.wait_condition("disagree", "InvalidRequest").await;
    assert_eq!(
        c.message,
        r#"requested IP 192.0.2.5 is not in the requested pool "reserved" (it is in pool "p")"#
    );
    let events = lab.wait_event("outside", "AllocationFailed").await;
    assert!(events.contains("203.0.113.7"), "{events}");
    for name in ["three", "outside", "nopool", "disagree"] {
        assert!(ingress(&lab.get(name).await.unwrap()).is_empty());
    }
    // Fixing the request resolves it.
    lab.service("nopool", r#"metallb.io/address-pool: "reserved""#, "");
    lab.wait_ips("nopool", &["198.51.100.0"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_annotations_work_and_warn() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool(
        "priority-pool",
        "  addresses: [192.0.2.200-192.0.2.204]\n  autoAssign: false\n",
    );
    lab.service("legacy", r#"metallb.universe.tf/address-pool: priority-pool, metallb.universe.tf/loadBalancerIPs: "192.0.2.203""#, "");
    lab.wait_ips("legacy", &["192.0.2.203"]).await;
    let events = lab.wait_event("legacy", "deprecatedAnnotation").await;
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
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("p", "  addresses: [192.0.2.0/29]\n");
    lab.service("http", r#"metallb.io/allow-shared-ip: k"#, "");
    lab.wait_ips("http", &["192.0.2.0"]).await;
    lab.apply("apiVersion: v1\nkind: Service\nmetadata:\n  name: https\n  namespace: default\n  annotations: {metallb.io/allow-shared-ip: k}\nspec:\n  type: LoadBalancer\n  ports: [{port: 443}]\n");
    lab.wait_ips("https", &["192.0.2.0"]).await;
    // Same port as "http": may not share, gets its own address.
    lab.service("clash", r#"metallb.io/allow-shared-ip: k"#, "");
    lab.wait_ips("clash", &["192.0.2.1"]).await;
    // Asking for the shared IP without the key is a conflict.
    lab.service("intruder", r#"metallb.io/loadBalancerIPs: "192.0.2.0""#, "");
    let c = lab.wait_condition("intruder", "SharingConflict").await;
    assert!(
        c.message
            .starts_with("requested IP 192.0.2.0 is not available: it is in use by default/"),
        "{}",
        c.message
    );
    lab.wait_pool_status("p", (2, 6, 0, 0)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_stack_services_get_one_ip_per_family_from_one_pool() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("v4", "  addresses: [192.0.2.0/28]\n");
    lab.pool("dual", "  addresses: [198.51.100.0/28, 2001:db8::/124]\n");
    lab.service(
        "both",
        "",
        "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n",
    );
    lab.wait_ips("both", &["198.51.100.0", "2001:db8::"]).await;
    lab.service(
        "v6first",
        "",
        "  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]\n",
    );
    lab.wait_ips("v6first", &["2001:db8::1", "198.51.100.1"])
        .await;
    lab.service("single6", "", "  ipFamilies: [IPv6]\n");
    lab.wait_ips("single6", &["2001:db8::2"]).await;
    lab.wait_pool_status("dual", (2, 14, 3, 13)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_pool_clears_its_services_and_a_new_pool_serves_them() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("old", "  addresses: [192.0.2.0/28]\n");
    lab.service("svc", "", "");
    lab.wait_ips("svc", &["192.0.2.0"]).await;
    lab.kubectl
        .ok(
            &["delete", "ipaddresspool", "old", "-n", "metallb-system"],
            None,
        )
        .unwrap();
    lab.wait_condition("svc", "NoMatchingPool").await;
    lab.wait_ips("svc", &[]).await;
    lab.wait_annotation("svc", None).await;
    lab.wait_event("svc", "ClearAssignment").await;
    lab.pool("new", "  addresses: [198.51.100.0/28]\n");
    lab.wait_ips("svc", &["198.51.100.0"]).await;
    lab.wait_annotation("svc", Some("new")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shrinking_a_pool_moves_only_the_services_whose_ips_left_it() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("p", "  addresses: [192.0.2.1-192.0.2.4]\n");
    for name in ["a", "b", "c"] {
        lab.service(name, "", "");
        lab.wait_condition(name, "IPAllocated").await;
    }
    let b = ingress(&lab.get("b").await.unwrap())[0].clone();
    let keep: Vec<(&str, Vec<String>)> = vec![
        ("a", ingress(&lab.get("a").await.unwrap())),
        ("c", ingress(&lab.get("c").await.unwrap())),
    ];
    lab.pool(
        "p",
        &format!("  addresses: [192.0.2.1-192.0.2.9]\n  # {b} stays\n"),
    );
    let spec = keep
        .iter()
        .flat_map(|(_, ips)| ips.iter().map(|ip| format!("{ip}/32")))
        .collect::<Vec<_>>()
        .join(", ");
    lab.pool("p", &format!("  addresses: [{spec}, 192.0.2.8/32]\n"));
    lab.wait_ips("b", &["192.0.2.8"]).await;
    for (name, ips) in keep {
        assert_eq!(
            ingress(&lab.get(name).await.unwrap()),
            ips,
            "{name} must not move"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_stops_being_a_load_balancer_releases_its_ip() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("p", "  addresses: [192.0.2.0/28]\n");
    lab.service("svc", "", "");
    lab.wait_ips("svc", &["192.0.2.0"]).await;
    lab.wait_pool_status("p", (1, 15, 0, 0)).await;
    lab.kubectl
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
    lab.wait_pool_status("p", (0, 16, 0, 0)).await;
    lab.wait_ips("svc", &[]).await;
    lab.wait_annotation("svc", None).await;
    lab.service("next", "", "");
    lab.wait_ips("next", &["192.0.2.0"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_pools_are_reported_and_never_give_one_ip_twice() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("a", "  addresses: [192.0.2.0/31]\n");
    lab.pool("b", "  addresses: [192.0.2.1/32]\n");
    for name in ["s1", "s2", "s3"] {
        lab.service(name, "", "");
    }
    lab.wait_condition("s3", "PoolExhausted").await;
    let mut all: Vec<String> = ingress_of(&lab, &["s1", "s2"]).await.concat();
    all.sort();
    assert_eq!(all, ["192.0.2.0", "192.0.2.1"]);
    let state = eventually(WAIT, "ConfigurationState to report the overlap", || async {
        let out = lab
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
    let lab = Lab::new().await;
    let mut first = lab.operator("op-first");
    lab.pool("p", "  addresses: [192.0.2.0/28]\n");
    lab.service("before", "", "");
    lab.wait_ips("before", &["192.0.2.0"]).await;
    let (second, metrics_addr) = lab.operator_with_metrics("op-second");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let holder = || {
        lab.kubectl
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
    lab.service("after", "", "");
    lab.wait_ips("after", &["192.0.2.1"]).await;
    let takeover = started.elapsed();
    eprintln!("standby served a new Service {takeover:?} after the leader was killed");
    assert_eq!(holder(), "op-second");
    assert!(second.output().contains("leading"), "{}", second.output());
    let metrics = eventually(WAIT, "the new leader's metrics", || async {
        let out = std::process::Command::new("curl")
            .args(["-sf", &format!("http://{metrics_addr}/metrics")])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
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
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("p", "  addresses: [192.0.2.64/28]\n");
    lab.service(
        "no-node-ports",
        "",
        "  allocateLoadBalancerNodePorts: false\n",
    );
    let svc = lab.wait_ips("no-node-ports", &["192.0.2.64"]).await;
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
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("edited", "  addresses: [192.0.2.80/30]\n");
    lab.service("holder", "", "");
    lab.wait_ips("holder", &["192.0.2.80"]).await;
    lab.wait_pool_status("edited", (1, 3, 0, 0)).await;
    let forged =
        r#"{"status":{"assignedIPv4":0,"availableIPv4":4,"assignedIPv6":0,"availableIPv6":0}}"#;
    lab.kubectl
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
    lab.wait_pool_status("edited", (1, 3, 0, 0)).await;
}

/// A Service sharing an IP: key `k`, one port, and the given traffic policy.
fn sharing_service(name: &str, port: u16, policy: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{metallb.io/allow-shared-ip: k, metallb.io/loadBalancerIPs: 192.0.2.96}}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: {policy}\n  selector: {{app: shared}}\n  ports: [{{port: {port}, protocol: TCP}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_service_gets_the_shared_ip_once_its_partner_changes_to_compatible_terms() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    lab.pool("single", "  addresses: [192.0.2.96/32]\n");
    lab.apply(&sharing_service("first", 80, "Cluster"));
    lab.wait_ips("first", &["192.0.2.96"]).await;
    // Local beside Cluster may not share: the second waits.
    lab.apply(&sharing_service("second", 81, "Local"));
    lab.wait_condition("second", "SharingConflict").await;
    // The partner moves to Local with the same selector: now they may share, and the waiting
    // Service must be reconsidered without being touched itself.
    lab.apply(&sharing_service("first", 80, "Local"));
    lab.wait_ips("second", &["192.0.2.96"]).await;
    lab.wait_ips("first", &["192.0.2.96"]).await;
}

/// A Service `namespace/name` with sharing key `k` on `port`, from `pool`.
fn team_service(namespace: &str, name: &str, pool: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations: {{metallb.io/allow-shared-ip: k, metallb.io/address-pool: {pool}}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: {port}}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_sharing_key_in_two_namespaces_shares_only_from_an_unscoped_pool() {
    let lab = Lab::new().await;
    let _operator = lab.operator("op-1");
    for namespace in ["team-a", "team-b"] {
        lab.kubectl.ensure_namespace(namespace).unwrap();
    }
    lab.apply(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: scoped\n  namespace: metallb-system\n  annotations: {ferrolb.io/sharing-scope: namespace}\nspec:\n  addresses: [192.0.2.0/29]\n",
    );
    lab.pool("open", "  addresses: [198.51.100.0/29]\n");
    lab.apply(&team_service("team-a", "web", "scoped", 80));
    lab.wait_ips_in("team-a", "web", &["192.0.2.0"]).await;
    lab.apply(&team_service("team-b", "web", "scoped", 443));
    lab.wait_ips_in("team-b", "web", &["192.0.2.1"]).await;
    lab.apply(&team_service("team-a", "api", "open", 80));
    lab.wait_ips_in("team-a", "api", &["198.51.100.0"]).await;
    lab.apply(&team_service("team-b", "api", "open", 443));
    lab.wait_ips_in("team-b", "api", &["198.51.100.0"]).await;
    // Within one namespace the scoped pool still shares.
    lab.apply(&team_service("team-a", "dns", "scoped", 53));
    lab.wait_ips_in("team-a", "dns", &["192.0.2.0"]).await;
    // Asking for team-a's IP from team-b waits, naming both Services.
    lab.apply(&format!(
        "{}  loadBalancerIP: 192.0.2.0\n",
        team_service("team-b", "dns", "scoped", 53)
    ));
    let pending = eventually(WAIT, "team-b/dns to wait with SharingConflict", || async {
        condition(&lab.get_in("team-b", "dns").await?).filter(|c| c.reason == "SharingConflict")
    })
    .await;
    assert!(
        pending.message.contains("it is in use by team-a/")
            && pending.message.ends_with("not team-b/dns"),
        "{}",
        pending.message
    );
    lab.wait_pool_status("scoped", (2, 6, 0, 0)).await;
    lab.wait_pool_status("open", (1, 7, 0, 0)).await;
}
