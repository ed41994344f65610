//! A BGP speaker standing in for ferrolb's on a lab node, so the router harness
//! ([`crate::routers`]) can be proven on its own: gobgpd in the node's namespace, connecting
//! out to the router like ferrolb's speaker does and never listening, with routes injected
//! through its API by the `gobgp` client.
//!
//! gobgpd waits 5 to 10 s before its first connection attempt (its minimum connect-retry), so
//! a session with a stand-in takes that long to come up.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::infra::netlab::Host;
use crate::infra::process::Daemon;
use crate::routers::{Family, Origin, gobgp, log_tail, quoted, scratch_dir};

/// Whom the stand-in peers with, and how.
#[derive(Clone, Debug)]
pub struct StandinOptions {
    pub local_as: u32,
    pub router: IpAddr,
    pub router_as: u32,
    /// The TCP MD5 signature key.
    pub password: Option<String>,
}

/// A route the stand-in advertises.
#[derive(Clone, Debug)]
pub struct Announcement {
    pub prefix: String,
    /// The node's own address of the prefix's family when `None`.
    pub next_hop: Option<IpAddr>,
    pub origin: Origin,
    /// Sent to iBGP peers only, as BGP wants.
    pub local_pref: Option<u32>,
    pub communities: Vec<(u16, u16)>,
    pub large_communities: Vec<(u32, u32, u32)>,
}

impl Announcement {
    /// `prefix` with no attribute beyond the mandatory ones (origin IGP).
    pub fn new(prefix: &str) -> Self {
        Announcement {
            prefix: prefix.to_owned(),
            next_hop: None,
            origin: Origin::Igp,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
        }
    }
}

/// A running stand-in; dropping it kills gobgpd (which ends its session) and removes its folder.
pub struct StandinSpeaker {
    host: Host,
    dir: PathBuf,
    daemon: Daemon,
}

impl StandinSpeaker {
    /// Starts gobgpd on `node` with one neighbor, the router, for IPv4 and IPv6 unicast.
    pub fn start(node: &Host, options: StandinOptions) -> StandinSpeaker {
        // `port = -1`: no listener, the session is always opened from the node.
        let mut config = format!(
            r#"[global.config]
  as = {local}
  router-id = "{id}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{router}"
    peer-as = {remote}
"#,
            local = options.local_as,
            id = node.ipv4,
            router = options.router,
            remote = options.router_as,
        );
        if let Some(password) = &options.password {
            let _ = writeln!(config, "    auth-password = {}", quoted(password));
        }
        config.push_str("  [neighbors.timers.config]\n    connect-retry = 5\n");
        config.push_str(gobgp::unicast_families());
        let dir = scratch_dir("bgp-standin");
        let daemon = gobgp::start(node, &dir, &format!("gobgpd-{}", node.netns), &config);
        StandinSpeaker {
            host: node.clone(),
            dir,
            daemon,
        }
    }

    /// Adds `route` to the stand-in's table, which advertises it to the router.
    pub fn announce(&self, route: &Announcement) {
        let family = Family::of(&route.prefix);
        let next_hop = route.next_hop.unwrap_or(match family {
            Family::Ipv4 => self.host.ipv4.into(),
            Family::Ipv6 => self.host.ipv6.into(),
        });
        let mut args: Vec<String> = ["global", "rib", "add", route.prefix.as_str()]
            .map(str::to_owned)
            .to_vec();
        let origin = match route.origin {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        };
        args.extend(["nexthop".into(), next_hop.to_string()]);
        args.extend(["origin".into(), origin.into()]);
        if let Some(local_pref) = route.local_pref {
            args.extend(["local-pref".into(), local_pref.to_string()]);
        }
        if !route.communities.is_empty() {
            let list: Vec<String> = route
                .communities
                .iter()
                .map(|(asn, value)| format!("{asn}:{value}"))
                .collect();
            args.extend(["community".into(), list.join(",")]);
        }
        if !route.large_communities.is_empty() {
            let list: Vec<String> = route
                .large_communities
                .iter()
                .map(|(asn, one, two)| format!("{asn}:{one}:{two}"))
                .collect();
            args.extend(["large-community".into(), list.join(",")]);
        }
        self.rib(&args, family);
    }

    /// Withdraws `prefix`.
    pub fn withdraw(&self, prefix: &str) {
        let args = ["global", "rib", "del", prefix].map(str::to_owned);
        self.rib(&args, Family::of(prefix));
    }

    fn rib(&self, args: &[String], family: Family) {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend([
            "-a",
            match family {
                Family::Ipv4 => "ipv4",
                Family::Ipv6 => "ipv6",
            },
        ]);
        let out = gobgp::client(&self.host, &args);
        assert!(
            out.status.success(),
            "gobgp {} in {} failed: {}{}",
            args.join(" "),
            self.host.netns,
            String::from_utf8_lossy(&out.stderr),
            log_tail(&self.daemon, 20)
        );
    }

    /// Whether the stand-in's own session with the router is established.
    pub fn established(&self) -> bool {
        let out = gobgp::client(&self.host, &["neighbor", "-j"]);
        let peers = serde_json::from_slice(&out.stdout).unwrap_or_default();
        gobgp::parse_sessions(&peers)
            .values()
            .any(|s| s.established)
    }
}

impl Drop for StandinSpeaker {
    fn drop(&mut self) {
        self.daemon.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
