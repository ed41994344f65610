//! BGP mode in the network-namespace lab: node namespaces running the release
//! `ferrolb-speaker`, BIRD as the router in the client namespace, the suites' own etcd and
//! kube-apiserver. Four parts, each printing its figures and asserting nothing about timing:
//!
//! - `assignment`: 100 Services on 3 nodes (iBGP), one at a time: from the status PATCH that
//!   writes a Service's IP to the router holding a path for it from every node.
//! - `convergence`: with holdTime 3 s, from SIGTERM, SIGKILL or SIGSTOP of one node's speaker
//!   to the router dropping that node's path.
//! - `bfd`: with BFD at 100 ms × 3 under the sessions, from SIGSTOP of one node's speaker or
//!   the cut of its link to the router dropping that node's path ([`bfd`]).
//! - `table`: 10,000 IPv6 addresses (2,000 Services with 5 each) on one node: UPDATE messages
//!   against prefixes, time to the full table (after the last status write, and after a
//!   speaker restart), and the speaker's memory.
//!
//! The router is polled over BIRD's control socket, without starting a process per query. A
//! poll that sees the awaited state bounds the moment it arrived from above (when that query
//! ended), the poll before it from below (when that query started); both bounds are printed,
//! their gap is the resolution. The first part also captures the UPDATEs arriving at the
//! router with `tcpdump`, whose kernel timestamps do not depend on the polling; the last one
//! also counts the ServiceBGPStatus objects, which the speaker writes after the routes.
//!
//! Run: `cargo bench -p ferrolb-tests --bench bgp` (one part alone: `-- table`).

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrolb_crds::ServiceBGPStatus;
use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::infra::process::binary;
use ferrolb_tests::objects::endpoint_slices::{Backend, CONTROLLER_MAX_PER_SLICE, slices};
use ferrolb_tests::routers::Family;
use ferrolb_tests::wait::PATIENCE;
use ferrolb_tests::worlds::bgp::{BgpOptions, BgpWorld};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[path = "bgp/bfd.rs"]
mod bfd;

/// The pause between two queries for one prefix while waiting for a change.
const POLL: Duration = Duration::from_millis(2);
/// The pause between two counts of a whole table, which cost BIRD more.
const TABLE_POLL: Duration = Duration::from_millis(20);
const ASSIGNED_SERVICES: usize = 100;
const TRIALS: usize = 10;
const TABLE: usize = 10_000;
/// The suites' API server gives every LoadBalancer Service a node port, and its range
/// (30000-32767) holds 2,768: the table is 2,000 Services with 5 addresses each.
const IPS_PER_SERVICE: usize = 5;
const IN_FLIGHT: usize = 32;
const RESTARTS: usize = 3;

/// Percentile `p` (0..=100) of sorted values, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name}: n={} p50={:.1}ms p99={:.1}ms min={:.1}ms max={:.1}ms",
        ms.len(),
        percentile(&ms, 50.0),
        percentile(&ms, 99.0),
        ms.first().copied().unwrap_or(f64::NAN),
        ms.last().copied().unwrap_or(f64::NAN),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// When the router reached a state, as the polling brackets it, measured from the start.
#[derive(Clone, Copy, Debug)]
struct Seen {
    /// The start of the last query that did not see it yet.
    after: Duration,
    /// The end of the first query that saw it.
    by: Duration,
}

