//! The soak's invariants, as pure functions over what was seen from outside: the Services as
//! the API lists them, and the ARP replies a client on the segment received.
//!
//! - An IP is on two Services only when they may share it, by MetalLB's rule: both carry the
//!   same non-empty `allow-shared-ip` key, no protocol and port is used by both, and
//!   `externalTrafficPolicy: Local` Services share only with Local Services of the same pod
//!   selector.
//! - One IP is answered by one MAC: a probe round (one ARP request for every watched IP) that
//!   two MACs answered for the same IP is a dual answer; consecutive dual rounds form one
//!   episode, whose length is what a handover window measures.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A Service as the invariants need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceView {
    pub name: String,
    pub ips: Vec<IpAddr>,
    /// The `metallb.io/allow-shared-ip` (or `metallb.universe.tf/…`) value, if any.
    pub sharing_key: Option<String>,
    /// `(protocol, port)` of each port.
    pub ports: Vec<(String, i32)>,
    pub local: bool,
    pub selector: BTreeMap<String, String>,
}

/// Whether `a` and `b` may hold the same IP.
pub fn may_share(a: &ServiceView, b: &ServiceView) -> bool {
    let same_key =
        matches!((&a.sharing_key, &b.sharing_key), (Some(x), Some(y)) if !x.is_empty() && x == y);
    let ports_apart = a.ports.iter().all(|p| !b.ports.contains(p));
    let policies_agree = if a.local || b.local {
        a.local && b.local && a.selector == b.selector
    } else {
        true
    };
    same_key && ports_apart && policies_agree
}

/// An IP held by two Services that may not share it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedIpViolation {
    pub ip: IpAddr,
    pub services: (String, String),
}

/// Every pair of Services holding one IP without being allowed to.
pub fn shared_ip_violations(services: &[ServiceView]) -> Vec<SharedIpViolation> {
    let mut holders: BTreeMap<IpAddr, Vec<&ServiceView>> = BTreeMap::new();
    for service in services {
        let ips: BTreeSet<&IpAddr> = service.ips.iter().collect();
        for ip in ips {
            holders.entry(*ip).or_default().push(service);
        }
    }
    let mut out = Vec::new();
    for (ip, on) in holders {
        for (i, a) in on.iter().enumerate() {
            for b in &on[i + 1..] {
                if !may_share(a, b) {
                    out.push(SharedIpViolation {
                        ip,
                        services: (a.name.clone(), b.name.clone()),
                    });
                }
            }
        }
    }
    out
}

/// One ARP reply: the probe round it answers (the round's send time, ns), the IP and the MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub round_ns: u128,
    pub ip: IpAddr,
    pub mac: String,
}

/// A stretch of consecutive probe rounds in which more than one MAC answered `ip`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DualAnswer {
    pub ip: IpAddr,
    pub macs: BTreeSet<String>,
    pub first_round_ns: u128,
    pub last_round_ns: u128,
    /// From the first dual round to the end of the last one.
    pub length_ns: u128,
}

/// Replies whose round times lie within this much of a round's first are that round's (the
/// times are derived from two clocks read microseconds apart).
const SAME_ROUND_NS: u128 = 5_000_000;

/// The rounds of each IP: the first send time and the MACs that answered it.
fn rounds(replies: &[Reply]) -> BTreeMap<IpAddr, Vec<(u128, BTreeSet<&str>)>> {
    let mut by_ip: BTreeMap<IpAddr, Vec<&Reply>> = BTreeMap::new();
    for reply in replies {
        by_ip.entry(reply.ip).or_default().push(reply);
    }
    by_ip
        .into_iter()
        .map(|(ip, mut replies)| {
            replies.sort_by_key(|r| r.round_ns);
            let mut rounds: Vec<(u128, BTreeSet<&str>)> = Vec::new();
            for reply in replies {
                match rounds.last_mut() {
                    Some((at, macs)) if reply.round_ns - *at <= SAME_ROUND_NS => {
                        macs.insert(&reply.mac);
                    }
                    _ => rounds.push((reply.round_ns, [reply.mac.as_str()].into())),
                }
            }
            (ip, rounds)
        })
        .collect()
}

/// The dual-answer episodes in `replies`, for rounds `round_ns` apart: dual rounds at most two
/// rounds apart belong to one episode (a lost reply does not split it).
pub fn dual_answers(replies: &[Reply], round_ns: u128) -> Vec<DualAnswer> {
    let mut out: Vec<DualAnswer> = Vec::new();
    for (ip, rounds) in rounds(replies) {
        let mut open: Option<usize> = None;
        for (at, macs) in rounds {
            if macs.len() < 2 {
                continue;
            }
            match open.filter(|&i| at <= out[i].last_round_ns + 2 * round_ns + SAME_ROUND_NS) {
                Some(i) => {
                    let episode = &mut out[i];
                    episode.last_round_ns = at;
                    episode.length_ns = at - episode.first_round_ns + round_ns;
                    episode.macs.extend(macs.iter().map(|m| m.to_string()));
                }
                None => {
                    open = Some(out.len());
                    out.push(DualAnswer {
                        ip,
                        macs: macs.iter().map(|m| m.to_string()).collect(),
                        first_round_ns: at,
                        last_round_ns: at,
                        length_ns: round_ns,
                    });
                }
            }
        }
    }
    out
}

