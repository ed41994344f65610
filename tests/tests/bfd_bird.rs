//! BFD between ferrolb's speaker and a real router: BIRD 2 in the lab's client namespace runs
//! `protocol bfd` with `bfd on` on its BGP sessions, a node namespace runs `ferrolb-speaker`
//! with a BGPPeer whose `bfdProfile` asks for 100 ms × 3, and the control plane is real.
//!
//! What is asserted is what the router reports: its BFD session Up with the profile's
//! intervals, over IPv4 and IPv6; the route gone within the BFD detection time once the
//! speaker is frozen (SIGSTOP), where only the BGP hold time (30 s here) would notice without
//! BFD; the session and route back after SIGCONT; and a BGPPeer naming a missing BFDProfile
//! kept without a session until the profile exists. The measured drop time is printed. The
//! last test does the same against FRR's bfdd and bgpd ([`frr`]), when Debian's `frr` is
//! installed.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_tests::wait::eventually;
use lab::{BfdLab, freeze_until};

#[path = "bfd_bird/frr.rs"]
mod frr;
#[path = "bfd_bird/lab.rs"]
mod lab;

const ASN: u32 = 64512;
/// The nodes' AS towards FRR, over eBGP.
const NODE_AS: u32 = 64513;
const SERVICE_IP: &str = "198.51.100.10";
const SERVICE_V4: &str = "198.51.100.10/32";
const SERVICE_V6_IP: &str = "2001:db8:ffff::10";
const SERVICE_V6: &str = "2001:db8:ffff::10/128";
/// The profile's intervals and multiplier, and the router's.
const INTERVAL: Duration = Duration::from_millis(100);
const MULTIPLIER: u8 = 3;
/// How long the route may take to go once the speaker froze: the detection time (300 ms)
/// and the router's reaction.
const DROP_GOAL: Duration = Duration::from_millis(400);

#[tokio::test]
async fn bird_drops_a_frozen_speakers_route_within_the_bfd_detection_time_and_takes_it_back() {
    let lab = BfdLab::start(false).await;
    let router_ip = IpAddr::from(lab.world.lab.client.ipv4);
    let node_ip = IpAddr::from(lab.node().ipv4);
    lab.fast_profile("fast").await;
    lab.peer("router", router_ip, "fast").await;
    let node = lab.node().name.clone();
    lab.world
        .service("web", &[SERVICE_IP], &[&node], false)
        .await;
    lab.router().wait_established(&[node_ip]).await;
    lab.router().wait_paths(SERVICE_V4, 1).await;

    let session = lab.bfd_up(node_ip).await;
    assert_eq!(session.interval, INTERVAL, "{session:?}");
    assert_eq!(
        session.timeout,
        INTERVAL * u32::from(MULTIPLIER),
        "{session:?}"
    );
    let label = format!("peer=\"{router_ip}\",vrf=\"default\"");
    let metrics = eventually("metallb_bfd_session_up at 1", || async {
        let metrics = lab.metrics();
        metrics
            .contains(&format!("metallb_bfd_session_up{{{label}}} 1"))
            .then_some(metrics)
    })
    .await;
    for series in [
        "metallb_bfd_control_packet_input_total",
        "metallb_bfd_control_packet_output_total",
        "metallb_bfd_session_up_events_total",
        "metallb_bfd_session_down_events_total",
    ] {
        assert!(
            metrics.contains(&format!("{series}{{{label}}}")),
            "{series} missing in:\n{metrics}"
        );
    }

    // A frozen speaker keeps its TCP connection open: only BFD tells the router.
    let mut bfd_after = Vec::new();
    let gone = freeze_until(&lab.speaker_pid(), || {
        let gone = lab.router().path_count(SERVICE_V4) == 0;
        if gone {
            bfd_after = lab.router().bfd_sessions();
        }
        gone
    })
    .unwrap_or_else(|| {
        panic!(
            "the route stayed 20 s after SIGSTOP; BFD sessions {:?}; the router's log ends \
             with:\n{}",
            lab.router().bfd_sessions(),
            lab.router().log_tail()
        )
    });
    println!(
        "SIGSTOP: BIRD dropped the route after {gone:?} (BFD {}×{INTERVAL:?}, goal {DROP_GOAL:?}, \
         hold time 30 s)",
        MULTIPLIER
    );
    assert!(
        gone < Duration::from_secs(3),
        "{gone:?} is the hold time's doing, not BFD's"
    );
    if gone > DROP_GOAL {
        println!("the drop took longer than the {DROP_GOAL:?} goal");
    }
    assert!(
        bfd_after.iter().any(|s| s.neighbor == node_ip && !s.up()),
        "{bfd_after:?}"
    );

    // Thawed, the speaker sees its BFD session had gone down too, and both come back.
    let thawed = Instant::now();
    lab.bfd_up(node_ip).await;
    lab.router().wait_established(&[node_ip]).await;
    lab.router().wait_paths(SERVICE_V4, 1).await;
    println!(
        "SIGCONT: BFD, BGP and the route back after {:?}",
        thawed.elapsed()
    );
    let metrics = lab.metrics();
    assert!(
        metrics.contains(&format!("metallb_bfd_session_up{{{label}}} 1")),
        "{metrics}"
    );
    let log = lab.speaker_log();
    assert!(
        log.contains("bfd session down"),
        "the speaker's BFD session went down after the freeze:\n{log}"
    );
}

