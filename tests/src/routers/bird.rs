//! BIRD 2 as the router: its configuration (a passive session per neighbor, and kernel
//! protocols whose `merge paths` turns equal BGP paths into one multipath kernel route), and the
//! text `birdc` prints for protocols and routes, parsed into sessions and paths. BIRD's output
//! names a neighbor by its protocol (`peer0`, ...), so the names are kept to map them back.
//! Path counts are asked over the control socket directly, without starting `birdc`, so that
//! benchmarks can poll them every few milliseconds. Neighbors with BFD get `bfd on` and a
//! `protocol bfd` with their intervals ([`bfd`] holds it and reads `show bfd sessions`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    BfdSession, Family, Origin, RouteEntry, RouterOptions, SessionState, quoted, spawn_in,
    wait_ready,
};
use crate::infra::netlab::Host;
use crate::infra::process::Daemon;

mod bfd;

/// A running BIRD's control socket and protocol names.
pub(super) struct Bird {
    socket: PathBuf,
    protocols: BTreeMap<String, IpAddr>,
}

impl Bird {
    /// Writes the configuration into `dir` and starts BIRD in the foreground in `host`'s
    /// namespace, returning once its control socket answers.
    pub(super) fn start(host: &Host, dir: &Path, options: &RouterOptions) -> (Daemon, Bird) {
        let (config, protocols) = config(options);
        let file = dir.join("bird.conf");
        std::fs::write(&file, config).unwrap_or_else(|e| panic!("cannot write {file:?}: {e}"));
        let bird = Bird {
            socket: dir.join("bird.ctl"),
            protocols,
        };
        let daemon = spawn_in(
            host,
            "bird",
            "bird",
            &[
                "-f",
                "-c",
                &file.to_string_lossy(),
                "-s",
                &bird.socket.to_string_lossy(),
                "-P",
                &dir.join("bird.pid").to_string_lossy(),
            ],
        );
        wait_ready(&daemon, "bird", || {
            bird.birdc(host, "show status").contains("ready")
        });
        (daemon, bird)
    }

    /// What `birdc` printed for `command`.
    fn birdc(&self, host: &Host, command: &str) -> String {
        let out = host.exec(&["birdc", "-s", &self.socket.to_string_lossy(), command]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(super) fn bfd_sessions(&self, host: &Host) -> Vec<BfdSession> {
        bfd::parse_sessions(&self.birdc(host, "show bfd sessions"))
    }

    pub(super) fn sessions(&self, host: &Host) -> BTreeMap<IpAddr, SessionState> {
        parse_sessions(&self.birdc(host, "show protocols"), &self.protocols)
    }

    pub(super) fn routes(&self, host: &Host, prefix: &str) -> Vec<RouteEntry> {
        let command = format!("show route {prefix} all");
        parse_routes(&self.birdc(host, &command), &self.protocols)
    }

    pub(super) fn all_routes(&self, host: &Host, family: Family) -> Vec<RouteEntry> {
        let table = match family {
            Family::Ipv4 => "master4",
            Family::Ipv6 => "master6",
        };
        let command = format!("show route all table {table}");
        parse_routes(&self.birdc(host, &command), &self.protocols)
    }

    /// BIRD's reply to `command` over its control socket (a Unix socket, so the namespace
    /// does not matter), with the reply codes removed.
    fn control(&self, command: &str) -> String {
        let stream = UnixStream::connect(&self.socket)
            .unwrap_or_else(|e| panic!("cannot connect to BIRD at {:?}: {e}", self.socket));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a timeout is set");
        let mut writer = stream.try_clone().expect("the socket is cloned");
        let mut reader = BufReader::new(stream);
        // The greeting first (`0001 BIRD 2.0.12 ready.`), then the reply.
        read_reply(&mut reader);
        writer
            .write_all(format!("{command}\n").as_bytes())
            .unwrap_or_else(|e| panic!("cannot send {command:?} to BIRD: {e}"));
        read_reply(&mut reader)
    }

    /// The BGP paths held for exactly `prefix`.
    pub(super) fn path_count(&self, prefix: &str) -> usize {
        count_paths(
            &self.control(&format!("show route {prefix}")),
            &self.protocols,
        )
    }

    /// The BGP paths held in `family`'s table, counted by BIRD itself.
    pub(super) fn bgp_path_count(&self, family: Family) -> usize {
        let table = match family {
            Family::Ipv4 => "master4",
            Family::Ipv6 => "master6",
        };
        let command = format!("show route table {table} where source = RTS_BGP count");
        let reply = self.control(&command);
        parse_count(&reply).unwrap_or_else(|| panic!("no count in BIRD's reply {reply:?}"))
    }
}

/// Reads one reply of BIRD's control protocol: lines `CODE-text` or ` text` go on, the line
/// `CODE text` ends it. Returns the text without the codes.
fn read_reply(reader: &mut impl BufRead) -> String {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return text,
            Ok(_) => {}
            Err(e) => panic!("cannot read BIRD's reply: {e}"),
        }
        let (body, last) = split_reply_line(&line);
        text.push_str(body);
        if last {
            return text;
        }
    }
}

