//! The election loop: gathers what the watches, the heartbeat and the announcer report,
//! asks [`crate::election::ownership::decide`] what to do, and carries the plan out (Lease
//! writes, the announce table, the desired status). On shutdown it stops answering, releases
//! every IP it holds and its heartbeat, so successors take over at once.

mod tasks;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use tokio::sync::{Notify, mpsc, watch};

use crate::Error;
use crate::announcer::{self, Conflict, Repeat, Shared};
use crate::cluster::{ClusterWatch, discover_endpoint_source};
use crate::config::Config;
use crate::election::candidates::{Claim, Interfaces};
use crate::election::lease_name;
use crate::election::liveness::Liveness;
use crate::election::ownership::{Plan, View, decide};
use crate::lease::{LeaseBook, LeaseWriter, Written, holder};
use crate::link::{Link, read_links, suitable};
use crate::metrics::{AnnouncedLabels, Metrics};
use crate::responder::Table;
use crate::status::StatusWriter;
use tasks::{Beat, DesiredStatus, LeaseEvent};

/// Whether this node is in touch with the API server: its heartbeat goes through and its
/// Lease watch is synced. `since` is when both last became true.
struct Touch {
    heartbeat: bool,
    watch: bool,
    since: Instant,
}

impl Touch {
    fn set(&mut self, heartbeat: Option<bool>, watch: Option<bool>, now: Instant) {
        let was = self.heartbeat && self.watch;
        self.heartbeat = heartbeat.unwrap_or(self.heartbeat);
        self.watch = watch.unwrap_or(self.watch);
        if !was && self.heartbeat && self.watch {
            self.since = now;
        }
    }
}

/// The state of the election loop.
struct Election {
    config: Config,
    writer: LeaseWriter,
    metrics: Arc<Metrics>,
    book: LeaseBook,
    liveness: Liveness,
    touch: Touch,
    yielded: BTreeSet<IpAddr>,
    /// When this node first decided to acquire each IP it is trying to take.
    takeover_started: BTreeMap<IpAddr, Instant>,
    last_heartbeat: Option<Lease>,
    announced: HashSet<AnnouncedLabels>,
}

impl Election {
    fn observe_heartbeats(&mut self, now: Instant) {
        let timeout = self.config.heartbeat_timeout;
        let beats: Vec<(String, String, bool)> = self
            .book
            .heartbeats()
            .map(|(n, v, r)| (n.to_owned(), v.to_owned(), r))
            .collect();
        for (node, version, released) in beats {
            self.liveness
                .observe(&node, &version, released, now, timeout);
        }
    }

    fn on_lease_event(&mut self, event: LeaseEvent, now: Instant) {
        match event {
            LeaseEvent::Applied(lease) => self.book.record(*lease),
            LeaseEvent::Deleted(name) => {
                if let Some(node) = lease_name::heartbeat_node(&name) {
                    self.liveness.forget(node);
                }
                self.book.remove(&name);
            }
            LeaseEvent::Relisted(leases) => {
                self.book.relist(leases);
                self.yielded.clear();
                self.touch.set(None, Some(true), now);
            }
            LeaseEvent::Broken => self.touch.set(None, Some(false), now),
        }
        self.observe_heartbeats(now);
    }

    fn on_beat(&mut self, beat: Beat, now: Instant) {
        match beat {
            Some(lease) => {
                self.last_heartbeat = Some(lease.clone());
                self.book.record(lease);
                self.touch.set(Some(true), None, now);
                self.observe_heartbeats(now);
            }
            None => self.touch.set(Some(false), None, now),
        }
    }

    /// Another MAC announced an IP this node holds: read its Lease again; if that is not
    /// possible, stop answering for it until the Lease can be read.
    async fn on_conflict(&mut self, conflict: Conflict) {
        let name = lease_name::for_ip(conflict.ip);
        if self.book.get(&name).and_then(holder).as_deref() != Some(self.config.node_name.as_str())
        {
            return;
        }
        tracing::info!(ip = %conflict.ip, mac = %conflict.mac, "another node announces an IP this node holds");
        match self.writer.get(&name).await {
            Ok(Some(lease)) => self.book.record(lease),
            Ok(None) => self.book.remove(&name),
            Err(_) => {
                self.yielded.insert(conflict.ip);
            }
        }
    }

