//! Operator restarts under churn on the local control plane: 1,000 LoadBalancer Services hold
//! IPs, then the operator is stopped ten times, alternately by SIGKILL and SIGTERM; while it is
//! down, 20 Services are deleted and 20 new ones created, and a new operator process starts.
//! After each restart, every Service must hold an IP again, and every Service that kept its
//! request and its pool must hold the IP it had: the figure that matters is the number of IP
//! changes (0). Also printed: how long each new operator took until every Service had an IP.
//!
//! Run: `cargo bench -p ferrolb-tests --bench operator_restarts` (`FERROLB_RESTART_SERVICES=N`
//! and `FERROLB_RESTARTS=N` for other counts).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferrolb_tests::ControlPlane;
use ferrolb_tests::infra::process::{self, Daemon};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, ListParams, PostParams};

const NAMESPACE: &str = "restarts";
const IN_FLIGHT: usize = 16;
const CHURN: usize = 20;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn service(name: &str) -> Service {
    ferrolb_tests::objects::scale_services::ipv6_load_balancer(NAMESPACE, name)
}

/// Every Service's first ingress IP, or `None` while it has none.
async fn ips(api: &Api<Service>) -> BTreeMap<String, Option<String>> {
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .map(|svc| {
            let ip = ferrolb_crds::service_ingress::ingress_ips(&svc)
                .first()
                .map(ToString::to_string);
            (svc.metadata.name.unwrap_or_default(), ip)
        })
        .collect()
}

/// Waits until every Service holds an IP; returns them.
async fn all_with_ips(api: &Api<Service>, expected: usize) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let now = ips(api).await;
        if now.len() == expected && now.values().all(Option::is_some) {
            return now.into_iter().map(|(n, ip)| (n, ip.unwrap())).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {expected} Services hold an IP after 600 s",
            now.values().filter(|ip| ip.is_some()).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create(api: &Api<Service>, names: impl Iterator<Item = String>) {
    futures::stream::iter(names)
        .for_each_concurrent(IN_FLIGHT, |name| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &service(&name))
                    .await
                    .unwrap();
            }
        })
        .await;
}

fn start_operator(control_plane: &ControlPlane, round: usize) -> Daemon {
    process::operator(
        &format!("operator-{round}"),
        &control_plane.kubeconfig,
        "127.0.0.1:0",
        "warn",
        &["--identity", &format!("operator-{round}")],
    )
    .unwrap()
}

#[tokio::main]
async fn main() {
    let services = count("FERROLB_RESTART_SERVICES", 1000);
    let restarts = count("FERROLB_RESTARTS", 10);
    let control_plane = ferrolb_tests::objects::scale_services::control_plane_with_pool(
        NAMESPACE,
        "restarts",
        "2001:db8:5ca2::/112",
    )
    .await;
    let api: Api<Service> = Api::namespaced(control_plane.client().await.unwrap(), NAMESPACE);

    let mut operator = start_operator(&control_plane, 0);
    create(&api, (0..services).map(|i| format!("svc-{i:05}"))).await;
    let mut held = all_with_ips(&api, services).await;
    println!(
        "{services} Services hold IPs; {restarts} restarts with {CHURN} deletions and {CHURN} creations while the operator is down ({})",
        control_plane.versions()
    );

    let mut next = services;
    let mut changed = 0;
    let mut converged = Vec::new();
    for round in 1..=restarts {
        let how = if round % 2 == 1 { "SIGKILL" } else { "SIGTERM" };
        if round % 2 == 1 {
            operator.kill();
        } else {
            operator.terminate(Duration::from_secs(10));
        }
        let gone: Vec<String> = held
            .keys()
            .step_by(held.len() / CHURN)
            .take(CHURN)
            .cloned()
            .collect();
        for name in &gone {
            api.delete(name, &DeleteParams::default()).await.unwrap();
            held.remove(name);
        }
        create(&api, (next..next + CHURN).map(|i| format!("svc-{i:05}"))).await;
        next += CHURN;
        let started = Instant::now();
        operator = start_operator(&control_plane, round);
        let now = all_with_ips(&api, held.len() + CHURN).await;
        let took = started.elapsed();
        let moved = held
            .iter()
            .filter(|(name, ip)| now.get(*name) != Some(*ip))
            .count();
        changed += moved;
        converged.push(took);
        println!(
            "  restart {round:>2} after {how}: every Service holds an IP {:>6.2} s after start; {moved} of {} kept Services changed IP",
            took.as_secs_f64(),
            held.len()
        );
        held = now;
    }
    operator.terminate(Duration::from_secs(10));
    converged.sort();
    println!(
        "IP changes of Services that kept their request and pool: {changed}; all IPs back after a restart: median {:.2} s, max {:.2} s",
        converged[converged.len() / 2].as_secs_f64(),
        converged.last().map_or(0.0, Duration::as_secs_f64)
    );
    assert_eq!(changed, 0, "Services changed IP across restarts");
}
