//! The speaker's Prometheus metrics, under MetalLB's names where MetalLB has one, rendered
//! for the `/metrics` endpoint of `ferrolb-endpoint`.
//!
//! Layer 2 counters are labelled by IP as MetalLB's are; `metallb_speaker_announced` is 1 per
//! announced (IP, Service). ferrolb adds ownership changes, Lease write failures and the
//! duration of each takeover. BGP metrics are labelled by peer (`address:port`) as MetalLB's
//! native speaker labels them. BFD metrics take the names and labels of MetalLB's FRR mode
//! (`peer` is the peer's address, `vrf` always `default`). The text format is OpenMetrics,
//! which suffixes counters with `_total`. The ownership directions and Lease operations have their series from the start,
//! at zero, so a dashboard shows a healthy node's failures as 0 rather than as nothing.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IpLabel {
    pub ip: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnnouncedLabels {
    pub ip: String,
    pub node: String,
    pub protocol: String,
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// `acquired` or `released`.
    pub direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    /// `heartbeat`, `acquire` or `release`.
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    /// `address:port`.
    pub peer: String,
}

/// The BGP metrics, per peer.
#[derive(Default)]
pub struct BgpMetrics {
    pub session_up: Family<PeerLabel, Gauge>,
    pub updates: Family<PeerLabel, Counter>,
    pub announced_prefixes: Family<PeerLabel, Gauge>,
    pub pending_prefixes: Family<PeerLabel, Gauge>,
}

impl BgpMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "metallb_bgp_session_up",
            "BGP session state (1 is up, 0 is down)",
            self.session_up.clone(),
        );
        registry.register(
            "metallb_bgp_updates",
            "Number of BGP UPDATE messages sent",
            self.updates.clone(),
        );
        registry.register(
            "metallb_bgp_announced_prefixes_total",
            "Number of prefixes currently being advertised on the BGP session",
            self.announced_prefixes.clone(),
        );
        registry.register(
            "metallb_bgp_pending_prefixes_total",
            "Number of prefixes that should be advertised on the BGP session",
            self.pending_prefixes.clone(),
        );
    }

    /// Forgets a peer whose session was removed.
    pub fn remove(&self, peer: &PeerLabel) {
        self.session_up.remove(peer);
        self.updates.remove(peer);
        self.announced_prefixes.remove(peer);
        self.pending_prefixes.remove(peer);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BfdLabels {
    /// The peer's address, without a port.
    pub peer: String,
    /// Always `default`: sessions in VRFs are not supported.
    pub vrf: String,
}

impl BfdLabels {
    pub fn new(peer: std::net::IpAddr) -> BfdLabels {
        BfdLabels {
            peer: peer.to_string(),
            vrf: "default".into(),
        }
    }
}

/// The BFD metrics, per session.
#[derive(Default)]
pub struct BfdMetrics {
    pub session_up: Family<BfdLabels, Gauge>,
    pub control_packet_input: Family<BfdLabels, Counter>,
    pub control_packet_output: Family<BfdLabels, Counter>,
    pub session_up_events: Family<BfdLabels, Counter>,
    pub session_down_events: Family<BfdLabels, Counter>,
}

impl BfdMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "metallb_bfd_session_up",
            "BFD session state (1 is up, 0 is down)",
            self.session_up.clone(),
        );
        registry.register(
            "metallb_bfd_control_packet_input",
            "Number of received BFD control packets",
            self.control_packet_input.clone(),
        );
        registry.register(
            "metallb_bfd_control_packet_output",
            "Number of sent BFD control packets",
            self.control_packet_output.clone(),
        );
        registry.register(
            "metallb_bfd_session_up_events",
            "Number of BFD session up events",
            self.session_up_events.clone(),
        );
        registry.register(
            "metallb_bfd_session_down_events",
            "Number of BFD session down events",
            self.session_down_events.clone(),
        );
    }

    /// Exports a new session's series, down and at zero.
    pub fn add(&self, labels: &BfdLabels) {
        self.session_up.get_or_create(labels).set(0);
        let _ = self.control_packet_input.get_or_create(labels);
        let _ = self.control_packet_output.get_or_create(labels);
        let _ = self.session_up_events.get_or_create(labels);
        let _ = self.session_down_events.get_or_create(labels);
    }

    /// Forgets a session that was removed.
    pub fn remove(&self, labels: &BfdLabels) {
        self.session_up.remove(labels);
        self.control_packet_input.remove(labels);
        self.control_packet_output.remove(labels);
        self.session_up_events.remove(labels);
        self.session_down_events.remove(labels);
    }
}

