//! Packing and diffing, checked on the bytes the peer would receive.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::message::{AsSegment, Attribute, Codec, Message, Origin, decode, encode};
use crate::route::LargeCommunity;

const NEXT_HOP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const NEXT_HOP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

fn ebgp() -> UpdateContext {
    UpdateContext {
        local_as: 65001,
        ibgp: false,
        four_octet_as: true,
        next_hop_v4: Some(NEXT_HOP_V4),
        next_hop_v6: Some(NEXT_HOP_V6),
        families: [Family::Ipv4Unicast, Family::Ipv6Unicast].into(),
    }
}

fn hosts_v4(count: u32) -> Vec<Prefix> {
    (0..count)
        .map(|i| Prefix::host(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + i))))
        .collect()
}

fn hosts_v6(count: u32) -> Vec<Prefix> {
    (0..count)
        .map(|i| {
            Prefix::host(IpAddr::V6(Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | u128::from(i),
            )))
        })
        .collect()
}

fn desired(prefixes: &[Prefix], route: &Route) -> BTreeMap<Prefix, Route> {
    prefixes.iter().map(|p| (*p, route.clone())).collect()
}

/// What the peer decodes: each UPDATE's bytes, checked against the size limit.
fn on_the_wire(updates: &[Update], context: &UpdateContext) -> Vec<(usize, Update)> {
    let codec = Codec {
        four_octet_as: context.four_octet_as,
    };
    updates
        .iter()
        .map(|update| {
            let bytes = encode(&Message::Update(update.clone()), codec);
            assert!(bytes.len() <= 4096, "an update of {} bytes", bytes.len());
            let (Message::Update(decoded), _) = decode(&bytes, codec).unwrap() else {
                panic!("expected an update");
            };
            assert_eq!(&decoded, update);
            (bytes.len(), decoded)
        })
        .collect()
}

fn announced(updates: &[(usize, Update)]) -> BTreeSet<Prefix> {
    updates
        .iter()
        .flat_map(|(_, u)| u.announced().copied())
        .collect()
}

fn withdrawn(updates: &[(usize, Update)]) -> BTreeSet<Prefix> {
    updates
        .iter()
        .flat_map(|(_, u)| u.withdrawals().copied())
        .collect()
}

/// Every UPDATE but the last is full: one more host prefix would not have fitted.
fn assert_packed(updates: &[(usize, Update)], prefix_len: usize) {
    for (len, _) in &updates[..updates.len() - 1] {
        assert!(
            len + prefix_len > 4096,
            "an update of {len} bytes had room left"
        );
    }
}

#[test]
fn ten_thousand_ipv4_hosts_fill_as_few_updates_as_fit() {
    let prefixes = hosts_v4(10_000);
    let mut rib = AdjRibOut::new();
    let updates = rib.sync(&desired(&prefixes, &Route::default()), &ebgp());
    let wire = on_the_wire(&updates, &ebgp());
    let per_update = wire[0].1.nlri.len();
    assert_eq!(updates.len(), 10_000usize.div_ceil(per_update));
    assert_packed(&wire, 5);
    assert_eq!(announced(&wire), prefixes.iter().copied().collect());
    assert_eq!(
        wire.iter().map(|(_, u)| u.nlri.len()).sum::<usize>(),
        10_000
    );
    assert_eq!(rib.sent().len(), 10_000);

    let updates = rib.sync(&BTreeMap::new(), &ebgp());
    let wire = on_the_wire(&updates, &ebgp());
    assert_eq!(updates.len(), 10_000usize.div_ceil((4096 - 23) / 5));
    assert_packed(&wire, 5);
    assert_eq!(withdrawn(&wire), prefixes.iter().copied().collect());
    assert!(rib.sent().is_empty());
}

#[test]
fn ipv6_hosts_are_announced_and_withdrawn_in_multiprotocol_attributes() {
    let prefixes = hosts_v6(2_000);
    let mut rib = AdjRibOut::new();
    let updates = rib.sync(&desired(&prefixes, &Route::default()), &ebgp());
    let wire = on_the_wire(&updates, &ebgp());
    assert_packed(&wire, 17);
    assert_eq!(announced(&wire), prefixes.iter().copied().collect());
    for (_, update) in &wire {
        assert!(update.nlri.is_empty());
        let reach = update.attributes.iter().find_map(|a| match a {
            Attribute::MpReach { next_hops, .. } => Some(next_hops.clone()),
            _ => None,
        });
        assert_eq!(reach, Some(vec![IpAddr::V6(NEXT_HOP_V6)]));
    }

    let updates = rib.sync(&BTreeMap::new(), &ebgp());
    let wire = on_the_wire(&updates, &ebgp());
    assert_packed(&wire, 17);
    assert_eq!(withdrawn(&wire), prefixes.iter().copied().collect());
    assert!(wire.iter().all(|(_, u)| u.withdrawn.is_empty()));
}

