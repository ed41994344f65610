//! The operator's metrics (MetalLB's allocator gauges per pool, plus reconcile counts and
//! errors), rendered for the `/metrics` endpoint of `ferrolb-endpoint`, and its readiness:
//! ready once the caches are filled and the replica knows who leads (it has read or written
//! the leader Lease within a lease duration).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ferrolb_endpoint::metrics::Readiness;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::allocator::PoolUsage;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    pub pool: String,
}

const NOT_FILLED: &str = "the caches are not filled yet";

type PoolGauge = Family<PoolLabel, Gauge<f64, AtomicU64>>;

/// Every metric the operator exports.
#[derive(Default)]
pub struct Metrics {
    registry: Registry,
    addresses_total: PoolGauge,
    addresses_in_use: PoolGauge,
    ipv4_total: PoolGauge,
    ipv4_in_use: PoolGauge,
    ipv6_total: PoolGauge,
    ipv6_in_use: PoolGauge,
    /// Services converged.
    pub reconciles: Counter,
    /// API writes that failed (retried later).
    pub write_errors: Counter,
    /// 1 while this replica leads.
    pub leader: Gauge,
    caches_filled: AtomicBool,
    leader_known: AtomicBool,
    readiness: Readiness,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut m = Metrics {
            readiness: Readiness::new(NOT_FILLED),
            ..Metrics::default()
        };
        let gauges = [
            (
                "metallb_allocator_addresses_total",
                "Number of usable IP addresses, per pool",
                m.addresses_total.clone(),
            ),
            (
                "metallb_allocator_addresses_in_use_total",
                "Number of IP addresses in use, per pool",
                m.addresses_in_use.clone(),
            ),
            (
                "metallb_allocator_ipv4_addresses_total",
                "Number of usable IPv4 addresses, per pool",
                m.ipv4_total.clone(),
            ),
            (
                "metallb_allocator_ipv4_addresses_in_use_total",
                "Number of IPv4 addresses in use, per pool",
                m.ipv4_in_use.clone(),
            ),
            (
                "metallb_allocator_ipv6_addresses_total",
                "Number of usable IPv6 addresses, per pool",
                m.ipv6_total.clone(),
            ),
            (
                "metallb_allocator_ipv6_addresses_in_use_total",
                "Number of IPv6 addresses in use, per pool",
                m.ipv6_in_use.clone(),
            ),
        ];
        for (name, help, gauge) in gauges {
            m.registry.register(name, help, gauge);
        }
        m.registry.register(
            "ferrolb_operator_reconciles",
            "Services converged by the allocator",
            m.reconciles.clone(),
        );
        m.registry.register(
            "ferrolb_operator_write_errors",
            "Writes to the API server that failed and were retried",
            m.write_errors.clone(),
        );
        m.registry.register(
            "ferrolb_operator_leader",
            "1 while this replica is the leader",
            m.leader.clone(),
        );
        Arc::new(m)
    }

    /// Sets the allocator gauges of every pool; pools that disappeared are dropped.
    pub fn set_pools<'a>(&self, usage: impl IntoIterator<Item = (&'a String, &'a PoolUsage)>) {
        for family in [
            &self.addresses_total,
            &self.addresses_in_use,
            &self.ipv4_total,
            &self.ipv4_in_use,
            &self.ipv6_total,
            &self.ipv6_in_use,
        ] {
            family.clear();
        }
        for (pool, u) in usage {
            let label = PoolLabel { pool: pool.clone() };
            let set = |family: &PoolGauge, value: u128| {
                family.get_or_create(&label).set(value as f64);
            };
            set(
                &self.addresses_total,
                u.capacity_v4.saturating_add(u.capacity_v6),
            );
            set(&self.addresses_in_use, u.assigned_v4 + u.assigned_v6);
            set(&self.ipv4_total, u.capacity_v4);
            set(&self.ipv4_in_use, u.assigned_v4);
            set(&self.ipv6_total, u.capacity_v6);
            set(&self.ipv6_in_use, u.assigned_v6);
        }
    }

    /// The caches hold their first listing.
    pub fn set_ready(&self) {
        self.caches_filled.store(true, Ordering::Relaxed);
        self.update_readiness();
    }

    /// Whether this replica knows who leads (its last Lease read or write succeeded recently).
    pub fn set_leader_known(&self, known: bool) {
        self.leader_known.store(known, Ordering::Relaxed);
        self.update_readiness();
    }

    /// What `/readyz` reports.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    fn update_readiness(&self) {
        let state = if !self.caches_filled.load(Ordering::Relaxed) {
            Err(NOT_FILLED.to_string())
        } else if !self.leader_known.load(Ordering::Relaxed) {
            Err("the leader is not known: the leader Lease could not be read lately".to_string())
        } else {
            Ok(())
        };
        self.readiness.set(state);
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_once_the_caches_are_filled_and_the_leader_is_known() {
        let metrics = Metrics::new();
        let readiness = metrics.readiness();
        assert!(!readiness.is_ready());
        metrics.set_leader_known(true);
        assert!(!readiness.is_ready(), "caches still empty");
        metrics.set_ready();
        assert!(readiness.is_ready());
        metrics.set_leader_known(false);
        assert!(!readiness.is_ready(), "the Lease cannot be read");
    }
}
