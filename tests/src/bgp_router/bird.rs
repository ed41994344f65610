//! BIRD 2 as the router: its configuration (a passive session per neighbor, and kernel
//! protocols whose `merge paths` turns equal BGP paths into one multipath kernel route), and the
//! text `birdc` prints for protocols and routes, parsed into sessions and paths. BIRD's output
//! names a neighbor by its protocol (`peer0`, ...), so the names are kept to map them back.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{
    Family, Origin, RouteEntry, RouterOptions, SessionState, quoted, spawn_in, wait_ready,
};
use crate::netlab::Host;
use crate::process::Daemon;

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
  {hops}{password}
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
