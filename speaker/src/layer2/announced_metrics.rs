//! The Layer 2 metrics that follow the announce table: `metallb_speaker_announced` (one series
//! per IP and Service this node announces) and the takeover durations (from the first attempt
//! to acquire an IP to the moment it is announced).
//!
//! The election loop says which IPs it is trying to acquire ([`AnnouncedMetrics::trying`]) and
//! what it announces after each decision ([`AnnouncedMetrics::account`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::election::candidates::Claim;
use crate::metrics::{AnnouncedLabels, Metrics};
use crate::responder::Table;

/// The announcement metrics of one node.
pub struct AnnouncedMetrics {
    metrics: Arc<Metrics>,
    node: String,
    /// When this node first decided to acquire each IP it is trying to take.
    takeover_started: BTreeMap<IpAddr, Instant>,
    announced: HashSet<AnnouncedLabels>,
}

impl AnnouncedMetrics {
    pub fn new(metrics: Arc<Metrics>, node: &str) -> AnnouncedMetrics {
        AnnouncedMetrics {
            metrics,
            node: node.to_owned(),
            takeover_started: BTreeMap::new(),
            announced: HashSet::new(),
        }
    }

    /// This node is trying to acquire `ips` at `now` (and no longer the others).
    pub fn trying(&mut self, ips: &BTreeSet<IpAddr>, now: Instant) {
        self.takeover_started.retain(|ip, _| ips.contains(ip));
        for ip in ips {
            self.takeover_started.entry(*ip).or_insert(now);
        }
    }

    /// Updates `metallb_speaker_announced` and the takeover durations for `announce`.
    pub fn account(&mut self, announce: &Table, claims: &BTreeMap<IpAddr, Claim>) {
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
                    node: self.node.clone(),
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
