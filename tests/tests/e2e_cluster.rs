//! ferrolb as users run it, on the real cluster of `dev/cluster` (kubelets, containerd,
//! kube-proxy, the chart installed by helm, the images built from the working tree), seen
//! from this machine, which sits on the nodes' segment as a laptop on the LAN would: a Deployment
//! of HTTP backends behind a LoadBalancer Service is answered by one node's ARP and reached
//! through kube-proxy; BIRD in a router namespace learns the Service IP from every speaker pod;
//! failovers are measured with an HTTP probe at 20 requests/s and an ARP watch, and their
//! figures printed; admission, Pod Security and RBAC are checked on the real objects.
//!
//! The tests need the cluster (`FERROLB_E2E_CLUSTER`), so they are ignored by a plain
//! `cargo test`; `dev/test` brings the cluster up and runs them one at a time:
//! `cargo test -p ferrolb-tests --test e2e_cluster -- --ignored --test-threads=1`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_tests::Kubectl;
use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::routers::{Neighbor, Router, RouterKind, RouterOptions};
use ferrolb_tests::wait::{PATIENCE, until};
use ferrolb_tests::worlds::e2e::real_cluster::{
    ArpWatch, HttpProbe, LAN, RealCluster, RealNode, http_get, summarize,
};

const NAMESPACE: &str = "metallb-system";

fn cluster() -> (RealCluster, Kubectl) {
    let cluster = RealCluster::from_env()
        .expect("FERROLB_E2E_CLUSTER names the cluster's folder (dev/cluster up)")
        .unwrap_or_else(|e| panic!("{e}"));
    let kubectl = Kubectl::new(cluster.kubeconfig());
    (cluster, kubectl)
}

fn get(kubectl: &Kubectl, args: &[&str], path: &str) -> String {
    let expr = format!("jsonpath={path}");
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", &expr]);
    kubectl
        .run(&all, None)
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// Deletes what a test created, in reverse order, even when it fails.
struct Cleanup<'a> {
    kubectl: &'a Kubectl,
    deletes: Vec<Vec<String>>,
}

impl<'a> Cleanup<'a> {
    fn new(kubectl: &'a Kubectl) -> Self {
        Cleanup {
            kubectl,
            deletes: Vec::new(),
        }
    }

    fn apply(&mut self, yaml: &str) {
        self.kubectl
            .ok(&["apply", "-f", "-"], Some(yaml))
            .unwrap_or_else(|e| panic!("apply failed: {e}\n{yaml}"));
        for doc in yaml.split("\n---\n") {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.trim_start().strip_prefix(key))
                    .map(|v| v.trim().to_owned())
            };
            let (Some(kind), Some(name)) = (field("kind:"), field("name:")) else {
                continue;
            };
            let namespace = field("namespace:").unwrap_or_else(|| "default".into());
            self.deletes.push(vec![
                "delete".into(),
                kind,
                name,
                "-n".into(),
                namespace,
                "--ignore-not-found".into(),
                "--wait=false".into(),
            ]);
        }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for args in self.deletes.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = self.kubectl.run(&args, None);
        }
    }
}

/// A pool with its own advertisement (Layer 2 or BGP), a Deployment of `ferrolb-whoami`
/// spread over the nodes, and a LoadBalancer Service in front of it.
fn backends_behind_a_service(name: &str, addresses: &str, bgp: bool) -> String {
    let advertisement = if bgp {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: {name}\n  namespace: {NAMESPACE}\nspec:\n  ipAddressPools: [{name}]\n"
        )
    } else {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: {name}\n  namespace: {NAMESPACE}\nspec:\n  ipAddressPools: [{name}]\n"
        )
    };
    format!(
        "apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  addresses: [{addresses}]
  autoAssign: false
---
{advertisement}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {{matchLabels: {{app: {name}}}}}}}
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: whoami
          image: ferrolb.local/whoami:1
          imagePullPolicy: Never
          ports: [{{containerPort: 8080, protocol: TCP}}]
          env:
            - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
            - {{name: NODE_NAME, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
          readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
  annotations: {{metallb.io/address-pool: {name}}}
spec:
  type: LoadBalancer
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080, protocol: TCP}}]
"
    )
}

