//! A router on the real cluster's LAN, for the BGP suite: a namespace on the nodes' segment
//! (203.0.113.2, joined to the `ferrolb-lan` bridge) running BIRD with a passive session to
//! every node, and a client namespace behind it (203.0.113.130) that reaches Service IPs only
//! through the routes BIRD learnt. Everything is removed when dropped.

use std::process::Command;

use super::real_cluster::{LAN, RealCluster};
use crate::infra::netlab::Host;
use crate::routers::{Neighbor, Router, RouterKind, RouterOptions};

/// A router namespace on the nodes' segment (203.0.113.2) running BIRD, and a client namespace
/// behind it (203.0.113.130): removed when dropped.
pub struct LanRouter {
    router: Option<Router>,
    namespaces: Vec<String>,
}

impl LanRouter {
    /// Builds the namespaces and starts BIRD, peering with every node.
    pub fn start(cluster: &RealCluster) -> LanRouter {
        Self::start_with(cluster, None)
    }

    /// The same, with every session signed with TCP MD5 under `password` when given.
    pub fn start_with(cluster: &RealCluster, password: Option<&str>) -> LanRouter {
        let run = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().expect("ip runs");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let mut lab = LanRouter {
            router: None,
            namespaces: Vec::new(),
        };
        for ns in ["ferrolb-router", "ferrolb-remote"] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            run(&["netns", "add", ns]);
            lab.namespaces.push(ns.to_owned());
            run(&["-n", ns, "link", "set", "lo", "up"]);
        }
        run(&[
            "link",
            "add",
            "rt-lan",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            "ferrolb-router",
        ]);
        run(&["link", "set", "rt-lan", "master", LAN, "up"]);
        run(&[
            "-n",
            "ferrolb-router",
            "addr",
            "add",
            "203.0.113.2/25",
            "dev",
            "eth0",
        ]);
        run(&["-n", "ferrolb-router", "link", "set", "eth0", "up"]);
        run(&[
            "-n",
            "ferrolb-router",
            "link",
            "add",
            "eth1",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            "ferrolb-remote",
        ]);
        run(&[
            "-n",
            "ferrolb-router",
            "addr",
            "add",
            "203.0.113.129/26",
            "dev",
            "eth1",
        ]);
        run(&["-n", "ferrolb-router", "link", "set", "eth1", "up"]);
        run(&[
            "-n",
            "ferrolb-remote",
            "addr",
            "add",
            "203.0.113.130/26",
            "dev",
            "eth0",
        ]);
        run(&["-n", "ferrolb-remote", "link", "set", "eth0", "up"]);
        run(&[
            "-n",
            "ferrolb-remote",
            "route",
            "add",
            "default",
            "via",
            "203.0.113.129",
        ]);
        let sysctl = Command::new("ip")
            .args([
                "netns",
                "exec",
                "ferrolb-router",
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ])
            .status()
            .expect("sysctl runs");
        assert!(sysctl.success());
        let host = Host {
            netns: "ferrolb-router".into(),
            name: "router".into(),
            mac: String::new(),
            ipv4: "203.0.113.2".parse().expect("address"),
            ipv6: "2001:db8::2".parse().expect("address"),
            mac2: None,
        };
        let options = RouterOptions {
            kind: RouterKind::Bird,
            local_as: 64512,
            router_id: host.ipv4,
            neighbors: cluster
                .nodes
                .iter()
                .map(|n| {
                    let neighbor = Neighbor::new(n.ipv4, 64513);
                    match password {
                        Some(password) => neighbor.with_password(password),
                        None => neighbor,
                    }
                })
                .collect(),
        };
        lab.router = Some(Router::start(&host, options));
        lab
    }

    pub fn router(&self) -> &Router {
        self.router.as_ref().expect("the router runs")
    }

    /// HTTP from the client behind the router.
    pub fn http_from_behind(&self, ip: &str) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", "ferrolb-remote", "curl", "-sf", "-m", "2"])
            .arg(format!("http://{ip}/"))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for LanRouter {
    fn drop(&mut self) {
        self.router.take();
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip").args(["link", "del", "rt-lan"]).output();
    }
}
