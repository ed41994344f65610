//! BGP mode: every eligible node advertises a route for each Service IP to the routers its
//! BGPPeers name, so the routers spread traffic over the nodes (ECMP) and stop sending to a
//! node as soon as its session ends.
//!
//! The pure core decides: [`peers`] turns BGPPeers into this node's sessions, [`bfd_sessions`]
//! into the BFD sessions under them, [`plan`] turns Services, pools, BGPAdvertisements and
//! Community aliases into the routes of each peer. The edge carries it out: [`run`] re-plans
//! on every cluster change, [`sessions`] keeps one [`connection`] task per peer (configured by
//! the rules of [`session_params`]) and [`crate::bfd`] one BFD session per peer address that
//! asks for it, [`transport`] opens TCP connections with MD5 and the right TTL, [`passwords`]
//! reads password Secrets, [`peer_events`] records on a BGPPeer why its password keeps its
//! session closed, and the status writer of [`crate::status`] publishes a ServiceBGPStatus per
//! advertised Service. The wire protocol and the session state machine live in the
//! `ferrolb-bgp` crate.
//!
//! A BGP session with BFD closes at once when its BFD session goes down after having been up
//! (the router drops its routes as fast), and connects again only once BFD is up again. A
//! BFD session that never came up holds nothing back: a router without BFD still gets its BGP
//! session, as with MetalLB's FRR mode.
//!
//! On shutdown, [`restart`] decides from this node's Node object whether the speaker stops for
//! good (every route withdrawn, every session closed with a Cease) or for a restart, which
//! leaves the routes with the peers that negotiated graceful restart.

pub mod bfd_sessions;
pub mod connection;
pub mod next_hop;
pub mod passwords;
pub mod peer_events;
pub mod peers;
pub mod plan;
pub mod restart;
pub mod session_params;
pub mod sessions;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::ServiceBGPStatus;
use ferrolb_crds::bfdprofile::BFDProfileSpec;
use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use kube::Client;
use tokio::sync::{Notify, oneshot};

use crate::bfd::{Bfd, udp::Udp};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{Node, Pool, Service};
use crate::status::{DesiredStatus, StatusPublisher};
use crate::watches::ClusterWatch;
use bfd_sessions::BfdPlan;
use connection::Routes;
use passwords::{ApiSecrets, Passwords, SecretReader};
use peer_events::PeerEvents;
use peers::PeerSession;
use plan::{Advertisement, RoutePlan};
use sessions::Sessions;

/// How often the plan is made again without a cluster change, so passwords read from
/// Secrets are refreshed.
const REPLAN_EVERY: Duration = Duration::from_secs(5);

/// What BGP mode reads from the cluster for one node, reduced to the pure model.
struct BgpInputs {
    node: Node,
    services: Vec<Service>,
    pools: Vec<Pool>,
    peers: Vec<BGPPeer>,
    advertisements: Vec<Advertisement>,
    aliases: BTreeMap<String, String>,
    bfd_profiles: BTreeMap<String, BFDProfileSpec>,
}