/// Applies [`backends_behind_a_service`] (deleted by `cleanup`), then waits for its IP and its
/// ready backends; returns the IP.
fn serve(cleanup: &mut Cleanup, name: &str, addresses: &str, bgp: bool) -> String {
    cleanup.apply(&backends_behind_a_service(name, addresses, bgp));
    service_ip(cleanup.kubectl, name)
}

/// Waits for the Service's IP and for its backends to be ready; returns the IP.
fn service_ip(kubectl: &Kubectl, name: &str) -> String {
    let ip = until("the Service's IP", || {
        let ip = get(
            kubectl,
            &["service", name],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    until("3 ready backends", || {
        (get(kubectl, &["deployment", name], "{.status.readyReplicas}") == "3").then_some(())
    });
    ip
}

/// The node named in the Service's ServiceL2Status.
fn l2_status_node(kubectl: &Kubectl, service: &str) -> String {
    get(
        kubectl,
        &[
            "servicel2statuses",
            "-n",
            NAMESPACE,
            "-l",
            &format!("metallb.io/service-name={service}"),
        ],
        "{.items[*].status.node}",
    )
}

/// The node whose MAC answers ARP for `ip` alone (several answers in a row, one MAC).
fn sole_owner<'c>(cluster: &'c RealCluster, ip: &str) -> &'c RealNode {
    until("one node answering ARP", || {
        let macs = cluster.arping(ip, 3);
        let first = macs.first()?;
        (macs.len() == 3 && macs.iter().all(|m| m == first))
            .then(|| cluster.node_with_mac(first))
            .flatten()
    })
}

fn address(ip: &str) -> SocketAddr {
    format!("{ip}:80").parse().expect("an IPv4 address")
}

fn http_ok(ip: &str) -> String {
    until("an HTTP answer", || {
        http_get(address(ip), "/", Duration::from_secs(2)).ok()
    })
}

fn speaker_pod_on(kubectl: &Kubectl, node: &str) -> String {
    get(
        kubectl,
        &[
            "pods",
            "-n",
            NAMESPACE,
            "-l",
            "app.kubernetes.io/component=speaker",
            "--field-selector",
            &format!("spec.nodeName={node}"),
        ],
        "{.items[0].metadata.name}",
    )
}

fn rollout_done(kubectl: &Kubectl) {
    for target in [
        "daemonset/ferrolb-speaker",
        "deployment/ferrolb-operator",
        "deployment/ferrolb-webhook",
    ] {
        kubectl
            .ok(
                &[
                    "rollout",
                    "status",
                    "-n",
                    NAMESPACE,
                    target,
                    "--timeout=180s",
                ],
                None,
            )
            .unwrap_or_else(|e| panic!("{target} did not roll out: {e}"));
    }
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn layer2_one_node_answers_arp_and_http_reaches_the_pods_through_kube_proxy() {
    let (cluster, kubectl) = cluster();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, "e2e-l2", "203.0.113.100/30", false);
    let owner = sole_owner(&cluster, &ip);
    let named = until("the ServiceL2Status", || {
        let n = l2_status_node(&kubectl, "e2e-l2");
        (!n.is_empty()).then_some(n)
    });
    assert_eq!(
        named, owner.name,
        "ServiceL2Status names {named}, but {} answers ARP",
        owner.name
    );
    // Every backend is reached through the one node's kube-proxy.
    let mut pods = std::collections::BTreeSet::new();
    let deadline = Instant::now() + PATIENCE;
    while pods.len() < 3 {
        assert!(Instant::now() < deadline, "only reached {pods:?}");
        let body = http_ok(&ip);
        assert!(body.starts_with("pod=e2e-l2-"), "{body}");
        pods.insert(
            body.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    println!(
        "Layer 2: {ip} answered by {} ({}), HTTP reached {pods:?}",
        owner.name, owner.mac
    );
}

/// A router namespace on the nodes' segment (203.0.113.2) running BIRD, and a client namespace
/// behind it (203.0.113.130): removed when dropped.
struct RouterLab {
    router: Option<Router>,
    namespaces: Vec<String>,
}

impl RouterLab {
    fn start(cluster: &RealCluster) -> RouterLab {
        let run = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().expect("ip runs");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let mut lab = RouterLab {
            router: None,
            namespaces: Vec::new(),
        };
        for ns in ["ferrolb-router", "ferrolb-remote"] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            run(&["netns", "add", ns]);
            lab.namespaces.push(ns.to_owned());
            run(&["-n", ns, "link", "set", "lo", "up"]);
        }
        run(&[
            "link",
            "add",
            "rt-lan",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            "ferrolb-router",
        ]);
        run(&["link", "set", "rt-lan", "master", LAN, "up"]);
        run(&[
            "-n",
            "ferrolb-router",
            "addr",
            "add",
            "203.0.113.2/25",
            "dev",
            "eth0",
        ]);
        run(&["-n", "ferrolb-router", "link", "set", "eth0", "up"]);
        run(&[
            "-n",
            "ferrolb-router",
            "link",
            "add",
            "eth1",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            "ferrolb-remote",
        ]);
        run(&[
            "-n",
            "ferrolb-router",
            "addr",
            "add",
            "203.0.113.129/26",
            "dev",
            "eth1",
        ]);
        run(&["-n", "ferrolb-router", "link", "set", "eth1", "up"]);
        run(&[
            "-n",
            "ferrolb-remote",
            "addr",
            "add",
            "203.0.113.130/26",
            "dev",
            "eth0",
        ]);
        run(&["-n", "ferrolb-remote", "link", "set", "eth0", "up"]);
        run(&[
            "-n",
            "ferrolb-remote",
            "route",
            "add",
            "default",
            "via",
            "203.0.113.129",
        ]);
        let sysctl = Command::new("ip")
            .args([
                "netns",
                "exec",
                "ferrolb-router",
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ])
            .status()
            .expect("sysctl runs");
        assert!(sysctl.success());
        let host = Host {
            netns: "ferrolb-router".into(),
            name: "router".into(),
            mac: String::new(),
            ipv4: "203.0.113.2".parse().expect("address"),
            ipv6: "2001:db8::2".parse().expect("address"),
            mac2: None,
        };
        let options = RouterOptions {
            kind: RouterKind::Bird,
            local_as: 64512,
            router_id: host.ipv4,
            neighbors: cluster
                .nodes
                .iter()
                .map(|n| Neighbor::new(n.ipv4, 64513))
                .collect(),
        };
        lab.router = Some(Router::start(&host, options));
        lab
    }

    fn router(&self) -> &Router {
        self.router.as_ref().expect("the router runs")
    }

    /// HTTP from the client behind the router.
    fn http_from_behind(&self, ip: &str) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", "ferrolb-remote", "curl", "-sf", "-m", "2"])
            .arg(format!("http://{ip}/"))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for RouterLab {
    fn drop(&mut self) {
        self.router.take();
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip").args(["link", "del", "rt-lan"]).output();
    }
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn bgp_the_router_learns_the_service_ip_from_every_speaker_pod_and_http_crosses_it() {
    let (cluster, kubectl) = cluster();
    let lab = RouterLab::start(&cluster);
    let mut cleanup = Cleanup::new(&kubectl);
    cleanup.apply(&format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: e2e-router\n  namespace: {NAMESPACE}\nspec:\n  myASN: 64513\n  peerASN: 64512\n  peerAddress: 203.0.113.2\n"
    ));
    let ip = serve(&mut cleanup, "e2e-bgp", "203.0.113.200/30", true);
    let prefix = format!("{ip}/32");
    let hops = until("three next hops at the router", || {
        let hops = lab.router().kernel_nexthops(&prefix);
        (hops.len() == cluster.nodes.len()).then_some(hops)
    });
    let mut expected: Vec<_> = cluster.nodes.iter().map(|n| n.ipv4.to_string()).collect();
    let mut got: Vec<_> = hops.iter().map(ToString::to_string).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let body = until("HTTP from behind the router", || {
        lab.http_from_behind(&ip).ok()
    });
    assert!(body.starts_with("pod=e2e-bgp-"), "{body}");
    println!(
        "BGP: {prefix} via {got:?} at BIRD; from behind the router: {}",
        body.trim()
    );
}

/// Runs a closure when dropped, also while a failed test unwinds.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Runs `fault` against the owner of a Layer 2 Service while probing it, and prints what a
/// client saw: time until another node answered ARP, failed HTTP requests, longest outage.
fn failover(
    label: &str,
    name: &str,
    addresses: &str,
    fault: impl FnOnce(&RealCluster, &Kubectl, &RealNode),
    heal: impl FnOnce(&RealCluster, &Kubectl, &RealNode),
) {
    let (cluster, kubectl) = cluster();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, name, addresses, false);
    let owner = sole_owner(&cluster, &ip).clone();
    http_ok(&ip);
    // The cluster is healed however the test ends, so the next test finds it whole.
    let _heal = OnDrop(Some(|| heal(&cluster, &kubectl, &owner)));
    let watch = ArpWatch::start(&ip);
    let probe = HttpProbe::start(address(&ip), 20);
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    fault(&cluster, &kubectl, &owner);
    let (answered_at, mac) = until("another node answering ARP", || {
        watch.first_other_after(started, &owner.mac)
    });
    let successor = cluster
        .node_with_mac(&mac)
        .unwrap_or_else(|| panic!("{mac} is no node's"))
        .name
        .clone();
    // Until HTTP has answered for 5 s in a row.
    until("HTTP answering again for 5 s", || {
        let samples = probe.samples();
        let recent: Vec<_> = samples
            .iter()
            .filter(|s| s.at.elapsed() < Duration::from_secs(5))
            .collect();
        (started.elapsed() > Duration::from_secs(6)
            && !recent.is_empty()
            && recent.iter().all(|s| s.answer.is_ok()))
        .then_some(())
    });
    let samples = probe.finish();
    let after: Vec<_> = samples.into_iter().filter(|s| s.at >= started).collect();
    let summary = summarize(&after);
    let http_back = after
        .iter()
        .rev()
        .take_while(|s| s.answer.is_ok())
        .last()
        .map(|s| s.at - started);
    println!(
        "failover ({label}): ARP answered by {successor} after {} ms; HTTP: {} of {} requests failed, longest outage {} ms, HTTP OK for good after {} ms{}",
        (answered_at - started).as_millis(),
        summary.failed,
        summary.sent,
        summary.longest_outage.as_millis(),
        http_back.map(|d| d.as_millis()).unwrap_or_default(),
        summary
            .first_failure
            .map(|e| format!(" (first error: {e})"))
            .unwrap_or_default(),
    );
    assert_ne!(successor, owner.name);
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn failover_when_the_owners_speaker_pod_is_deleted() {
    failover(
        "owner's speaker pod deleted",
        "e2e-pod",
        "203.0.113.104/30",
        |_, kubectl, owner| {
            let pod = speaker_pod_on(kubectl, &owner.name);
            kubectl
                .ok(
                    &["delete", "pod", "-n", NAMESPACE, &pod, "--wait=false"],
                    None,
                )
                .expect("the speaker pod is deleted");
        },
        |_, kubectl, _| rollout_done(kubectl),
    );
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn failover_when_the_owner_node_loses_its_link() {
    failover(
        "owner node's link cut",
        "e2e-link",
        "203.0.113.108/30",
        |cluster, _, owner| cluster.set_link(owner, false),
        |cluster, kubectl, owner| {
            cluster.set_link(owner, true);
            until("the node Ready again", || {
                (get(
                    kubectl,
                    &["node", &owner.name],
                    "{.status.conditions[?(@.type==\"Ready\")].status}",
                ) == "True")
                    .then_some(())
            });
            rollout_done(kubectl);
        },
    );
}

fn operator_leader(kubectl: &Kubectl) -> String {
    get(
        kubectl,
        &["lease", "-n", NAMESPACE, "ferrolb-operator"],
        "{.spec.holderIdentity}",
    )
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn the_operator_leader_pod_deleted_changes_no_ip_and_the_standby_serves_new_services() {
    let (_cluster, kubectl) = cluster();
    let mut cleanup = Cleanup::new(&kubectl);
    let before = serve(&mut cleanup, "e2e-leader", "203.0.113.112/30", false);
    let leader = until("an operator leader", || {
        let l = operator_leader(&kubectl);
        (!l.is_empty()).then_some(l)
    });
    let started = Instant::now();
    kubectl
        .ok(
            &["delete", "pod", "-n", NAMESPACE, &leader, "--wait=false"],
            None,
        )
        .expect("the leader pod is deleted");
    // A Service created at once is served by the standby.
    cleanup.apply(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: e2e-leader-new\n  namespace: default\n  annotations: {metallb.io/address-pool: e2e-leader}\nspec:\n  type: LoadBalancer\n  ports: [{port: 80, protocol: TCP}]\n",
    );
    let new_ip = until("the new Service's IP", || {
        let ip = get(
            &kubectl,
            &["service", "e2e-leader-new"],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    let served_after = started.elapsed();
    let successor = until("a new leader", || {
        let l = operator_leader(&kubectl);
        (!l.is_empty() && l != leader).then_some(l)
    });
    assert_eq!(
        get(
            &kubectl,
            &["service", "e2e-leader"],
            "{.status.loadBalancer.ingress[0].ip}"
        ),
        before,
        "the running Service's IP changed"
    );
    assert_ne!(new_ip, before);
    println!(
        "operator leader {leader} deleted: {successor} leads; a Service created at once got {new_ip} after {} ms; the running Service kept {before}",
        served_after.as_millis()
    );
    rollout_done(&kubectl);
}

fn helm_upgrade(cluster: &RealCluster, tag: &str) -> Duration {
    let started = Instant::now();
    let out = Command::new(ferrolb_tests::repo_root().join("dev/helm"))
        .args([
            "upgrade",
            "ferrolb",
            "helm/ferrolb",
            "-n",
            NAMESPACE,
            "--reuse-values",
        ])
        .args([
            "--set",
            &format!("image.tag={tag}"),
            "--wait",
            "--timeout",
            "5m",
        ])
        .current_dir(ferrolb_tests::repo_root())
        .env("KUBECONFIG", cluster.kubeconfig())
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm upgrade to {tag:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn helm_upgrade_to_a_new_image_tag_restarts_every_component_and_drops_no_request() {
    let (cluster, kubectl) = cluster();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, "e2e-upgrade", "203.0.113.116/30", false);
    sole_owner(&cluster, &ip);
    http_ok(&ip);
    let tag = std::env::var("FERROLB_E2E_UPGRADE_TAG").unwrap_or_else(|_| "0.1.0-next".into());
    let pods = || {
        get(
            &kubectl,
            &["pods", "-n", NAMESPACE],
            "{.items[*].metadata.name}",
        )
        .split_whitespace()
        .map(str::to_owned)
        .collect::<std::collections::BTreeSet<_>>()
    };
    for target in [tag.as_str(), ""] {
        let before = pods();
        let probe = HttpProbe::start(address(&ip), 20);
        let took = helm_upgrade(&cluster, target);
        rollout_done(&kubectl);
        std::thread::sleep(Duration::from_secs(3));
        let summary = summarize(&probe.finish());
        let images = get(
            &kubectl,
            &["pods", "-n", NAMESPACE],
            "{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
        );
        // Every pod of the release is replaced (old ones may take a moment to go).
        until("every pod of the release replaced", || {
            before.is_disjoint(&pods()).then_some(())
        });
        let want = if target.is_empty() {
            ":0.1.0"
        } else {
            &format!(":{target}")
        };
        assert!(
            images.lines().all(|i| i.ends_with(want)),
            "not every pod runs {want}: {images}"
        );
        println!(
            "helm upgrade to image tag {:?}: {} s; {} of {} requests failed at 20/s, longest outage {} ms",
            if target.is_empty() { "0.1.0" } else { target },
            took.as_secs(),
            summary.failed,
            summary.sent,
            summary.longest_outage.as_millis()
        );
        assert_eq!(
            summary.failed, 0,
            "requests failed during the upgrade: {summary:?}"
        );
    }
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn pod_security_holds_only_the_speaker_to_privileged_and_the_service_accounts_can_only_what_they_need()
 {
    let (_cluster, kubectl) = cluster();
    // The API server enforces the namespace's level: under `restricted`, only the speaker's
    // pods would be refused.
    let dry = kubectl
        .run(
            &[
                "label",
                "--dry-run=server",
                "--overwrite",
                "namespace",
                NAMESPACE,
                "pod-security.kubernetes.io/enforce=restricted",
            ],
            None,
        )
        .expect("kubectl runs");
    let warnings: Vec<&str> = dry
        .stderr
        .lines()
        .filter(|l| l.contains(": ") && l.contains("ferrolb-"))
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("ferrolb-speaker")),
        "the speaker passes restricted? {}",
        dry.stderr
    );
    assert!(
        warnings
            .iter()
            .all(|w| !w.contains("ferrolb-operator") && !w.contains("ferrolb-webhook")),
        "the operator or the webhook fails restricted: {}",
        dry.stderr
    );
    let can = |account: &str, verb: &str, resource: &str| {
        let out = kubectl
            .run(
                &[
                    "auth",
                    "can-i",
                    verb,
                    resource,
                    "-n",
                    NAMESPACE,
                    &format!("--as=system:serviceaccount:{NAMESPACE}:{account}"),
                ],
                None,
            )
            .expect("kubectl runs");
        out.stdout.trim() == "yes"
    };
    let expected = [
        ("ferrolb-operator", "patch", "services/status", true),
        (
            "ferrolb-operator",
            "update",
            "leases/ferrolb-operator",
            true,
        ),
        (
            "ferrolb-operator",
            "update",
            "leases/ferrolb-speaker-node1",
            false,
        ),
        ("ferrolb-operator", "get", "secrets", false),
        ("ferrolb-speaker", "create", "servicel2statuses", true),
        ("ferrolb-speaker", "get", "secrets", true),
        ("ferrolb-speaker", "patch", "services/status", false),
        ("ferrolb-speaker", "delete", "pods", false),
        ("ferrolb-webhook", "list", "ipaddresspools", true),
        ("ferrolb-webhook", "patch", "services/status", false),
    ];
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(account, verb, resource, want)| can(account, verb, resource) != *want)
        .collect();
    assert!(
        wrong.is_empty(),
        "RBAC differs from what each component needs: {wrong:?}"
    );
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn admission_goes_through_the_webhook_pods_and_crd_rules_hold_without_them() {
    let (_cluster, kubectl) = cluster();
    let mut cleanup = Cleanup::new(&kubectl);
    cleanup.apply(&format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: e2e-admitted\n  namespace: {NAMESPACE}\nspec:\n  addresses: [203.0.113.120/30]\n  autoAssign: false\n"
    ));
    // Only the webhook knows the other pools: an overlap is its decision.
    let overlap = format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: e2e-overlapping\n  namespace: {NAMESPACE}\nspec:\n  addresses: [203.0.113.122/32]\n  autoAssign: false\n"
    );
    let denied = kubectl
        .run(&["apply", "-f", "-"], Some(&overlap))
        .expect("kubectl runs");
    assert!(!denied.success, "an overlapping pool was admitted");
    assert!(
        denied.stderr.contains("e2e-admitted") && denied.stderr.contains("203.0.113.122"),
        "the denial names neither the other pool nor the address: {}",
        denied.stderr
    );
    // Without webhook pods, the CRDs' own rules still refuse a malformed pool.
    kubectl
        .ok(
            &[
                "scale",
                "deployment/ferrolb-webhook",
                "-n",
                NAMESPACE,
                "--replicas=0",
            ],
            None,
        )
        .expect("the webhook scales down");
    until("no webhook pod", || {
        get(
            &kubectl,
            &[
                "pods",
                "-n",
                NAMESPACE,
                "-l",
                "app.kubernetes.io/component=webhook",
            ],
            "{.items[*].metadata.name}",
        )
        .is_empty()
        .then_some(())
    });
    let malformed = format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: e2e-malformed\n  namespace: {NAMESPACE}\nspec:\n  addresses: [203.0.113.300/32]\n"
    );
    let refused = kubectl
        .run(&["apply", "-f", "-"], Some(&malformed))
        .expect("kubectl runs");
    kubectl
        .ok(
            &[
                "scale",
                "deployment/ferrolb-webhook",
                "-n",
                NAMESPACE,
                "--replicas=2",
            ],
            None,
        )
        .expect("the webhook scales up");
    rollout_done(&kubectl);
    assert!(
        !refused.success,
        "a malformed pool was admitted without the webhook"
    );
    assert!(
        refused.stderr.contains("203.0.113.300")
            && !refused.stderr.contains("failed calling webhook"),
        "not refused by the CRD's rule: {}",
        refused.stderr
    );
}
