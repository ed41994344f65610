//! Benchmarks of the Layer 2 speaker in the network-namespace lab. They print figures and
//! assert nothing about timing; the parts run one after the other:
//!
//! ```sh
//! cargo bench -p ferrolb-tests --bench layer2     # one part alone: -- failover | arp | steady
//! ```
//!
//! The client measures with `ferrolb-l2-probe` (a speaker crate binary sending ARP requests
//! at a fixed rate and timestamping every reply); API writes are counted from the API
//! server's own `apiserver_request_total`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrolb_tests::ControlPlane;
use ferrolb_tests::infra::netlab::arping;
use ferrolb_tests::wait::{eventually, eventually_within};
use ferrolb_tests::worlds::layer2::{Options, World};

const IP: &str = "192.0.2.150";

/// Percentile `p` (0..=100) of sorted values, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(name: &str, unit: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{name}: n={} p50={:.3}{unit} p99={:.3}{unit} min={:.3}{unit} max={:.3}{unit}",
        values.len(),
        percentile(&values, 50.0),
        percentile(&values, 99.0),
        values.first().copied().unwrap_or(f64::NAN),
        values.last().copied().unwrap_or(f64::NAN),
    );
}

struct Reply {
    at_ns: u128,
    mac: String,
    latency_ns: u64,
}

/// A speaker crate binary built with `--release`, as benchmarks should measure.
fn release_binary(name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "ferrolb-speaker",
                "--bins",
            ])
            .current_dir(ferrolb_tests::repo_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the release build of the speaker failed");
    });
    // The suite runs from <target>/debug/deps/.
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .parent()
        .and_then(|d| d.parent())
        .and_then(|d| d.parent())
        .unwrap();
    target.join("release").join(name)
}

/// Runs the probe in the client namespace `netns` (source address `source`) and returns the
/// replies and the number of requests sent.
fn probe(netns: &str, source: &str, rate: u32, duration: &str) -> (Vec<Reply>, u64) {
    let program = release_binary("ferrolb-l2-probe");
    let out = Command::new("ip")
        .args(["netns", "exec", netns])
        .arg(program)
        .args(["--interface", "eth0", "--source", source])
        .args([
            "--target",
            IP,
            "--rate",
            &rate.to_string(),
            "--duration",
            duration,
        ])
        .output()
        .expect("the probe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut replies = Vec::new();
    let mut sent = 0;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["reply", at, mac, latency, ..] => replies.push(Reply {
                at_ns: at.parse().unwrap(),
                mac: mac.to_string(),
                latency_ns: latency.parse().unwrap(),
            }),
            ["sent", n] => sent = n.parse().unwrap(),
            _ => {}
        }
    }
    (replies, sent)
}

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn world_answering(options: Options) -> World {
    let world = World::start(options).await;
    let nodes: Vec<String> = world.lab.nodes.iter().map(|n| n.name.clone()).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &[IP], &nodes, false).await;
    eventually("one MAC answering ARP", || async {
        let replies = arping(&world.lab.client, "eth0", IP, 2);
        (replies.len() == 2 && replies[0] == replies[1]).then_some(())
    })
    .await;
    world
}

