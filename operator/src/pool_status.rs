//! Keeping every IPAddressPool's status in line with its usage. The reconciler publishes the
//! allocator's usage of each pool after every batch; [`start`] follows it and writes the status
//! of each pool whose status in the cache differs from [`status_of`] its usage, so a status
//! edited by hand is written back as MetalLB does. The pool gauges of [`Metrics`] follow the
//! same usage. Failed writes are tried again a second later; a write refused by the leader
//! term ends the task, since the next term starts its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::ipaddresspool::IPAddressPoolStatus;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;

use crate::allocator::PoolUsage;
use crate::metrics::Metrics;
use crate::status_patch;
use crate::term::Term;

/// Saturates a count for the 64-bit status fields of a pool.
fn saturated(n: u128) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The status a pool must show for usage `u`.
pub fn status_of(u: &PoolUsage) -> IPAddressPoolStatus {
    IPAddressPoolStatus {
        assigned_ipv4: saturated(u.assigned_v4),
        assigned_ipv6: saturated(u.assigned_v6),
        available_ipv4: saturated(u.available_v4()),
        available_ipv6: saturated(u.available_v6()),
    }
}

/// The pools of `usage` whose status, as `observed` gives it, is not the one their usage
/// calls for, with that status.
pub fn stale(
    usage: &BTreeMap<String, PoolUsage>,
    observed: impl Fn(&str) -> Option<IPAddressPoolStatus>,
) -> Vec<(String, IPAddressPoolStatus)> {
    usage
        .iter()
        .map(|(name, u)| (name, status_of(u)))
        .filter(|(name, wanted)| observed(name).as_ref() != Some(wanted))
        .map(|(name, wanted)| (name.clone(), wanted))
        .collect()
}

/// Writes pool status whenever `usage` is published (a change of usage, or of the pools),
/// for every pool of `namespace` whose status in `pools` (the cache) is stale.
pub fn start(
    client: kube::Client,
    term: Term,
    namespace: String,
    metrics: Arc<Metrics>,
    pools: Store<IPAddressPool>,
    mut usage: watch::Receiver<BTreeMap<String, PoolUsage>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failed = false;
        loop {
            let wait = tokio::time::sleep(if failed {
                Duration::from_secs(1)
            } else {
                Duration::MAX / 4
            });
            tokio::select! {
                changed = usage.changed() => if changed.is_err() { return },
                _ = wait => {}
            }
            failed = false;
            let latest = usage.borrow_and_update().clone();
            metrics.set_pools(latest.iter());
            let observed = |name: &str| {
                pools
                    .get(&ObjectRef::new(name).within(&namespace))
                    .and_then(|p| p.status.clone())
            };
            for (name, status) in stale(&latest, observed) {
                let written =
                    status_patch::write_pool_status(&client, &term, &namespace, &name, status)
                        .await;
                match written {
                    Ok(()) => {}
                    Err(e) if e.refusal().is_some() => {
                        tracing::info!("stopped writing pool status: {e}");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        metrics.write_errors.inc();
                        failed = true;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(assigned_v4: u128, capacity_v4: u128) -> PoolUsage {
        PoolUsage {
            assigned_v4,
            capacity_v4,
            ..PoolUsage::default()
        }
    }

    #[test]
    fn a_pool_status_counts_assigned_and_available_addresses_per_family() {
        let status = status_of(&PoolUsage {
            assigned_v4: 3,
            capacity_v4: 10,
            assigned_v6: 1,
            capacity_v6: u128::MAX,
        });
        assert_eq!(status.assigned_ipv4, 3);
        assert_eq!(status.available_ipv4, 7);
        assert_eq!(status.assigned_ipv6, 1);
        assert_eq!(status.available_ipv6, i64::MAX, "a /64 saturates");
    }

    #[test]
    fn only_pools_whose_status_differs_from_their_usage_are_written() {
        let usage = BTreeMap::from([
            ("current".to_owned(), usage(1, 4)),
            ("edited".to_owned(), usage(2, 4)),
            ("new".to_owned(), usage(0, 4)),
        ]);
        let observed = |name: &str| match name {
            "current" => Some(status_of(&self::usage(1, 4))),
            "edited" => Some(status_of(&self::usage(0, 4))),
            _ => None,
        };
        let written: Vec<String> = stale(&usage, observed)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(written, ["edited", "new"]);
    }
}
