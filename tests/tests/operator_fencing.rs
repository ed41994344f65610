//! Two operator replicas, and a leader paused (SIGSTOP) past its Lease with Service writes
//! still queued from its term: the standby takes over and moves every Service to another
//! pool, and when the old leader resumes (SIGCONT) none of its queued writes lands, and it
//! publishes no event. A watch records every version of every Service, so even a write the new
//! leader reverts at once is seen.
//!
//! The old leader reaches the API server over a [`SlowLink`] (100 ms each way, as a distant
//! control plane would be): a write it starts as it resumes reaches the API server before the
//! answer to its first Lease read can tell it that it lost the lead, so a leader that only
//! learns of the end of its term from the Lease lands such writes every time, and only a
//! leader that refuses to write past its own renew deadline lands none.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrolb_tests::ControlPlane;
use ferrolb_tests::infra::process::{self, Daemon, QUICK_ELECTION};
use ferrolb_tests::infra::slow_link::SlowLink;
use ferrolb_tests::wait::eventually;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};

/// Enough Services that the old leader, writing eight at a time over its slow link, is still
/// writing when it is stopped.
const SERVICES: usize = 250;
/// The names of the test's Services begin with it (the API server's own `kubernetes` does not).
const PREFIX: &str = "svc-";
const POOL_ANNOTATION: &str = "metallb.io/ip-allocated-from-pool";
/// How many Services the old leader writes before it is stopped.
const STOP_AFTER: usize = 8;
/// How long after a renewal of its Lease the old leader is stopped: once the answer has
/// crossed the link, well before its next attempt (a second later).
const RENEWAL_TO_STOP: Duration = Duration::from_millis(400);
/// How many Services at least the old leader must still have to write when it is stopped.
const BACKLOG: usize = 50;
/// How long the old leader's link holds each byte, each way.
const LINK_DELAY: Duration = Duration::from_millis(100);
/// How long the resumed old leader is watched.
const AFTER_RESUME: Duration = Duration::from_secs(6);

/// What a user sees of one version of a Service.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    ips: Vec<IpAddr>,
    pool: Option<String>,
}

fn seen(svc: &Service) -> Seen {
    Seen {
        ips: svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ingress| {
                ingress
                    .iter()
                    .filter_map(|i| i.ip.as_deref()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default(),
        pool: svc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(POOL_ANNOTATION))
            .cloned(),
    }
}

fn in_range(ip: &IpAddr, prefix: &str) -> bool {
    ip.to_string().starts_with(prefix)
}

/// Every version of every Service the watch delivered, with when it arrived.
type Versions = Arc<Mutex<Vec<(Instant, String, Seen)>>>;

fn record_versions(client: kube::Client) -> (Versions, tokio::task::JoinHandle<()>) {
    let versions: Versions = Arc::default();
    let log = versions.clone();
    let task = tokio::spawn(async move {
        let api: Api<Service> = Api::namespaced(client, "default");
        let mut events = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Ok(Some(event)) = events.try_next().await {
            if let watcher::Event::Apply(svc) | watcher::Event::InitApply(svc) = event {
                let name = svc.metadata.name.clone().unwrap_or_default();
                if !name.starts_with(PREFIX) {
                    continue;
                }
                log.lock().unwrap().push((Instant::now(), name, seen(&svc)));
            }
        }
    });
    (versions, task)
}

/// The latest version of each Service recorded so far.
fn latest(versions: &Versions) -> BTreeMap<String, Seen> {
    versions
        .lock()
        .unwrap()
        .iter()
        .map(|(_, name, s)| (name.clone(), s.clone()))
        .collect()
}

fn operator(kubeconfig: &std::path::Path, identity: &str, extra: &[&str]) -> Daemon {
    let mut args = vec!["--identity", identity];
    args.extend_from_slice(&QUICK_ELECTION);
    args.extend_from_slice(extra);
    process::operator(identity, kubeconfig, "127.0.0.1:0", "info", &args).unwrap()
}

fn signal(daemon: &Daemon, signal: &str) {
    let pid = daemon.pid().expect("the operator runs");
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

fn pool(control_plane: &ControlPlane, name: &str, addresses: &str) {
    control_plane
        .kubectl()
        .ok(
            &["apply", "-f", "-"],
            Some(&format!(
                "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {name}, namespace: metallb-system}}\nspec: {{addresses: [{addresses}]}}\n"
            )),
        )
        .unwrap();
}

async fn holder(client: &kube::Client) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), "metallb-system")
        .get_opt("ferrolb-operator")
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

/// The events `instance` reported in namespace default, with the version of each.
async fn events_of(client: &kube::Client, instance: &str) -> BTreeMap<String, String> {
    Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reporting_instance.as_deref() == Some(instance))
        .map(|e| {
            (
                e.metadata.name.unwrap_or_default(),
                e.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect()
}

async fn lease_version(client: &kube::Client) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), "metallb-system")
        .get_opt("ferrolb-operator")
        .await
        .ok()
        .flatten()?
        .metadata
        .resource_version
}

