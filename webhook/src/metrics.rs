//! The webhook's metrics: reviews answered and denied per kind, how long each took, and when
//! the serving certificate expires. The server records each review here; `/metrics` renders
//! the registry. Every kind's series exist from the start (at zero), so a dashboard or alert
//! sees a kind that was never denied as 0, not as missing.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::admission::Kind;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind reviewed: `IPAddressPool`, `BGPPeer`, `Service`, ...
    pub kind: String,
}

/// Review latency buckets, in seconds: admission answers in well under a millisecond when
/// healthy, and the API server gives up after 10 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
];

pub struct WebhookMetrics {
    registry: Registry,
    requests: Family<KindLabel, Counter>,
    denials: Family<KindLabel, Counter>,
    latency: Family<KindLabel, Histogram, fn() -> Histogram>,
    certificate_expiry: Gauge<i64, AtomicI64>,
}

impl std::fmt::Debug for WebhookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookMetrics").finish_non_exhaustive()
    }
}

impl WebhookMetrics {
    pub fn new() -> Arc<Self> {
        let mut metrics = WebhookMetrics {
            registry: Registry::default(),
            requests: Family::default(),
            denials: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            certificate_expiry: Gauge::default(),
        };
        metrics.registry.register(
            "ferrolb_webhook_requests",
            "Admission reviews answered, per kind",
            metrics.requests.clone(),
        );
        metrics.registry.register(
            "ferrolb_webhook_denials",
            "Admission reviews denied, per kind",
            metrics.denials.clone(),
        );
        metrics.registry.register(
            "ferrolb_webhook_request_duration_seconds",
            "Time to answer an admission review, per kind",
            metrics.latency.clone(),
        );
        metrics.registry.register(
            "ferrolb_webhook_certificate_expiry_timestamp_seconds",
            "When the serving certificate expires (Unix time); 0 before one is loaded",
            metrics.certificate_expiry.clone(),
        );
        for kind in Kind::ALL {
            let label = label(kind);
            let _ = metrics.requests.get_or_create(&label);
            let _ = metrics.denials.get_or_create(&label);
            let _ = metrics.latency.get_or_create(&label);
        }
        Arc::new(metrics)
    }

    /// Records one review of `kind`, allowed or not, answered in `elapsed`.
    pub fn review(&self, kind: Kind, allowed: bool, elapsed: Duration) {
        let label = label(kind);
        self.requests.get_or_create(&label).inc();
        if !allowed {
            self.denials.get_or_create(&label).inc();
        }
        self.latency
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }

    /// Records the serving certificate's expiry.
    pub fn certificate_expires(&self, not_after: SystemTime) {
        let seconds = not_after
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.certificate_expiry.set(seconds);
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn label(kind: Kind) -> KindLabel {
    KindLabel {
        kind: kind.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(start))
    }

    #[test]
    fn every_kind_has_its_series_at_zero_before_any_review() {
        let text = WebhookMetrics::new().render();
        for kind in Kind::ALL {
            let name = kind.name();
            assert_eq!(
                line(
                    &text,
                    &format!("ferrolb_webhook_denials_total{{kind=\"{name}\"}}")
                ),
                Some(format!("ferrolb_webhook_denials_total{{kind=\"{name}\"}} 0").as_str()),
                "{text}"
            );
        }
        assert!(
            text.contains("ferrolb_webhook_certificate_expiry_timestamp_seconds 0"),
            "{text}"
        );
    }

    #[test]
    fn a_denied_review_counts_as_a_request_and_a_denial_of_its_kind_only() {
        let metrics = WebhookMetrics::new();
        metrics.review(Kind::IPAddressPool, false, Duration::from_micros(300));
        metrics.review(Kind::IPAddressPool, true, Duration::from_micros(200));
        metrics.review(Kind::Service, true, Duration::from_millis(3));
        let text = metrics.render();
        let value = |series: &str| {
            line(&text, &format!("{series} "))
                .and_then(|l| l.rsplit(' ').next())
                .map(str::to_string)
        };
        assert_eq!(
            value("ferrolb_webhook_requests_total{kind=\"IPAddressPool\"}").as_deref(),
            Some("2")
        );
        assert_eq!(
            value("ferrolb_webhook_denials_total{kind=\"IPAddressPool\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            value("ferrolb_webhook_denials_total{kind=\"Service\"}").as_deref(),
            Some("0")
        );
        assert_eq!(
            value(
                "ferrolb_webhook_request_duration_seconds_bucket{le=\"0.0025\",kind=\"Service\"}"
            )
            .as_deref(),
            Some("0")
        );
        assert_eq!(
            value("ferrolb_webhook_request_duration_seconds_bucket{le=\"0.005\",kind=\"Service\"}")
                .as_deref(),
            Some("1")
        );
    }

    #[test]
    fn the_certificate_expiry_is_exported_in_unix_seconds() {
        let metrics = WebhookMetrics::new();
        metrics.certificate_expires(UNIX_EPOCH + Duration::from_secs(1_900_000_000));
        assert!(
            metrics
                .render()
                .contains("ferrolb_webhook_certificate_expiry_timestamp_seconds 1900000000")
        );
    }
}
