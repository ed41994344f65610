//! Layer 2 mode: one Lease per IP elects the node that answers ARP and NDP for it.
//!
//! [`Layer2::start`] starts the tasks that report to the election: the Lease watch
//! ([`lease_watch`]), the heartbeat ([`heartbeat`]), the announcer (which reads the links and
//! answers on the wire, [`crate::announcer`]) and the ServiceL2Status publisher. Once the
//! cluster watches hold their first listings, [`Layer2::run`] runs the election loop
//! ([`election_loop`]): the state and the decision are in [`election_state`] (with the
//! contact rule of [`api_contact`]), the Lease writes in [`lease_writes`], the status and the
//! metrics it derives in [`service_status`] and [`announced_metrics`]. On shutdown it stops
//! answering, releases its heartbeat and then every IP it holds, so successors take over at
//! once.

mod announced_metrics;
mod api_contact;
mod election_loop;
mod election_state;
mod heartbeat;
mod lease_watch;
mod lease_writes;
mod service_status;

use std::sync::Arc;
use std::time::Instant;

use ferrolb_crds::ServiceL2Status;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service as KubeService;
use kube::runtime::reflector::Store;
use kube::{Api, Client};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::announcer::{self, InterfaceTaskInputs, Repeat};
use crate::config::Config;
use crate::election::lease_name;
use crate::lease::LeaseWriter;
use crate::metrics::Metrics;
use crate::responder::Table;
use crate::status::StatusPublisher;
use crate::watches::ClusterWatch;
use announced_metrics::AnnouncedMetrics;
use election_loop::{Election, LoopInputs, LoopOutputs};
use election_state::ElectionState;
use lease_writes::LeaseWrites;

/// The tasks that report to the election loop.
struct ReportingTasks {
    lease_watch: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
    announcer: JoinHandle<()>,
}

/// Layer 2 mode of one node, started and waiting for the cluster watches.
pub struct Layer2 {
    config: Config,
    writer: LeaseWriter,
    metrics: Arc<Metrics>,
    tasks: ReportingTasks,
    inputs: LoopInputs,
    outputs: LoopOutputs,
}

impl Layer2 {
    /// Starts the Lease watch, the heartbeat, the announcer and the status publisher of
    /// `config.node_name`; `services` names the Services the status events are for.
    pub fn start(
        client: &Client,
        config: &Config,
        metrics: &Arc<Metrics>,
        services: Store<KubeService>,
    ) -> Layer2 {
        let writer = LeaseWriter {
            api: Api::<Lease>::namespaced(client.clone(), &config.namespace),
            node: config.node_name.clone(),
            timeout: config.api_timeout,
            heartbeat_timeout: config.heartbeat_timeout,
        };
        let (lease_tx, lease_events) = mpsc::channel(4096);
        let lease_watch = tokio::spawn(lease_watch::watch_leases(writer.clone(), lease_tx));
        // The announcer reports this node's links; the heartbeat publishes the part of the
        // usable interfaces the advertisements make relevant.
        let (links_tx, links) = watch::channel(None);
        let (published_usable, published_rx) = watch::channel(None);
        let (beat_tx, beats) = mpsc::channel(16);
        let heartbeat = tokio::spawn(heartbeat::heartbeat(
            writer.clone(),
            config.heartbeat_interval,
            metrics.clone(),
            published_rx,
            beat_tx,
        ));
        let (table, table_rx) = watch::channel(Arc::new(Table::new()));
        let (conflict_tx, conflicts) = mpsc::channel(256);
        let announcing = InterfaceTaskInputs {
            table: table_rx,
            conflicts: conflict_tx,
            metrics: metrics.clone(),
            repeat: Repeat {
                count: config.gratuitous_count,
                interval: config.gratuitous_interval,
            },
        };
        let announcer = tokio::spawn(async move {
            if let Err(e) = announcer::supervise(announcing, links_tx).await {
                tracing::error!("cannot follow the network interfaces: {e}");
            }
        });
        let status = StatusPublisher::start::<ServiceL2Status>(
            client.clone(),
            &config.namespace,
            &config.node_name,
            config.api_timeout,
            services,
        );
        Layer2 {
            config: config.clone(),
            writer,
            metrics: metrics.clone(),
            tasks: ReportingTasks {
                lease_watch,
                heartbeat,
                announcer,
            },
            inputs: LoopInputs {
                lease_events,
                beats,
                conflicts,
                links,
            },
            outputs: LoopOutputs {
                table,
                published_usable,
                status,
            },
        }
    }

    /// Runs the election over `watches` (woken by `wake`) until `shutdown` completes, then
    /// hands every IP back.
    pub async fn run(
        mut self,
        watches: &ClusterWatch,
        wake: &Notify,
        shutdown: impl Future<Output = ()>,
    ) {
        let config = &self.config;
        let mut election = Election {
            state: ElectionState::new(
                &config.node_name,
                config.heartbeat_timeout,
                config.rebalance_after,
                Instant::now(),
            ),
            writes: LeaseWrites {
                writer: self.writer.clone(),
                metrics: self.metrics.clone(),
            },
            announced: AnnouncedMetrics::new(self.metrics.clone(), &config.node_name),
        };
        election_loop::run(
            &mut election,
            &mut self.inputs,
            &self.outputs,
            watches,
            wake,
            config.evaluate_every,
            shutdown,
        )
        .await;
        hand_back(&mut election, self.outputs, self.tasks).await;
    }
}

/// Stops answering, releases the heartbeat and then every IP this node holds, and withdraws
/// its status objects.
async fn hand_back(election: &mut Election, outputs: LoopOutputs, tasks: ReportingTasks) {
    tracing::info!("shutting down: releasing every IP this node holds");
    outputs.table.send_replace(Arc::new(Table::new()));
    tasks.heartbeat.abort();
    // The heartbeat goes first: successors then see this node dead before they see its IPs
    // free, and none of them waits for it as the preferred candidate.
    // The heartbeat task may have renewed once more after its last report: read the Lease
    // again rather than release a version that is already gone.
    let writer = &election.writes.writer;
    let current = match writer.get(&lease_name::heartbeat(&writer.node)).await {
        Ok(lease) => lease,
        Err(_) => election.state.last_heartbeat.clone(),
    };
    if let Some(current) = current
        && let Err(e) = writer.heartbeat(Some(&current), true, None).await
    {
        tracing::warn!("cannot release the heartbeat: {e}");
    }
    let held = election.state.held();
    election
        .writes
        .release(&mut election.state.book, &held)
        .await;
    outputs.status.finish().await;
    tasks.lease_watch.abort();
    tasks.announcer.abort();
}