/// A control-protocol line's text, and whether it ends the reply.
fn split_reply_line(line: &str) -> (&str, bool) {
    let coded = line.len() > 4 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if !coded {
        return (line.strip_prefix(' ').unwrap_or(line), false);
    }
    (&line[5..], line.as_bytes()[4] == b' ')
}

/// The paths of `show route PREFIX` that came from one of `protocols`: one line each, naming
/// its protocol after `[`.
fn count_paths(text: &str, protocols: &BTreeMap<String, IpAddr>) -> usize {
    text.lines()
        .filter_map(|line| line.split_once('['))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .filter(|protocol| protocols.contains_key(*protocol))
        .count()
}

/// The first number of `3 of 5 routes for 4 networks in table master4`: the routes that
/// passed the command's filter.
fn parse_count(text: &str) -> Option<usize> {
    let line = text.lines().find(|l| l.contains(" routes for "))?;
    line.split_whitespace().next()?.parse().ok()
}

/// BIRD's configuration, and its protocol names by neighbor.
fn config(options: &RouterOptions) -> (String, BTreeMap<String, IpAddr>) {
    let mut conf = format!(
        r#"router id {id};
log stderr all;
timeformat protocol "%T";
protocol device {{ scan time 1; }}
# Connected routes resolve the next hops of multihop sessions.
protocol direct {{ ipv4; ipv6; }}
# Equal paths from several nodes become one kernel route with a next hop per node (ECMP).
protocol kernel kernel4 {{
  ipv4 {{ import none; export where source = RTS_BGP; }};
  merge paths on limit 16;
}}
protocol kernel kernel6 {{
  ipv6 {{ import none; export where source = RTS_BGP; }};
  merge paths on limit 16;
}}
"#,
        id = options.router_id
    );
    conf.push_str(&bfd::protocol(&options.neighbors));
    let mut protocols = BTreeMap::new();
    for (index, neighbor) in options.neighbors.iter().enumerate() {
        let name = format!("peer{index}");
        // BIRD treats iBGP as multihop unless told otherwise, and a multihop session resolves
        // its next hops recursively; a peer on the segment is `direct`.
        let hops = match neighbor.multihop {
            None => "direct;".to_owned(),
            Some(ttl) => format!("multihop {ttl};"),
        };
        let password = neighbor
            .password
            .as_deref()
            .map(|p| format!("\n  password {};", quoted(p)))
            .unwrap_or_default();
        let bfd = if neighbor.bfd.is_some() {
            "\n  bfd on;"
        } else {
            ""
        };
        let _ = write!(
            conf,
            r#"protocol bgp {name} {{
  local as {local};
  neighbor {address} as {remote};
  passive on;
  # A failed session may come back at once: BIRD's default waits 60 s before it accepts
  # the peer again, longer than any suite waits.
  error wait time 1, 5;
  debug {{ states, events }};
  {hops}{password}{bfd}
  ipv4 {{ import all; export none; }};
  ipv6 {{ import all; export none; }};
}}
"#,
            local = options.local_as,
            address = neighbor.address,
            remote = neighbor.remote_as,
        );
        protocols.insert(name, neighbor.address);
    }
    (conf, protocols)
}

