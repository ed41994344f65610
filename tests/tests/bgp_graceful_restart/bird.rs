//! BIRD 2 as a graceful restart helper: one passive iBGP neighbor with `graceful restart on`,
//! started in a lab namespace with its configuration, control socket and log in a scratch
//! folder, and a [`Probe`] that asks BIRD over its control socket, as often as every few
//! milliseconds, whether the neighbor's session is Established and whether the Service route
//! is there, fresh or stale. BIRD 2.0 does not mark stale routes in `show route`; the
//! neighbor's `Neighbor graceful restart active` in `show protocols all` says that its routes
//! are stale: from the session's loss until the End-of-RIB of the next one, or the restart
//! time running out.

use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::infra::process::Daemon;

/// The BIRD protocol of the neighbor.
const PROTOCOL: &str = "node";

/// A running BIRD; dropping it stops BIRD and removes its folder.
pub struct GrBird {
    pub daemon: Daemon,
    dir: PathBuf,
    socket: PathBuf,
}

/// The Service route as the router holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteState {
    Absent,
    Fresh,
    Stale,
}

/// One look at the router.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Duration,
    pub established: bool,
    pub route: RouteState,
}

impl GrBird {
    /// Starts BIRD in `host` as AS `asn` with the neighbor `neighbor` in the same AS.
    pub fn start(host: &Host, asn: u32, neighbor: &str) -> GrBird {
        let dir = std::env::temp_dir().join(format!(
            "ferrolb-gr-bird-{}-{}",
            std::process::id(),
            host.netns
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("bird.conf");
        std::fs::write(&config, configuration(host, asn, neighbor)).unwrap();
        let socket = dir.join("bird.ctl");
        let daemon = Daemon::spawn(
            "bird-graceful-restart",
            &PathBuf::from("ip"),
            &[
                "netns",
                "exec",
                &host.netns,
                "bird",
                "-f",
                "-c",
                &config.to_string_lossy(),
                "-s",
                &socket.to_string_lossy(),
                "-P",
                &dir.join("bird.pid").to_string_lossy(),
            ],
            &[],
        )
        .expect("bird starts");
        let bird = GrBird {
            daemon,
            dir,
            socket,
        };
        let started = Instant::now();
        while UnixStream::connect(&bird.socket).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "BIRD does not answer; its output:\n{}",
                bird.daemon.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bird
    }

    /// A connection to BIRD's control socket.
    pub fn probe(&self) -> Probe {
        Probe::connect(&self.socket)
    }

    /// BIRD's log lines about the neighbor.
    pub fn log(&self) -> String {
        self.daemon.output()
    }
}

impl Drop for GrBird {
    fn drop(&mut self) {
        self.daemon.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn configuration(host: &Host, asn: u32, neighbor: &str) -> String {
    format!(
        r#"router id {id};
log stderr all;
timeformat protocol "%T";
protocol device {{ scan time 1; }}
protocol bgp {PROTOCOL} {{
  local as {asn};
  neighbor {neighbor} as {asn};
  direct;
  passive on;
  error wait time 1, 5;
  graceful restart on;
  debug {{ states, events }};
  ipv4 {{ import all; export none; }};
}}
"#,
        id = host.ipv4,
    )
}

/// An open control connection to BIRD.
pub struct Probe {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Probe {
    fn connect(socket: &Path) -> Probe {
        let stream = UnixStream::connect(socket).expect("BIRD's control socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut probe = Probe {
            reader: BufReader::new(stream),
            writer,
        };
        probe.reply(); // the greeting
        probe
    }

    /// BIRD's reply to `command`, without the reply codes.
    pub fn ask(&mut self, command: &str) -> String {
        self.writer
            .write_all(format!("{command}\n").as_bytes())
            .expect("BIRD takes the command");
        self.reply()
    }

    fn reply(&mut self) -> String {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return text;
            }
            let coded = line.len() > 4 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit);
            if !coded {
                text.push_str(line.strip_prefix(' ').unwrap_or(&line));
                continue;
            }
            text.push_str(&line[5..]);
            if line.as_bytes()[4] == b' ' {
                return text;
            }
        }
    }

    /// Whether the neighbor's session is Established, and the state of `prefix`.
    pub fn sample(&mut self, prefix: &str, since: Instant) -> Sample {
        let protocols = self.ask(&format!("show protocols all {PROTOCOL}"));
        let route = self.ask(&format!("show route {prefix}"));
        Sample {
            at: since.elapsed(),
            established: session_established(&protocols),
            route: route_state(&route, graceful_restart_active(&protocols)),
        }
    }

    /// The import withdrawals BIRD counted on the neighbor's channel, if it shows them.
    pub fn import_withdraws(&mut self) -> Option<u64> {
        let text = self.ask(&format!("show protocols all {PROTOCOL}"));
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("Import withdraws:"))?;
        line.split_whitespace().nth(2)?.parse().ok()
    }
}

fn session_established(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with(PROTOCOL) && l.contains("Established"))
}

/// BIRD keeps the neighbor's routes as stale (`show protocols all`).
fn graceful_restart_active(text: &str) -> bool {
    text.contains("Neighbor graceful restart active")
}

/// The neighbor's path in `show route PREFIX`, stale while `restart_active`.
fn route_state(text: &str, restart_active: bool) -> RouteState {
    if !text.lines().any(|l| l.contains(&format!("[{PROTOCOL} "))) {
        RouteState::Absent
    } else if restart_active {
        RouteState::Stale
    } else {
        RouteState::Fresh
    }
}

#[test]
fn routes_are_read_fresh_stale_or_absent() {
    let route = "Table master4:\n198.51.100.10/32     unicast [node 20:01:02] * (100) [i]\n";
    assert_eq!(route_state(route, false), RouteState::Fresh);
    assert_eq!(route_state(route, true), RouteState::Stale);
    assert_eq!(route_state("Network not found\n", true), RouteState::Absent);
    let restarting = "node BGP --- start 21:00:30 Passive Socket: Connection closed
  BGP state:          Passive
    Neighbor graceful restart active
    Restart timer:    3.991/-
";
    assert!(graceful_restart_active(restarting));
    assert!(!session_established(restarting));
    let up = "Name Proto Table State Since Info\nnode BGP --- up 20:01:02 Established\n";
    assert!(session_established(up));
    assert!(!session_established("node BGP --- start 20:01:02 Active\n"));
}