/// How many (IP, round) pairs got at least one reply: the ARP checks made.
pub fn rounds_answered(replies: &[Reply]) -> usize {
    rounds(replies).values().map(Vec::len).sum()
}

/// Services without an IP, by name.
pub fn without_ip(services: &[ServiceView]) -> Vec<String> {
    services
        .iter()
        .filter(|s| s.ips.is_empty())
        .map(|s| s.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, ip: &str, key: Option<&str>, port: i32) -> ServiceView {
        ServiceView {
            name: name.into(),
            ips: vec![ip.parse().unwrap()],
            sharing_key: key.map(Into::into),
            ports: vec![("TCP".into(), port)],
            ..Default::default()
        }
    }

    #[test]
    fn services_with_the_same_key_and_other_ports_share() {
        let a = service("a", "192.0.2.130", Some("k"), 80);
        let b = service("b", "192.0.2.130", Some("k"), 443);
        assert!(shared_ip_violations(&[a, b]).is_empty());
    }

    #[test]
    fn a_shared_port_a_missing_key_or_another_key_is_a_violation() {
        let a = service("a", "192.0.2.130", Some("k"), 80);
        for b in [
            service("b", "192.0.2.130", Some("k"), 80),
            service("b", "192.0.2.130", None, 443),
            service("b", "192.0.2.130", Some("other"), 443),
        ] {
            let found = shared_ip_violations(&[a.clone(), b]);
            assert_eq!(
                found,
                vec![SharedIpViolation {
                    ip: "192.0.2.130".parse().unwrap(),
                    services: ("a".into(), "b".into())
                }]
            );
        }
    }

    #[test]
    fn local_services_share_only_with_local_ones_of_the_same_selector() {
        let mut a = service("a", "192.0.2.130", Some("k"), 80);
        let mut b = service("b", "192.0.2.130", Some("k"), 443);
        a.local = true;
        assert!(!may_share(&a, &b));
        b.local = true;
        assert!(may_share(&a, &b));
        b.selector.insert("app".into(), "other".into());
        assert!(!may_share(&a, &b));
    }

    #[test]
    fn services_on_different_ips_never_violate() {
        let a = service("a", "192.0.2.130", None, 80);
        let b = service("b", "192.0.2.131", None, 80);
        assert!(shared_ip_violations(&[a, b]).is_empty());
    }

    const ROUND: u128 = 50_000_000;

    /// A reply to `round`, its time off by a few microseconds as the probe's clocks make it.
    fn reply(round: u128, ip: &str, mac: &str) -> Reply {
        Reply {
            round_ns: round * ROUND + (u128::from(mac.as_bytes()[mac.len() - 1]) % 3) * 1_400_000,
            ip: ip.parse().unwrap(),
            mac: mac.into(),
        }
    }

    #[test]
    fn a_clean_handover_has_no_dual_answer() {
        let replies: Vec<_> = (0..10)
            .map(|r| reply(r, "192.0.2.130", if r < 5 { "m1" } else { "m2" }))
            .collect();
        assert!(dual_answers(&replies, ROUND).is_empty());
    }

    #[test]
    fn overlapping_rounds_form_one_episode_with_its_length() {
        let mut replies: Vec<_> = (0..10).map(|r| reply(r, "192.0.2.130", "m1")).collect();
        // m2 answers rounds 4, 5 and 7 (round 6's reply lost): one episode of four rounds.
        replies.extend([4, 5, 7].map(|r| reply(r, "192.0.2.130", "m2")));
        // A later, separate dual round.
        replies.extend([
            reply(20, "192.0.2.130", "m1"),
            reply(20, "192.0.2.130", "m3"),
        ]);
        // Another IP answered by one MAC only.
        replies.extend((0..10).map(|r| reply(r, "192.0.2.131", "m2")));
        let episodes = dual_answers(&replies, ROUND);
        assert_eq!(episodes.len(), 2, "{episodes:?}");
        assert_eq!(episodes[0].length_ns, 4 * ROUND);
        assert_eq!(
            episodes[0].macs,
            ["m1", "m2"].map(String::from).into_iter().collect()
        );
        assert_eq!(episodes[1].length_ns, ROUND);
    }

    #[test]
    fn services_without_ip_are_named() {
        let mut a = service("a", "192.0.2.130", None, 80);
        let b = service("b", "192.0.2.131", None, 80);
        a.ips.clear();
        assert_eq!(without_ip(&[a, b]), vec!["a".to_string()]);
    }
}
