//! End-to-end allocation at scale on the local control plane: 10,000 LoadBalancer Services
//! (IPv6, `allocateLoadBalancerNodePorts: false`, so the node port range sets no limit) are
//! created as fast as the API server takes them (16 requests in flight), and the time from
//! each Service's creation (its create call answered) to the moment a watch sees its IP in
//! status is measured, along with the total time and the operator's peak resident memory. In
//! the same run, the round trip of a bare status PATCH is sampled as the floor to compare
//! with: on the quiet server before the burst, and during the burst, when the API server (on
//! the same two cores as everything else) is as loaded as the operator's own writes are.
//!
//! Run: `cargo bench -p ferrolb-tests --bench operator_scale` (`FERROLB_SCALE_SERVICES=N` for
//! another count).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

const DEFAULT_SERVICES: usize = 10_000;
const IN_FLIGHT: usize = 16;
const FLOOR_SAMPLES: usize = 200;
const NAMESPACE: &str = "scale";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn service(name: &str) -> Service {
    ferrolb_tests::objects::scale_services::ipv6_load_balancer(NAMESPACE, name)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let services: usize = std::env::var("FERROLB_SCALE_SERVICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SERVICES);
    let control_plane = ferrolb_tests::objects::scale_services::control_plane_with_pool(
        NAMESPACE,
        "scale",
        "2001:db8:5ca1::/112",
    )
    .await;
    let client = control_plane.client().await.unwrap();
    let api: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);

    let mut operator = ferrolb_tests::infra::process::operator(
        "operator",
        &control_plane.kubeconfig,
        "127.0.0.1:0",
        "warn",
        &[],
    )
    .unwrap();

    // The floor: a bare status PATCH on a Service the operator leaves alone.
    let floor_api: Api<Service> = Api::namespaced(client.clone(), "default");
    let plain: Service = serde_json::from_value(
        json!({"metadata": {"name": "floor"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    floor_api
        .create(&PostParams::default(), &plain)
        .await
        .unwrap();
    let mut floor = Vec::new();
    for i in 0..FLOOR_SAMPLES {
        let patch = json!({"status": {"conditions": [{"type": "bench.example/Floor", "status": "True", "reason": "Sample", "message": i.to_string(), "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        let t = Instant::now();
        floor_api
            .patch_status("floor", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        floor.push(t.elapsed().as_secs_f64() * 1e3);
    }
    floor.sort_by(f64::total_cmp);

    // Watch for IPs before creating anything.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let created_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watch_seen = seen.clone();
    let watch = tokio::spawn(
        watcher::watcher(api.clone(), watcher::Config::default()).try_for_each(move |event| {
            let seen = watch_seen.clone();
            async move {
                if let watcher::Event::Apply(svc) | watcher::Event::InitApply(svc) = event {
                    let has_ip = svc
                        .status
                        .and_then(|s| s.load_balancer)
                        .and_then(|lb| lb.ingress)
                        .is_some_and(|i| !i.is_empty());
                    if has_ip {
                        seen.lock()
                            .unwrap()
                            .entry(svc.metadata.name.unwrap_or_default())
                            .or_insert_with(Instant::now);
                    }
                }
                Ok(())
            }
        }),
    );

    // The floor under load: sequential status PATCHes for as long as the burst lasts.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let loaded_api = floor_api.clone();
    let loaded_floor = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut i = 0;
        while !*stop_rx.borrow() {
            let patch = json!({"status": {"conditions": [{"type": "bench.example/Floor", "status": "True", "reason": "Loaded", "message": i.to_string(), "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
            let t = Instant::now();
            loaded_api
                .patch_status("floor", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            i += 1;
        }
        samples
    });

    let started = Instant::now();
    futures::stream::iter(0..services)
        .for_each_concurrent(IN_FLIGHT, |i| {
            let api = api.clone();
            let sent = sent.clone();
            let created_at = created_at.clone();
            async move {
                let name = format!("svc-{i:05}");
                sent.lock().unwrap().insert(name.clone(), Instant::now());
                api.create(&PostParams::default(), &service(&name))
                    .await
                    .unwrap();
                created_at.lock().unwrap().insert(name, Instant::now());
            }
        })
        .await;
    let created = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.lock().unwrap().len() < services {
        assert!(
            Instant::now() < deadline,
            "only {} of {services} Services got an IP",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    watch.abort();
    let _ = stop_tx.send(true);
    let mut loaded = loaded_floor.await.unwrap();
    loaded.sort_by(f64::total_cmp);
    let rss = operator.pid().map(peak_rss_kib).unwrap_or(0);
    operator.terminate(Duration::from_secs(5));

    let seen = seen.lock().unwrap();
    let since = |from: &HashMap<String, Instant>| {
        let mut ms: Vec<f64> = from
            .iter()
            .map(|(name, t0)| seen[name].saturating_duration_since(*t0).as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let latencies = since(&created_at.lock().unwrap());
    let from_request = since(&sent.lock().unwrap());
    let p99 = percentile(&latencies, 0.99);
    println!(
        "{services} LoadBalancer Services (IPv6, no node ports), {IN_FLIGHT} create requests in flight, {} on loopback",
        control_plane.versions()
    );
    println!(
        "  creates accepted in          {:>8.2} s ({:.0}/s)",
        created.as_secs_f64(),
        services as f64 / created.as_secs_f64()
    );
    println!(
        "  all IPs in status after      {:>8.2} s",
        total.as_secs_f64()
    );
    let line = |label: &str, samples: &[f64]| {
        println!(
            "  {label:<28} p50 {:>7.1} ms   p99 {:>7.1} ms",
            percentile(samples, 0.5),
            percentile(samples, 0.99)
        );
    };
    line("created -> IP in status", &latencies);
    line("create sent -> IP in status", &from_request);
    line("status PATCH, quiet server", &floor);
    line(
        &format!("status PATCH, during burst ({})", loaded.len()),
        &loaded,
    );
    println!(
        "  p99 / quiet floor p50        {:>8.1}x",
        p99 / percentile(&floor, 0.5)
    );
    println!(
        "  p99 / burst floor p50        {:>8.1}x",
        p99 / percentile(&loaded, 0.5)
    );
    println!(
        "  operator peak RSS            {:>8.1} MiB",
        rss as f64 / 1024.0
    );
}
