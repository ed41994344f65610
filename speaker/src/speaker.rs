//! The election loop: gathers what the watches, the heartbeat and the announcer report,
//! asks [`crate::election::ownership::decide`] what to do, and carries the plan out (Lease
//! writes, the announce table, the desired status). On shutdown it stops answering, releases
//! every IP it holds and its heartbeat, so successors take over at once.

mod state;
mod tasks;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use ferrolb_crds::ServiceL2Status;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use tokio::sync::{Notify, mpsc, watch};

use crate::announcer::{self, Repeat, Shared};
use crate::cluster::{ClusterWatch, Wake};
use crate::config::Config;
use crate::election::candidates::{Claim, Interfaces};
use crate::election::lease_name;
use crate::election::liveness::Liveness;
use crate::election::usable::UsableHistory;
use crate::lease::{LeaseBook, LeaseWriter};
use crate::link::{Link, read_links, suitable_for};
use crate::metrics::Metrics;
use crate::responder::Table;
use crate::status::{DesiredStatus, StatusPublisher};
use crate::{Error, publish_if_changed};
use state::{Election, Touch};
use tasks::LeaseEvent;

/// The interfaces to report in a ServiceL2Status for an allowance, among `links`.
fn interface_names(links: &[Link], interfaces: &Interfaces) -> Vec<String> {
    links
        .iter()
        .filter(|l| suitable_for(l, interfaces))
        .map(|l| l.name.clone())
        .collect()
}

fn desired_status(announce: &Table, claims: &BTreeMap<IpAddr, Claim>) -> DesiredStatus {
    let mut desired = DesiredStatus::new();
    if announce.is_empty() {
        return desired;
    }
    let links = read_links().unwrap_or_default();
    for (ip, interfaces) in announce {
        let names = interface_names(&links, interfaces);
        for service in claims.get(ip).map(|c| &c.services).into_iter().flatten() {
            desired.insert(service.clone(), names.clone());
        }
    }
    desired
}