/// One failover: the owner stopped (SIGTERM when `graceful`, else SIGKILL) while the client
/// probes at 200 requests/s. Returns the time from the signal to the first reply from
/// another MAC, in seconds.
async fn failover_trial(world: &mut World, graceful: bool) -> Option<f64> {
    let owner = world.holder(IP).await?;
    let index = world.node_index(&owner);
    let old_mac = world.lab.nodes[index].mac.clone();
    let netns = world.lab.client.netns.clone();
    let source = world.lab.client.ipv4.to_string();
    let prober = std::thread::spawn(move || probe(&netns, &source, 200, "4s"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = unix_ns();
    let speaker = world
        .speakers
        .get_mut(&owner)
        .expect("the owner runs a speaker");
    if graceful {
        speaker.terminate(Duration::from_secs(10));
    } else {
        speaker.kill();
    }
    let (replies, _) = prober.join().expect("the probe thread ends");
    world.start_speaker(index);
    // Let the restarted speaker come back and be seen as live before the next trial.
    tokio::time::sleep(Duration::from_secs(4)).await;
    replies
        .iter()
        .find(|r| r.at_ns > stopped_at && !r.mac.eq_ignore_ascii_case(&old_mac))
        .map(|r| (r.at_ns - stopped_at) as f64 / 1e9)
}

/// Options of a world whose owners never hand IPs back on their own, so each trial starts
/// from a stable owner.
fn stable_options() -> Options {
    Options {
        speaker_args: vec!["--rebalance-after".into(), "1h".into()],
        speaker_program: Some(release_binary("ferrolb-speaker")),
        ..Options::default()
    }
}

async fn failover_seen_by_the_client_after_sigkill_and_sigterm() {
    let mut world = world_answering(stable_options()).await;
    for (graceful, name) in [
        (false, "failover after SIGKILL"),
        (true, "failover after SIGTERM"),
    ] {
        let mut times = Vec::new();
        let mut missed = 0;
        for _ in 0..20 {
            match failover_trial(&mut world, graceful).await {
                Some(t) => times.push(t * 1000.0),
                None => missed += 1,
            }
        }
        summary(name, "ms", times);
        println!("{name}: trials without a new owner within the probe window: {missed}");
    }
}

async fn arp_reply_latency_at_1000_requests_per_second() {
    let world = world_answering(stable_options()).await;
    // The takeover's gratuitous ARP rounds are over by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (replies, sent) = probe(
        &world.lab.client.netns,
        &world.lab.client.ipv4.to_string(),
        1000,
        "10s",
    );
    let macs: std::collections::BTreeSet<&str> = replies.iter().map(|r| r.mac.as_str()).collect();
    println!(
        "ARP at 1000 requests/s for 10 s: sent={sent} replies={} answering MACs={macs:?}",
        replies.len()
    );
    summary(
        "ARP reply latency",
        "ms",
        replies.iter().map(|r| r.latency_ns as f64 / 1e6).collect(),
    );
}

/// Sums `apiserver_request_total` of mutating verbs, in all and for Leases.
fn api_writes() -> (f64, f64) {
    let text = ControlPlane::shared()
        .kubectl()
        .ok(&["get", "--raw", "/metrics"], None)
        .unwrap();
    let (mut all, mut leases) = (0.0, 0.0);
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let mutating = [
            "\"POST\"",
            "\"PUT\"",
            "\"PATCH\"",
            "\"DELETE\"",
            "\"APPLY\"",
        ]
        .iter()
        .any(|v| labels.contains(&format!("verb={v}")));
        if !mutating {
            continue;
        }
        let value: f64 = value.parse().unwrap_or(0.0);
        all += value;
        if labels.contains("resource=\"leases\"") {
            leases += value;
        }
    }
    (all, leases)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// 500 IPv4 and 500 IPv6 addresses from documentation ranges.
fn thousand_ips() -> Vec<String> {
    let mut ips = Vec::new();
    ips.extend((128..256).map(|n| format!("192.0.2.{n}")));
    ips.extend((0..128).map(|n| format!("198.51.100.{n}")));
    ips.extend((0..244).map(|n| format!("203.0.113.{n}")));
    ips.extend((1..=500).map(|n| format!("2001:db8::a:{n:x}")));
    ips
}

async fn api_writes_and_memory_with_1000_ips_on_3_nodes() {
    let world = World::start(Options {
        pool: vec![
            "192.0.2.128/25".into(),
            "198.51.100.0/25".into(),
            "203.0.113.0/24".into(),
            "2001:db8::a:0/112".into(),
        ],
        speaker_program: Some(release_binary("ferrolb-speaker")),
        ..Options::default()
    })
    .await;
    let nodes: Vec<String> = world.lab.nodes.iter().map(|n| n.name.clone()).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let ips = thousand_ips();
    for (i, chunk) in ips.chunks(10).enumerate() {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        world
            .service(&format!("svc-{i}"), &chunk, &nodes, false)
            .await;
    }
    let held = eventually_within(Duration::from_secs(300), "1000 IPs held", || async {
        let holders = world.holders().await;
        (holders.len() == 1000 && holders.values().all(Option::is_some)).then_some(holders)
    })
    .await;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for holder in held.values().flatten() {
        *per_node.entry(holder.clone()).or_default() += 1;
    }
    println!("1000 IPs held: {per_node:?}");
    // Past the rebalancing period and the status writes of the takeover.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let window = Duration::from_secs(60);
    let (all_before, leases_before) = api_writes();
    tokio::time::sleep(window).await;
    let (all_after, leases_after) = api_writes();
    let seconds = window.as_secs_f64();
    println!(
        "steady state over {seconds} s: {:.2} API writes/s in all, {:.2} Lease writes/s",
        (all_after - all_before) / seconds,
        (leases_after - leases_before) / seconds
    );
    for (name, speaker) in &world.speakers {
        let pid = speaker.pid().expect("running");
        println!(
            "RSS of the speaker of {name} with 1000 IPs: {:.1} MiB",
            rss_kib(pid) as f64 / 1024.0
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| part.contains(p.as_str()));
    if wanted("failover") {
        failover_seen_by_the_client_after_sigkill_and_sigterm().await;
    }
    if wanted("arp") {
        arp_reply_latency_at_1000_requests_per_second().await;
    }
    if wanted("steady") {
        api_writes_and_memory_with_1000_ips_on_3_nodes().await;
    }
}
