use super::*;
use std::net::Ipv4Addr;

const SPEAKER: Mac = Mac([2, 0, 0, 0, 0, 1]);
const CLIENT: Mac = Mac([2, 0, 0, 0, 0, 0x10]);
const OTHER_SPEAKER: Mac = Mac([2, 0, 0, 0, 0, 2]);

fn link(name: &str) -> Link {
    Link {
        name: name.into(),
        index: 2,
        mac: SPEAKER,
        flags: 0x1003,
        enslaved: false,
    }
}

fn table(entries: &[(&str, Interfaces)]) -> Table {
    entries
        .iter()
        .map(|(ip, i)| (ip.parse().unwrap(), i.clone()))
        .collect()
}

fn who_has(target: &str) -> Vec<u8> {
    arp::build(
        Mac::BROADCAST,
        &arp::Arp {
            ethernet_source: CLIENT,
            operation: arp::Operation::Request,
            sender_mac: CLIENT,
            sender_ip: Ipv4Addr::new(192, 0, 2, 100),
            target_mac: Mac::ZERO,
            target_ip: target.parse().unwrap(),
        },
    )
}

#[test]
fn a_request_for_an_announced_ip_gets_a_reply_with_the_interface_mac() {
    let table = table(&[("192.0.2.10", Interfaces::Any)]);
    let Outcome::Reply { ip, frame } = respond(&who_has("192.0.2.10"), &link("eth0"), &table)
    else {
        panic!("no reply");
    };
    assert_eq!(ip, "192.0.2.10".parse::<IpAddr>().unwrap());
    assert_eq!(arp::parse(&frame).unwrap().sender_mac, SPEAKER);
}

#[test]
fn a_request_for_another_ip_is_ignored() {
    let table = table(&[("192.0.2.10", Interfaces::Any)]);
    assert_eq!(
        respond(&who_has("192.0.2.11"), &link("eth0"), &table),
        Outcome::Ignore
    );
}

#[test]
fn a_request_on_an_interface_the_advertisement_does_not_name_is_ignored() {
    let table = table(&[("192.0.2.10", Interfaces::Named(["eth1".into()].into()))]);
    assert_eq!(
        respond(&who_has("192.0.2.10"), &link("eth0"), &table),
        Outcome::Ignore
    );
    assert!(matches!(
        respond(&who_has("192.0.2.10"), &link("eth1"), &table),
        Outcome::Reply { .. }
    ));
}

#[test]
fn a_request_on_a_default_excluded_interface_is_ignored_unless_named() {
    let any = table(&[("192.0.2.10", Interfaces::Any)]);
    assert_eq!(
        respond(&who_has("192.0.2.10"), &link("veth0"), &any),
        Outcome::Ignore
    );
    let named = table(&[("192.0.2.10", Interfaces::Named(["veth0".into()].into()))]);
    assert!(matches!(
        respond(&who_has("192.0.2.10"), &link("veth0"), &named),
        Outcome::Reply { .. }
    ));
}

#[test]
fn another_nodes_gratuitous_arp_for_an_announced_ip_is_a_conflict() {
    let table = table(&[("192.0.2.10", Interfaces::Any)]);
    for frame in arp::gratuitous(Ipv4Addr::new(192, 0, 2, 10), OTHER_SPEAKER) {
        assert_eq!(
            respond(&frame, &link("eth0"), &table),
            Outcome::Conflict {
                ip: "192.0.2.10".parse().unwrap(),
                mac: OTHER_SPEAKER
            }
        );
    }
}

#[test]
fn this_nodes_own_gratuitous_arp_is_ignored() {
    let table = table(&[("192.0.2.10", Interfaces::Any)]);
    for frame in announcement("192.0.2.10".parse().unwrap(), SPEAKER) {
        assert_eq!(respond(&frame, &link("eth0"), &table), Outcome::Ignore);
    }
}

#[test]
fn a_neighbor_solicitation_for_an_announced_ipv6_gets_an_advertisement() {
    let owned: std::net::Ipv6Addr = "2001:db8::a:10".parse().unwrap();
    let table = table(&[("2001:db8::a:10", Interfaces::Any)]);
    // A client's multicast solicitation with its source link-address option.
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&owned.octets());
    let source: std::net::Ipv6Addr = "2001:db8::100".parse().unwrap();
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&CLIENT.0);
    let group = ndp::solicited_node(owned);
    let sum = ndp::checksum(source, group, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut frame = Vec::new();
    frame.extend_from_slice(&ndp::multicast_mac(group).0);
    frame.extend_from_slice(&CLIENT.0);
    frame.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[58, 255]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&group.octets());
    frame.extend_from_slice(&icmp);
    let Outcome::Reply { frame, .. } = respond(&frame, &link("eth0"), &table) else {
        panic!("no advertisement");
    };
    assert!(matches!(
        ndp::parse(&frame),
        Some(ndp::Message::Advertisement { target, target_link_address: Some(SPEAKER), .. }) if target == owned
    ));
}

#[test]
fn another_nodes_unsolicited_advertisement_for_an_announced_ipv6_is_a_conflict() {
    let table = table(&[("2001:db8::a:10", Interfaces::Any)]);
    let frame = ndp::unsolicited("2001:db8::a:10".parse().unwrap(), OTHER_SPEAKER);
    assert_eq!(
        respond(&frame, &link("eth0"), &table),
        Outcome::Conflict {
            ip: "2001:db8::a:10".parse().unwrap(),
            mac: OTHER_SPEAKER
        }
    );
}