impl ClusterWatch {
    /// The view of `node_name`, or `None` while its Node object is unknown.
    fn bgp_inputs(&self, node_name: &str) -> Option<BgpInputs> {
        let (nodes, services, pools) = self.snapshot();
        let node = nodes.into_iter().find(|n| n.name == node_name)?;
        let communities: Vec<_> = self
            .communities
            .state()
            .iter()
            .map(|c| (**c).clone())
            .collect();
        Some(BgpInputs {
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
            bfd_profiles: self
                .bfd_profiles
                .state()
                .iter()
                .filter_map(|p| Some((p.metadata.name.clone()?, p.spec.clone())))
                .collect(),
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

/// The sessions this node can open, each with its password, and what keeps the others
/// closed.
struct ResolvedSessions {
    usable: BTreeMap<String, (PeerSession, Option<String>)>,
    /// Peer name to the password problem that keeps its session closed.
    password_problems: BTreeMap<String, String>,
    /// Every problem worth a log line, fatal or not.
    problems: Vec<String>,
}

/// Resolves the password of each `wanted` session: only the sessions that can be opened get
/// routes and appear in status.
async fn resolve_passwords<R: SecretReader>(
    passwords: &mut Passwords<R>,
    wanted: BTreeMap<String, PeerSession>,
) -> ResolvedSessions {
    let mut resolved = ResolvedSessions {
        usable: BTreeMap::new(),
        password_problems: BTreeMap::new(),
        problems: Vec::new(),
    };
    for (name, session) in wanted {
        let password = passwords.resolve(&session).await;
        resolved.problems.extend(password.warning);
        match password.password {
            Ok(password) => {
                resolved.usable.insert(name, (session, password));
            }
            Err(problem) => {
                resolved.problems.push(problem.clone());
                resolved.password_problems.insert(name, problem);
            }
        }
    }
    resolved
}

/// BGP mode of one node at work: its sessions, where their passwords come from, its status
/// objects and the problems it reported.
struct BgpMode {
    node: String,
    namespace: String,
    sessions: Sessions,
    bfd: Bfd,
    passwords: Passwords<ApiSecrets>,
    status: StatusPublisher,
    peer_events: PeerEvents,
    reported: BTreeSet<String>,
}

impl BgpMode {
    /// Plans the BFD sessions under the `resolved` sessions, takes out the peers whose BFD
    /// cannot run and starts the BFD sessions, adding what is wrong to `problems`.
    fn start_bfd(
        &mut self,
        inputs: Option<&BgpInputs>,
        resolved: &mut ResolvedSessions,
        problems: &mut Vec<String>,
    ) -> BfdPlan {
        let no_profiles = BTreeMap::new();
        let bfd_plan = bfd_sessions::plan(
            resolved.usable.values().map(|(session, _)| session),
            inputs.map_or(&no_profiles, |i| &i.bfd_profiles),
            &self.namespace,
        );
        for (peer, problem) in &bfd_plan.refused {
            resolved.usable.remove(peer);
            problems.push(problem.clone());
        }
        problems.extend(bfd_plan.warnings.iter().cloned());
        problems.extend(self.bfd.start(&bfd_plan.sessions));
        bfd_plan
    }

    /// Plans over `inputs` (none while this node's Node object is unknown) and brings the
    /// sessions, their routes and the status in line with the plan.
    async fn reconcile(&mut self, inputs: Option<BgpInputs>) {
        let (wanted, peer_problems) = match &inputs {
            Some(inputs) => peers::sessions_for(&inputs.node, &inputs.peers),
            None => Default::default(),
        };
        let mut resolved = resolve_passwords(&mut self.passwords, wanted).await;
        let mut problems: Vec<String> = peer_problems.into_iter().map(|p| p.message).collect();
        problems.append(&mut resolved.problems);
        let bfd_plan = self.start_bfd(inputs.as_ref(), &mut resolved, &mut problems);
        self.peer_events.report(
            inputs.as_ref().map_or(&[][..], |i| &i.peers[..]),
            resolved.password_problems,
        );
        let planned_sessions: BTreeMap<String, PeerSession> = resolved
            .usable
            .iter()
            .map(|(name, (session, _))| (name.clone(), session.clone()))
            .collect();
        let plan = inputs.map_or_else(RoutePlan::default, |i| {
            plan::plan(
                &i.node,
                &i.services,
                &i.pools,
                &i.advertisements,
                &i.aliases,
                &planned_sessions,
            )
        });
        problems.extend(plan.problems);
        report(problems, &mut self.reported);
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
        let bfd: BTreeMap<String, _> = bfd_plan
            .peers
            .iter()
            .filter_map(|(peer, key)| Some((peer.clone(), self.bfd.status(key)?)))
            .collect();
        self.sessions
            .reconcile(resolved.usable, &routes, &bfd)
            .await;
        self.bfd.retain(&bfd_plan.sessions).await;
        self.status.show(desired);
    }
}

/// Runs BGP mode for `config.node_name`, once `watches` hold their first listings, until
/// `stop` fires, then closes every session (withdrawing every route unless the speaker
/// stops for a restart, see [`restart`]) and removes this node's ServiceBGPStatus objects.
pub async fn run(
    client: Client,
    config: Config,
    watches: Arc<ClusterWatch>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    mut stop: oneshot::Receiver<()>,
) {
    let node = config.node_name.clone();
    let api = client.clone();
    let mut mode = BgpMode {
        sessions: Sessions::new(&node, metrics.clone(), restart::at_start(&config)),
        bfd: Bfd::new(Udp::default(), metrics),
        namespace: config.namespace.clone(),
        passwords: Passwords::new(
            ApiSecrets {
                client: client.clone(),
                timeout: config.api_timeout,
            },
            &config.namespace,
        ),
        status: StatusPublisher::start::<ServiceBGPStatus>(
            client.clone(),
            &config.namespace,
            &node,
            config.api_timeout,
            watches.services_store(),
        ),
        peer_events: PeerEvents::new(client, &node, config.api_timeout),
        reported: BTreeSet::new(),
        node,
    };
    let mut ticker = tokio::time::interval(REPLAN_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        mode.reconcile(watches.bgp_inputs(&mode.node)).await;
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = wake.notified() => {}
            _ = ticker.tick() => {}
        }
    }
    let decision = restart::stop_decision(api, &config).await;
    restart::close_sessions(&mut mode.sessions, &config, &decision).await;
    mode.bfd.stop_all().await;
    mode.status.finish().await;
}
