//! GoBGP (gobgpd) as the router, and the plumbing the node stand-in shares with it: gobgpd
//! started on a TOML configuration with its gRPC API on the namespace's loopback, and the
//! `gobgp` client's JSON for neighbors and the RIB parsed into sessions and paths.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use super::{
    Family, Origin, RouteEntry, RouterOptions, SessionState, quoted, spawn_in, wait_ready,
};
use crate::infra::netlab::Host;
use crate::infra::process::Daemon;

/// The port of gobgpd's gRPC API on the loopback of its namespace; every namespace has its
/// own loopback, so each gobgpd of a lab can use the same one.
const API_PORT: &str = "50051";

/// Runs the `gobgp` client against the gobgpd of `host`'s namespace.
pub(crate) fn client(host: &Host, args: &[&str]) -> Output {
    let mut full = vec!["gobgp", "-u", "127.0.0.1", "-p", API_PORT];
    full.extend_from_slice(args);
    host.exec(&full)
}

/// Writes `config` into `dir` and starts gobgpd on it in `host`'s namespace, returning once
/// its API answers.
pub(crate) fn start(host: &Host, dir: &Path, name: &str, config: &str) -> Daemon {
    let file = dir.join("gobgpd.toml");
    std::fs::write(&file, config).unwrap_or_else(|e| panic!("cannot write {file:?}: {e}"));
    let api = format!("127.0.0.1:{API_PORT}");
    let daemon = spawn_in(
        host,
        name,
        "gobgpd",
        &[
            "-f",
            &file.to_string_lossy(),
            "-t",
            "toml",
            "--api-hosts",
            &api,
            "--log-level",
            "info",
            "--log-plain",
            "--pprof-disable",
        ],
    );
    wait_ready(&daemon, name, || client(host, &["global"]).status.success());
    daemon
}

/// The `[[neighbors.afi-safis]]` tables of a session carrying IPv4 and IPv6 unicast.
pub(crate) fn unicast_families() -> &'static str {
    r#"  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
}

/// Runs `gobgp ... -j` and parses its JSON; `null` when the client failed.
fn json(host: &Host, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("-j");
    let out = client(host, &args);
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

pub(super) fn sessions(host: &Host) -> BTreeMap<IpAddr, SessionState> {
    parse_sessions(&json(host, &["neighbor"]))
}

pub(super) fn all_routes(host: &Host, family: Family) -> Vec<RouteEntry> {
    let family = match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    };
    parse_routes(&json(host, &["global", "rib", "-a", family]))
}

/// gobgpd's configuration: every neighbor passive, multipath on.
pub(super) fn router_config(options: &RouterOptions) -> String {
    let mut conf = format!(
        r#"[global.config]
  as = {local}
  router-id = "{id}"
[global.use-multiple-paths.config]
  enabled = true
"#,
        local = options.local_as,
        id = options.router_id
    );
    for neighbor in &options.neighbors {
        let _ = write!(
            conf,
            r#"[[neighbors]]
  [neighbors.config]
    neighbor-address = "{address}"
    peer-as = {remote}
"#,
            address = neighbor.address,
            remote = neighbor.remote_as
        );
        if let Some(password) = &neighbor.password {
            let _ = writeln!(conf, "    auth-password = {}", quoted(password));
        }
        conf.push_str("  [neighbors.transport.config]\n    passive-mode = true\n");
        if let Some(ttl) = neighbor.multihop {
            let _ = write!(
                conf,
                "  [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = {ttl}\n"
            );
        }
        conf.push_str(unicast_families());
    }
    conf
}

/// Sessions from `gobgp neighbor -j`, whose `session_state` is the API's enum number.
pub(crate) fn parse_sessions(json: &Value) -> BTreeMap<IpAddr, SessionState> {
    const STATES: [&str; 7] = [
        "unknown",
        "idle",
        "connect",
        "active",
        "opensent",
        "openconfirm",
        "established",
    ];
    json.as_array()
        .into_iter()
        .flatten()
        .filter_map(|peer| {
            let address = peer["state"]["neighbor_address"]
                .as_str()
                .or_else(|| peer["conf"]["neighbor_address"].as_str())?
                .parse()
                .ok()?;
            let number = peer["state"]["session_state"].as_u64().unwrap_or(0) as usize;
            let state = STATES.get(number).copied().unwrap_or("unknown").to_owned();
            let established = state == "established";
            Some((address, SessionState { established, state }))
        })
        .collect()
}

