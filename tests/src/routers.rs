//! A real BGP router for the BGP suites: BIRD 2 or GoBGP, started in a lab namespace (the
//! client's, in practice) with its own configuration, control socket and pid file in a
//! temporary folder, passive towards every configured neighbor so that the nodes' speakers
//! connect in. It accepts IPv4 and IPv6 unicast on every session and exports nothing.
//!
//! Its state comes back as typed values: sessions per neighbor, the BGP paths of a prefix with
//! their attributes (parsed from `birdc` text or `gobgp -j` JSON), and, for BIRD, the route it
//! installs in its namespace's kernel table, where `merge paths` folds equal paths into one
//! route with a next hop per advertising node: the proof of ECMP. BIRD can also run BFD towards
//! a neighbor ([`Neighbor::with_bfd`]), taking the BGP session down with the BFD session, and
//! report its BFD sessions. Dropping the router kills the daemon and removes its folder.
//!
//! Each daemon's configuration and output format live in its own module (`bird`,
//! `gobgp`); this one holds the types the suites see and the process plumbing both share.
//! [`standin_speaker`] runs gobgpd as a node's speaker instead, to prove the router harness
//! without ferrolb.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;

use self::bird::Bird;
use crate::infra::netlab::Host;
use crate::infra::process::Daemon;
use crate::wait::{self, PATIENCE};

mod bird;
pub(crate) mod gobgp;
pub mod standin_speaker;

/// Which daemon plays the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterKind {
    Bird,
    Gobgp,
}

/// The router's AS, identity and peers.
#[derive(Clone, Debug)]
pub struct RouterOptions {
    pub kind: RouterKind,
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<Neighbor>,
}

impl RouterOptions {
    /// iBGP in `asn` from `router` to the IPv4 address of every node, without passwords: the
    /// usual lab topology.
    pub fn ibgp(kind: RouterKind, asn: u32, router: &Host, nodes: &[Host]) -> Self {
        RouterOptions {
            kind,
            local_as: asn,
            router_id: router.ipv4,
            neighbors: nodes.iter().map(|n| Neighbor::new(n.ipv4, asn)).collect(),
        }
    }
}

/// One peer of the router; `remote_as` equal to the router's AS makes the session iBGP.
#[derive(Clone, Debug)]
pub struct Neighbor {
    pub address: IpAddr,
    pub remote_as: u32,
    /// The TCP MD5 signature key (RFC 2385).
    pub password: Option<String>,
    /// The TTL for a peer more than one hop away; a directly connected peer when `None`.
    pub multihop: Option<u8>,
    /// BFD under the session (BIRD only).
    pub bfd: Option<BfdOptions>,
}

/// The BFD session a router runs towards a neighbor: the BGP session goes down with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdOptions {
    /// The router's minimum receive and transmit intervals.
    pub interval: Duration,
    pub multiplier: u8,
}

/// A BFD session as the router reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdSession {
    pub neighbor: IpAddr,
    /// The daemon's word for the state: `Up`, `Down`, `Init`, `AdminDown`.
    pub state: String,
    /// The interval the router transmits at.
    pub interval: Duration,
    /// The time without a packet after which the router declares the session down.
    pub timeout: Duration,
}

impl BfdSession {
    pub fn up(&self) -> bool {
        self.state == "Up"
    }
}

impl Neighbor {
    pub fn new(address: impl Into<IpAddr>, remote_as: u32) -> Self {
        Neighbor {
            address: address.into(),
            remote_as,
            password: None,
            multihop: None,
            bfd: None,
        }
    }

    /// The same neighbor with BFD under its session.
    pub fn with_bfd(mut self, interval: Duration, multiplier: u8) -> Self {
        self.bfd = Some(BfdOptions {
            interval,
            multiplier,
        });
        self
    }

    pub fn with_password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }
}

/// A session as the router sees it; `state` is the daemon's own word for it (`Established`,
/// `Passive`, `active`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    pub established: bool,
    pub state: String,
}

/// The ORIGIN attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

/// One BGP path the router learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// As the daemon prints it: `203.0.113.10/32`, `2001:db8:ffff::10/128`.
    pub prefix: String,
    pub next_hop: IpAddr,
    /// The neighbor the path came from.
    pub from: IpAddr,
    pub as_path: Vec<u32>,
    pub local_pref: Option<u32>,
    pub communities: Vec<(u16, u16)>,
    pub large_communities: Vec<(u32, u32, u32)>,
    pub origin: Origin,
}

/// An address family of unicast routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The family of a prefix or address written as text.
    pub fn of(prefix: &str) -> Family {
        if prefix.contains(':') {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }
}

