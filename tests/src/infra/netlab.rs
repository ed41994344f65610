//! A Layer 2 lab in network namespaces: node namespaces and a client namespace on one bridged
//! segment (optionally a second one), addressed from documentation ranges only
//! (192.0.2.0/24, 2001:db8::/64 on the first segment, 198.51.100.0/24 and 2001:db8:1::/64 on
//! the second), so test traffic never leaves the lab.
//!
//! Every lab gets a unique id, used in every name it creates, so labs of parallel tests never
//! collide; dropping the lab deletes its namespaces (which removes their veths) and bridges,
//! also when the test panicked.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// One namespace of the lab: a node or the client.
#[derive(Clone, Debug)]
pub struct Host {
    /// The network namespace.
    pub netns: String,
    /// The Kubernetes Node name (for nodes).
    pub name: String,
    /// MAC, IPv4 and IPv6 of `eth0` (first segment).
    pub mac: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    /// MAC of `eth1` (second segment), when the lab has one.
    pub mac2: Option<String>,
}

/// The lab; dropping it removes everything it created.
pub struct Lab {
    pub id: String,
    pub nodes: Vec<Host>,
    pub client: Host,
    bridges: Vec<String>,
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Host {
    /// Runs a command inside this host's namespace and returns its output, whatever its status.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {args:?} in {}: {e}", self.netns))
    }
}

impl Lab {
    /// The Kubernetes Node names of the lab's nodes, in order.
    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    /// A lab with `nodes` node namespaces and a client; `second_segment` adds a second bridge
    /// that every namespace joins with `eth1`.
    pub fn build(nodes: usize, second_segment: bool) -> Lab {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:x}{n}", std::process::id() & 0xfff);
        let mut lab = Lab {
            id: id.clone(),
            nodes: Vec::new(),
            client: Host {
                netns: String::new(),
                name: String::new(),
                mac: String::new(),
                ipv4: Ipv4Addr::UNSPECIFIED,
                ipv6: Ipv6Addr::UNSPECIFIED,
                mac2: None,
            },
            bridges: Vec::new(),
        };
        let segments = if second_segment { 2 } else { 1 };
        for segment in 0..segments {
            let bridge = format!("flb{id}b{segment}");
            run(&["ip", "link", "add", &bridge, "type", "bridge"]);
            lab.bridges.push(bridge.clone());
            // No STP delay, no multicast snooping surprises, and no address: the host itself
            // never talks on the lab segment.
            run(&[
                "ip",
                "link",
                "set",
                &bridge,
                "type",
                "bridge",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            ]);
            run(&["ip", "link", "set", &bridge, "up"]);
        }
        let host = |index: usize, role: &str| -> Host {
            let netns = format!("flb-{id}-{role}");
            run(&["ip", "netns", "add", &netns]);
            let number = if role == "client" {
                100
            } else {
                index as u8 as usize + 1
            };
            let mut host = Host {
                netns: netns.clone(),
                name: format!("lab-{id}-{role}"),
                mac: format!(
                    "02:fb:{:02x}:{:02x}:00:{:02x}",
                    n & 0xff,
                    std::process::id() & 0xff,
                    number
                ),
                ipv4: Ipv4Addr::new(192, 0, 2, number as u8),
                ipv6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, number as u16),
                mac2: None,
            };
            run(&[
                "ip", "netns", "exec", &netns, "ip", "link", "set", "lo", "up",
            ]);
            for segment in 0..segments {
                let outside = format!(
                    "flb{id}{role_short}{segment}",
                    role_short = &role[..role.len().min(3)]
                );
                let inside = format!("eth{segment}");
                let mac = if segment == 0 {
                    host.mac.clone()
                } else {
                    format!(
                        "02:fc:{:02x}:{:02x}:00:{:02x}",
                        n & 0xff,
                        std::process::id() & 0xff,
                        number
                    )
                };
                run(&[
                    "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
                    "netns", &netns,
                ]);
                run(&[
                    "ip",
                    "link",
                    "set",
                    &outside,
                    "master",
                    &format!("flb{id}b{segment}"),
                    "up",
                ]);
                let ns = |args: &[&str]| {
                    let mut full = vec!["ip", "netns", "exec", netns.as_str()];
                    full.extend_from_slice(args);
                    run(&full);
                };
                ns(&[
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("net.ipv6.conf.{inside}.accept_dad=0"),
                ]);
                ns(&["ip", "link", "set", &inside, "address", &mac, "up"]);
                let (v4, v6) = if segment == 0 {
                    (format!("{}/24", host.ipv4), format!("{}/64", host.ipv6))
                } else {
                    (
                        format!("198.51.100.{number}/24"),
                        format!("2001:db8:1::{number:x}/64"),
                    )
                };
                ns(&["ip", "addr", "add", &v4, "dev", &inside]);
                ns(&["ip", "-6", "addr", "add", &v6, "dev", &inside, "nodad"]);
                if segment == 1 {
                    host.mac2 = Some(mac);
                }
            }
            host
        };
        // Push each namespace into the lab as soon as it exists, so a failure halfway still
        // cleans up what was made.
        for index in 0..nodes {
            let role = format!("n{index}");
            let node = host(index, &role);
            lab.nodes.push(node);
        }
        lab.client = host(0, "client");
        lab
    }

    /// The MAC of a lab node by its interface MAC, for messages.
    pub fn node_by_mac(&self, mac: &str) -> Option<&Host> {
        self.nodes.iter().find(|n| {
            n.mac.eq_ignore_ascii_case(mac)
                || n.mac2
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for host in self.nodes.iter().chain([&self.client]) {
            if !host.netns.is_empty() {
                let _ = Command::new("ip")
                    .args(["netns", "del", &host.netns])
                    .output();
            }
        }
        for bridge in &self.bridges {
            let _ = Command::new("ip").args(["link", "del", bridge]).output();
        }
    }
}

/// The MACs of the ARP replies the client got to `count` requests, one a second.
pub fn arping(client: &Host, interface: &str, ip: &str, count: u32) -> Vec<String> {
    let out = client.exec(&[
        "arping",
        "-c",
        &count.to_string(),
        "-w",
        &(count + 1).to_string(),
        "-I",
        interface,
        ip,
    ]);
    parse_arping(&String::from_utf8_lossy(&out.stdout))
}

/// The MACs of the replies in arping's output (`Unicast reply from IP [MAC]  0.5ms`).
pub fn parse_arping(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("reply from"))
        .filter_map(|l| {
            let start = l.find('[')? + 1;
            let end = l.find(']')?;
            Some(l.get(start..end)?.to_ascii_lowercase())
        })
        .collect()
}

