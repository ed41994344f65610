//! The installation on the real cluster of `dev/cluster`: a helm upgrade to a new image tag
//! restarts every component, and no request to a Service fails except one cut by the Service
//! IP moving between nodes (a connection open on the old node cannot continue on the new
//! one, whose kernel knows nothing of it); Pod Security admits only
//! the speaker as privileged and each service account can do only what it needs; admission
//! goes through the webhook's pods, and the CRDs' own rules hold while no webhook pod runs.
//!
//! The tests need the cluster (`FERROLB_E2E_CLUSTER`), so they are ignored by a plain
//! `cargo test`; `dev/test e2e` brings the cluster up and runs the real-cluster suites one
//! test at a time: `cargo test -p ferrolb-tests --test e2e_cluster_traffic --test
//! e2e_cluster_failover --test e2e_cluster_installation -- --include-ignored
//! --test-threads=1 --nocapture`. The cluster, the objects the tests deploy and the LAN router
//! come from [`ferrolb_tests::worlds::e2e`].

use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_tests::wait::until;
use ferrolb_tests::worlds::e2e::real_cluster::{
    ArpWatch, HttpProbe, RealCluster, Sample, summarize,
};
use ferrolb_tests::worlds::e2e::workloads::{
    Cleanup, NAMESPACE, address, connect, http_ok, jsonpath, rollout_done, serve, sole_owner,
};

/// When the IP moved: each reply from another MAC than the one before it.
fn moves(watch: &ArpWatch) -> Vec<Instant> {
    let mut replies = watch.replies();
    replies.sort_by_key(|(at, _)| *at);
    replies
        .windows(2)
        .filter(|pair| pair[0].1 != pair[1].1)
        .map(|pair| pair[1].0)
        .collect()
}

/// The failed requests that no move of the IP explains: none sent within a second of one.
fn unexplained_failures(samples: &[Sample], moves: &[Instant]) -> Vec<String> {
    samples
        .iter()
        .filter(|s| s.answer.is_err())
        .filter(|s| {
            !moves.iter().any(|m| {
                let apart = if *m > s.at { *m - s.at } else { s.at - *m };
                apart <= Duration::from_secs(1)
            })
        })
        .map(|s| s.answer.clone().unwrap_err())
        .collect()
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
fn helm_upgrade_to_a_new_image_tag_restarts_every_component_and_fails_only_requests_an_ip_move_cuts()
 {
    let (cluster, kubectl) = connect();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, "e2e-upgrade", "203.0.113.116/30", false);
    sole_owner(&cluster, &ip);
    http_ok(&ip);
    let tag = std::env::var("FERROLB_E2E_UPGRADE_TAG").unwrap_or_else(|_| "0.1.0-next".into());
    let pods = || {
        jsonpath(
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
        let watch = ArpWatch::start(&ip);
        let probe = HttpProbe::start(address(&ip), 20);
        let took = helm_upgrade(&cluster, target);
        rollout_done(&kubectl);
        std::thread::sleep(Duration::from_secs(3));
        let samples = probe.finish();
        let summary = summarize(&samples);
        let moved = moves(&watch);
        drop(watch);
        let unexplained = unexplained_failures(&samples, &moved);
        let images = jsonpath(
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
            "helm upgrade to image tag {:?}: {} s; the IP moved {} times; {} of {} requests failed at 20/s ({} not within 1 s of a move), longest outage {} ms",
            if target.is_empty() { "0.1.0" } else { target },
            took.as_secs(),
            moved.len(),
            summary.failed,
            summary.sent,
            unexplained.len(),
            summary.longest_outage.as_millis()
        );
        assert!(
            unexplained.is_empty(),
            "requests failed during the upgrade with no move of the IP near them: {unexplained:?} ({summary:?})"
        );
    }
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn pod_security_holds_only_the_speaker_to_privileged_and_the_service_accounts_can_only_what_they_need()
 {
    let (_cluster, kubectl) = connect();
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
    let (_cluster, kubectl) = connect();
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
        jsonpath(
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