#[test]
fn changed_attributes_reannounce_only_the_changed_prefixes() {
    let prefixes = hosts_v4(100);
    let mut rib = AdjRibOut::new();
    let mut routes = desired(&prefixes, &Route::default());
    rib.sync(&routes, &ebgp());
    assert_eq!(rib.sync(&routes, &ebgp()), []);

    let tagged = Route {
        communities: [0xFDE8_0064].into(),
        ..Route::default()
    };
    for prefix in &prefixes[10..13] {
        routes.insert(*prefix, tagged.clone());
    }
    let wire = on_the_wire(&rib.sync(&routes, &ebgp()), &ebgp());
    assert_eq!(wire.len(), 1);
    assert_eq!(announced(&wire), prefixes[10..13].iter().copied().collect());
    assert!(
        wire[0]
            .1
            .attributes
            .contains(&Attribute::Communities(vec![0xFDE8_0064]))
    );
    assert_eq!(rib.sent()[&prefixes[11]], tagged);
}

#[test]
fn each_attribute_set_and_family_gets_its_own_updates() {
    let mut routes = desired(&hosts_v4(3), &Route::default());
    let preferred = Route {
        local_pref: Some(200),
        ..Route::default()
    };
    routes.extend(desired(&hosts_v4(6)[3..], &preferred));
    routes.extend(desired(&hosts_v6(2), &Route::default()));
    let updates = AdjRibOut::new().sync(&routes, &ebgp());
    assert_eq!(updates.len(), 3);
    let sizes: Vec<usize> = updates.iter().map(|u| u.announced().count()).collect();
    assert_eq!(sizes, [3, 3, 2]);
}

#[test]
fn ebgp_routes_carry_our_as_and_next_hop_but_no_local_pref() {
    let route = Route {
        local_pref: Some(200),
        communities: [0xFDE8_0002, 0xFDE8_0001].into(),
        large_communities: [LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 2,
        }]
        .into(),
    };
    let updates = AdjRibOut::new().sync(&desired(&hosts_v4(1), &route), &ebgp());
    assert_eq!(
        updates[0].attributes,
        [
            Attribute::Origin(Origin::Igp),
            Attribute::AsPath(vec![AsSegment::Sequence(vec![65001])]),
            Attribute::NextHop(NEXT_HOP_V4),
            Attribute::Communities(vec![0xFDE8_0001, 0xFDE8_0002]),
            Attribute::LargeCommunities(route.large_communities.iter().copied().collect()),
        ]
    );
}

#[test]
fn ibgp_routes_have_an_empty_path_and_a_local_pref_of_100_unless_set() {
    let ibgp = UpdateContext {
        ibgp: true,
        ..ebgp()
    };
    let preferred = Route {
        local_pref: Some(150),
        ..Route::default()
    };
    let updates = AdjRibOut::new().sync(&desired(&hosts_v4(1), &preferred), &ibgp);
    assert_eq!(
        updates[0].attributes,
        [
            Attribute::Origin(Origin::Igp),
            Attribute::AsPath(vec![]),
            Attribute::NextHop(NEXT_HOP_V4),
            Attribute::LocalPref(150),
        ]
    );
    let updates = AdjRibOut::new().sync(&desired(&hosts_v4(1), &Route::default()), &ibgp);
    assert_eq!(updates[0].attributes[3], Attribute::LocalPref(100));
}

#[test]
fn a_four_octet_local_as_reaches_an_old_peer_as_as_trans_and_as4_path() {
    let context = UpdateContext {
        local_as: 4_200_000_000,
        four_octet_as: false,
        ..ebgp()
    };
    let updates = AdjRibOut::new().sync(&desired(&hosts_v6(1), &Route::default()), &context);
    let wire = on_the_wire(&updates, &context);
    let codes: Vec<u8> = wire[0].1.attributes.iter().map(Attribute::code).collect();
    assert_eq!(codes, [1, 2, 14, 17]);
    assert_eq!(
        wire[0].1.attributes[1],
        Attribute::AsPath(vec![AsSegment::Sequence(vec![23456])])
    );
    assert_eq!(
        wire[0].1.attributes[3],
        Attribute::As4Path(vec![AsSegment::Sequence(vec![4_200_000_000])])
    );
}