/// The MACs answering an NDP solicitation from `ndisc6` (`Target link-layer address: MAC`).
pub fn ndisc6(client: &Host, interface: &str, ip: &str) -> Vec<String> {
    let out = client.exec(&["ndisc6", "-n", "-m", "-r", "1", "-w", "1000", ip, interface]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("Target link-layer address:").nth(1))
        .map(|m| m.trim().to_ascii_lowercase())
        .collect()
}

/// A packet capture (`tcpdump`) on a lab host's interface; stopped when dropped.
pub struct Capture {
    child: std::process::Child,
    file: std::path::PathBuf,
}

impl Capture {
    /// Captures ARP and ICMPv6 frames with their Ethernet headers.
    pub fn start(host: &Host, interface: &str) -> Capture {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let file = std::env::temp_dir().join(format!(
            "ferrolb-capture-{}-{}.txt",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let out = std::fs::File::create(&file).expect("capture file");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &host.netns,
                "tcpdump",
                "--immediate-mode",
                "-l",
                "-n",
                "-e",
                "-i",
                interface,
            ])
            .args(["arp", "or", "icmp6"])
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump runs");
        // tcpdump needs a moment before it sees frames.
        std::thread::sleep(std::time::Duration::from_millis(500));
        Capture { child, file }
    }

    /// The lines captured so far.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Whether `mac` broadcast a gratuitous ARP (request or reply) for `ip`.
    pub fn saw_gratuitous_arp(&self, mac: &str, ip: &str) -> bool {
        self.lines().iter().any(|l| {
            let l = l.to_ascii_lowercase();
            l.contains(&format!(" {mac} > ff:ff:ff:ff:ff:ff"))
                && (l.contains(&format!("who-has {ip} tell {ip}"))
                    || l.contains(&format!("who-has {ip} (00:00:00:00:00:00) tell {ip}"))
                    || l.contains(&format!("reply {ip} is-at {mac}")))
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- capture ({}):\n{}",
                self.file.display(),
                self.lines().join("\n")
            );
        }
        let _ = std::fs::remove_file(&self.file);
    }
}
