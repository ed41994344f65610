//! The real cluster of `dev/cluster` as the end-to-end suite meets it from outside: the
//! kubeconfig, the nodes (network namespace, address, MAC, the machine's end of their link),
//! and what a user on the nodes' segment can do, since this machine sits on it as a laptop on
//! the LAN would: ask who has an IP (`arping` on `ferrolb-lan`), send HTTP to a Service IP,
//! cut a node's link. Probes run in threads and keep timestamped results, so a failover is
//! measured where a client sees it.
//!
//! The suite finds the cluster through `FERROLB_E2E_CLUSTER` (the folder `dev/cluster up`
//! printed, `/tmp/ferrolb/cluster` by default), which `dev/test` sets when it runs the
//! end-to-end step.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bridge of the nodes' segment, in the machine's namespace.
pub const LAN: &str = "ferrolb-lan";

/// One node of the cluster.
#[derive(Clone, Debug)]
pub struct RealNode {
    /// The Kubernetes Node name (`node1`, …).
    pub name: String,
    pub netns: String,
    pub ipv4: Ipv4Addr,
    /// MAC of the node's `eth0`, lower case.
    pub mac: String,
    /// The machine's end of the node's link, on the bridge.
    pub link: String,
}

/// The running cluster.
#[derive(Clone, Debug)]
pub struct RealCluster {
    pub dir: PathBuf,
    pub nodes: Vec<RealNode>,
}

fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl RealCluster {
    /// The cluster named by `FERROLB_E2E_CLUSTER`, if it is set.
    pub fn from_env() -> Option<Result<RealCluster, String>> {
        let dir = PathBuf::from(std::env::var_os("FERROLB_E2E_CLUSTER")?);
        Some(Self::open(dir))
    }

    /// The cluster whose state folder is `dir`.
    pub fn open(dir: PathBuf) -> Result<RealCluster, String> {
        let count: usize = std::fs::read_to_string(dir.join("nodes"))
            .map_err(|e| format!("{}: {e}; is the cluster up?", dir.join("nodes").display()))?
            .trim()
            .parse()
            .map_err(|e| format!("{}: {e}", dir.join("nodes").display()))?;
        let nodes = (1..=count)
            .map(|i| {
                let netns = format!("ferrolb-node{i}");
                let text = output("ip", &["-n", &netns, "-o", "link", "show", "eth0"])?;
                let mac = text
                    .split("link/ether ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .ok_or_else(|| format!("no MAC for eth0 of {netns} in {text:?}"))?
                    .to_ascii_lowercase();
                Ok(RealNode {
                    name: format!("node{i}"),
                    netns,
                    ipv4: Ipv4Addr::new(203, 0, 113, 10 + i as u8),
                    mac,
                    link: format!("n{i}-lan"),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(RealCluster { dir, nodes })
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The node whose `eth0` has this MAC.
    pub fn node_with_mac(&self, mac: &str) -> Option<&RealNode> {
        self.nodes.iter().find(|n| n.mac.eq_ignore_ascii_case(mac))
    }

    pub fn node(&self, name: &str) -> &RealNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in {:?}", self.nodes))
    }

    /// The MACs that answered `count` ARP requests for `ip`, sent from the machine. Every
    /// request is a broadcast (`-b`): arping would otherwise ask the first MAC that answered
    /// by unicast from then on, and never see another node take over.
    pub fn arping(&self, ip: &str, count: u32) -> Vec<String> {
        let out = Command::new("arping")
            .args([
                "-b",
                "-c",
                &count.to_string(),
                "-w",
                &(count + 1).to_string(),
            ])
            .args(["-I", LAN, ip])
            .output()
            .expect("arping runs");
        crate::infra::netlab::parse_arping(&String::from_utf8_lossy(&out.stdout))
    }

    /// Takes a node's link down (`up == false`) or up again, at the machine's end: the node
    /// loses the segment, the API server and every peer at once.
    pub fn set_link(&self, node: &RealNode, up: bool) {
        let state = if up { "up" } else { "down" };
        output("ip", &["link", "set", &node.link, state]).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// One HTTP GET with a deadline; the body on a 200.
pub fn http_get(address: SocketAddr, path: &str, timeout: Duration) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("receive: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {response:?}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "status: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_owned())
}

/// One probe's result.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Instant,
    pub answer: Result<String, String>,
}

/// HTTP requests to one address at a fixed rate, from a thread, until dropped or stopped.
pub struct HttpProbe {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpProbe {
    /// Starts probing `address` every `1/rate` s; each request may take up to one period.
    pub fn start(address: SocketAddr, per_second: u32) -> HttpProbe {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let period = Duration::from_secs(1) / per_second;
        let thread = {
            let (samples, stop) = (samples.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    let answer = http_get(address, "/", period.max(Duration::from_millis(500)));
                    samples.lock().expect("samples").push(Sample { at, answer });
                    next += period;
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    } else {
                        next = Instant::now();
                    }
                }
            })
        };
        HttpProbe {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples").clone()
    }

    /// Stops the probe and returns every sample.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.samples()
    }
}

impl Drop for HttpProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a run of HTTP samples says: how many failed, and the longest time without a
/// successful answer (from the last success before a failure to the next success).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSummary {
    pub sent: usize,
    pub failed: usize,
    pub longest_outage: Duration,
    pub first_failure: Option<String>,
}

pub fn summarize(samples: &[Sample]) -> ProbeSummary {
    let mut last_ok: Option<Instant> = None;
    let mut in_outage = false;
    let mut longest = Duration::ZERO;
    let mut first_failure = None;
    for s in samples {
        match &s.answer {
            Ok(_) => {
                if in_outage && let Some(ok) = last_ok {
                    longest = longest.max(s.at - ok);
                }
                in_outage = false;
                last_ok = Some(s.at);
            }
            Err(e) => {
                first_failure.get_or_insert_with(|| e.clone());
                in_outage = true;
            }
        }
    }
    if in_outage && let (Some(ok), Some(last)) = (last_ok, samples.last()) {
        longest = longest.max(last.at - ok);
    }
    ProbeSummary {
        sent: samples.len(),
        failed: samples.iter().filter(|s| s.answer.is_err()).count(),
        longest_outage: longest,
        first_failure,
    }
}

/// ARP requests for one IP broadcast from the machine ten times a second, each reply recorded
/// with the MAC that sent it. This machine's `arping` sends at most one request per second
/// (`-i` takes whole seconds), so ten of them run, started 100 ms apart; they are killed when
/// the watch is dropped.
pub struct ArpWatch {
    children: Vec<Child>,
    replies: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl ArpWatch {
    pub fn start(ip: &str) -> ArpWatch {
        let replies = Arc::new(Mutex::new(Vec::new()));
        let mut children = Vec::new();
        for _ in 0..10 {
            let mut child = Command::new("arping")
                .args(["-b", "-i", "1", "-I", LAN, ip])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("arping starts");
            let stdout = child.stdout.take().expect("arping's output");
            let sink = replies.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(mac) = crate::infra::netlab::parse_arping(&line).pop() {
                        sink.lock().expect("replies").push((Instant::now(), mac));
                    }
                }
            });
            children.push(child);
            std::thread::sleep(Duration::from_millis(100));
        }
        ArpWatch { children, replies }
    }

    pub fn replies(&self) -> Vec<(Instant, String)> {
        self.replies.lock().expect("replies").clone()
    }

    /// The first reply after `since` from a MAC other than `old`.
    pub fn first_other_after(&self, since: Instant, old: &str) -> Option<(Instant, String)> {
        self.replies()
            .into_iter()
            .filter(|(at, mac)| *at >= since && mac != old)
            .min_by_key(|(at, _)| *at)
    }
}

impl Drop for ArpWatch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64, ok: bool) -> Sample {
        Sample {
            at: base + Duration::from_millis(ms),
            answer: if ok {
                Ok("x".into())
            } else {
                Err("refused".into())
            },
        }
    }

    #[test]
    fn the_outage_runs_from_the_last_success_to_the_next() {
        let b = Instant::now();
        let s = [
            at(b, 0, true),
            at(b, 50, false),
            at(b, 100, false),
            at(b, 150, true),
            at(b, 200, true),
        ];
        let summary = summarize(&s);
        assert_eq!(summary.failed, 2);
        assert_eq!(summary.sent, 5);
        assert_eq!(summary.longest_outage, Duration::from_millis(150));
        assert_eq!(summary.first_failure.as_deref(), Some("refused"));
    }

    #[test]
    fn no_failure_means_no_outage() {
        let b = Instant::now();
        let summary = summarize(&[at(b, 0, true), at(b, 50, true)]);
        assert_eq!(summary.failed, 0);
        assert_eq!(summary.longest_outage, Duration::ZERO);
    }
}