/// Sessions from `birdc show protocols` (`peer0  BGP  ---  up  09:08:55  Established`).
fn parse_sessions(
    text: &str,
    protocols: &BTreeMap<String, IpAddr>,
) -> BTreeMap<IpAddr, SessionState> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let neighbor = protocols.get(*fields.first()?)?;
            // Name, protocol, table, state, since, then the BGP state when there is one.
            let info = fields.get(5..).unwrap_or_default().join(" ");
            let state = if info.is_empty() {
                fields.get(3)?.to_string()
            } else {
                info
            };
            let established = state.starts_with("Established");
            Some((*neighbor, SessionState { established, state }))
        })
        .collect()
}

/// The numbers inside each pair of parentheses: `(65000,1) (65000,2)`, `(65000, 1, 2)`.
fn parenthesized(text: &str) -> Vec<Vec<u32>> {
    text.split(')')
        .filter_map(|chunk| chunk.split_once('(').map(|(_, inner)| inner))
        .map(|inner| {
            inner
                .split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .collect()
}

/// A BGP path being read from BIRD's output.
struct BirdPath {
    prefix: String,
    from: IpAddr,
    via: Option<IpAddr>,
    next_hop: Option<IpAddr>,
    attributes: BTreeMap<String, String>,
}

impl BirdPath {
    fn finish(self) -> Option<RouteEntry> {
        let attribute = |name: &str| self.attributes.get(name).map(String::as_str);
        Some(RouteEntry {
            next_hop: self.next_hop.or(self.via)?,
            from: self.from,
            as_path: attribute("BGP.as_path")
                .unwrap_or_default()
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect(),
            local_pref: attribute("BGP.local_pref").and_then(|v| v.parse().ok()),
            communities: parenthesized(attribute("BGP.community").unwrap_or_default())
                .into_iter()
                .filter_map(|c| {
                    Some((
                        u16::try_from(*c.first()?).ok()?,
                        u16::try_from(*c.get(1)?).ok()?,
                    ))
                })
                .collect(),
            large_communities: parenthesized(attribute("BGP.large_community").unwrap_or_default())
                .into_iter()
                .filter_map(|c| Some((*c.first()?, *c.get(1)?, *c.get(2)?)))
                .collect(),
            origin: match attribute("BGP.origin")? {
                "IGP" => Origin::Igp,
                "EGP" => Origin::Egp,
                _ => Origin::Incomplete,
            },
            prefix: self.prefix,
        })
    }
}

/// BGP paths from `birdc show route ... all`: a line per path (`PREFIX  unicast [peer0 ...]`,
/// the prefix left out on the following paths of the same prefix), then tab-indented details
/// (`via ...`, `BGP.local_pref: 200`, ...). Paths of other protocols are skipped.
fn parse_routes(text: &str, protocols: &BTreeMap<String, IpAddr>) -> Vec<RouteEntry> {
    let mut routes = Vec::new();
    let mut prefix = String::new();
    let mut path: Option<BirdPath> = None;
    for line in text.lines() {
        if let Some(detail) = line.strip_prefix('\t') {
            let Some(path) = path.as_mut() else { continue };
            if let Some(via) = detail.strip_prefix("via ") {
                path.via = via.split_whitespace().next().and_then(|a| a.parse().ok());
            } else if let Some((name, value)) = detail.split_once(':') {
                let value = value.trim().to_owned();
                if name == "BGP.next_hop" {
                    // An IPv6 next hop may come with its link-local twin; the global one leads.
                    path.next_hop = value.split_whitespace().next().and_then(|a| a.parse().ok());
                }
                path.attributes.insert(name.to_owned(), value);
            }
            continue;
        }
        routes.extend(path.take().and_then(BirdPath::finish));
        if line.trim().is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if !line.starts_with(' ') {
            prefix = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let protocol = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_default();
        path = protocols.get(protocol).map(|from| BirdPath {
            prefix: prefix.clone(),
            from: *from,
            via: None,
            next_hop: None,
            attributes: BTreeMap::new(),
        });
    }
    routes.extend(path.take().and_then(BirdPath::finish));
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers() -> BTreeMap<String, IpAddr> {
        BTreeMap::from([
            ("peer0".to_owned(), "192.0.2.1".parse().unwrap()),
            ("peer1".to_owned(), "192.0.2.2".parse().unwrap()),
        ])
    }

    #[test]
    fn bird_protocols_become_sessions_by_neighbor() {
        let text = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     09:08:45.624  
peer0      BGP        ---        up     09:08:55.293  Established   
peer1      BGP        ---        start  09:08:45.624  Passive       
";
        let sessions = parse_sessions(text, &peers());
        assert_eq!(sessions.len(), 2);
        let first = &sessions[&"192.0.2.1".parse::<IpAddr>().unwrap()];
        assert!(first.established);
        let second = &sessions[&"192.0.2.2".parse::<IpAddr>().unwrap()];
        assert_eq!(
            (second.established, second.state.as_str()),
            (false, "Passive")
        );
    }

    #[test]
    fn control_replies_lose_their_codes_and_end_on_a_spaced_code() {
        let raw = "1007-Table master4:\n 198.51.100.1/32      unicast [peer0 09:26:00.961] * (100)\n\
                   \x20                    unicast [peer1 09:26:00.961] (100)\n\
                   \x20198.51.100.2/32      unicast [kernel4 09:26:00.961] * (10)\n0000 \nafter\n";
        let mut reader = raw.as_bytes();
        let text = read_reply(&mut reader);
        assert!(
            text.starts_with("Table master4:\n198.51.100.1/32"),
            "{text:?}"
        );
        assert_eq!(count_paths(&text, &peers()), 2, "kernel4 is not a peer");
        assert_eq!(reader, b"after\n", "the reply ends at `0000 `");
        let mut missing = "8001 Network not found\n".as_bytes();
        assert_eq!(count_paths(&read_reply(&mut missing), &peers()), 0);
    }

    #[test]
    fn a_count_reply_gives_the_filtered_routes() {
        let mut raw = "1007-2 of 3 routes for 2 networks in table master4\n0000 \n".as_bytes();
        assert_eq!(parse_count(&read_reply(&mut raw)), Some(2));
        assert_eq!(parse_count("syntax error"), None);
    }

    #[test]
    fn bird_routes_keep_every_path_with_its_attributes() {
        let text = "BIRD 2.0.12 ready.
Table master4:
203.0.113.10/32      unicast [peer0 09:09:07.052] * (100) [?]
\tvia 192.0.2.1 on eth0
\tType: BGP univ
\tBGP.origin: Incomplete
\tBGP.as_path: 
\tBGP.next_hop: 192.0.2.1
\tBGP.local_pref: 200
\tBGP.community: (65000,1) (65000,2)
\tBGP.large_community: (65000, 1, 2)
                     unicast [peer1 09:09:07.094 from 192.0.2.2] (100) [AS64513i]
\tvia 192.0.2.2 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64513 64514
\tBGP.next_hop: 192.0.2.2
\tBGP.local_pref: 100
203.0.113.20/32      unicast [kernel4 09:09:07.052] * (10)
\tvia 192.0.2.9 on eth0
";
        let routes = parse_routes(text, &peers());
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].prefix, "203.0.113.10/32");
        assert_eq!(routes[0].from, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(routes[0].local_pref, Some(200));
        assert_eq!(routes[0].communities, vec![(65000, 1), (65000, 2)]);
        assert_eq!(routes[0].large_communities, vec![(65000, 1, 2)]);
        assert_eq!(routes[0].origin, Origin::Incomplete);
        assert!(routes[0].as_path.is_empty());
        assert_eq!(routes[1].prefix, "203.0.113.10/32");
        assert_eq!(routes[1].next_hop, "192.0.2.2".parse::<IpAddr>().unwrap());
        assert_eq!(routes[1].as_path, vec![64513, 64514]);
        assert_eq!(routes[1].origin, Origin::Igp);
    }
}