/// A running router; dropping it kills the daemon and removes its folder.
pub struct Router {
    host: Host,
    dir: PathBuf,
    control: Control,
    daemon: Daemon,
}

/// How the running daemon is asked about its state.
enum Control {
    Bird(Bird),
    Gobgp,
}

/// A fresh folder for one daemon's files.
pub(crate) fn scratch_dir(role: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferrolb-{role}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
    dir
}

/// The last `lines` lines a daemon printed, for failure messages.
pub(crate) fn log_tail(daemon: &Daemon, lines: usize) -> String {
    let output = daemon.output();
    let all: Vec<&str> = output.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Starts `program args` inside `host`'s namespace (`ip netns exec` execs it, so the daemon
/// is the child itself and dies with it).
pub(crate) fn spawn_in(host: &Host, name: &str, program: &str, args: &[&str]) -> Daemon {
    let mut full = vec!["netns", "exec", host.netns.as_str(), program];
    full.extend_from_slice(args);
    Daemon::spawn(name, &PathBuf::from("ip"), &full, &[])
        .unwrap_or_else(|e| panic!("cannot start {program} in {}: {e}", host.netns))
}

/// Asks `ready` until it holds after a daemon started, panicking with the end of its log
/// after [`PATIENCE`].
pub(crate) fn wait_ready(daemon: &Daemon, what: &str, mut ready: impl FnMut() -> bool) {
    wait::until_explained(
        PATIENCE,
        &format!("{what} to come up"),
        || ready().then_some(()),
        || format!("its log ends with:\n{}", log_tail(daemon, 40)),
    );
}

/// A password as a quoted literal for BIRD's or gobgpd's configuration; BIRD's strings have
/// no escapes, so quotes and backslashes are refused.
pub(crate) fn quoted(password: &str) -> String {
    assert!(
        !password.contains(['"', '\\', '\n']),
        "password {password:?} cannot be written into a router configuration: it holds a quote, \
         a backslash or a newline"
    );
    format!("\"{password}\"")
}

impl Router {
    /// Starts the router in `host`'s namespace and returns once its control interface answers
    /// (sessions come up later, when the peers connect).
    pub fn start(host: &Host, options: RouterOptions) -> Router {
        let dir = scratch_dir("bgp-router");
        let (daemon, control) = match options.kind {
            RouterKind::Bird => {
                let (daemon, bird) = Bird::start(host, &dir, &options);
                (daemon, Control::Bird(bird))
            }
            RouterKind::Gobgp => {
                let config = gobgp::router_config(&options);
                (gobgp::start(host, &dir, "gobgpd", &config), Control::Gobgp)
            }
        };
        Router {
            host: host.clone(),
            dir,
            control,
            daemon,
        }
    }

    pub fn kind(&self) -> RouterKind {
        match self.control {
            Control::Bird(_) => RouterKind::Bird,
            Control::Gobgp => RouterKind::Gobgp,
        }
    }

    /// Every configured neighbor's session.
    pub fn sessions(&self) -> BTreeMap<IpAddr, SessionState> {
        match &self.control {
            Control::Bird(bird) => bird.sessions(&self.host),
            Control::Gobgp => gobgp::sessions(&self.host),
        }
    }

    /// The paths the router holds for exactly `prefix` (`203.0.113.10/32`), one per neighbor
    /// that advertised it.
    pub fn routes(&self, prefix: &str) -> Vec<RouteEntry> {
        match &self.control {
            Control::Bird(bird) => bird.routes(&self.host, prefix),
            Control::Gobgp => {
                let mut routes = gobgp::all_routes(&self.host, Family::of(prefix));
                routes.retain(|r| r.prefix == prefix);
                routes
            }
        }
    }

    /// How many paths the router holds for exactly `prefix`. BIRD is asked over its control
    /// socket without starting a process, so this is cheap enough to poll every few
    /// milliseconds.
    pub fn path_count(&self, prefix: &str) -> usize {
        match &self.control {
            Control::Bird(bird) => bird.path_count(prefix),
            Control::Gobgp => self.routes(prefix).len(),
        }
    }

    /// How many BGP paths the router holds in `family`; BIRD counts them itself, which stays
    /// fast with tens of thousands of paths.
    pub fn bgp_path_count(&self, family: Family) -> usize {
        match &self.control {
            Control::Bird(bird) => bird.bgp_path_count(family),
            Control::Gobgp => gobgp::all_routes(&self.host, family).len(),
        }
    }

    /// Every BGP path of `family`.
    pub fn all_routes(&self, family: Family) -> Vec<RouteEntry> {
        match &self.control {
            Control::Bird(bird) => bird.all_routes(&self.host, family),
            Control::Gobgp => gobgp::all_routes(&self.host, family),
        }
    }

    /// The next hops of the kernel route BIRD installed for exactly `prefix` in the router's
    /// namespace: one per advertising node when the paths were merged into an ECMP route.
    pub fn kernel_nexthops(&self, prefix: &str) -> Vec<IpAddr> {
        assert_eq!(
            self.kind(),
            RouterKind::Bird,
            "only the BIRD router installs routes in the kernel"
        );
        let family = match Family::of(prefix) {
            Family::Ipv4 => "-4",
            Family::Ipv6 => "-6",
        };
        let out = self
            .host
            .exec(&["ip", family, "-j", "route", "show", prefix]);
        parse_kernel_nexthops(&serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    }

    /// The router's BFD sessions (BIRD only).
    pub fn bfd_sessions(&self) -> Vec<BfdSession> {
        match &self.control {
            Control::Bird(bird) => bird.bfd_sessions(&self.host),
            Control::Gobgp => panic!("only the BIRD router runs BFD"),
        }
    }

    /// TCP segments the router's namespace dropped for a missing, unexpected or wrong MD5
    /// signature: a peer with the wrong password shows up here and nowhere else.
    pub fn tcp_md5_rejections(&self) -> u64 {
        let out = self.host.exec(&["cat", "/proc/net/netstat"]);
        parse_tcp_md5_rejections(&String::from_utf8_lossy(&out.stdout))
    }

    /// The last lines of the daemon's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.daemon, 40)
    }

    /// Asks `check` until it returns `Some`; after [`PATIENCE`] panics naming `what`, with
    /// the sessions and the end of the daemon's log.
    pub async fn eventually<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&Router) -> Option<T>,
    ) -> T {
        let explain = || {
            format!(
                "sessions: {:?}; the {:?} log ends with:\n{}",
                self.sessions(),
                self.kind(),
                self.log_tail()
            )
        };
        wait::eventually_explained(PATIENCE, what, || std::future::ready(check(self)), explain)
            .await
    }

    /// Waits until the session with every one of `neighbors` is established.
    pub async fn wait_established(&self, neighbors: &[IpAddr]) {
        let what = format!("established sessions with {neighbors:?}");
        self.eventually(&what, |router| {
            let sessions = router.sessions();
            neighbors
                .iter()
                .all(|n| sessions.get(n).is_some_and(|s| s.established))
                .then_some(())
        })
        .await;
    }

    /// Waits until the router holds exactly `count` paths for `prefix`, and returns them.
    pub async fn wait_paths(&self, prefix: &str, count: usize) -> Vec<RouteEntry> {
        let what = format!("{count} paths for {prefix}");
        self.eventually(&what, |router| {
            Some(router.routes(prefix)).filter(|r| r.len() == count)
        })
        .await
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.daemon.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The gateways of `ip -j route show PREFIX`: `nexthops` of a multipath route, or the single
/// `gateway`.
fn parse_kernel_nexthops(json: &Value) -> Vec<IpAddr> {
    let mut gateways = Vec::new();
    for route in json.as_array().into_iter().flatten() {
        let hops = route["nexthops"].as_array().cloned().unwrap_or_default();
        for hop in hops.iter().chain([route]) {
            if let Some(gateway) = hop["gateway"].as_str().and_then(|a| a.parse().ok()) {
                gateways.push(gateway);
            }
        }
    }
    gateways
}

/// The sum of the TCP MD5 drop counters in `/proc/net/netstat` (a `TcpExt:` line of names,
/// then one of values).
fn parse_tcp_md5_rejections(text: &str) -> u64 {
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let [names, values, ..] = lines.as_slice() else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(name, _)| {
            matches!(
                *name,
                "TCPMD5NotFound" | "TCPMD5Unexpected" | "TCPMD5Failure"
            )
        })
        .filter_map(|(_, value)| value.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_nexthops_come_from_multipath_and_single_routes() {
        let multipath: Value = serde_json::from_str(
            r#"[{"dst":"203.0.113.10","protocol":"bird","nexthops":[
            {"gateway":"192.0.2.1","dev":"eth0"},{"gateway":"192.0.2.2","dev":"eth0"}]}]"#,
        )
        .unwrap();
        assert_eq!(parse_kernel_nexthops(&multipath).len(), 2);
        let single: Value =
            serde_json::from_str(r#"[{"dst":"203.0.113.10","gateway":"192.0.2.1"}]"#).unwrap();
        assert_eq!(
            parse_kernel_nexthops(&single),
            vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn md5_drop_counters_are_summed() {
        let text = "TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure\n\
                    TcpExt: 4 1 0 2\n";
        assert_eq!(parse_tcp_md5_rejections(text), 3);
    }
}
