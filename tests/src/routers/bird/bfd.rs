//! BFD in BIRD: the `protocol bfd` that serves the BGP sessions with `bfd on`, and the table
//! `birdc show bfd sessions` prints. BIRD 2.0 takes a session's intervals from the protocol's
//! `interface` block (direct neighbors) or `multihop` block, not from the BGP protocol, so
//! every neighbor with BFD must ask for the same ones.

use std::net::IpAddr;
use std::time::Duration;

use crate::routers::{BfdOptions, BfdSession, Neighbor};

/// The `protocol bfd` for `neighbors`, or nothing when none has BFD.
pub(super) fn protocol(neighbors: &[Neighbor]) -> String {
    let mut wanted = neighbors.iter().filter_map(|n| n.bfd);
    let Some(options) = wanted.next() else {
        return String::new();
    };
    assert!(
        wanted.all(|other| other == options),
        "BIRD runs every BFD session with the same intervals: {neighbors:?}"
    );
    let BfdOptions {
        interval,
        multiplier,
    } = options;
    let timers = format!(
        "min rx interval {ms} ms; min tx interval {ms} ms; idle tx interval 1000 ms; \
         multiplier {multiplier};",
        ms = interval.as_millis()
    );
    format!(
        "# BGP sessions with `bfd on` go down with their BFD session.\n\
         protocol bfd {{\n  interface \"*\" {{ {timers} }};\n  multihop {{ {timers} }};\n}}\n"
    )
}

/// Seconds as BIRD prints them (`0.100`).
fn seconds(text: &str) -> Option<Duration> {
    text.parse::<f64>().ok().map(Duration::from_secs_f64)
}

/// The sessions of `show bfd sessions`: per protocol a `bfd1:` line, a header, then
/// `ADDRESS  INTERFACE  STATE  SINCE  INTERVAL  TIMEOUT` per session.
pub(super) fn parse_sessions(text: &str) -> Vec<BfdSession> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [address, _interface, state, _since, interval, timeout] = fields.as_slice() else {
                return None;
            };
            Some(BfdSession {
                neighbor: address.parse::<IpAddr>().ok()?,
                state: (*state).to_owned(),
                interval: seconds(interval)?,
                timeout: seconds(timeout)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_come_with_their_state_and_timers() {
        let text = "BIRD 2.0.12 ready.
bfd1:
IP address                Interface  State      Since         Interval  Timeout
192.0.2.1                 eth0       Up         18:17:23.387    0.100    0.300
2001:db8::2               eth0       Down       18:17:23.387    1.000    0.000
";
        let sessions = parse_sessions(text);
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].neighbor, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(sessions[0].up());
        assert_eq!(sessions[0].interval, Duration::from_millis(100));
        assert_eq!(sessions[0].timeout, Duration::from_millis(300));
        assert!(!sessions[1].up());
    }

    #[test]
    fn the_protocol_carries_the_neighbors_timers_and_none_without_bfd() {
        let plain = Neighbor::new("192.0.2.1".parse::<IpAddr>().unwrap(), 64512);
        assert_eq!(protocol(std::slice::from_ref(&plain)), "");
        let fast = plain.clone().with_bfd(Duration::from_millis(100), 3);
        let conf = protocol(&[plain, fast]);
        assert!(
            conf.contains("interface \"*\" { min rx interval 100 ms; min tx interval 100 ms;"),
            "{conf}"
        );
        assert!(conf.contains("multiplier 3;"), "{conf}");
    }
}
