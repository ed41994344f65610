use std::cell::Cell;

use ferrolb_bgp::{Family, PeerAs};

use super::*;
use crate::bgp::peers::Password;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// An eBGP session from AS 64500 to 192.0.2.1, nothing optional set.
fn session() -> PeerSession {
    PeerSession {
        name: "router".into(),
        address: "192.0.2.1".parse().unwrap(),
        port: 179,
        source: None,
        local_as: 64500,
        peer_as: PeerAs::Fixed(64501),
        router_id: None,
        hold_time: Duration::from_secs(90),
        keepalive_time: None,
        connect_time: Duration::from_secs(120),
        ebgp_multihop: false,
        password: Password::None,
        graceful_restart: false,
        families: vec![Family::Ipv4Unicast],
        bfd_profile: None,
    }
}

#[test]
fn a_direct_ebgp_peer_gets_ttl_1_a_multihop_one_255_and_an_ibgp_one_64() {
    assert_eq!(ttl(&session()), 1);
    let multihop = PeerSession {
        ebgp_multihop: true,
        ..session()
    };
    assert_eq!(ttl(&multihop), 255);
    let ibgp = PeerSession {
        peer_as: PeerAs::Fixed(64500),
        ..session()
    };
    assert_eq!(ttl(&ibgp), 64);
    // iBGP wins over the multihop flag: an internal peer is never limited to one hop.
    let internal_multihop = PeerSession {
        peer_as: PeerAs::Internal,
        ebgp_multihop: true,
        ..session()
    };
    assert_eq!(ttl(&internal_multihop), 64);
}

#[test]
fn the_dial_carries_the_ttl_the_port_the_source_and_a_timeout_of_at_least_3s() {
    let with_source = PeerSession {
        source: Some("192.0.2.7".parse().unwrap()),
        port: 1179,
        connect_time: Duration::from_secs(1),
        ..session()
    };
    let dial = dial(&with_source, Some("s3cret".into()));
    assert_eq!(dial.peer, "192.0.2.1:1179".parse().unwrap());
    assert_eq!(dial.source, Some("192.0.2.7".parse().unwrap()));
    assert_eq!(dial.password.as_deref(), Some("s3cret"));
    assert_eq!(dial.ttl, 1);
    assert_eq!(dial.timeout, Duration::from_secs(3));
    assert_eq!(
        super::dial(&session(), None).timeout,
        Duration::from_secs(120)
    );
}

#[test]
fn a_configured_router_id_is_used_without_looking_at_the_host() {
    let configured = PeerSession {
        router_id: Some(v4("10.0.0.1")),
        source: Some("192.0.2.7".parse().unwrap()),
        ..session()
    };
    let asked = Cell::new(false);
    let id = router_id(&configured, "node-a", |_| {
        asked.set(true);
        Some(v4("192.0.2.9"))
    });
    assert_eq!(id, v4("10.0.0.1"));
    assert!(!asked.get());
}

#[test]
fn without_one_the_router_id_is_the_ipv4_source_then_the_address_towards_the_peer() {
    let sourced = PeerSession {
        source: Some("192.0.2.7".parse().unwrap()),
        ..session()
    };
    assert_eq!(
        router_id(&sourced, "node-a", |_| Some(v4("192.0.2.9"))),
        v4("192.0.2.7")
    );
    let v6_source = PeerSession {
        source: Some("2001:db8::7".parse().unwrap()),
        ..session()
    };
    let towards = |peer: IpAddr| {
        assert_eq!(peer, "192.0.2.1".parse::<IpAddr>().unwrap());
        Some(v4("192.0.2.9"))
    };
    assert_eq!(router_id(&v6_source, "node-a", towards), v4("192.0.2.9"));
}

#[test]
fn with_no_ipv4_address_at_all_the_router_id_comes_from_the_node_name_and_is_stable() {
    let a = router_id(&session(), "node-a", |_| None);
    assert_eq!(a, router_id_from_node("node-a"));
    assert_eq!(a, router_id(&session(), "node-a", |_| None));
    assert_ne!(a, router_id(&session(), "node-b", |_| None));
    for node in ["", "node-a", "a-much-longer-node-name.example.com"] {
        let id = router_id_from_node(node);
        assert_ne!(id.octets()[0], 0, "{node:?} gave {id}");
    }
}

#[test]
fn graceful_restart_announces_120s_only_when_the_peer_asks_for_it() {
    let restart = Restart::default();
    assert_eq!(graceful_restart_time(&session(), restart), None);
    let restarting = PeerSession {
        graceful_restart: true,
        ..session()
    };
    assert_eq!(
        graceful_restart_time(&restarting, restart),
        Some(Duration::from_secs(120))
    );
    let config = session_config(&restarting, v4("10.0.0.1"), restart);
    assert_eq!(config.graceful_restart, Some(Duration::from_secs(120)));
    assert!(!config.restarting);
}

#[test]
fn a_restarted_process_sets_the_restart_state_only_towards_graceful_restart_peers() {
    let restart = Restart {
        time: Duration::from_secs(5),
        restarting: true,
    };
    let with = PeerSession {
        graceful_restart: true,
        ..session()
    };
    let config = session_config(&with, v4("10.0.0.1"), restart);
    assert_eq!(config.graceful_restart, Some(Duration::from_secs(5)));
    assert!(config.restarting);
    let without = session_config(&session(), v4("10.0.0.1"), restart);
    assert_eq!(without.graceful_restart, None);
    assert!(!without.restarting);
}

#[test]
fn the_first_retry_comes_within_a_second_and_later_ones_within_the_connect_time() {
    let config = session_config(&session(), v4("10.0.0.1"), Restart::default());
    assert_eq!(config.connect_retry, Duration::from_secs(1));
    assert_eq!(config.max_connect_retry, Duration::from_secs(120));
    assert_eq!(config.router_id, v4("10.0.0.1"));
    let quick = PeerSession {
        connect_time: Duration::from_millis(500),
        ..session()
    };
    assert_eq!(
        session_config(&quick, v4("10.0.0.1"), Restart::default()).connect_retry,
        Duration::from_millis(500)
    );
}

#[test]
fn an_ipv4_session_uses_its_local_address_and_its_interfaces_ipv6_address() {
    let hops = next_hops(
        Some("198.51.100.7".parse().unwrap()),
        "198.51.100.1".parse().unwrap(),
        |local, peer| {
            assert_eq!((local, peer), (v4("198.51.100.7"), v4("198.51.100.1")));
            Some(v6("2001:db8::7"))
        },
    );
    assert_eq!(hops, (Some(v4("198.51.100.7")), Some(v6("2001:db8::7"))));
}

#[test]
fn an_ipv6_session_has_no_ipv4_next_hop_and_none_without_a_local_address() {
    let never = |_: Ipv4Addr, _: Ipv4Addr| -> Option<Ipv6Addr> { panic!("not asked") };
    assert_eq!(
        next_hops(
            Some("2001:db8::7".parse().unwrap()),
            "2001:db8::1".parse().unwrap(),
            never
        ),
        (None, Some(v6("2001:db8::7")))
    );
    assert_eq!(
        next_hops(None, "192.0.2.1".parse().unwrap(), never),
        (None, None)
    );
}

#[test]
fn an_ipv4_local_address_towards_an_ipv6_peer_looks_up_its_own_interface() {
    let hops = next_hops(
        Some("198.51.100.7".parse().unwrap()),
        "2001:db8::1".parse().unwrap(),
        |local, peer| {
            assert_eq!(local, peer);
            None
        },
    );
    assert_eq!(hops, (Some(v4("198.51.100.7")), None));
}
