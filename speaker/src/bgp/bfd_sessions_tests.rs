use std::net::IpAddr;
use std::time::Duration;

use ferrolb_bgp::{Family, PeerAs};

use super::*;
use crate::bgp::peers::Password;

fn session(name: &str, address: &str, profile: Option<&str>) -> PeerSession {
    PeerSession {
        name: name.into(),
        address: address.parse().unwrap(),
        port: 179,
        source: None,
        local_as: 64512,
        peer_as: PeerAs::Fixed(64512),
        router_id: None,
        hold_time: Duration::from_secs(90),
        keepalive_time: None,
        connect_time: Duration::from_secs(10),
        ebgp_multihop: false,
        password: Password::None,
        graceful_restart: false,
        families: vec![Family::Ipv4Unicast],
        bfd_profile: profile.map(str::to_owned),
    }
}

fn fast() -> BFDProfileSpec {
    BFDProfileSpec {
        receive_interval: Some(100),
        transmit_interval: Some(100),
        detect_multiplier: Some(3),
        ..Default::default()
    }
}

fn profiles(list: &[(&str, BFDProfileSpec)]) -> BTreeMap<String, BFDProfileSpec> {
    list.iter()
        .map(|(n, s)| (n.to_string(), s.clone()))
        .collect()
}

#[test]
fn a_peer_with_a_profile_gets_a_single_hop_session_to_its_address() {
    let sessions = [
        session("router", "192.0.2.100", Some("fast")),
        session("plain", "192.0.2.101", None),
    ];
    let plan = plan(&sessions, &profiles(&[("fast", fast())]), "metallb-system");
    let key = SessionKey {
        hop: Hop::Single,
        peer: "192.0.2.100".parse().unwrap(),
        source: None,
    };
    assert_eq!(plan.peers, BTreeMap::from([("router".to_owned(), key)]));
    let config = plan.sessions[&key];
    assert_eq!(
        (config.desired_min_tx(), config.required_min_rx()),
        (100_000, 100_000)
    );
    assert!(plan.refused.is_empty() && plan.warnings.is_empty());
}

#[test]
fn ebgp_multihop_and_a_source_address_shape_the_session() {
    let mut far = session("far", "2001:db8:1::1", Some("fast"));
    far.ebgp_multihop = true;
    far.source = Some("2001:db8::5".parse().unwrap());
    let plan = plan([&far], &profiles(&[("fast", fast())]), "ns");
    let key = plan.peers["far"];
    assert_eq!(key.hop, Hop::Multi);
    assert_eq!(key.source, Some("2001:db8::5".parse::<IpAddr>().unwrap()));
    assert_eq!(plan.sessions[&key].minimum_ttl(), 254, "MetalLB's default");
}

#[test]
fn a_missing_profile_refuses_the_peer_naming_peer_profile_and_namespace() {
    let sessions = [session("router", "192.0.2.100", Some("fsat"))];
    let plan = plan(&sessions, &profiles(&[("fast", fast())]), "metallb-system");
    assert!(plan.sessions.is_empty() && plan.peers.is_empty());
    assert_eq!(
        plan.refused["router"],
        "BGPPeer \"router\": bfdProfile \"fsat\" names no BFDProfile in namespace \
         \"metallb-system\"; no session is opened until it exists"
    );
}

#[test]
fn a_profile_out_of_range_refuses_the_peer() {
    let broken = BFDProfileSpec {
        detect_multiplier: Some(1),
        ..fast()
    };
    let sessions = [session("router", "192.0.2.100", Some("broken"))];
    let plan = plan(&sessions, &profiles(&[("broken", broken)]), "ns");
    let message = &plan.refused["router"];
    assert!(
        message.starts_with("BGPPeer \"router\": BFDProfile \"broken\" cannot be used: ")
            && message.contains("detectMultiplier 1"),
        "{message}"
    );
}

#[test]
fn echo_mode_is_a_warning_naming_the_peer_and_the_profile() {
    let echo = BFDProfileSpec {
        echo_mode: Some(true),
        ..fast()
    };
    let sessions = [session("router", "192.0.2.100", Some("echo"))];
    let plan = plan(&sessions, &profiles(&[("echo", echo)]), "ns");
    assert_eq!(plan.sessions.len(), 1, "the session runs");
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0]
            .starts_with("BGPPeer \"router\": BFDProfile \"echo\": echoMode is not implemented"),
        "{}",
        plan.warnings[0]
    );
}

#[test]
fn peers_to_one_address_share_the_session_of_the_first_by_name() {
    let slow = BFDProfileSpec {
        receive_interval: Some(1000),
        ..fast()
    };
    let sessions = [
        session("b-second", "192.0.2.100", Some("slow")),
        session("a-first", "192.0.2.100", Some("fast")),
        session("c-third", "192.0.2.100", Some("fast")),
    ];
    let plan = plan(
        &sessions,
        &profiles(&[("fast", fast()), ("slow", slow)]),
        "ns",
    );
    assert_eq!(plan.sessions.len(), 1);
    assert_eq!(plan.peers.len(), 3);
    assert_eq!(
        plan.sessions.values().next().unwrap().required_min_rx(),
        100_000
    );
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].starts_with(
            "BGPPeer \"b-second\": shares its BFD session to 192.0.2.100 with BGPPeer \"a-first\""
        ),
        "{}",
        plan.warnings[0]
    );
}
