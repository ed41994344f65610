//! Monitoring ferrolb as the chart sets it up, on the real cluster of `dev/cluster`: a real
//! Prometheus server (Debian's) on this machine scrapes every speaker, operator and webhook
//! pod over HTTPS with the token of a ServiceAccount bound to the chart's metrics-reader
//! ClusterRole, while a Layer 2 and a BGP Service are announced and the webhook refuses a bad
//! pool; then every query of every panel of the chart's Grafana dashboard
//! (`helm/ferrolb/dashboards/ferrolb.json`) must return series.
//!
//! Needs the cluster (`FERROLB_E2E_CLUSTER`), so ignored by a plain `cargo test`; `dev/test
//! e2e` runs it.

use std::time::Duration;

use ferrolb_tests::infra::prometheus::{Job, PrometheusServer};
use ferrolb_tests::repo_root;
use ferrolb_tests::wait::until_within;
use ferrolb_tests::worlds::e2e::lan_router::LanRouter;
use ferrolb_tests::worlds::e2e::workloads::{Cleanup, NAMESPACE, connect, jsonpath, serve};

/// The chart's reader role, as `dev/cluster` names the release (`ferrolb`).
const READER_ROLE: &str = "ferrolb-ferrolb-metrics-reader";
/// A loopback port for the Prometheus server.
const PROMETHEUS_PORT: u16 = 19090;

/// Every `expr` of every panel target of the dashboard, with Grafana's `$__rate_interval`
/// replaced by a window Prometheus understands.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = repo_root().join("helm/ferrolb/dashboards/ferrolb.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default().to_string();
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("an expr");
            queries.push((title.clone(), expr.replace("$__rate_interval", "1m")));
        }
    }
    queries
}

fn pod_ips(kubectl: &ferrolb_tests::Kubectl, component: &str) -> Vec<String> {
    jsonpath(
        kubectl,
        &[
            "pods",
            "-n",
            NAMESPACE,
            "-l",
            &format!("app.kubernetes.io/component={component}"),
            "--field-selector=status.phase=Running",
        ],
        "{.items[*].status.podIP}",
    )
    .split_whitespace()
    .map(|ip| format!("{ip}:7472"))
    .collect()
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn a_prometheus_with_the_reader_role_scrapes_every_component_and_every_dashboard_query_has_series()
{
    let (cluster, kubectl) = connect();
    let lab = LanRouter::start(&cluster);
    let mut cleanup = Cleanup::new(&kubectl);
    cleanup.apply(&format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: e2e-monitored-router\n  namespace: {NAMESPACE}\nspec:\n  myASN: 64513\n  peerASN: 64512\n  peerAddress: 203.0.113.2\n"
    ));
    serve(&mut cleanup, "e2e-mon-l2", "203.0.113.108/30", false);
    serve(&mut cleanup, "e2e-mon-bgp", "203.0.113.208/30", true);
    let refused = kubectl
        .run(
            &["apply", "-f", "-"],
            Some(&format!(
                "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: e2e-mon-bad\n  namespace: {NAMESPACE}\nspec:\n  addresses: [203.0.113.120/33]\n"
            )),
        )
        .unwrap();
    assert!(!refused.success, "the webhook admitted a /33");

    cleanup.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: e2e-prometheus\n  namespace: {NAMESPACE}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: e2e-prometheus\n  namespace: {NAMESPACE}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {READER_ROLE}}}\nsubjects:\n- {{kind: ServiceAccount, name: e2e-prometheus, namespace: {NAMESPACE}}}\n"
    ));
    let token = kubectl
        .ok(
            &["create", "token", "e2e-prometheus", "-n", NAMESPACE],
            None,
        )
        .unwrap();
    let jobs = [
        Job {
            name: "ferrolb-speaker".into(),
            targets: cluster
                .nodes
                .iter()
                .map(|n| format!("{}:7472", n.ipv4))
                .collect(),
        },
        Job {
            name: "ferrolb-operator".into(),
            targets: pod_ips(&kubectl, "operator"),
        },
        Job {
            name: "ferrolb-webhook".into(),
            targets: pod_ips(&kubectl, "webhook"),
        },
    ];
    for job in &jobs {
        assert!(!job.targets.is_empty(), "no target for {}", job.name);
    }
    let targets: usize = jobs.iter().map(|j| j.targets.len()).sum();
    let prometheus = PrometheusServer::start(PROMETHEUS_PORT, token.trim(), &jobs);
    let patience = Duration::from_secs(60);
    until_within(patience, "every target scraped", || {
        let up = prometheus.query("up == 1");
        (up.len() == targets).then_some(())
    });
    println!("Prometheus scrapes {targets} targets over HTTPS with the reader role's token");

    let queries = dashboard_queries();
    let mut empty = Vec::new();
    for (title, expr) in &queries {
        let found = until_within_or_none(patience, || {
            let series = prometheus.query(expr);
            (!series.is_empty()).then_some(series.len())
        });
        match found {
            Some(n) => println!("{title}: {n} series for {expr}"),
            None => empty.push(format!("{title}: {expr}")),
        }
    }
    drop(lab);
    assert!(
        empty.is_empty(),
        "dashboard queries without series:\n{}\nPrometheus log:\n{}",
        empty.join("\n"),
        prometheus.log()
    );
    assert!(queries.len() >= 11, "the dashboard lost panels");
}

/// Polls `check` until it gives a value or `limit` passes.
fn until_within_or_none<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
