//! Failovers on the real cluster of `dev/cluster`, measured where a client sees them: while
//! an HTTP probe at 20 requests/s and an ARP watch run from this machine, the owner of a Layer 2
//! Service loses its speaker pod or its link, and the time until another node answers ARP, the
//! failed requests and the longest outage are printed (docs/benchmarks.md keeps the figures).
//! The operator's leader pod deleted changes no IP, and the standby serves new Services.
//!
//! The tests need the cluster (`FERROLB_E2E_CLUSTER`), so they are ignored by a plain
//! `cargo test`; `dev/test e2e` brings the cluster up and runs the real-cluster suites one
//! test at a time: `cargo test -p ferrolb-tests --test e2e_cluster_traffic --test
//! e2e_cluster_failover --test e2e_cluster_installation -- --include-ignored
//! --test-threads=1 --nocapture`. The cluster, the objects the tests deploy and the LAN router
//! come from [`ferrolb_tests::worlds::e2e`].

use std::time::{Duration, Instant};

use ferrolb_tests::Kubectl;
use ferrolb_tests::wait::until;
use ferrolb_tests::worlds::e2e::real_cluster::{
    ArpWatch, HttpProbe, RealCluster, RealNode, summarize,
};
use ferrolb_tests::worlds::e2e::workloads::{
    Cleanup, NAMESPACE, address, connect, http_ok, jsonpath, rollout_done, serve, sole_owner,
    speaker_pod_on,
};

/// Runs a closure when dropped, also while a failed test unwinds.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Prints the speakers' recent logs and the Leases, to explain a failed failover.
fn explain_failure(kubectl: &Kubectl) {
    for args in [
        &[
            "logs",
            "-n",
            NAMESPACE,
            "-l",
            "app.kubernetes.io/component=speaker",
            "--prefix",
            "--timestamps",
            "--tail=60",
        ][..],
        &["get", "leases", "-n", NAMESPACE, "-o", "wide"][..],
        &["get", "pods", "-n", NAMESPACE, "-o", "wide"][..],
    ] {
        match kubectl.ok(args, None) {
            Ok(out) => eprintln!("--- kubectl {}:\n{out}", args.join(" ")),
            Err(e) => eprintln!("--- kubectl {}: {e}", args.join(" ")),
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
    let (cluster, kubectl) = connect();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, name, addresses, false);
    let owner = sole_owner(&cluster, &ip).clone();
    http_ok(&ip);
    // The cluster is healed however the test ends, so the next test finds it whole; a failed
    // test first prints what the speakers said and what the Leases held.
    let _heal = OnDrop(Some(|| {
        if std::thread::panicking() {
            explain_failure(&kubectl);
        }
        heal(&cluster, &kubectl, &owner)
    }));
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
                (jsonpath(
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
    jsonpath(
        kubectl,
        &["lease", "-n", NAMESPACE, "ferrolb-operator"],
        "{.spec.holderIdentity}",
    )
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn the_operator_leader_pod_deleted_changes_no_ip_and_the_standby_serves_new_services() {
    let (_cluster, kubectl) = connect();
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
        let ip = jsonpath(
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
        jsonpath(
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