/// Runs the speaker until `shutdown` completes, then hands every IP back.
pub async fn run(
    client: Client,
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let node = config.node_name.clone();
    tracing::info!(%node, namespace = %config.namespace, "starting");
    let notify = Arc::new(Notify::new());
    let bgp_notify = Arc::new(Notify::new());
    let cluster = Arc::new(ClusterWatch::start(
        &client,
        &config.namespace,
        config.lb_class.as_deref(),
        Wake::new(&[notify.clone(), bgp_notify.clone()]),
    ));
    let writer = LeaseWriter {
        api: Api::<Lease>::namespaced(client.clone(), &config.namespace),
        node: node.clone(),
        timeout: config.api_timeout,
        heartbeat_timeout: config.heartbeat_timeout,
    };
    let (lease_tx, mut lease_rx) = mpsc::channel(4096);
    let lease_watch = tokio::spawn(tasks::watch_leases(writer.clone(), lease_tx));
    // The announcer reports this node's usable interfaces; the heartbeat publishes the part
    // of them the advertisements make relevant.
    let (usable_tx, mut usable_rx) = watch::channel(None);
    let (published_tx, published_rx) = watch::channel(None);
    let (beat_tx, mut beat_rx) = mpsc::channel(16);
    let heartbeat = tokio::spawn(tasks::heartbeat(
        writer.clone(),
        config.heartbeat_interval,
        metrics.clone(),
        published_rx,
        beat_tx,
    ));
    let (table_tx, table_rx) = watch::channel(Arc::new(Table::new()));
    let (conflict_tx, mut conflict_rx) = mpsc::channel(256);
    let shared = Shared {
        table: table_rx,
        conflicts: conflict_tx,
        metrics: metrics.clone(),
        repeat: Repeat {
            count: config.gratuitous_count,
            interval: config.gratuitous_interval,
        },
    };
    let announcer = tokio::spawn(async move {
        if let Err(e) = announcer::supervise(shared, usable_tx).await {
            tracing::error!("cannot follow the network interfaces: {e}");
        }
    });
    let status = StatusPublisher::start::<ServiceL2Status>(
        client.clone(),
        &config.namespace,
        &node,
        config.api_timeout,
        cluster.services_store(),
    );

    let mut election = Election {
        config: config.clone(),
        writer: writer.clone(),
        metrics: metrics.clone(),
        book: LeaseBook::default(),
        liveness: Liveness::default(),
        touch: Touch {
            heartbeat: false,
            watch: false,
            since: Instant::now(),
        },
        yielded: BTreeSet::new(),
        takeover_started: BTreeMap::new(),
        last_heartbeat: None,
        announced: HashSet::new(),
        usable_here: None,
        usable_history: UsableHistory::default(),
    };
    tokio::pin!(shutdown);
    // Nothing is decided before every watch holds its first listing: an empty view would
    // release the IPs an earlier run of this node still holds.
    tokio::select! {
        _ = &mut shutdown => return Ok(()),
        _ = cluster.ready() => {}
    }
    tracing::debug!("every watch holds its first listing");
    let (bgp_stop, bgp_stopped) = tokio::sync::oneshot::channel();
    let bgp = tokio::spawn(crate::bgp::run(
        client.clone(),
        config.clone(),
        cluster.clone(),
        bgp_notify,
        metrics.clone(),
        bgp_stopped,
    ));

    let mut ticker = tokio::time::interval(config.evaluate_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut synced = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(event) = lease_rx.recv() => {
                synced |= matches!(event, LeaseEvent::Relisted(_));
                election.on_lease_event(event, Instant::now());
            }
            Some(beat) = beat_rx.recv() => election.on_beat(beat, Instant::now()),
            Some(conflict) = conflict_rx.recv() => election.on_conflict(conflict).await,
            Ok(()) = usable_rx.changed() => {}
            _ = notify.notified() => {}
            _ = ticker.tick() => {}
        }
        // Take in everything already queued before deciding, so a burst of events costs one
        // decision and heartbeats are observed when they arrive.
        while let Ok(event) = lease_rx.try_recv() {
            synced |= matches!(event, LeaseEvent::Relisted(_));
            election.on_lease_event(event, Instant::now());
        }
        while let Ok(beat) = beat_rx.try_recv() {
            election.on_beat(beat, Instant::now());
        }
        let usable_here = usable_rx.borrow_and_update().clone();
        if !synced {
            continue;
        }
        let claims = cluster.claims();
        election.usable_here = usable_here.map(|u| u.relevant(&claims));
        published_tx.send_if_modified(|published| {
            let changed = *published != election.usable_here;
            if changed {
                published.clone_from(&election.usable_here);
            }
            changed
        });
        let now = Instant::now();
        let mut plan = election.plan(&claims, now);
        // Stop answering for released IPs before writing their Leases.
        publish_if_changed(&table_tx, Arc::new(plan.announce.clone()));
        if !plan.release.is_empty() {
            election.release(&plan.release).await;
        }
        if !plan.acquire.is_empty() && election.acquire(&plan.acquire, now).await {
            plan = election.plan(&claims, Instant::now());
            table_tx.send_replace(Arc::new(plan.announce.clone()));
        }
        election.account(&plan.announce, &claims);
        let desired = desired_status(&plan.announce, &claims);
        status.show(desired);
    }

    tracing::info!("shutting down: releasing every IP this node holds");
    let _ = bgp_stop.send(());
    table_tx.send_replace(Arc::new(Table::new()));
    heartbeat.abort();
    // The heartbeat goes first: successors then see this node dead before they see its IPs
    // free, and none of them waits for it as the preferred candidate.
    // The heartbeat task may have renewed once more after its last report: read the Lease
    // again rather than release a version that is already gone.
    let heartbeat_name = lease_name::heartbeat(&node);
    let current = match writer.get(&heartbeat_name).await {
        Ok(lease) => lease,
        Err(_) => election.last_heartbeat.clone(),
    };
    if let Some(current) = current
        && let Err(e) = writer.heartbeat(Some(&current), true, None).await
    {
        tracing::warn!("cannot release the heartbeat: {e}");
    }
    let held: BTreeSet<IpAddr> = election
        .book
        .holders()
        .into_iter()
        .filter(|(_, h)| h.as_deref() == Some(node.as_str()))
        .map(|(ip, _)| ip)
        .collect();
    election.release(&held).await;
    status.finish().await;
    let _ = bgp.await;
    lease_watch.abort();
    announcer.abort();
    for task in &cluster.tasks {
        task.abort();
    }
    Ok(())
}
