use std::time::Duration;

use super::*;
use crate::election::candidates::Candidate;
use crate::election::ownership::{OwnershipInputs, decide};
use crate::packet::Mac;

const ETHERNET_UP: u32 = 0x1003;

fn link(name: &str, index: u32, flags: u32) -> Link {
    Link {
        name: name.into(),
        index,
        mac: Mac([2, 0, 0, 0, 0, index as u8]),
        flags,
        enslaved: false,
    }
}

fn usable(named: &[&str], default: &[&str]) -> Usable {
    Usable {
        named: named.iter().map(|n| n.to_string()).collect(),
        default: default.iter().map(|n| n.to_string()).collect(),
    }
}

fn ip() -> IpAddr {
    "192.0.2.150".parse().unwrap()
}

fn named(names: &[&str]) -> Interfaces {
    Interfaces::Named(names.iter().map(|n| n.to_string()).collect())
}

fn claim(candidates: &[(&str, Interfaces)]) -> BTreeMap<IpAddr, Claim> {
    let claim = Claim {
        services: BTreeSet::new(),
        candidates: candidates
            .iter()
            .map(|(node, interfaces)| {
                (
                    node.to_string(),
                    Candidate {
                        interfaces: interfaces.clone(),
                        weight: 0,
                    },
                )
            })
            .collect(),
    };
    [(ip(), claim)].into()
}

#[test]
fn a_down_link_is_usable_neither_by_default_nor_by_name() {
    let links = [
        link("eth0", 2, ETHERNET_UP & !0x1),
        link("eth1", 3, ETHERNET_UP),
        link("veth-lab", 4, ETHERNET_UP),
    ];
    assert_eq!(
        Usable::from_links(&links),
        usable(&["eth1", "veth-lab"], &["eth1"])
    );
}

#[test]
fn a_node_announces_only_where_an_allowed_interface_is_usable() {
    let node = usable(&["eth1", "veth-lab"], &["eth1"]);
    assert!(node.can_announce(&Interfaces::Any));
    assert!(node.can_announce(&named(&["eth0", "veth-lab"])));
    assert!(!node.can_announce(&named(&["eth0"])));
    assert!(!usable(&["veth-lab"], &[]).can_announce(&Interfaces::Any));
}

#[test]
fn the_heartbeat_annotations_round_trip_and_their_absence_means_unknown() {
    let node = usable(&["eth0", "eth1"], &["eth0"]);
    let annotations: BTreeMap<String, String> = node
        .annotations()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(annotations[INTERFACES_ANNOTATION], "eth0,eth1");
    assert_eq!(Usable::from_annotations(&annotations), Some(node));
    let none = usable(&[], &[]);
    let annotations = none
        .annotations()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(Usable::from_annotations(&annotations), Some(none));
    assert_eq!(Usable::from_annotations(&BTreeMap::new()), None);
}

#[test]
fn a_candidate_whose_allowed_links_are_down_is_dropped_and_unknown_nodes_are_kept() {
    let mut claims = claim(&[
        ("node-a", Interfaces::Any),
        ("node-b", named(&["eth0"])),
        ("node-c", Interfaces::Any),
    ]);
    let nodes = [
        ("node-a".to_string(), usable(&["eth1"], &[])),
        ("node-b".to_string(), usable(&["eth0"], &["eth0"])),
    ]
    .into();
    restrict(&mut claims, &nodes);
    let left: Vec<&String> = claims[&ip()].candidates.keys().collect();
    assert_eq!(left, ["node-b", "node-c"]);
}

#[test]
fn an_ip_nobody_can_announce_has_no_claim() {
    let mut claims = claim(&[("node-a", Interfaces::Any)]);
    restrict(
        &mut claims,
        &[("node-a".to_string(), usable(&[], &[]))].into(),
    );
    assert!(claims.is_empty());
}

/// The election of one IP held by `holder` between node-a and node-b, as `me` sees it.
fn plan(
    me: &str,
    holder: &str,
    claims: &BTreeMap<IpAddr, Claim>,
    live: &BTreeMap<String, Instant>,
    now: Instant,
) -> crate::election::ownership::OwnershipPlan {
    decide(&OwnershipInputs {
        me,
        claims,
        holders: &[(ip(), Some(holder.to_string()))].into(),
        live,
        yielded: &BTreeSet::new(),
        now,
        settle: Duration::from_secs(10),
    })
}

#[test]
fn the_owner_whose_link_went_down_hands_over_at_once_and_takes_back_only_after_settling() {
    let t0 = Instant::now();
    let both = claim(&[("node-a", Interfaces::Any), ("node-b", Interfaces::Any)]);
    // Whichever node is preferred for the IP owns it.
    let preferred =
        crate::election::preference::most_preferred(ip(), [("node-a", 0), ("node-b", 0)]).unwrap();
    let other = if preferred == "node-a" {
        "node-b"
    } else {
        "node-a"
    };
    let mut history = UsableHistory::default();
    let up = usable(&["eth0"], &["eth0"]);
    let down = usable(&[], &[]);
    history.observe(preferred, &up, t0);
    history.observe(other, &up, t0);
    let live: BTreeMap<String, Instant> =
        [(preferred.to_string(), t0), (other.to_string(), t0)].into();

    // The owner's link goes down 60 s in: it is no candidate, so it releases.
    let down_at = t0 + Duration::from_secs(60);
    history.observe(preferred, &down, down_at);
    let mut restricted = both.clone();
    restrict(
        &mut restricted,
        &[
            (preferred.to_string(), down.clone()),
            (other.to_string(), up.clone()),
        ]
        .into(),
    );
    let owner_plan = plan(preferred, preferred, &restricted, &live, down_at);
    assert!(owner_plan.release.contains(&ip()));
    assert!(owner_plan.announce.is_empty());
    // Once released, the other node acquires it at once.
    let free = decide(&OwnershipInputs {
        me: other,
        claims: &restricted,
        holders: &[(ip(), None)].into(),
        live: &live,
        yielded: &BTreeSet::new(),
        now: down_at,
        settle: Duration::from_secs(10),
    });
    assert!(free.acquire.contains(&ip()));

    // The link comes back at 90 s: the new owner keeps the IP for the rebalance period.
    let back_at = t0 + Duration::from_secs(90);
    history.observe(preferred, &up, back_at);
    let mut settling = live.clone();
    history.settling_since(&mut settling);
    assert_eq!(settling[preferred], back_at);
    let kept = plan(
        other,
        other,
        &both,
        &settling,
        back_at + Duration::from_secs(9),
    );
    assert!(kept.release.is_empty() && kept.announce.contains_key(&ip()));
    let handed = plan(
        other,
        other,
        &both,
        &settling,
        back_at + Duration::from_secs(10),
    );
    assert!(handed.release.contains(&ip()));
}

#[test]
fn only_interfaces_an_advertisement_names_or_the_default_ones_are_relevant() {
    let here = usable(&["eth0", "eth1", "veth1234"], &["eth0"]);
    let claims = claim(&[
        ("node-a", named(&["eth1", "eth9"])),
        ("node-b", Interfaces::Any),
    ]);
    assert_eq!(here.relevant(&claims), usable(&["eth1"], &["eth0"]));
}
