use super::*;
use serde_json::json;

fn peer(name: &str, spec: serde_json::Value) -> BGPPeer {
    serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": spec,
    }))
    .expect("a valid BGPPeer")
}

fn node(name: &str, labels: &[(&str, &str)]) -> Node {
    Node {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        network_unavailable: false,
    }
}

#[test]
fn a_minimal_peer_gets_metallb_defaults() {
    let session = session(&peer(
        "router",
        json!({"myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1"}),
    ))
    .unwrap();
    assert_eq!(session.port, 179);
    assert_eq!(session.hold_time, Duration::from_secs(90));
    assert_eq!(session.keepalive_time, None);
    assert_eq!(session.peer_as, PeerAs::Fixed(64501));
    assert_eq!(session.families, vec![Family::Ipv4Unicast]);
    assert!(!session.ibgp());
    assert_eq!(session.label(), "192.0.2.1:179");
}

#[test]
fn every_field_is_carried_into_the_session() {
    let session = session(&peer(
        "full",
        json!({
            "myASN": 64500, "dynamicASN": "internal", "peerAddress": "2001:db8::1",
            "peerPort": 1179, "sourceAddress": "2001:db8::10", "routerID": "192.0.2.10",
            "holdTime": "9s", "keepaliveTime": "3s", "connectTime": "5s",
            "ebgpMultiHop": true, "password": "secret", "enableGracefulRestart": true,
            "dualStackAddressFamily": true,
        }),
    ))
    .unwrap();
    assert_eq!(session.label(), "[2001:db8::1]:1179");
    assert_eq!(session.source, Some("2001:db8::10".parse().unwrap()));
    assert_eq!(session.router_id, Some(Ipv4Addr::new(192, 0, 2, 10)));
    assert_eq!(session.hold_time, Duration::from_secs(9));
    assert_eq!(session.keepalive_time, Some(Duration::from_secs(3)));
    assert_eq!(session.connect_time, Duration::from_secs(5));
    assert!(session.ebgp_multihop && session.graceful_restart && session.ibgp());
    assert_eq!(session.password, Password::Inline("secret".into()));
    assert_eq!(
        session.families,
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
}

#[test]
fn a_password_secret_is_named_with_its_namespace() {
    let session = session(&peer(
        "md5",
        json!({"myASN": 64500, "peerASN": 64500, "peerAddress": "192.0.2.1",
               "passwordSecret": {"name": "bgp-auth", "namespace": "metallb-system"}}),
    ))
    .unwrap();
    assert_eq!(
        session.password,
        Password::Secret {
            namespace: "metallb-system".into(),
            name: "bgp-auth".into()
        }
    );
}

#[test]
fn unusable_peers_are_refused_naming_the_field_and_value() {
    let cases = [
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "router.example"}),
            "peerAddress \"router.example\"",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "2s"}),
            "holdTime 2s",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "9s", "keepaliveTime": "10s"}),
            "keepaliveTime 10s exceeds holdTime 9s",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "dynamicASN": "external", "peerAddress": "192.0.2.1"}),
            "mutually exclusive",
        ),
        (
            json!({"myASN": 1, "peerAddress": "192.0.2.1"}),
            "one of peerASN and dynamicASN",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "sourceAddress": "2001:db8::1"}),
            "different families",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "routerID": "2001:db8::1"}),
            "routerID \"2001:db8::1\"",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "soon"}),
            "holdTime \"soon\"",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "interface": "eth0"}),
            "unnumbered",
        ),
        (
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "password": "a",
                "passwordSecret": {"name": "s"}}),
            "password and passwordSecret",
        ),
    ];
    for (spec, expected) in cases {
        let problem = session(&peer("bad", spec.clone())).unwrap_err();
        assert!(
            problem.message.starts_with("BGPPeer \"bad\": ") && problem.message.contains(expected),
            "{spec}: {}",
            problem.message
        );
    }
}

#[test]
fn only_peers_selecting_the_node_get_sessions() {
    let peers = [
        peer(
            "everywhere",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1"}),
        ),
        peer(
            "rack-1",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.2",
            "nodeSelectors": [{"matchLabels": {"rack": "1"}}]}),
        ),
        peer(
            "rack-2",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.3",
            "nodeSelectors": [{"matchLabels": {"rack": "2"}}]}),
        ),
        peer(
            "broken",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "nowhere",
            "nodeSelectors": [{"matchLabels": {"rack": "1"}}]}),
        ),
    ];
    let (sessions, problems) = sessions_for(&node("a", &[("rack", "1")]), &peers);
    assert_eq!(
        sessions.keys().collect::<Vec<_>>(),
        ["everywhere", "rack-1"]
    );
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].peer, "broken");
}

#[test]
fn an_excluded_node_holds_no_session() {
    let peers = [peer(
        "everywhere",
        json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1"}),
    )];
    let excluded = node(
        "a",
        &[(
            "node.kubernetes.io/exclude-from-external-load-balancers",
            "",
        )],
    );
    assert!(sessions_for(&excluded, &peers).0.is_empty());
}

#[test]
fn a_bfd_profile_is_carried_into_the_session_without_a_problem() {
    let peers = [
        peer(
            "with-bfd",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "bfdProfile": "fast"}),
        ),
        peer(
            "without",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.2"}),
        ),
    ];
    let (sessions, problems) = sessions_for(&node("a", &[]), &peers);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(sessions["with-bfd"].bfd_profile.as_deref(), Some("fast"));
    assert_eq!(sessions["without"].bfd_profile, None);
}

#[test]
fn a_vrf_or_local_asn_keeps_the_peer_from_a_session() {
    let peers = [
        peer(
            "vrf",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "vrf": "red"}),
        ),
        peer(
            "local-as",
            json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.2", "localASN": 3}),
        ),
    ];
    let (sessions, problems) = sessions_for(&node("a", &[]), &peers);
    assert!(sessions.is_empty());
    assert!(problems.iter().all(|p| p.fatal));
    assert!(problems[0].message.contains("vrf \"red\""));
    assert!(problems[1].message.contains("localASN 3"));
}