    fn plan(&self, claims: &BTreeMap<IpAddr, Claim>, now: Instant) -> Plan {
        let mut live = self
            .liveness
            .live(now, self.config.heartbeat_timeout, self.touch.since);
        // This node counts as live once in touch for a whole heartbeat timeout: by then it has
        // seen the heartbeats of every live peer, so a node starting next to others does not
        // grab every free IP before it knows they exist.
        let in_touch = self.touch.heartbeat && self.touch.watch;
        let warm = now.saturating_duration_since(self.touch.since) >= self.config.heartbeat_timeout;
        if !(in_touch && warm) {
            live.remove(&self.config.node_name);
        }
        decide(&View {
            me: &self.config.node_name,
            claims,
            holders: &self.book.holders(),
            live: &live,
            yielded: &self.yielded,
            now,
            settle: self.config.rebalance_after,
        })
    }

    /// Releases `ips`, concurrently; each result goes into the book.
    async fn release(&mut self, ips: &BTreeSet<IpAddr>) {
        let jobs: Vec<(IpAddr, Lease)> = ips
            .iter()
            .filter_map(|ip| Some((*ip, self.book.ip_lease(*ip)?.clone())))
            .collect();
        let writer = self.writer.clone();
        let results: Vec<_> = futures::stream::iter(jobs)
            .map(|(ip, lease)| {
                let writer = writer.clone();
                async move { (ip, writer.release(&lease).await) }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (ip, result) in results {
            match result {
                Ok(Written::Won(lease)) => {
                    tracing::info!(%ip, "released");
                    self.metrics.ownership_changed("released");
                    self.book.record(*lease);
                }
                Ok(Written::Lost) => {
                    // Someone wrote the Lease since this node read it; if it still names this
                    // node, release that version so a successor need not wait for a timeout.
                    self.refresh(ip).await;
                    let me = Some(self.config.node_name.as_str());
                    if let Some(lease) = self.book.ip_lease(ip).cloned()
                        && holder(&lease).as_deref() == me
                        && let Ok(Written::Won(lease)) = self.writer.release(&lease).await
                    {
                        tracing::info!(%ip, "released");
                        self.metrics.ownership_changed("released");
                        self.book.record(*lease);
                    }
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    self.metrics.lease_write_failed("release");
                }
            }
        }
    }

    /// Acquires `ips`, concurrently; returns whether any was won.
    async fn acquire(&mut self, ips: &BTreeSet<IpAddr>, now: Instant) -> bool {
        self.takeover_started.retain(|ip, _| ips.contains(ip));
        let jobs: Vec<(IpAddr, Option<Lease>)> = ips
            .iter()
            .map(|ip| {
                self.takeover_started.entry(*ip).or_insert(now);
                (*ip, self.book.ip_lease(*ip).cloned())
            })
            .collect();
        let writer = self.writer.clone();
        let results: Vec<_> = futures::stream::iter(jobs)
            .map(|(ip, lease)| {
                let writer = writer.clone();
                async move { (ip, writer.acquire(ip, lease.as_ref()).await) }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut won = false;
        for (ip, result) in results {
            match result {
                Ok(Written::Won(lease)) => {
                    tracing::info!(%ip, "acquired");
                    self.metrics.ownership_changed("acquired");
                    self.book.record(*lease);
                    won = true;
                }
                Ok(Written::Lost) => self.refresh(ip).await,
                Err(e) => {
                    tracing::warn!("{e}");
                    self.metrics.lease_write_failed("acquire");
                }
            }
        }
        won
    }

    async fn refresh(&mut self, ip: IpAddr) {
        let name = lease_name::for_ip(ip);
        match self.writer.get(&name).await {
            Ok(Some(lease)) => self.book.record(lease),
            Ok(None) => self.book.remove(&name),
            Err(_) => {}
        }
    }

    /// Updates `metallb_speaker_announced` and the takeover durations for `announce`.
    fn account(&mut self, announce: &Table, claims: &BTreeMap<IpAddr, Claim>) {
        let mut now_announced = HashSet::new();
        for ip in announce.keys() {
            if let Some(started) = self.takeover_started.remove(ip) {
                self.metrics
                    .takeover_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            for service in claims.get(ip).map(|c| &c.services).into_iter().flatten() {
                now_announced.insert(AnnouncedLabels {
                    ip: ip.to_string(),
                    node: self.config.node_name.clone(),
                    protocol: "layer2".into(),
                    service: service.to_string(),
                });
            }
        }
        for gone in self.announced.difference(&now_announced) {
            self.metrics.announced.remove(gone);
        }
        for label in &now_announced {
            self.metrics.announced.get_or_create(label).set(1);
        }
        self.announced = now_announced;
    }
}

/// The interfaces to report in a ServiceL2Status for an allowance, among `links`.
fn interface_names(links: &[Link], interfaces: &Interfaces) -> Vec<String> {
    links
        .iter()
        .filter(|l| match interfaces {
            Interfaces::Any => suitable(l, None),
            Interfaces::Named(names) => suitable(l, Some(&|n: &str| names.contains(n))),
        })
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
    let source = tokio::time::timeout(config.api_timeout * 5, discover_endpoint_source(&client))
        .await
        .map_err(|_| Error::Timeout {
            what: "API discovery of discovery.k8s.io/v1".into(),
            after: config.api_timeout * 5,
        })?;
    tracing::info!(?source, %node, namespace = %config.namespace, "starting");
    let notify = Arc::new(Notify::new());
    let cluster = ClusterWatch::start(&client, &config.namespace, source, notify.clone());
    let writer = LeaseWriter {
        api: Api::<Lease>::namespaced(client.clone(), &config.namespace),
        node: node.clone(),
        timeout: config.api_timeout,
        heartbeat_timeout: config.heartbeat_timeout,
    };
    let (lease_tx, mut lease_rx) = mpsc::channel(4096);
    let lease_watch = tokio::spawn(tasks::watch_leases(writer.clone(), lease_tx));
    let (beat_tx, mut beat_rx) = mpsc::channel(16);
    let heartbeat = tokio::spawn(tasks::heartbeat(
        writer.clone(),
        config.heartbeat_interval,
        metrics.clone(),
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
        if let Err(e) = announcer::supervise(shared).await {
            tracing::error!("cannot follow the network interfaces: {e}");
        }
    });
    let (status_tx, status_rx) = watch::channel(Arc::new(DesiredStatus::new()));
    let status = tokio::spawn(tasks::publish_status(
        StatusWriter::new(client.clone(), &config.namespace, &node, config.api_timeout),
        cluster.services_store(),
        status_rx,
    ));

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
    };
    tokio::pin!(shutdown);
    // Nothing is decided before every watch holds its first listing: an empty view would
    // release the IPs an earlier run of this node still holds.
    tokio::select! {
        _ = &mut shutdown => return Ok(()),
        _ = cluster.ready() => {}
    }
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
        if !synced {
            continue;
        }
        let claims = cluster.claims();
        let now = Instant::now();
        let mut plan = election.plan(&claims, now);
        // Stop answering for released IPs before writing their Leases.
        table_tx.send_if_modified(|t| {
            let changed = **t != plan.announce;
            if changed {
                *t = Arc::new(plan.announce.clone());
            }
            changed
        });
        if !plan.release.is_empty() {
            election.release(&plan.release).await;
        }
        if !plan.acquire.is_empty() && election.acquire(&plan.acquire, now).await {
            plan = election.plan(&claims, Instant::now());
            table_tx.send_replace(Arc::new(plan.announce.clone()));
        }
        election.account(&plan.announce, &claims);
        let desired = desired_status(&plan.announce, &claims);
        status_tx.send_if_modified(|d| {
            let changed = **d != desired;
            if changed {
                *d = Arc::new(desired.clone());
            }
            changed
        });
    }

    tracing::info!("shutting down: releasing every IP this node holds");
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
        && let Err(e) = writer.heartbeat(Some(&current), true).await
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
    drop(status_tx);
    let _ = tokio::time::timeout(config.api_timeout * 3, status).await;
    lease_watch.abort();
    announcer.abort();
    for task in cluster.tasks {
        task.abort();
    }
    Ok(())
}