/// Queries `check` every `every` until it holds, timing from `start`; `None` after
/// `timeout`.
async fn poll_until(
    start: Instant,
    every: Duration,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> Option<Seen> {
    let mut after = Duration::ZERO;
    loop {
        let asked = start.elapsed();
        let holds = check();
        let answered = start.elapsed();
        if holds {
            return Some(Seen {
                after,
                by: answered,
            });
        }
        if answered > timeout {
            return None;
        }
        after = asked;
        tokio::time::sleep(every).await;
    }
}

/// Prints the upper bounds of `seen` as the figure and the lower bounds under it.
fn bounded_summary(name: &str, seen: &[Seen]) {
    summary(name, seen.iter().map(|s| ms(s.by)).collect());
    summary(
        "  (lower bounds)",
        seen.iter().map(|s| ms(s.after)).collect(),
    );
}

/// The BGP messages arriving at the router, captured by `tcpdump` in its namespace with kernel
/// timestamps: when each node's UPDATE for a prefix reached the router, independent of how
/// often the router is polled.
struct UpdateCapture {
    child: std::process::Child,
    file: std::path::PathBuf,
}

impl UpdateCapture {
    fn start(router: &Host) -> UpdateCapture {
        let file =
            std::env::temp_dir().join(format!("ferrolb-bgp-bench-{}.txt", std::process::id()));
        let out = std::fs::File::create(&file).expect("the capture file is created");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &router.netns,
                "tcpdump",
                "--immediate-mode",
                "-l",
            ])
            .args(["-n", "-tt", "-v", "-i", "eth0", "tcp", "dst", "port", "179"])
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump runs");
        // tcpdump needs a moment before it sees packets.
        std::thread::sleep(Duration::from_millis(500));
        UpdateCapture { child, file }
    }

    /// Unix time (s) of the first packet from each sender that names `prefix`, by sender.
    fn arrivals(&self, prefix: &str) -> BTreeMap<String, f64> {
        parse_arrivals(
            &std::fs::read_to_string(&self.file).unwrap_or_default(),
            prefix,
        )
    }
}

impl Drop for UpdateCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// `tcpdump -tt -v` output: a packet starts with `SECONDS.MICROS IP (...)`, its next line
/// names `SRC.PORT > DST.PORT`, and the decoded UPDATE lists each prefix on a line of its own.
fn parse_arrivals(text: &str, prefix: &str) -> BTreeMap<String, f64> {
    let mut arrivals = BTreeMap::new();
    let (mut at, mut sender) = (None, None);
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            at = line
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok());
            sender = None;
        } else if sender.is_none() && line.contains(" > ") {
            sender = line
                .split_whitespace()
                .next()
                .and_then(|a| a.rsplit_once('.'))
                .map(|(address, _)| address.to_owned());
        } else if line.trim() == prefix
            && let (Some(at), Some(sender)) = (at, &sender)
        {
            arrivals.entry(sender.clone()).or_insert(at);
        }
    }
    arrivals
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Writes the lab's Services as a user and the operator would: the Service and its
/// EndpointSlices first, the IP into its status when asked.
#[derive(Clone)]
struct Services {
    services: Api<Service>,
    endpoints: Api<EndpointSlice>,
    lab: String,
}

impl Services {
    fn new(world: &BgpWorld) -> Services {
        let client = world.world.client.clone();
        let namespace = &world.world.namespace;
        Services {
            services: Api::namespaced(client.clone(), namespace),
            endpoints: Api::namespaced(client, namespace),
            lab: world.world.lab.id.clone(),
        }
    }

    /// A LoadBalancer Service without an IP yet, and a ready endpoint on each of `nodes`.
    async fn create(&self, name: &str, nodes: &[String]) {
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"ferrolb.io/lab": self.lab}},
            "spec": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Cluster",
                "ports": [{"port": 80, "protocol": "TCP"}],
            },
        }))
        .unwrap();
        let pp = PostParams::default();
        let service = self.services.create(&pp, &service).await.unwrap();
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        for slice in slices(
            &service,
            &Backend::ready_on(&nodes),
            CONTROLLER_MAX_PER_SLICE,
        ) {
            self.endpoints.create(&pp, &slice).await.unwrap();
        }
    }

    /// Writes `ips` into the Service's status, as the operator does once it assigned them.
    async fn assign(&self, name: &str, ips: &[String]) {
        let ingress: Vec<_> = ips.iter().map(|ip| json!({"ip": ip})).collect();
        let status = json!({"status": {"loadBalancer": {"ingress": ingress}}});
        self.services
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }
}

