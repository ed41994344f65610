//! BGP mode: every eligible node advertises a route for each Service IP to the routers its
//! BGPPeers name, so the routers spread traffic over the nodes (ECMP) and stop sending to a
//! node as soon as its session ends.
//!
//! The pure core decides: [`peers`] turns BGPPeers into this node's sessions, [`plan`] turns
//! Services, pools, BGPAdvertisements and Community aliases into the routes of each peer.
//! The edge carries it out: [`run`] re-plans on every cluster change, [`sessions`] keeps one
//! [`connection`] task per peer, [`transport`] opens TCP connections with MD5 and the right
//! TTL, [`passwords`] reads password Secrets, [`peer_events`] records on a BGPPeer why its
//! password keeps its session closed, and the status writer of [`crate::status`] publishes a
//! ServiceBGPStatus per advertised Service. The wire protocol and the session
//! state machine live in the `ferrolb-bgp` crate.

pub mod connection;
pub mod next_hop;
pub mod passwords;
pub mod peer_events;
pub mod peers;
pub mod plan;
pub mod sessions;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::ServiceBGPStatus;
use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use kube::Client;
use tokio::sync::{Notify, oneshot};

use crate::cluster::ClusterWatch;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{Node, Pool, Service};
use crate::status::{DesiredStatus, StatusPublisher};
use connection::Routes;
use passwords::{ApiSecrets, Passwords};
use peer_events::PeerEvents;
use peers::PeerSession;
use plan::{Advertisement, Plan};
use sessions::Sessions;

/// How often the plan is made again without a cluster change, so passwords read from
/// Secrets are refreshed.
const REPLAN_EVERY: Duration = Duration::from_secs(5);

/// What BGP mode reads from the cluster for one node, reduced to the pure model.
struct View {
    node: Node,
    services: Vec<Service>,
    pools: Vec<Pool>,
    peers: Vec<BGPPeer>,
    advertisements: Vec<Advertisement>,
    aliases: BTreeMap<String, String>,
}

impl ClusterWatch {
    /// The view of `node_name`, or `None` while its Node object is unknown.
    fn bgp_view(&self, node_name: &str) -> Option<View> {
        let (nodes, services, pools) = self.snapshot();
        let node = nodes.into_iter().find(|n| n.name == node_name)?;
        let communities: Vec<_> = self
            .communities
            .state()
            .iter()
            .map(|c| (**c).clone())
            .collect();
        Some(View {
            node,
            services,
            pools,
            peers: self
                .bgp_peers
                .state()
                .iter()
                .map(|p| (**p).clone())
                .collect(),
            advertisements: self
                .bgp_advertisements
                .state()
                .iter()
                .map(|a| Advertisement::from_kube(a))
                .collect(),
            aliases: plan::aliases(&communities),
        })
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
/// `stop` fires, then withdraws every route, closes every session and removes this node's
/// ServiceBGPStatus objects.
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
    let mut passwords = Passwords::new(
        ApiSecrets {
            client: client.clone(),
            timeout: config.api_timeout,
        },
        &config.namespace,
    );
    let status = StatusPublisher::start::<ServiceBGPStatus>(
        client.clone(),
        &config.namespace,
        &node,
        config.api_timeout,
        cluster.services_store(),
    );
    let mut reported = BTreeSet::new();
    let mut peer_events = PeerEvents::new(client.clone(), &node, config.api_timeout);
    let mut ticker = tokio::time::interval(REPLAN_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let view = cluster.bgp_view(&node);
        let (wanted, problems) = match &view {
            Some(view) => peers::sessions_for(&view.node, &view.peers),
            None => Default::default(),
        };
        let mut problems: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        // Only the sessions that can be opened get routes and appear in status.
        let mut usable = BTreeMap::new();
        let mut password_problems = BTreeMap::new();
        for (name, session) in wanted {
            let resolved = passwords.resolve(&session).await;
            problems.extend(resolved.warning);
            match resolved.password {
                Ok(password) => {
                    usable.insert(name, (session, password));
                }
                Err(problem) => {
                    problems.push(problem.clone());
                    password_problems.insert(name, problem);
                }
            }
        }
        peer_events.report(
            view.as_ref().map_or(&[][..], |v| &v.peers[..]),
            password_problems,
        );
        let sessions_planned: BTreeMap<String, PeerSession> = usable
            .iter()
            .map(|(name, (session, _))| (name.clone(), session.clone()))
            .collect();
        let plan = view.map_or_else(Plan::default, |v| {
            plan::plan(
                &v.node,
                &v.services,
                &v.pools,
                &v.advertisements,
                &v.aliases,
                &sessions_planned,
            )
        });
        problems.extend(plan.problems);
        report(problems, &mut reported);
        let routes: BTreeMap<String, Routes> = plan
            .routes
            .into_iter()
            .map(|(peer, routes)| (peer, Arc::new(routes)))
            .collect();
        let desired: DesiredStatus = plan
            .services
            .into_iter()
            .map(|(service, peers)| (service, peers.into_iter().collect()))
            .collect();
        sessions.reconcile(usable, &routes).await;
        status.show(desired);
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = wake.notified() => {}
            _ = ticker.tick() => {}
        }
    }
    tracing::info!("shutting down: withdrawing every BGP route");
    sessions.close_all().await;
    status.finish().await;
}