#[tokio::test]
async fn a_missing_bfd_profile_keeps_the_session_closed_until_the_profile_exists() {
    let lab = BfdLab::start(false).await;
    let router_ip = IpAddr::from(lab.world.lab.client.ipv4);
    let node_ip = IpAddr::from(lab.node().ipv4);
    lab.peer("router", router_ip, "later").await;
    let expected = format!(
        "BGPPeer \"router\": bfdProfile \"later\" names no BFDProfile in namespace \"{}\"",
        lab.world.namespace
    );
    eventually("the speaker to report the missing profile", || async {
        lab.speaker_log().contains(&expected).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sessions = lab.router().sessions();
    assert!(
        !sessions[&node_ip].established,
        "no session without its BFD profile: {sessions:?}"
    );

    lab.fast_profile("later").await;
    lab.router().wait_established(&[node_ip]).await;
    lab.bfd_up(node_ip).await;
}

#[tokio::test]
async fn a_bfd_session_comes_up_over_ipv6_too() {
    let lab = BfdLab::start(true).await;
    let client = &lab.world.lab.client;
    let node_v6 = IpAddr::from(lab.node().ipv6);
    lab.fast_profile("fast").await;
    lab.peer("router-v6", client.ipv6.into(), "fast").await;
    let node = lab.node().name.clone();
    lab.world
        .service("web", &[SERVICE_V6_IP], &[&node], false)
        .await;
    lab.router().wait_established(&[node_v6]).await;
    lab.router().wait_paths(SERVICE_V6, 1).await;
    let session = lab.bfd_up(node_v6).await;
    assert_eq!(session.interval, INTERVAL, "{session:?}");
}

#[tokio::test]
async fn frr_drops_a_frozen_speakers_route_within_the_bfd_detection_time_too() {
    if !frr::installed() {
        println!("skipped: Debian's frr (bfdd, bgpd, zebra, vtysh) is not installed");
        return;
    }
    let lab = BfdLab::without_router().await;
    let router_ip = IpAddr::from(lab.world.lab.client.ipv4);
    let node_ip = IpAddr::from(lab.node().ipv4);
    let frr = frr::Frr::start(
        &lab.world.lab.client,
        ASN,
        &[(node_ip, NODE_AS)],
        INTERVAL,
        MULTIPLIER,
    );
    lab.fast_profile("fast").await;
    lab.peer_from(NODE_AS, "router", router_ip, "fast").await;
    let node = lab.node().name.clone();
    lab.world
        .service("web", &[SERVICE_IP], &[&node], false)
        .await;
    let explain = || format!("FRR's logs:\n{}", frr.logs());
    ferrolb_tests::wait::eventually_explained(
        ferrolb_tests::wait::PATIENCE,
        "FRR's kernel route to the Service",
        || async { (frr.established(node_ip) && frr.kernel_route(SERVICE_V4)).then_some(()) },
        explain,
    )
    .await;
    let peer = ferrolb_tests::wait::eventually_explained(
        ferrolb_tests::wait::PATIENCE,
        "FRR's BFD peer up",
        || async {
            frr.bfd_peers()
                .into_iter()
                .find(|p| p.peer == node_ip && p.up)
        },
        explain,
    )
    .await;
    assert!(!peer.multihop, "{peer:?}");
    let ms = INTERVAL.as_millis() as u64;
    assert_eq!(
        (
            peer.remote_receive_interval,
            peer.remote_transmit_interval,
            peer.remote_detect_multiplier
        ),
        (ms, ms, u64::from(MULTIPLIER)),
        "the speaker advertises its profile: {peer:?}"
    );

    let gone = freeze_until(&lab.speaker_pid(), || !frr.kernel_route(SERVICE_V4))
        .unwrap_or_else(|| panic!("the route stayed 20 s after SIGSTOP; {}", explain()));
    println!(
        "SIGSTOP: FRR dropped the kernel route after {gone:?} (BFD {MULTIPLIER}×{INTERVAL:?}, \
         goal {DROP_GOAL:?}, hold time 30 s)"
    );
    assert!(gone < Duration::from_secs(3), "{gone:?}: not BFD's doing");

    let thawed = Instant::now();
    ferrolb_tests::wait::eventually_explained(
        ferrolb_tests::wait::PATIENCE,
        "FRR's kernel route back after SIGCONT",
        || async { frr.kernel_route(SERVICE_V4).then_some(()) },
        explain,
    )
    .await;
    println!(
        "SIGCONT: the route back at FRR after {:?}",
        thawed.elapsed()
    );
}