/// Waits until every Service has one IP starting with `prefix`, from `pool`.
async fn wait_all_in(versions: &Versions, prefix: &str, pool: &str) -> BTreeMap<String, Seen> {
    eventually(
        &format!("all {SERVICES} Services in pool {pool} ({prefix}…)"),
        || async {
            let now = latest(versions);
            (now.len() == SERVICES
                && now.values().all(|s| {
                    s.ips.len() == 1
                        && in_range(&s.ips[0], prefix)
                        && s.pool.as_deref() == Some(pool)
                }))
            .then_some(now)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_paused_past_its_lease_lands_no_write_when_it_resumes() {
    let control_plane = tokio::task::spawn_blocking(|| ControlPlane::start().unwrap())
        .await
        .unwrap();
    control_plane.install_crds().unwrap();
    control_plane
        .kubectl()
        .ensure_namespace("metallb-system")
        .unwrap();
    let client = control_plane.client().await.unwrap();
    pool(&control_plane, "before", "192.0.2.0/24");

    // The Services exist before any operator runs, so the first leader's full pass queues a
    // write for each of them at once.
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(0..SERVICES)
        .map(|i| {
            let services = services.clone();
            async move {
                let svc: Service = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("{PREFIX}{i:03}")},
                    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
                }))
                .unwrap();
                services.create(&PostParams::default(), &svc).await.unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let (versions, recorder) = record_versions(client.clone());

    // The old leader writes eight Services at a time, over the slow link; it is stopped once
    // it is under way.
    let link = SlowLink::start(&control_plane.kubeconfig, LINK_DELAY)
        .await
        .unwrap();
    let mut old = operator(&link.kubeconfig, "op-old", &["--write-concurrency", "8"]);
    eventually("the old leader's first writes", || async {
        (latest(&versions)
            .values()
            .filter(|s| !s.ips.is_empty())
            .count()
            >= STOP_AFTER)
            .then_some(())
    })
    .await;
    // The standby follows.
    let mut new = operator(&control_plane.kubeconfig, "op-new", &[]);
    // The old leader is stopped between two renewals of its Lease, so that when it resumes it
    // can only learn that its term is over from its own clock or by reading the Lease again.
    let before = lease_version(&client).await;
    eventually("the old leader to renew its Lease", || async {
        let now = lease_version(&client).await;
        (now != before && holder(&client).await.as_deref() == Some("op-old")).then_some(())
    })
    .await;
    tokio::time::sleep(RENEWAL_TO_STOP).await;
    signal(&old, "STOP");
    let stopped = Instant::now();
    // Let the watch deliver what landed before the stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = latest(&versions)
        .values()
        .filter(|s| !s.ips.is_empty())
        .count();
    assert!(
        written + BACKLOG <= SERVICES,
        "the old leader wrote {written} of {SERVICES} Services before it stopped: no backlog left to test"
    );
    eprintln!("old leader stopped with {written} of {SERVICES} Services written");

    // The standby takes over once the Lease expires, and moves every Service to another pool.
    eventually("the standby to take the Lease", || async {
        (holder(&client).await.as_deref() == Some("op-new")).then_some(())
    })
    .await;
    eprintln!("standby took over {:?} after the stop", stopped.elapsed());
    wait_all_in(&versions, "192.0.2.", "before").await;
    pool(&control_plane, "after", "198.51.100.0/24");
    control_plane
        .kubectl()
        .ok(
            &["delete", "ipaddresspool", "before", "-n", "metallb-system"],
            None,
        )
        .unwrap();
    let settled = wait_all_in(&versions, "198.51.100.", "after").await;
    let old_events = events_of(&client, "op-old").await;

    // The old leader resumes, its queue still full of writes for pool "before".
    let resumed = Instant::now();
    eprintln!(
        "resuming the old leader {:?} after the stop",
        stopped.elapsed()
    );
    signal(&old, "CONT");
    tokio::time::sleep(AFTER_RESUME).await;

    let landed: Vec<(Duration, String, Seen)> = versions
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, name, s)| *at >= resumed && settled.get(name) != Some(s))
        .map(|(at, name, s)| (at.duration_since(resumed), name.clone(), s.clone()))
        .collect();
    assert!(
        landed.is_empty(),
        "{} writes landed after the old leader resumed, the first: {:?}",
        landed.len(),
        landed.first()
    );
    assert_eq!(latest(&versions), settled);
    assert_eq!(
        events_of(&client, "op-old").await,
        old_events,
        "events of the old leader were written after it resumed"
    );
    assert_eq!(holder(&client).await.as_deref(), Some("op-new"));
    let log = old.output();
    assert!(log.contains("lost the lead: stopped writing"), "{log}");
    eprintln!(
        "old leader after resuming: dropped queued writes: {}",
        log.contains("dropping queued Service writes")
    );

    recorder.abort();
    old.terminate(Duration::from_secs(5));
    new.terminate(Duration::from_secs(5));
}