#[test]
fn prefixes_without_a_negotiated_family_or_next_hop_wait_unrecorded() {
    let mut routes = desired(&hosts_v4(2), &Route::default());
    routes.extend(desired(&hosts_v6(2), &Route::default()));
    let ipv4_only = UpdateContext {
        families: [Family::Ipv4Unicast].into(),
        ..ebgp()
    };
    let mut rib = AdjRibOut::new();
    let updates = rib.sync(&routes, &ipv4_only);
    assert_eq!(updates.len(), 1);
    assert!(rib.sent().keys().all(|p| p.family() == Family::Ipv4Unicast));

    let no_v6_next_hop = UpdateContext {
        next_hop_v6: None,
        ..ebgp()
    };
    assert_eq!(rib.sync(&routes, &no_v6_next_hop), []);
    let updates = rib.sync(&routes, &ebgp());
    assert_eq!(
        announced(&on_the_wire(&updates, &ebgp())),
        hosts_v6(2).into_iter().collect()
    );
    assert_eq!(rib.sent().len(), 4);
}

#[test]
fn a_prefix_that_loses_its_next_hop_is_withdrawn() {
    let routes = desired(&hosts_v4(1), &Route::default());
    let mut rib = AdjRibOut::new();
    rib.sync(&routes, &ebgp());
    let no_next_hop = UpdateContext {
        next_hop_v4: None,
        ..ebgp()
    };
    let updates = rib.sync(&routes, &no_next_hop);
    assert_eq!(
        updates,
        [Update {
            withdrawn: hosts_v4(1),
            ..Update::default()
        }]
    );
    assert!(rib.sent().is_empty());
}

#[test]
fn withdrawals_come_before_announcements() {
    let mut rib = AdjRibOut::new();
    rib.sync(&desired(&hosts_v4(1), &Route::default()), &ebgp());
    let updates = rib.sync(&desired(&hosts_v4(2)[1..], &Route::default()), &ebgp());
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].withdrawn, hosts_v4(1));
    assert_eq!(updates[1].nlri, hosts_v4(2)[1..]);
}

#[test]
fn a_route_refresh_resends_one_family_and_its_pending_withdrawals() {
    let mut routes = desired(&hosts_v4(3), &Route::default());
    routes.extend(desired(&hosts_v6(3), &Route::default()));
    let mut rib = AdjRibOut::new();
    rib.sync(&routes, &ebgp());
    assert_eq!(rib.sync(&routes, &ebgp()), []);

    routes.remove(&hosts_v4(1)[0]);
    routes.remove(&hosts_v6(1)[0]);
    let wire = on_the_wire(&rib.resend(Family::Ipv4Unicast, &routes, &ebgp()), &ebgp());
    assert_eq!(withdrawn(&wire), hosts_v4(1).into_iter().collect());
    assert_eq!(announced(&wire), hosts_v4(3)[1..].iter().copied().collect());
    // The IPv6 change is left to the next sync.
    let wire = on_the_wire(&rib.sync(&routes, &ebgp()), &ebgp());
    assert_eq!(withdrawn(&wire), hosts_v6(1).into_iter().collect());
    assert!(announced(&wire).is_empty());
}

#[test]
fn clearing_makes_the_next_sync_announce_everything() {
    let routes = desired(&hosts_v4(5), &Route::default());
    let mut rib = AdjRibOut::new();
    rib.sync(&routes, &ebgp());
    rib.clear();
    assert!(rib.sent().is_empty());
    let updates = rib.sync(&routes, &ebgp());
    assert_eq!(updates.iter().map(|u| u.nlri.len()).sum::<usize>(), 5);
}

#[test]
fn the_context_of_an_established_session_carries_its_negotiation() {
    let negotiated = crate::session::Negotiated {
        peer_as: 65001,
        peer_id: Ipv4Addr::new(10, 0, 0, 2),
        hold_time: std::time::Duration::from_secs(90),
        keepalive: std::time::Duration::from_secs(30),
        four_octet_as: true,
        families: [Family::Ipv6Unicast].into(),
        route_refresh: true,
        ibgp: true,
        graceful_restart: false,
    };
    let context = UpdateContext::from_negotiated(65001, &negotiated, None, Some(NEXT_HOP_V6));
    assert!(context.ibgp && context.four_octet_as);
    assert!(context.can_advertise(&hosts_v6(1)[0]));
    assert!(!context.can_advertise(&hosts_v4(1)[0]));
}
