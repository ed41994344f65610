//! FRR as the router of the BFD suite: zebra, bgpd and bfdd of Debian's `frr` package started
//! in a lab namespace with their own configuration, sockets and pid files in a scratch
//! folder, an eBGP neighbor per node with `bfd profile`, and what `vtysh` reports of the BFD
//! peers, read from its JSON. Zebra installs the learned routes in the namespace's kernel
//! table, which is what [`Frr::kernel_route`] reads. Dropping it stops the daemons and
//! removes the folder.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::infra::process::Daemon;
use serde_json::Value;

/// Where Debian installs the daemons.
const DAEMONS: &str = "/usr/lib/frr";

/// Whether FRR is installed here.
pub fn installed() -> bool {
    Path::new(DAEMONS).join("bfdd").exists() && Path::new("/usr/bin/vtysh").exists()
}

/// A BFD peer as `show bfd peers json` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrBfdPeer {
    pub peer: IpAddr,
    pub up: bool,
    pub multihop: bool,
    /// The intervals FRR asks for and the ones the node's speaker advertised, in ms.
    pub receive_interval: u64,
    pub transmit_interval: u64,
    pub remote_receive_interval: u64,
    pub remote_transmit_interval: u64,
    pub remote_detect_multiplier: u64,
}

pub struct Frr {
    host: Host,
    dir: PathBuf,
    daemons: Vec<Daemon>,
}

impl Frr {
    /// Starts FRR in `host` as AS `local_as` with an eBGP neighbor per `(address, remote_as)`,
    /// each with BFD at `interval` × `multiplier`; returns once every daemon answers.
    pub fn start(
        host: &Host,
        local_as: u32,
        neighbors: &[(IpAddr, u32)],
        interval: Duration,
        multiplier: u8,
    ) -> Frr {
        let dir =
            std::env::temp_dir().join(format!("ferrolb-frr-{}-{}", std::process::id(), host.netns));
        std::fs::create_dir_all(&dir).unwrap();
        // The daemons drop to the frr user, which writes its sockets and pid files here.
        Command::new("chmod").arg("777").arg(&dir).status().unwrap();
        let config = dir.join("frr.conf");
        std::fs::write(
            &config,
            configuration(host, local_as, neighbors, interval, multiplier),
        )
        .unwrap();
        let mut frr = Frr {
            host: host.clone(),
            dir,
            daemons: Vec::new(),
        };
        for daemon in ["zebra", "bfdd", "bgpd"] {
            frr.spawn(daemon, &config);
            let started = std::time::Instant::now();
            while !frr.vty_answers(daemon) {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{daemon} does not answer; its log:\n{}",
                    frr.daemons.last().unwrap().output()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        frr
    }

    fn spawn(&mut self, daemon: &str, config: &Path) {
        let dir = self.dir.to_string_lossy().into_owned();
        let program = format!("{DAEMONS}/{daemon}");
        let pid = format!("{dir}/{daemon}.pid");
        let zserv = format!("{dir}/zserv.api");
        let config = config.to_string_lossy().into_owned();
        let mut args = vec![
            "netns",
            "exec",
            &self.host.netns,
            &program,
            "-u",
            "frr",
            "-g",
            "frr",
            "-f",
            &config,
            "-i",
            &pid,
            "-z",
            &zserv,
            "--vty_socket",
            &dir,
            "-P",
            "0",
            "--log",
            "stdout",
        ];
        let bfdctl = format!("{dir}/bfdd.sock");
        if daemon == "bfdd" {
            args.extend(["--bfdctl", &bfdctl]);
        }
        let process = Daemon::spawn(&format!("frr-{daemon}"), &PathBuf::from("ip"), &args, &[])
            .unwrap_or_else(|e| panic!("cannot start {daemon}: {e}"));
        self.daemons.push(process);
    }

    fn vty_answers(&self, daemon: &str) -> bool {
        self.dir.join(format!("{daemon}.vty")).exists() && self.vtysh("show version").is_some()
    }

    /// `vtysh`'s output for `command`, if it ran.
    fn vtysh(&self, command: &str) -> Option<String> {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", command])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn bfd_peers(&self) -> Vec<FrrBfdPeer> {
        let json: Value = self
            .vtysh("show bfd peers json")
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        parse_bfd_peers(&json)
    }

    /// Whether the BGP session with `neighbor` is established.
    pub fn established(&self, neighbor: IpAddr) -> bool {
        let json: Value = self
            .vtysh(&format!("show bgp neighbors {neighbor} json"))
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        json[neighbor.to_string()]["bgpState"] == "Established"
    }

    /// Whether the namespace's kernel table holds a route for exactly `prefix`.
    pub fn kernel_route(&self, prefix: &str) -> bool {
        let out = self.host.exec(&["ip", "-j", "route", "show", prefix]);
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.as_array().map(|routes| !routes.is_empty()))
            .unwrap_or(false)
    }

    /// The end of the daemons' logs.
    pub fn logs(&self) -> String {
        self.daemons
            .iter()
            .map(|d| {
                let output = d.output();
                let lines: Vec<&str> = output.lines().collect();
                format!(
                    "--- {}:\n{}",
                    d.name,
                    lines[lines.len().saturating_sub(20)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for daemon in self.daemons.iter_mut().rev() {
            daemon.terminate(Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// FRR's configuration: a BFD profile and an eBGP neighbor per node that uses it, passive (the
/// nodes connect) and taking every route without a policy.
fn configuration(
    host: &Host,
    local_as: u32,
    neighbors: &[(IpAddr, u32)],
    interval: Duration,
    multiplier: u8,
) -> String {
    let ms = interval.as_millis();
    let mut conf = format!(
        "frr defaults traditional\nhostname router\nlog stdout informational\n!\n\
         bfd\n profile lab\n  receive-interval {ms}\n  transmit-interval {ms}\n  \
         detect-multiplier {multiplier}\n !\n!\n\
         router bgp {local_as}\n bgp router-id {id}\n no bgp ebgp-requires-policy\n",
        id = host.ipv4
    );
    for (address, remote_as) in neighbors {
        conf.push_str(&format!(
            " neighbor {address} remote-as {remote_as}\n neighbor {address} passive\n \
             neighbor {address} bfd profile lab\n"
        ));
    }
    conf.push_str(" address-family ipv4 unicast\n");
    for (address, _) in neighbors {
        conf.push_str(&format!("  neighbor {address} activate\n"));
    }
    conf.push_str(" exit-address-family\n!\n");
    conf
}

fn parse_bfd_peers(json: &Value) -> Vec<FrrBfdPeer> {
    json.as_array()
        .into_iter()
        .flatten()
        .filter_map(|peer| {
            let number = |field: &str| peer[field].as_u64().unwrap_or_default();
            Some(FrrBfdPeer {
                peer: peer["peer"].as_str()?.parse().ok()?,
                up: peer["status"] == "up",
                multihop: peer["multihop"].as_bool().unwrap_or(false),
                receive_interval: number("receive-interval"),
                transmit_interval: number("transmit-interval"),
                remote_receive_interval: number("remote-receive-interval"),
                remote_transmit_interval: number("remote-transmit-interval"),
                remote_detect_multiplier: number("remote-detect-multiplier"),
            })
        })
        .collect()
}