/// Every metric of the speaker.
pub struct Metrics {
    pub requests_received: Family<IpLabel, Counter>,
    pub responses_sent: Family<IpLabel, Counter>,
    pub gratuitous_sent: Family<IpLabel, Counter>,
    pub announced: Family<AnnouncedLabels, Gauge>,
    pub ownership_changes: Family<DirectionLabel, Counter>,
    pub lease_write_failures: Family<OperationLabel, Counter>,
    pub takeover_seconds: Histogram,
    pub bgp: BgpMetrics,
    pub bfd: BfdMetrics,
    registry: Registry,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let requests_received = Family::<IpLabel, Counter>::default();
        let responses_sent = Family::<IpLabel, Counter>::default();
        let gratuitous_sent = Family::<IpLabel, Counter>::default();
        let announced = Family::<AnnouncedLabels, Gauge>::default();
        let ownership_changes = Family::<DirectionLabel, Counter>::default();
        let lease_write_failures = Family::<OperationLabel, Counter>::default();
        let takeover_seconds = Histogram::new([
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
        ]);
        registry.register(
            "metallb_layer2_requests_received",
            "Number of layer2 requests received for owned IPs",
            requests_received.clone(),
        );
        registry.register(
            "metallb_layer2_responses_sent",
            "Number of layer2 responses sent for owned IPs",
            responses_sent.clone(),
        );
        registry.register(
            "metallb_layer2_gratuitous_sent",
            "Number of gratuitous layer2 packets sent for owned IPs",
            gratuitous_sent.clone(),
        );
        registry.register(
            "metallb_speaker_announced",
            "Services being announced from this node",
            announced.clone(),
        );
        registry.register(
            "ferrolb_speaker_ownership_changes",
            "IPs this node acquired or released",
            ownership_changes.clone(),
        );
        registry.register(
            "ferrolb_speaker_lease_write_failures",
            "Lease writes that failed or timed out (conflicts excluded)",
            lease_write_failures.clone(),
        );
        registry.register(
            "ferrolb_speaker_takeover_duration_seconds",
            "From the moment this node decided to take a free or orphaned IP until it announced it",
            takeover_seconds.clone(),
        );
        for direction in ["acquired", "released"] {
            let _ = ownership_changes.get_or_create(&DirectionLabel {
                direction: direction.to_owned(),
            });
        }
        for operation in ["heartbeat", "acquire", "release"] {
            let _ = lease_write_failures.get_or_create(&OperationLabel {
                operation: operation.to_owned(),
            });
        }
        let bgp = BgpMetrics::default();
        bgp.register(&mut registry);
        let bfd = BfdMetrics::default();
        bfd.register(&mut registry);
        Arc::new(Metrics {
            requests_received,
            responses_sent,
            gratuitous_sent,
            announced,
            ownership_changes,
            lease_write_failures,
            takeover_seconds,
            bgp,
            bfd,
            registry,
        })
    }

    pub fn ip(ip: std::net::IpAddr) -> IpLabel {
        IpLabel { ip: ip.to_string() }
    }

    pub fn lease_write_failed(&self, operation: &str) {
        self.lease_write_failures
            .get_or_create(&OperationLabel {
                operation: operation.to_owned(),
            })
            .inc();
    }

    pub fn ownership_changed(&self, direction: &str) {
        self.ownership_changes
            .get_or_create(&DirectionLabel {
                direction: direction.to_owned(),
            })
            .inc();
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_ownership_changes_are_exported_at_zero_before_any_happens() {
        let text = Metrics::new().render();
        for series in [
            "ferrolb_speaker_ownership_changes_total{direction=\"acquired\"} 0",
            "ferrolb_speaker_ownership_changes_total{direction=\"released\"} 0",
            "ferrolb_speaker_lease_write_failures_total{operation=\"heartbeat\"} 0",
            "ferrolb_speaker_lease_write_failures_total{operation=\"acquire\"} 0",
            "ferrolb_speaker_lease_write_failures_total{operation=\"release\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == series),
                "{series} missing from\n{text}"
            );
        }
    }

    #[test]
    fn bfd_series_carry_metallbs_names_and_labels() {
        let metrics = Metrics::new();
        let labels = BfdLabels::new("192.0.2.1".parse().unwrap());
        metrics.bfd.add(&labels);
        metrics
            .bfd
            .control_packet_output
            .get_or_create(&labels)
            .inc();
        let text = metrics.render();
        for series in [
            "metallb_bfd_session_up{peer=\"192.0.2.1\",vrf=\"default\"} 0",
            "metallb_bfd_control_packet_input_total{peer=\"192.0.2.1\",vrf=\"default\"} 0",
            "metallb_bfd_control_packet_output_total{peer=\"192.0.2.1\",vrf=\"default\"} 1",
            "metallb_bfd_session_up_events_total{peer=\"192.0.2.1\",vrf=\"default\"} 0",
            "metallb_bfd_session_down_events_total{peer=\"192.0.2.1\",vrf=\"default\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == series),
                "{series} missing from\n{text}"
            );
        }
        metrics.bfd.remove(&labels);
        assert!(!metrics.render().contains("192.0.2.1"));
    }
}