/// Paths from `gobgp global rib -j`: `{prefix: [{attrs: [{type, ...}], neighbor-ip}]}`, with
/// attributes by their type code (1 ORIGIN, 2 AS_PATH, 3 NEXT_HOP, 5 LOCAL_PREF,
/// 8 COMMUNITIES, 14 MP_REACH_NLRI, 32 LARGE_COMMUNITY). Locally originated paths are skipped.
fn parse_routes(json: &Value) -> Vec<RouteEntry> {
    let mut routes = Vec::new();
    for (prefix, paths) in json.as_object().into_iter().flatten() {
        for path in paths.as_array().into_iter().flatten() {
            let Some(from) = path["neighbor-ip"].as_str().and_then(|a| a.parse().ok()) else {
                continue;
            };
            let mut next_hop = None;
            let mut route = RouteEntry {
                prefix: prefix.clone(),
                next_hop: from,
                from,
                as_path: Vec::new(),
                local_pref: None,
                communities: Vec::new(),
                large_communities: Vec::new(),
                origin: Origin::Incomplete,
            };
            for attribute in path["attrs"].as_array().into_iter().flatten() {
                let numbers = |key: &str| -> Vec<u64> {
                    attribute[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect()
                };
                match attribute["type"].as_u64() {
                    Some(1) => {
                        route.origin = match attribute["value"].as_u64() {
                            Some(0) => Origin::Igp,
                            Some(1) => Origin::Egp,
                            _ => Origin::Incomplete,
                        }
                    }
                    Some(2) => {
                        for segment in attribute["as_paths"].as_array().into_iter().flatten() {
                            let asns = segment["asns"].as_array().into_iter().flatten();
                            route
                                .as_path
                                .extend(asns.filter_map(|a| u32::try_from(a.as_u64()?).ok()));
                        }
                    }
                    Some(3 | 14) => {
                        next_hop = attribute["nexthop"].as_str().and_then(|a| a.parse().ok());
                    }
                    Some(5) => {
                        route.local_pref = attribute["value"]
                            .as_u64()
                            .and_then(|v| u32::try_from(v).ok());
                    }
                    Some(8) => {
                        route.communities = numbers("communities")
                            .into_iter()
                            .map(|c| ((c >> 16) as u16, c as u16))
                            .collect();
                    }
                    Some(32) => {
                        let value = attribute["value"].as_array().into_iter().flatten();
                        route.large_communities = value
                            .filter_map(|c| {
                                let field = |k: &str| u32::try_from(c[k].as_u64()?).ok();
                                Some((field("ASN")?, field("LocalData1")?, field("LocalData2")?))
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
            if let Some(next_hop) = next_hop {
                route.next_hop = next_hop;
                routes.push(route);
            }
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gobgp_paths_map_attribute_types_to_fields() {
        let json: Value = serde_json::from_str(
            r#"{"2001:db8:ffff::10/128":[{"nlri":{"prefix":"2001:db8:ffff::10/128"},
            "attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":1,
            "asns":[64513]}]},{"type":5,"value":200},{"type":8,"communities":[4259840001]},
            {"type":32,"value":[{"ASN":65000,"LocalData1":1,"LocalData2":2}]},
            {"type":14,"nexthop":"2001:db8::1","afi":2,"safi":1,"value":[]}],
            "source-id":"192.0.2.1","neighbor-ip":"192.0.2.1"}]}"#,
        )
        .unwrap();
        let routes = parse_routes(&json);
        assert_eq!(
            routes,
            vec![RouteEntry {
                prefix: "2001:db8:ffff::10/128".into(),
                next_hop: "2001:db8::1".parse().unwrap(),
                from: "192.0.2.1".parse().unwrap(),
                as_path: vec![64513],
                local_pref: Some(200),
                communities: vec![(65000, 1)],
                large_communities: vec![(65000, 1, 2)],
                origin: Origin::Igp,
            }]
        );
    }

    #[test]
    fn gobgp_session_state_numbers_become_names() {
        let json: Value = serde_json::from_str(
            r#"[{"state":{"neighbor_address":"192.0.2.1","session_state":6}},
            {"conf":{"neighbor_address":"192.0.2.2"},"state":{"session_state":3}}]"#,
        )
        .unwrap();
        let sessions = parse_sessions(&json);
        assert!(sessions[&"192.0.2.1".parse::<IpAddr>().unwrap()].established);
        assert_eq!(
            sessions[&"192.0.2.2".parse::<IpAddr>().unwrap()].state,
            "active"
        );
    }
}
