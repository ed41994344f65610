//! A deterministic order of the candidate nodes of each IP: rendezvous (highest random
//! weight) hashing of node name and IP, after the weights of `preferredNodeSelectors`.
//!
//! Every speaker computes the same order from the same inputs, so the most preferred live
//! candidate is the one that acquires a free IP and contention is rare. Each IP's order is an
//! independent pseudo-random permutation of the nodes, so IPs spread evenly, and removing one
//! node only moves the IPs it held.

use std::net::IpAddr;

/// The score of `node` for `ip`: a 64-bit hash stable across processes, builds and versions
/// (FNV-1a over both, then a splitmix64 finaliser to spread similar names).
pub fn score(node: &str, ip: IpAddr) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let octets: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    for byte in node.bytes().chain([0]).chain(octets) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The sort key of a candidate: higher weight first, then higher score, then name.
fn key(node: &str, weight: i32, ip: IpAddr) -> (i32, u64, std::cmp::Reverse<String>) {
    (weight, score(node, ip), std::cmp::Reverse(node.to_owned()))
}

/// The most preferred of `(node, weight)` candidates for `ip`.
pub fn most_preferred<'a>(
    ip: IpAddr,
    candidates: impl IntoIterator<Item = (&'a str, i32)>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .max_by_key(|(node, weight)| key(node, *weight, ip))
        .map(|(node, _)| node)
}

/// Whether `a` is preferred over `b` for `ip`.
pub fn prefers(ip: IpAddr, a: (&str, i32), b: (&str, i32)) -> bool {
    key(a.0, a.1, ip) > key(b.0, b.1, ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc000_0200 + n))
    }

    #[test]
    fn the_score_is_stable_across_runs() {
        // A fixed value (also computed by a separate Python implementation): a change here
        // would move IPs between nodes whenever speakers of two versions run side by side.
        assert_eq!(score("node-a", ip(10)), 0x8b39_e8cb_2af1_f0b0);
        assert_ne!(score("node-a", ip(10)), score("node-b", ip(10)));
        assert_ne!(score("node-a", ip(10)), score("node-a", ip(11)));
    }

    #[test]
    fn thirty_ips_over_three_nodes_spread_evenly() {
        let nodes = ["node-a", "node-b", "node-c"];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in 0..30 {
            let winner = most_preferred(ip(n), nodes.iter().map(|n| (*n, 0))).unwrap();
            *counts.entry(winner).or_default() += 1;
        }
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(counts.values().all(|c| *c <= 20), "{counts:?}");
    }

    #[test]
    fn a_thousand_ips_over_three_nodes_stay_within_fifteen_percent_of_a_fair_share() {
        let nodes = ["worker-1", "worker-2", "worker-3"];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in 0..1000 {
            let winner = most_preferred(ip(n), nodes.iter().map(|n| (*n, 0))).unwrap();
            *counts.entry(winner).or_default() += 1;
        }
        assert!(
            counts.values().all(|c| (283..=383).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn removing_a_node_only_moves_the_ips_it_held() {
        let all = ["node-a", "node-b", "node-c"];
        let rest = ["node-a", "node-c"];
        for n in 0..200 {
            let before = most_preferred(ip(n), all.iter().map(|n| (*n, 0))).unwrap();
            let after = most_preferred(ip(n), rest.iter().map(|n| (*n, 0))).unwrap();
            if before != "node-b" {
                assert_eq!(before, after);
            }
        }
    }

    #[test]
    fn a_heavier_preferred_node_selector_weight_wins() {
        for n in 0..50 {
            let winner =
                most_preferred(ip(n), [("node-a", 0), ("node-b", 10), ("node-c", 0)]).unwrap();
            assert_eq!(winner, "node-b");
        }
    }
}
