//! BGP mode: every eligible node advertises a route for each Service IP to the routers its
//! BGPPeers name, so the routers spread traffic over the nodes (ECMP) and stop sending to a
//! node as soon as its session ends.
//!
//! The pure core decides: [`peers`] turns BGPPeers into this node's sessions, [`plan`] turns
//! Services, pools, BGPAdvertisements and Community aliases into the routes of each peer.
//! The edge carries it out: [`run`] re-plans on every cluster change, [`sessions`] keeps one
//! [`connection`] task per peer, [`transport`] opens TCP connections with MD5 and the right
//! TTL, [`passwords`] reads password Secrets, and the status writer of [`crate::status`]
//! publishes a ServiceBGPStatus per advertised Service. The wire protocol and the session
//! state machine live in the `ferrolb-bgp` crate.

pub mod connection;
pub mod passwords;
pub mod peers;
pub mod plan;
pub mod sessions;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::ServiceBGPStatus;
use kube::Client;
use tokio::sync::{Notify, oneshot, watch};

use crate::cluster::ClusterWatch;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::status::{DesiredStatus, StatusWriter, publish_status};
use connection::Routes;
use passwords::Passwords;
use plan::{Advertisement, Plan};
use sessions::Sessions;

/// How often the plan is made again without a cluster change, so passwords read from
/// Secrets are refreshed.
const REPLAN_EVERY: Duration = Duration::from_secs(5);

impl ClusterWatch {
    /// This node's plan and sessions from the current state of the stores.
    fn bgp_plan(
        &self,
        node_name: &str,
    ) -> (Plan, BTreeMap<String, peers::PeerSession>, Vec<String>) {
        let (nodes, services, pools) = self.snapshot();
        let Some(node) = nodes.into_iter().find(|n| n.name == node_name) else {
            return (Plan::default(), BTreeMap::new(), Vec::new());
        };
        let bgp_peers: Vec<_> = self
            .bgp_peers
            .state()
            .iter()
            .map(|p| (**p).clone())
            .collect();
        let (sessions, problems) = peers::sessions_for(&node, &bgp_peers);
        let advertisements: Vec<Advertisement> = self
            .bgp_advertisements
            .state()
            .iter()
            .map(|a| Advertisement::from_kube(a))
            .collect();
        let communities: Vec<_> = self
            .communities
            .state()
            .iter()
            .map(|c| (**c).clone())
            .collect();
        let aliases = plan::aliases(&communities);
        let plan = plan::plan(
            &node,
            &services,
            &pools,
            &advertisements,
            &aliases,
            &sessions,
        );
        let mut messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        messages.extend(plan.problems.iter().cloned());
        (plan, sessions, messages)
    }
}

/// Logs each problem once, while it lasts.
fn report(problems: Vec<String>, reported: &mut BTreeSet<String>) {
    let current: BTreeSet<String> = problems.into_iter().collect();
    for problem in current.difference(reported) {
        tracing::warn!("{problem}");
    }
    *reported = current;
}

/// Runs BGP mode for `config.node_name`, once `cluster` holds its first listings, until
/// `stop` fires, then withdraws every route,
/// closes every session and removes this node's ServiceBGPStatus objects.
pub async fn run(
    client: Client,
    config: Config,
    cluster: Arc<ClusterWatch>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    mut stop: oneshot::Receiver<()>,
) {
    let node = config.node_name.clone();
    let mut sessions = Sessions::new(&node, metrics);
    let mut passwords = Passwords::new(client.clone(), &config.namespace, config.api_timeout);
    let (status_tx, status_rx) = watch::channel(Arc::new(DesiredStatus::new()));
    let status = tokio::spawn(publish_status(
        StatusWriter::<ServiceBGPStatus>::new(
            client.clone(),
            &config.namespace,
            &node,
            config.api_timeout,
        ),
        cluster.services_store(),
        status_rx,
    ));
    let mut reported = BTreeSet::new();
    let mut ticker = tokio::time::interval(REPLAN_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (plan, wanted, mut problems) = cluster.bgp_plan(&node);
        let mut resolved = BTreeMap::new();
        for (name, session) in wanted {
            match passwords.resolve(&session).await {
                Ok(password) => {
                    resolved.insert(name, (session, password));
                }
                Err(problem) => problems.push(problem),
            }
        }
        report(problems, &mut reported);
        let routes: BTreeMap<String, Routes> = plan
            .routes
            .into_iter()
            .map(|(peer, routes)| (peer, Arc::new(routes)))
            .collect();
        let desired: DesiredStatus = plan
            .services
            .into_iter()
            .filter(|(_, peers)| peers.iter().any(|p| resolved.contains_key(p)))
            .map(|(service, peers)| {
                let peers = peers
                    .into_iter()
                    .filter(|p| resolved.contains_key(p))
                    .collect();
                (service, peers)
            })
            .collect();
        sessions.reconcile(resolved, &routes).await;
        status_tx.send_if_modified(|current| {
            let changed = **current != desired;
            if changed {
                *current = Arc::new(desired);
            }
            changed
        });
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = wake.notified() => {}
            _ = ticker.tick() => {}
        }
    }
    tracing::info!("shutting down: withdrawing every BGP route");
    sessions.close_all().await;
    drop(status_tx);
    let _ = tokio::time::timeout(config.api_timeout * 3, status).await;
}
