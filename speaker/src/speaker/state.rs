//! The state of the election loop and the Lease writes that carry out its plans: what this
//! node has seen (Leases, heartbeats, conflicts, contact with the API server) and how a plan's
//! acquisitions and releases are written, concurrently and guarded by resourceVersion.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;

use super::tasks::{Beat, LeaseEvent};
use crate::announcer::Conflict;
use crate::config::Config;
use crate::election::candidates::Claim;
use crate::election::lease_name;
use crate::election::liveness::Liveness;
use crate::election::ownership::{Plan, View, decide};
use crate::election::usable::{Usable, UsableHistory, restrict};
use crate::lease::{LeaseBook, LeaseWriter, Written, holder};
use crate::metrics::{AnnouncedLabels, Metrics};
use crate::responder::Table;

/// Whether this node is in touch with the API server: its heartbeat goes through and its
/// Lease watch is synced. `since` is when both last became true.
pub(super) struct Touch {
    pub(super) heartbeat: bool,
    pub(super) watch: bool,
    pub(super) since: Instant,
}

impl Touch {
    pub(super) fn set(&mut self, heartbeat: Option<bool>, watch: Option<bool>, now: Instant) {
        let was = self.heartbeat && self.watch;
        self.heartbeat = heartbeat.unwrap_or(self.heartbeat);
        self.watch = watch.unwrap_or(self.watch);
        if !was && self.heartbeat && self.watch {
            self.since = now;
        }
    }
}

/// The state of the election loop.
pub(super) struct Election {
    pub(super) config: Config,
    pub(super) writer: LeaseWriter,
    pub(super) metrics: Arc<Metrics>,
    pub(super) book: LeaseBook,
    pub(super) liveness: Liveness,
    pub(super) touch: Touch,
    pub(super) yielded: BTreeSet<IpAddr>,
    /// When this node first decided to acquire each IP it is trying to take.
    pub(super) takeover_started: BTreeMap<IpAddr, Instant>,
    pub(super) last_heartbeat: Option<Lease>,
    pub(super) announced: HashSet<AnnouncedLabels>,
    /// The interfaces this node can announce on, once the announcer has read them.
    pub(super) usable_here: Option<Usable>,
    pub(super) usable_history: UsableHistory,
}

impl Election {
    pub(super) fn observe_heartbeats(&mut self, now: Instant) {
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

    pub(super) fn on_lease_event(&mut self, event: LeaseEvent, now: Instant) {
        match event {
            LeaseEvent::Applied(lease) => self.book.record_watched(*lease),
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

    pub(super) fn on_beat(&mut self, beat: Beat, now: Instant) {
        match beat {
            Some(lease) => {
                self.last_heartbeat = Some(lease.clone());
                self.book.record_own(lease);
                self.touch.set(Some(true), None, now);
                self.observe_heartbeats(now);
            }
            None => self.touch.set(Some(false), None, now),
        }
    }

    /// Another MAC announced an IP this node holds: read its Lease again; if that is not
    /// possible, stop answering for it until the Lease can be read.
    pub(super) async fn on_conflict(&mut self, conflict: Conflict) {
        let name = lease_name::for_ip(conflict.ip);
        if self.book.get(&name).and_then(holder).as_deref() != Some(self.config.node_name.as_str())
        {
            return;
        }
        tracing::info!(ip = %conflict.ip, mac = %conflict.mac, "another node announces an IP this node holds");
        match self.writer.get(&name).await {
            Ok(Some(lease)) => self.book.record_own(lease),
            Ok(None) => self.book.remove(&name),
            Err(_) => {
                self.yielded.insert(conflict.ip);
            }
        }
    }

    /// Decides over `claims`, without the candidates that cannot announce on any interface
    /// they are allowed: this node by its own links, the others by their heartbeats.
    pub(super) fn plan(&mut self, claims: &BTreeMap<IpAddr, Claim>, now: Instant) -> Plan {
        let mut usable = self.book.published_usable();
        if let Some(here) = &self.usable_here {
            usable.insert(self.config.node_name.clone(), here.clone());
        }
        for (node, interfaces) in &usable {
            self.usable_history.observe(node, interfaces, now);
        }
        let mut claims = claims.clone();
        restrict(&mut claims, &usable);
        let mut live = self
            .liveness
            .live(now, self.config.heartbeat_timeout, self.touch.since);
        self.usable_history.settling_since(&mut live);
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
            claims: &claims,
            holders: &self.book.holders(),
            live: &live,
            yielded: &self.yielded,
            now,
            settle: self.config.rebalance_after,
        })
    }

    /// Releases `ips`, concurrently; each result goes into the book.
    pub(super) async fn release(&mut self, ips: &BTreeSet<IpAddr>) {
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
                    self.book.record_own(*lease);
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
                        self.book.record_own(*lease);
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
    pub(super) async fn acquire(&mut self, ips: &BTreeSet<IpAddr>, now: Instant) -> bool {
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
                    self.book.record_own(*lease);
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

    pub(super) async fn refresh(&mut self, ip: IpAddr) {
        let name = lease_name::for_ip(ip);
        match self.writer.get(&name).await {
            Ok(Some(lease)) => self.book.record_own(lease),
            Ok(None) => self.book.remove(&name),
            Err(_) => {}
        }
    }

    /// Updates `metallb_speaker_announced` and the takeover durations for `announce`.
    pub(super) fn account(&mut self, announce: &Table, claims: &BTreeMap<IpAddr, Claim>) {
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