/// How many ServiceBGPStatus objects the world's namespace holds.
async fn status_count(world: &BgpWorld) -> usize {
    Api::<ServiceBGPStatus>::namespaced(world.world.client.clone(), &world.world.namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len()
}

/// How long after `since` the namespace held `count` ServiceBGPStatus objects, polled every
/// 500 ms; `None` after 10 minutes.
async fn statuses_complete(world: &BgpWorld, count: usize, since: Instant) -> Option<Duration> {
    while since.elapsed() < Duration::from_secs(600) {
        if status_count(world).await == count {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

/// `metallb_bgp_updates_total` of every peer in the speaker metrics `text`.
fn updates_sent(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("metallb_bgp_updates_total{peer=\""))
        .filter_map(|rest| {
            let (peer, value) = rest.split_once("\"} ")?;
            Some((peer.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sends `signal` with kill(1).
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// A world of `options` whose nodes all peer with the router, advertising every Service.
async fn peered_world(options: BgpOptions) -> BgpWorld {
    let world = BgpWorld::start(options).await;
    world.advertisement("all", json!({})).await;
    world.peer_with_router().await;
    world.wait_sessions().await;
    world
}

async fn ip_assignment_to_route() {
    println!("\n## IP assignment -> route at the router");
    let world = peered_world(BgpOptions::default()).await;
    let nodes = world.node_names();
    let services = Services::new(&world);
    println!(
        "setup: {} nodes, iBGP to BIRD, {ASSIGNED_SERVICES} Services one at a time (each with \
         an endpoint on every node, created 200 ms before its IP is written), poll every {POLL:?}",
        nodes.len()
    );
    let capture = UpdateCapture::start(&world.world.lab.client);
    let mut seen = Vec::new();
    let mut wire = Vec::new();
    let mut patch = Vec::new();
    let mut query = Vec::new();
    for i in 0..ASSIGNED_SERVICES {
        let name = format!("svc-{i:03}");
        let ip = format!("198.51.100.{}", 10 + i);
        let prefix = format!("{ip}/32");
        services.create(&name, &nodes).await;
        // The speakers see the Service and its endpoints before the IP appears.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The router is watched while the PATCH is on its way: the route may arrive before
        // the API server's answer does.
        let start = Instant::now();
        let start_unix = unix_now();
        let assign = {
            let (services, name) = (services.clone(), name.clone());
            tokio::spawn(async move {
                services.assign(&name, &[ip]).await;
                start.elapsed()
            })
        };
        let at = poll_until(start, POLL, PATIENCE, || {
            let asked = Instant::now();
            let count = world.router.path_count(&prefix);
            query.push(ms(asked.elapsed()));
            count == nodes.len()
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "{prefix} never had {} paths; the router log ends with:\n{}",
                nodes.len(),
                world.router.log_tail()
            )
        });
        seen.push(at);
        patch.push(ms(assign.await.unwrap()));
        // The capture's last lines may still be on their way to the file.
        let arrivals = (0..50)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(10));
                capture.arrivals(&prefix)
            })
            .find(|a| a.len() == nodes.len());
        match arrivals {
            Some(a) => wire.push(a.values().fold(0.0_f64, |m, t| m.max(*t)) - start_unix),
            None => println!("  {prefix}: not every node's UPDATE was captured"),
        }
    }
    bounded_summary(
        "status PATCH sent -> a path from all 3 nodes at the router",
        &seen,
    );
    summary(
        "status PATCH sent -> the last node's UPDATE captured at the router",
        wire.iter().map(|s| s * 1e3).collect(),
    );
    summary("  status PATCH round trip", patch);
    summary("  one router query (control socket)", query);
    println!("load average after: {}", load_average());
}

#[derive(Clone, Copy, Debug)]
enum Stop {
    Term,
    Kill,
    Freeze,
}

async fn convergence_after_a_speaker_stops() {
    println!("\n## Convergence after one speaker stops (holdTime 3s, keepaliveTime 1s)");
    let mut world = peered_world(BgpOptions {
        hold_time: "3s".into(),
        ..BgpOptions::default()
    })
    .await;
    let nodes = world.node_names();
    let ip = "198.51.100.40";
    let prefix = format!("{ip}/32");
    world.service_everywhere("web", &[ip]).await;
    world.router.wait_paths(&prefix, 3).await;
    println!(
        "setup: 3 nodes, iBGP to BIRD, one Service advertised by all; {TRIALS} trials per \
         signal, rotating over the nodes; signal sent -> the router holds 2 paths; poll every \
         {POLL:?}"
    );
    for stop in [Stop::Term, Stop::Kill, Stop::Freeze] {
        let mut dropped = Vec::new();
        let mut back = Vec::new();
        for trial in 0..TRIALS {
            let index = trial % nodes.len();
            let node = &nodes[index];
            world.router.wait_paths(&prefix, 3).await;
            // Let the session run a little, so the trials do not start in step with it.
            tokio::time::sleep(Duration::from_millis(500 + 137 * trial as u64)).await;
            let pid = world.world.speakers[node].pid().expect("the speaker runs");
            let start = Instant::now();
            match stop {
                Stop::Term => signal(pid, "TERM"),
                Stop::Kill => signal(pid, "KILL"),
                Stop::Freeze => signal(pid, "STOP"),
            }
            let at = poll_until(start, POLL, PATIENCE, || {
                world.router.path_count(&prefix) == 2
            })
            .await
            .unwrap_or_else(|| panic!("{stop:?}: the router kept 3 paths for {prefix}"));
            dropped.push(at);
            let node_ip = std::net::IpAddr::from(world.world.lab.nodes[index].ipv4);
            let hops: Vec<_> = world
                .router
                .routes(&prefix)
                .iter()
                .map(|r| r.next_hop)
                .collect();
            if hops.contains(&node_ip) {
                println!("  {stop:?} trial {trial}: the wrong path went; next hops {hops:?}");
            }
            let resumed = Instant::now();
            match stop {
                Stop::Term => {
                    world
                        .world
                        .speakers
                        .get_mut(node)
                        .unwrap()
                        .terminate(Duration::from_secs(10));
                    world.world.start_speaker(index);
                }
                Stop::Kill => {
                    world.world.speakers.get_mut(node).unwrap().kill();
                    world.world.start_speaker(index);
                }
                Stop::Freeze => signal(pid, "CONT"),
            }
            // Coming back waits for BIRD's `error wait time` after a failed session, and
            // for the speaker's reconnection: longer than the drop itself.
            let returned = poll_until(resumed, POLL, Duration::from_secs(300), || {
                world.router.path_count(&prefix) == 3
            })
            .await
            .unwrap_or_else(|| panic!("{stop:?}: the path of {node} never came back"));
            back.push(returned);
        }
        let what = match stop {
            Stop::Term => "SIGTERM -> path withdrawn",
            Stop::Kill => "SIGKILL -> path dropped",
            Stop::Freeze => "SIGSTOP -> path dropped (hold timer)",
        };
        bounded_summary(what, &dropped);
        let restart = match stop {
            Stop::Freeze => "  SIGCONT -> path back",
            _ => "  speaker restarted -> path back",
        };
        summary(restart, back.iter().map(|s| ms(s.by)).collect());
    }
    println!("load average after: {}", load_average());
}

/// Runs `work` while printing, every 30 s, the paths the router holds of `family`.
async fn with_progress<T>(
    world: &BgpWorld,
    family: Family,
    what: &str,
    work: impl Future<Output = T>,
) -> T {
    let started = Instant::now();
    let mut work = std::pin::pin!(work);
    let mut ticker = tokio::time::interval(Duration::from_secs(30));
    ticker.tick().await;
    loop {
        tokio::select! {
            value = &mut work => return value,
            _ = ticker.tick() => println!(
                "  ... {what}: {:.0} s, {} paths at the router",
                started.elapsed().as_secs_f64(),
                world.router.bgp_path_count(family)
            ),
        }
    }
}

async fn full_table() {
    println!("\n## {TABLE} prefixes on one session");
    let mut world = peered_world(BgpOptions {
        nodes: 1,
        ipv6: true,
        ..BgpOptions::default()
    })
    .await;
    let nodes = world.node_names();
    let node = nodes[0].clone();
    let services = Services::new(&world);
    println!(
        "setup: 1 node, iBGP to BIRD over IPv4 and IPv6 sessions, {} Services with \
         {IPS_PER_SERVICE} IPv6 addresses each from 2001:db8:ffff::/112 ({TABLE} /128 routes \
         on the IPv6 session), {IN_FLIGHT} Services in flight (create, EndpointSlice, status PATCH)",
        TABLE / IPS_PER_SERVICE
    );
    let ips: Vec<String> = (1..=TABLE)
        .map(|i| std::net::Ipv6Addr::from(0x2001_0db8_ffff_u128 << 80 | i as u128).to_string())
        .collect();
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let started = Instant::now();
    let writer = {
        let (services, nodes, ips, sent) = (services.clone(), nodes.clone(), ips, sent.clone());
        tokio::spawn(async move {
            futures::stream::iter(ips.chunks(IPS_PER_SERVICE).enumerate())
                .for_each_concurrent(IN_FLIGHT, |(i, ips)| {
                    let (services, nodes, sent) = (&services, &nodes, &sent);
                    async move {
                        let name = format!("svc-{i:05}");
                        services.create(&name, nodes).await;
                        sent.lock().unwrap().push(Instant::now());
                        services.assign(&name, ips).await;
                    }
                })
                .await;
        })
    };
    with_progress(&world, Family::Ipv6, "writing Services", writer)
        .await
        .unwrap();
    let written = started.elapsed();
    let last = *sent.lock().unwrap().iter().max().unwrap();
    let first = *sent.lock().unwrap().iter().min().unwrap();
    let seen = with_progress(
        &world,
        Family::Ipv6,
        "waiting for the full table",
        poll_until(last, TABLE_POLL, Duration::from_secs(1800), || {
            world.router.bgp_path_count(Family::Ipv6) == TABLE
        }),
    )
    .await
    .expect("the router never held the full table");
    let query = Instant::now();
    world.router.bgp_path_count(Family::Ipv6);
    let query = query.elapsed();
    println!(
        "{} Services written in {:.1} s ({:.0}/s); status PATCHes sent over {:.1} s",
        TABLE / IPS_PER_SERVICE,
        written.as_secs_f64(),
        (TABLE / IPS_PER_SERVICE) as f64 / written.as_secs_f64(),
        (last - first).as_secs_f64()
    );
    println!(
        "last status PATCH sent -> {TABLE} paths at the router: {:.1} ms (after {:.1} ms; one \
         table count takes {:.1} ms)",
        ms(seen.by),
        ms(seen.after),
        ms(query)
    );
    let pid = world.world.speakers[&node].pid().expect("the speaker runs");
    let (rss, hwm) = memory_mib(pid);
    println!(
        "speaker with {TABLE} prefixes, built up one Service at a time: VmRSS {rss:.1} MiB, \
         VmHWM {hwm:.1} MiB"
    );
    println!(
        "UPDATEs sent while the Services arrived: {:?}",
        updates_sent(&world.metrics(0))
    );

    let services_count = TABLE / IPS_PER_SERVICE;
    println!(
        "last status PATCH sent -> all {services_count} ServiceBGPStatus objects written: {:?}",
        statuses_complete(&world, services_count, last).await
    );

    let mut restarted = Instant::now();
    for restart in 0..RESTARTS {
        let statuses_before = status_count(&world).await;
        let pid = world.world.speakers[&node].pid().expect("the speaker runs");
        let start = Instant::now();
        signal(pid, "TERM");
        let withdrawn = poll_until(start, TABLE_POLL, PATIENCE, || {
            world.router.bgp_path_count(Family::Ipv6) == 0
        })
        .await
        .expect("the stopping speaker withdrew every route");
        world
            .world
            .speakers
            .get_mut(&node)
            .unwrap()
            .terminate(Duration::from_secs(60));
        let exited = start.elapsed();
        let statuses_after = status_count(&world).await;
        let start = Instant::now();
        restarted = start;
        world.world.start_speaker(0);
        let mut first_path = None;
        let full = poll_until(start, TABLE_POLL, Duration::from_secs(600), || {
            let asked = start.elapsed();
            let count = world.router.bgp_path_count(Family::Ipv6);
            if count > 0 && first_path.is_none() {
                first_path = Some(asked);
            }
            count == TABLE
        })
        .await
        .expect("the restarted speaker advertised the full table");
        let pid = world.world.speakers[&node].pid().expect("the speaker runs");
        let (rss, hwm) = memory_mib(pid);
        println!(
            "restart {}: SIGTERM -> 0 paths {:.1} ms, process gone after {:.1} s; speaker \
             started -> first path {:.1} ms, -> {TABLE} paths {:.1} ms (after {:.1} ms); \
             VmRSS {rss:.1} MiB, VmHWM {hwm:.1} MiB",
            restart + 1,
            ms(withdrawn.by),
            exited.as_secs_f64(),
            ms(first_path.unwrap_or_default()),
            ms(full.by),
            ms(full.after),
        );
        println!(
            "  UPDATEs sent by the restarted speaker: {:?}; ServiceBGPStatus objects before \
             SIGTERM {statuses_before}, left when the process was gone {statuses_after}",
            updates_sent(&world.metrics(0))
        );
    }
    println!(
        "last restart -> all {services_count} ServiceBGPStatus objects written: {:?}",
        statuses_complete(&world, services_count, restarted).await
    );
    println!("load average after: {}", load_average());
}

#[tokio::main]
async fn main() {
    check_parse_arrivals();
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| part.contains(p.as_str()));
    println!(
        "speaker: {}; load average before: {}",
        binary("ferrolb-speaker", "ferrolb-speaker").display(),
        load_average()
    );
    if wanted("assignment") {
        ip_assignment_to_route().await;
    }
    if wanted("convergence") {
        convergence_after_a_speaker_stops().await;
    }
    if wanted("bfd") {
        bfd::convergence_with_bfd().await;
    }
    if wanted("table") {
        full_table().await;
    }
}

/// The capture parser against `tcpdump -v` output of this shape, checked before anything is
/// measured.
fn check_parse_arrivals() {
    let text = "1795341187.100000 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 80)
    192.0.2.11.40001 > 192.0.2.1.179: Flags [P.], cksum 0x0 (correct), seq 1:29, ack 1, win 502, length 28: BGP
\tUpdate Message (2), length: 28
\t  Updated routes:
\t    198.51.100.10/32
1795341187.200000 IP (tos 0x0, ttl 64, id 2, offset 0, flags [DF], proto TCP (6), length 80)
    192.0.2.12.40002 > 192.0.2.1.179: Flags [P.], cksum 0x0 (correct), seq 1:29, ack 1, win 502, length 28: BGP
\t  Updated routes:
\t    198.51.100.11/32
\t    198.51.100.10/32
";
    let arrivals = parse_arrivals(text, "198.51.100.10/32");
    assert_eq!(
        arrivals,
        BTreeMap::from([
            ("192.0.2.11".to_owned(), 1795341187.1),
            ("192.0.2.12".to_owned(), 1795341187.2)
        ])
    );
}
