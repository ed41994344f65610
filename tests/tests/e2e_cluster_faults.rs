//! Faults of the real cluster of `dev/cluster`, measured from outside: the kube-apiserver
//! process stopped for 60 s (not a relay cut: the process is gone, every watch and Lease
//! renewal fails, kubelets and controllers lose it too) while a Layer 2 Service is answered by
//! one node and every speaker holds a TCP MD5 BGP session (its password from a Secret) to
//! BIRD; then started again. The figures: ARP answers missing during the outage, BGP sessions
//! seen down, the announcing node changing, and how long until a new Service is served.
//!
//! Needs the cluster (`FERROLB_E2E_CLUSTER`), so ignored by a plain `cargo test`; `dev/test
//! e2e` runs it.

use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_tests::repo_root;
use ferrolb_tests::wait::{until, until_within};
use ferrolb_tests::worlds::e2e::lan_router::LanRouter;
use ferrolb_tests::worlds::e2e::real_cluster::ArpWatch;
use ferrolb_tests::worlds::e2e::workloads::{
    Cleanup, NAMESPACE, backends_behind_a_service, connect, l2_status_node, serve, service_ip,
    sole_owner,
};

const OUTAGE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "outage-proof";

fn apiserver(action: &str) {
    let out = Command::new(repo_root().join("dev/cluster"))
        .args(["apiserver", action])
        .output()
        .expect("dev/cluster runs");
    assert!(
        out.status.success(),
        "dev/cluster apiserver {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the API server again if a test ends while it is stopped.
struct Restart(bool);
impl Drop for Restart {
    fn drop(&mut self) {
        if self.0 {
            apiserver("start");
        }
    }
}

/// The longest silence between ARP replies within `from..to`, and the MACs that replied.
fn arp_gaps(watch: &ArpWatch, from: Instant, to: Instant) -> (Duration, Vec<String>) {
    let replies: Vec<_> = watch
        .replies()
        .into_iter()
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    let mut longest = Duration::ZERO;
    let mut last = from;
    for (at, _) in &replies {
        longest = longest.max(at.duration_since(last));
        last = *at;
    }
    longest = longest.max(to.duration_since(last));
    let mut macs: Vec<String> = replies.into_iter().map(|(_, mac)| mac).collect();
    macs.sort();
    macs.dedup();
    (longest, macs)
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn the_api_server_stopped_for_60_s_loses_no_arp_answer_no_md5_session_and_moves_no_ip() {
    let (cluster, kubectl) = connect();
    let lab = LanRouter::start_with(&cluster, Some(PASSWORD));
    let mut cleanup = Cleanup::new(&kubectl);
    cleanup.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: e2e-outage-password\n  namespace: {NAMESPACE}\ntype: kubernetes.io/basic-auth\nstringData:\n  password: {PASSWORD}\n---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: e2e-outage-router\n  namespace: {NAMESPACE}\nspec:\n  myASN: 64513\n  peerASN: 64512\n  peerAddress: 203.0.113.2\n  passwordSecret:\n    name: e2e-outage-password\n    namespace: {NAMESPACE}\n"
    ));
    let l2_ip = serve(&mut cleanup, "e2e-outage-l2", "203.0.113.112/30", false);
    let bgp_ip = serve(&mut cleanup, "e2e-outage-bgp", "203.0.113.212/30", true);
    let owner = sole_owner(&cluster, &l2_ip).clone();
    let named_before = until("the ServiceL2Status", || {
        let n = l2_status_node(&kubectl, "e2e-outage-l2");
        (!n.is_empty()).then_some(n)
    });
    let prefix = format!("{bgp_ip}/32");
    until("an MD5 session and a path from every node", || {
        let up = lab
            .router()
            .sessions()
            .values()
            .filter(|s| s.established)
            .count();
        let hops = lab.router().kernel_nexthops(&prefix).len();
        (up == cluster.nodes.len() && hops == cluster.nodes.len()).then_some(())
    });
    let watch = ArpWatch::start(&l2_ip);
    std::thread::sleep(Duration::from_secs(3));

    apiserver("stop");
    let mut restart = Restart(true);
    let stopped = Instant::now();
    let mut samples = 0;
    let mut sessions_down = 0;
    let mut paths_missing = 0;
    while stopped.elapsed() < OUTAGE {
        let sessions = lab.router().sessions();
        sessions_down += sessions.values().filter(|s| !s.established).count();
        paths_missing += cluster
            .nodes
            .len()
            .saturating_sub(lab.router().kernel_nexthops(&prefix).len());
        samples += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    let outage_end = Instant::now();
    apiserver("start");
    restart.0 = false;
    let api_back = Instant::now();
    let api_ready_after = api_back.duration_since(outage_end);

    // Normal operation again: a new pool and Service are admitted (the webhook's snapshot
    // catches up once its watches reconnect; until then a Service naming the new pool is
    // refused), the Service gets an IP and one node answers for it.
    let started = Instant::now();
    let yaml = backends_behind_a_service("e2e-after-outage", "203.0.113.116/30", false);
    let admitted = until_within(Duration::from_secs(60), "the new Service admitted", || {
        let out = kubectl.run(&["apply", "-f", "-"], Some(&yaml)).ok()?;
        out.success.then(Instant::now)
    });
    let admitted_after = admitted.duration_since(started);
    cleanup.apply(&yaml);
    let new_ip = service_ip(&kubectl, "e2e-after-outage");
    until_within(Duration::from_secs(120), "the new Service answered", || {
        cluster.arping(&new_ip, 1).first().cloned()
    });
    let resumed_after = started.elapsed();
    // Recovery must not move the IP: watch 20 s more.
    std::thread::sleep(Duration::from_secs(20));
    let watched_until = Instant::now();
    let named_after = l2_status_node(&kubectl, "e2e-outage-l2");
    let sessions_down_after = lab
        .router()
        .sessions()
        .values()
        .filter(|s| !s.established)
        .count();

    let (gap_outage, macs_outage) = arp_gaps(&watch, stopped, outage_end);
    let (gap_after, macs_after) = arp_gaps(&watch, outage_end, watched_until);
    println!(
        "API server stopped {:?}: longest ARP silence {gap_outage:?} (MACs {macs_outage:?}); \
         BGP: {sessions_down} session-down and {paths_missing} missing-path readings in \
         {samples} samples of {} sessions; API ready {api_ready_after:?} after start; a new \
         pool and Service admitted {admitted_after:?} later, the Service answered by ARP \
         {resumed_after:?} later (its pods started meanwhile); after recovery: longest ARP silence \
         {gap_after:?} (MACs {macs_after:?}), ServiceL2Status {named_before} -> {named_after}, \
         {sessions_down_after} sessions down",
        OUTAGE,
        cluster.nodes.len()
    );
    drop(watch);
    drop(lab);
    assert_eq!(
        macs_outage,
        vec![owner.mac.clone()],
        "only the owner answers"
    );
    assert!(gap_outage < Duration::from_secs(2), "ARP answers stopped");
    assert_eq!(
        sessions_down, 0,
        "a BGP session went down during the outage"
    );
    assert_eq!(
        paths_missing, 0,
        "a node's path was withdrawn during the outage"
    );
    assert_eq!(macs_after, vec![owner.mac.clone()], "recovery moved the IP");
    assert!(
        gap_after < Duration::from_secs(2),
        "ARP answers stopped on recovery"
    );
    assert_eq!(
        named_after, named_before,
        "recovery changed the ServiceL2Status"
    );
    assert_eq!(
        sessions_down_after, 0,
        "a BGP session went down on recovery"
    );
}
