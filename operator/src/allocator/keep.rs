//! Whether a Service may keep the IPs it holds ("an IP never moves" unless it must): they
//! must still be offered by their pool, whose serviceAllocation must still admit the Service,
//! fit what it asks for (pool, IPs, families and policy), and be shareable with whoever else
//! holds them. When they may not, [`Unkept`] says why, in the words of the
//! `ClearAssignment` event.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_crds::address::{Family, is_buggy_ip};
use kube::core::SelectorExt;

use super::{Allocator, Assignment, Conflict, Demand, Eligibility, FamilyPolicy, list};

/// Why a Service may not keep the IPs it holds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unkept {
    #[error("its pool {pool:?} no longer exists")]
    PoolGone { pool: String },
    #[error("pool {pool:?} now avoids addresses ending in .0 or .255 such as {ip}")]
    NowAvoided { pool: String, ip: IpAddr },
    #[error("{ip} is no longer in pool {pool:?}")]
    OutOfPool { pool: String, ip: IpAddr },
    #[error("it asks for pool {wanted:?} but its IPs are from {current:?}")]
    OtherPool { wanted: String, current: String },
    #[error("it asks for {} but holds {}", list(.wanted), list(.held))]
    OtherIps {
        wanted: Vec<IpAddr>,
        held: Vec<IpAddr>,
    },
    #[error(
        "pool {pool:?} no longer lists namespace {namespace:?} in serviceAllocation.namespaces"
    )]
    NamespaceNotListed { pool: String, namespace: String },
    #[error(
        "pool {pool:?} serves Services selected by serviceAllocation.serviceSelectors, which no longer select it"
    )]
    NotSelected { pool: String },
    #[error("its IPs {} do not fit its IP families {families:?} ({policy:?})", list(.ips))]
    OtherFamilies {
        ips: Vec<IpAddr>,
        families: Vec<Family>,
        policy: FamilyPolicy,
    },
    #[error("{ip} cannot stay: {conflict}")]
    Unshareable { ip: IpAddr, conflict: Conflict },
}

impl Allocator {
    /// Whether a Service may keep `current`, which it holds since `since` (`None`: read from
    /// its status, not held yet), or why not.
    pub(super) fn keepable(
        &self,
        demand: &Demand,
        current: &Assignment,
        since: Option<u64>,
    ) -> Result<(), Unkept> {
        let Some(pool) = self.pools.get(&current.pool) else {
            return Err(Unkept::PoolGone {
                pool: current.pool.clone(),
            });
        };
        let name = || pool.name.clone();
        if let Some(&ip) = current.ips.iter().find(|ip| !pool.offers(**ip)) {
            let avoided = pool.avoid_buggy_ips
                && is_buggy_ip(ip)
                && pool.ranges.iter().any(|r| r.contains(ip));
            return Err(if avoided {
                Unkept::NowAvoided { pool: name(), ip }
            } else {
                Unkept::OutOfPool { pool: name(), ip }
            });
        }
        if let Some(wanted) = &demand.pool
            && *wanted != current.pool
        {
            return Err(Unkept::OtherPool {
                wanted: wanted.clone(),
                current: current.pool.clone(),
            });
        }
        if !demand.ips.is_empty() {
            let have: BTreeSet<_> = current.ips.iter().collect();
            let want: BTreeSet<_> = demand.ips.iter().collect();
            if have != want {
                return Err(Unkept::OtherIps {
                    wanted: demand.ips.clone(),
                    held: current.ips.clone(),
                });
            }
        }
        if let Some(eligibility) = &pool.eligibility {
            still_eligible(eligibility, &pool.name, demand)?;
        }
        let families: Vec<Family> = current.ips.iter().map(|ip| Family::of(*ip)).collect();
        if families.iter().any(|f| !demand.families.contains(f))
            || (families.len() == 2 && families[0] == families[1])
            || families.len() > 2
            || (demand.policy == FamilyPolicy::SingleStack && families.len() != 1)
            || (demand.policy == FamilyPolicy::RequireDualStack && families.len() != 2)
        {
            return Err(Unkept::OtherFamilies {
                ips: current.ips.clone(),
                families: demand.families.clone(),
                policy: demand.policy,
            });
        }
        for &ip in &current.ips {
            self.shareable(ip, &demand.key, &demand.sharing, pool, since)
                .map_err(|conflict| Unkept::Unshareable { ip, conflict })?;
        }
        Ok(())
    }
}

/// Whether a Service may still hold IPs of pool `pool` with this serviceAllocation, or why
/// not: its namespace is not listed, or its labels match none of the serviceSelectors. As
/// MetalLB judges a held IP, namespaceSelectors are not consulted again: they rank and pick
/// pools for new IPs only.
fn still_eligible(eligibility: &Eligibility, pool: &str, demand: &Demand) -> Result<(), Unkept> {
    if !eligibility.namespaces.is_empty() && !eligibility.namespaces.contains(&demand.namespace) {
        return Err(Unkept::NamespaceNotListed {
            pool: pool.to_owned(),
            namespace: demand.namespace.clone(),
        });
    }
    let selected = eligibility.service_selectors.is_empty()
        || eligibility
            .service_selectors
            .iter()
            .any(|s| s.matches(&demand.service_labels));
    if selected {
        Ok(())
    } else {
        Err(Unkept::NotSelected {
            pool: pool.to_owned(),
        })
    }
}
