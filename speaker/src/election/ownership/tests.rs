use super::*;
use crate::election::candidates::Candidate;
use std::net::Ipv4Addr;

const SETTLE: Duration = Duration::from_secs(5);

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
}

fn claim(nodes: &[&str]) -> Claim {
    Claim {
        services: Default::default(),
        candidates: nodes
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    Candidate {
                        interfaces: Interfaces::Any,
                        weight: 0,
                    },
                )
            })
            .collect(),
    }
}

struct World {
    claims: BTreeMap<IpAddr, Claim>,
    holders: BTreeMap<IpAddr, Option<String>>,
    live: BTreeMap<String, Instant>,
    yielded: BTreeSet<IpAddr>,
    now: Instant,
}

impl World {
    fn new(nodes: &[&str], ips: u8) -> World {
        let start = Instant::now();
        World {
            claims: (1..=ips).map(|n| (ip(n), claim(nodes))).collect(),
            holders: BTreeMap::new(),
            live: nodes.iter().map(|n| (n.to_string(), start)).collect(),
            yielded: BTreeSet::new(),
            now: start + Duration::from_secs(60),
        }
    }

    fn plan(&self, me: &str) -> OwnershipPlan {
        decide(&OwnershipInputs {
            me,
            claims: &self.claims,
            holders: &self.holders,
            live: &self.live,
            yielded: &self.yielded,
            now: self.now,
            settle: SETTLE,
        })
    }

    /// The preferred node of `ip` among `nodes`.
    fn preferred(&self, n: u8, nodes: &[&str]) -> String {
        preference::most_preferred(ip(n), nodes.iter().map(|n| (*n, 0)))
            .unwrap()
            .to_owned()
    }
}

#[test]
fn a_free_ip_is_acquired_by_its_most_preferred_live_candidate_only() {
    let world = World::new(&["node-a", "node-b", "node-c"], 1);
    let winner = world.preferred(1, &["node-a", "node-b", "node-c"]);
    for node in ["node-a", "node-b", "node-c"] {
        let plan = world.plan(node);
        assert_eq!(plan.acquire.contains(&ip(1)), node == winner, "{node}");
        assert!(plan.announce.is_empty());
    }
}

#[test]
fn an_ip_held_by_a_live_node_is_left_alone_even_by_its_preferred_node() {
    let mut world = World::new(&["node-a", "node-b"], 1);
    let winner = world.preferred(1, &["node-a", "node-b"]);
    let other = ["node-a", "node-b"]
        .into_iter()
        .find(|n| *n != winner)
        .unwrap();
    world.holders.insert(ip(1), Some(other.to_owned()));
    // The winner became live only now: not settled, so no handover and no takeover.
    world.live.insert(winner.clone(), world.now);
    assert_eq!(world.plan(&winner), OwnershipPlan::default());
    let held = world.plan(other);
    assert!(held.announce.contains_key(&ip(1)));
    assert!(held.release.is_empty());
}

#[test]
fn a_holder_hands_over_to_a_settled_more_preferred_node() {
    let mut world = World::new(&["node-a", "node-b", "node-c"], 1);
    let winner = world.preferred(1, &["node-a", "node-b", "node-c"]);
    let other = ["node-a", "node-b", "node-c"]
        .into_iter()
        .find(|n| *n != winner)
        .unwrap();
    world.holders.insert(ip(1), Some(other.to_owned()));
    let plan = world.plan(other);
    assert!(plan.release.contains(&ip(1)));
    assert!(!plan.announce.contains_key(&ip(1)));
}

#[test]
fn the_ip_of_a_dead_holder_is_taken_over_by_the_next_preferred_live_node() {
    let mut world = World::new(&["node-a", "node-b", "node-c"], 12);
    for n in 1..=12 {
        let holder = world.preferred(n, &["node-a", "node-b", "node-c"]);
        world.holders.insert(ip(n), Some(holder));
    }
    world.live.remove("node-b");
    for n in 1..=12 {
        let held_by_b = world.holders[&ip(n)].as_deref() == Some("node-b");
        let successor = world.preferred(n, &["node-a", "node-c"]);
        for node in ["node-a", "node-c"] {
            let takes = world.plan(node).acquire.contains(&ip(n));
            assert_eq!(takes, held_by_b && node == successor, "ip {n} node {node}");
        }
    }
}

#[test]
fn a_holder_that_is_no_longer_a_candidate_releases_the_ip() {
    let mut world = World::new(&["node-a", "node-b"], 1);
    world.holders.insert(ip(1), Some("node-a".into()));
    world.claims.insert(ip(1), claim(&["node-b"]));
    let plan = world.plan("node-a");
    assert!(plan.release.contains(&ip(1)));
    assert!(plan.announce.is_empty());
}

#[test]
fn a_held_ip_without_any_claim_is_released() {
    let mut world = World::new(&["node-a"], 0);
    world.holders.insert(ip(9), Some("node-a".into()));
    assert_eq!(world.plan("node-a").release, BTreeSet::from([ip(9)]));
}

#[test]
fn cut_off_from_the_api_a_holder_keeps_announcing_and_nobody_acquires() {
    let mut world = World::new(&["node-a", "node-b"], 4);
    world.holders.insert(ip(1), Some("node-a".into()));
    world.holders.insert(ip(2), Some("node-b".into()));
    // With the API server down nobody's heartbeat is seen, including one's own.
    world.live.clear();
    for node in ["node-a", "node-b"] {
        let plan = world.plan(node);
        assert!(plan.acquire.is_empty(), "{node}");
        assert!(plan.release.is_empty(), "{node}");
        assert_eq!(plan.announce.len(), 1, "{node}");
    }
}

#[test]
fn an_ip_seen_announced_by_another_node_is_not_answered_but_not_released() {
    let mut world = World::new(&["node-a"], 1);
    world.holders.insert(ip(1), Some("node-a".into()));
    world.yielded.insert(ip(1));
    let plan = world.plan("node-a");
    assert!(plan.announce.is_empty());
    assert!(plan.release.is_empty());
}

#[test]
fn a_released_ip_is_acquired_at_once_by_the_preferred_live_candidate() {
    let mut world = World::new(&["node-a", "node-b"], 1);
    world.holders.insert(ip(1), None);
    let winner = world.preferred(1, &["node-a", "node-b"]);
    assert!(world.plan(&winner).acquire.contains(&ip(1)));
    // A node that is not live itself never acquires.
    world.live.remove(&winner);
    assert!(world.plan(&winner).acquire.is_empty());
}

#[test]
fn nodes_that_agree_on_the_view_acquire_every_ip_exactly_once() {
    let nodes = ["node-a", "node-b", "node-c"];
    let world = World::new(&nodes, 30);
    let mut owners: BTreeMap<IpAddr, Vec<&str>> = BTreeMap::new();
    for node in nodes {
        for ip in world.plan(node).acquire {
            owners.entry(ip).or_default().push(node);
        }
    }
    assert_eq!(owners.len(), 30);
    assert!(owners.values().all(|o| o.len() == 1), "{owners:?}");
}
