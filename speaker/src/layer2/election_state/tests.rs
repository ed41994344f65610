use std::net::Ipv4Addr;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::election::candidates::{Candidate, Interfaces};

const TIMEOUT: Duration = Duration::from_millis(1200);
const SETTLE: Duration = Duration::from_secs(10);

fn ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))
}

fn ms(base: Instant, n: u64) -> Instant {
    base + Duration::from_millis(n)
}

/// One IP whose only candidate is `node`, allowed on every interface.
fn claims_for(node: &str) -> BTreeMap<IpAddr, Claim> {
    let candidate = Candidate {
        interfaces: Interfaces::Any,
        weight: 0,
    };
    BTreeMap::from([(
        ip(),
        Claim {
            services: Default::default(),
            candidates: [(node.to_owned(), candidate)].into(),
        },
    )])
}

/// `node`'s heartbeat Lease at `version`.
fn heartbeat(node: &str, version: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(lease_name::heartbeat(node)),
            resource_version: Some(version.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.into()),
            ..Default::default()
        }),
    }
}

/// node-a with its Lease watch synced at 0 ms and its heartbeat renewed at 0 and 800 ms.
fn synced_and_beating() -> (Instant, ElectionState) {
    let t0 = Instant::now();
    let mut state = ElectionState::new("node-a", TIMEOUT, SETTLE, t0);
    state.on_lease_event(LeaseEvent::Relisted(Vec::new()), t0);
    state.on_beat(Some(heartbeat("node-a", "1")), t0);
    state.on_beat(Some(heartbeat("node-a", "2")), ms(t0, 800));
    (t0, state)
}

#[test]
fn a_node_acquires_a_free_ip_only_once_in_touch_for_a_heartbeat_timeout() {
    let t0 = Instant::now();
    let mut state = ElectionState::new("node-a", TIMEOUT, SETTLE, t0);
    let claims = claims_for("node-a");
    state.on_lease_event(LeaseEvent::Relisted(Vec::new()), t0);
    state.on_beat(Some(heartbeat("node-a", "1")), t0);
    assert!(state.plan(&claims, ms(t0, 100)).acquire.is_empty());
    // Its heartbeat keeps changing, so it stays live through the wait.
    state.on_beat(Some(heartbeat("node-a", "2")), ms(t0, 800));
    let plan = state.plan(&claims, ms(t0, 1200));
    assert_eq!(plan.acquire, BTreeSet::from([ip()]));
}

#[test]
fn a_node_whose_lease_watch_broke_acquires_nothing() {
    let (t0, mut state) = synced_and_beating();
    let claims = claims_for("node-a");
    state.on_lease_event(LeaseEvent::Broken, ms(t0, 1000));
    assert!(state.plan(&claims, ms(t0, 1200)).acquire.is_empty());
}

#[test]
fn a_node_with_no_usable_interface_is_no_candidate() {
    let (t0, mut state) = synced_and_beating();
    let claims = claims_for("node-a");
    state.usable_here = Some(Usable::default());
    assert!(state.plan(&claims, ms(t0, 1200)).acquire.is_empty());
}
