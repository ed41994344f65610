//! Graceful restart (RFC 4724) of ferrolb's speaker against BIRD 2 as the helper, in network
//! namespaces with a real control plane: the speaker's BGPPeer has `enableGracefulRestart`,
//! BIRD's neighbor `graceful restart on`, and the router's view is sampled every 10 ms.
//!
//! - A SIGTERM on a schedulable node, then the speaker started again (a rolling upgrade):
//!   the route is never withdrawn, it is stale while the speaker is away and fresh again
//!   after the new session's End-of-RIB, and the new speaker announces the restart.
//! - A SIGTERM on a cordoned node withdraws the route at once, never stale.
//! - A SIGKILL leaves the route stale for the restart time, then the router drops it.
//!
//! The figures (how long the route was stale, the gap between the sessions) are printed.

use std::time::Duration;

use bird::{RouteState, Sample};
use lab::{GrLab, figures};

#[path = "bgp_graceful_restart/bird.rs"]
mod bird;
#[path = "bgp_graceful_restart/lab.rs"]
mod lab;

/// Back up and fresh for half a second after having been down.
fn back_and_fresh(samples: &[Sample]) -> bool {
    let Some(down) = samples.iter().position(|s| !s.established) else {
        return false;
    };
    let after = &samples[down..];
    let Some(up) = after
        .iter()
        .position(|s| s.established && s.route == RouteState::Fresh)
    else {
        return false;
    };
    after[up..]
        .last()
        .is_some_and(|last| last.at - after[up].at > Duration::from_millis(500))
}

fn route_gone(samples: &[Sample]) -> bool {
    samples
        .last()
        .is_some_and(|s| s.route == RouteState::Absent)
}

#[tokio::test]
async fn a_restart_on_a_schedulable_node_keeps_the_route_stale_and_withdraws_nothing() {
    let mut lab = GrLab::start("30s").await;
    let sampler = lab.sample(Duration::from_secs(40), back_and_fresh);
    lab.speaker().terminate(Duration::from_secs(10));
    lab.world.start_speaker(0);
    let samples = sampler.finish();
    let figures = figures(&samples);
    let mut probe = lab.bird.probe();
    println!(
        "graceful restart: {} samples, {} withdrawals, route stale for {:?}, \
         session down for {:?}, BIRD's import withdraws: {:?}",
        figures.samples,
        figures.withdrawals,
        figures.stale_for,
        figures.session_gap,
        probe.import_withdraws()
    );
    let context = || format!("BIRD:\n{}\nspeaker:\n{}", lab.bird.log(), lab.speaker_log());
    assert!(
        back_and_fresh(&samples),
        "no fresh route again; {}",
        context()
    );
    assert_eq!(figures.withdrawals, 0, "{}", context());
    assert!(
        figures.stale_for.is_some(),
        "the route was never stale; {}",
        context()
    );
    assert!(
        lab.speaker_log()
            .contains("restarting after a graceful stop"),
        "{}",
        context()
    );
}

#[tokio::test]
async fn a_stop_on_a_cordoned_node_withdraws_at_once() {
    let mut lab = GrLab::start("30s").await;
    lab.cordon().await;
    let sampler = lab.sample(Duration::from_secs(10), route_gone);
    lab.speaker().terminate(Duration::from_secs(10));
    let samples = sampler.finish();
    let figures = figures(&samples);
    println!(
        "cordoned: route gone after {:?}, stale samples: {}",
        figures.gone_at,
        samples
            .iter()
            .filter(|s| s.route == RouteState::Stale)
            .count()
    );
    let context = || format!("BIRD:\n{}\nspeaker:\n{}", lab.bird.log(), lab.speaker_log());
    let gone = figures
        .gone_at
        .unwrap_or_else(|| panic!("route kept; {}", context()));
    assert!(gone < Duration::from_secs(2), "{gone:?}; {}", context());
    assert_eq!(figures.stale_for, None, "{}", context());
    assert!(
        !lab.restart_dir.join("bgp-graceful-stop").exists(),
        "no restart marker after a stop for good"
    );
}

#[tokio::test]
async fn a_crash_leaves_the_route_stale_for_the_restart_time() {
    let restart = Duration::from_secs(4);
    let mut lab = GrLab::start("4s").await;
    let sampler = lab.sample(Duration::from_secs(15), route_gone);
    lab.speaker().kill();
    let samples = sampler.finish();
    let figures = figures(&samples);
    println!(
        "SIGKILL: route stale for {:?}, gone after {:?} (restart time {restart:?})",
        figures.stale_for, figures.gone_at
    );
    let context = || format!("BIRD:\n{}", lab.bird.log());
    let gone = figures
        .gone_at
        .unwrap_or_else(|| panic!("route kept; {}", context()));
    assert!(
        gone >= restart - Duration::from_millis(500) && gone < restart + Duration::from_secs(3),
        "gone after {gone:?}; {}",
        context()
    );
    assert!(figures.stale_for.is_some(), "never stale; {}", context());
}
