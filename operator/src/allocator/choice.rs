//! Choosing addresses for a Service that holds none: the IPs it asks for, when they are valid
//! and free for it; otherwise the lowest free address of the first pool that may serve it, in
//! MetalLB's pool order (matching `serviceAllocation` pools by priority, then the auto-assign
//! pools by name), or an IP already shared under its sharing key (in a pool scoped to the
//! namespace, only one shared within the Service's namespace). The family policy chooses
//! among the pools of one tier only: a PreferDualStack Service takes one family from a pool
//! meant for it rather than both from a general pool.

use std::net::IpAddr;

use ferrolb_crds::address::{Family, int_to_ip};

use super::{Allocator, Assignment, Audience, Demand, Eligibility, Pool, Reason, Refusal, list};

impl Allocator {
    /// The lowest usable IP of `family` in `pool` for this Service: an IP already shared under
    /// its sharing key when one fits, else the lowest free one.
    pub(super) fn pick_one(&self, pool: &Pool, family: Family, demand: &Demand) -> Option<IpAddr> {
        if let Some(k) = &demand.sharing.key
            && let Some(ips) = self.by_sharing_key.get(k)
        {
            let shared = ips.iter().copied().find(|ip| {
                Family::of(*ip) == family
                    && pool.offers(*ip)
                    && self
                        .shareable(*ip, &demand.key, &demand.sharing, pool, None)
                        .is_ok()
            });
            if shared.is_some() {
                return shared;
            }
        }
        let used = self.used(family);
        pool.bounds(family)
            .find_map(|(first, last)| used.first_free(first, last, |n| pool.skips(family, n)))
            .map(|n| int_to_ip(family, n))
    }

    /// A fresh assignment for a Service that holds none.
    pub(super) fn allocate(&self, demand: &Demand) -> Result<Assignment, Refusal> {
        if !demand.ips.is_empty() {
            return self.allocate_requested(demand);
        }
        let audience = demand.audience();
        let tiers: Vec<Vec<&Pool>> = match &demand.pool {
            Some(name) => {
                let pool = self
                    .pools
                    .get(name)
                    .ok_or_else(|| Refusal::unknown_pool(name))?;
                if !pool.serves_on_request(&audience) {
                    return Err(Refusal::invalid(format!(
                        "pool {name:?} does not serve Services of namespace {:?} with these labels (its serviceAllocation)",
                        demand.namespace
                    )));
                }
                vec![vec![pool]]
            }
            None => self.automatic_pools(&audience),
        };
        if tiers.iter().all(Vec::is_empty) {
            return Err(Refusal::new(
                Reason::NoMatchingPool,
                "no IPAddressPool serves this Service: add a pool with autoAssign, or name one in metallb.io/address-pool".to_owned(),
            ));
        }
        // Tier by tier, as MetalLB does: a pool meant for the Service serves it with the
        // families it has before a general pool is asked for both.
        for tier in &tiers {
            for families in demand.family_attempts() {
                for pool in tier {
                    if let Some(ips) = families
                        .iter()
                        .map(|f| {
                            pool.has_family(*f)
                                .then(|| self.pick_one(pool, *f, demand))
                                .flatten()
                        })
                        .collect::<Option<Vec<_>>>()
                    {
                        return Ok(Assignment {
                            pool: pool.name.clone(),
                            ips,
                        });
                    }
                }
            }
        }
        let names: Vec<&str> = tiers.iter().flatten().map(|p| p.name.as_str()).collect();
        Err(Refusal::new(
            Reason::PoolExhausted,
            format!(
                "no free {} address in pool{} {}",
                demand.families_text(),
                if names.len() == 1 { "" } else { "s" },
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    /// Pools a Service may draw from without naming one, in two tiers tried in turn: those
    /// whose serviceAllocation admits it, by priority (0 last), then the auto-assign pools
    /// without serviceAllocation; ties by name, never random.
    fn automatic_pools(&self, audience: &Audience<'_>) -> Vec<Vec<&Pool>> {
        let mut ranked: Vec<&Pool> = self
            .pools
            .values()
            .filter(|p| p.eligibility.is_some() && p.serves_automatically(audience))
            .collect();
        ranked.sort_by_key(|p| {
            (
                p.eligibility.as_ref().map(Eligibility::rank),
                p.name.clone(),
            )
        });
        let general = self
            .pools
            .values()
            .filter(|p| p.eligibility.is_none() && p.auto_assign)
            .collect();
        vec![ranked, general]
    }

    /// The specific IPs a Service asks for, if they are valid and free for it.
    fn allocate_requested(&self, demand: &Demand) -> Result<Assignment, Refusal> {
        demand.check_requested_families()?;
        let audience = demand.audience();
        let mut pool_name: Option<&str> = None;
        for ip in &demand.ips {
            let pool = match &demand.pool {
                Some(name) => {
                    let pool = self
                        .pools
                        .get(name)
                        .ok_or_else(|| Refusal::unknown_pool(name))?;
                    if !pool.offers(*ip) {
                        return Err(Refusal::invalid(format!(
                            "requested IP {ip} is not in the requested pool {name:?}{}",
                            self.pool_offering(*ip)
                                .map(|p| format!(" (it is in pool {:?})", p.name))
                                .unwrap_or_default()
                        )));
                    }
                    pool
                }
                None => self
                    .pool_offering(*ip)
                    .ok_or_else(|| self.not_in_any_pool(*ip))?,
            };
            if !pool.serves_on_request(&audience) {
                return Err(Refusal::invalid(format!(
                    "requested IP {ip} is in pool {:?}, which does not serve Services of namespace {:?} with these labels (its serviceAllocation)",
                    pool.name, demand.namespace
                )));
            }
            if let Some(first) = pool_name
                && first != pool.name
            {
                return Err(Refusal::invalid(format!(
                    "requested IPs {} come from two pools, {first:?} and {:?}; both must come from one pool",
                    list(&demand.ips),
                    pool.name
                )));
            }
            pool_name = Some(&pool.name);
            self.shareable(*ip, &demand.key, &demand.sharing, pool, None)
                .map_err(|why| {
                    Refusal::new(
                        Reason::SharingConflict,
                        format!("requested IP {ip} is not available: {why}"),
                    )
                })?;
        }
        let mut ips = demand.ips.clone();
        ips.sort_by_key(|ip| demand.families.iter().position(|f| *f == Family::of(*ip)));
        Ok(Assignment {
            pool: pool_name.unwrap_or_default().to_owned(),
            ips,
        })
    }

    fn pool_offering(&self, ip: IpAddr) -> Option<&Pool> {
        self.pools.values().find(|p| p.offers(ip))
    }

    fn not_in_any_pool(&self, ip: IpAddr) -> Refusal {
        let message = match self
            .pools
            .values()
            .find(|p| p.ranges.iter().any(|r| r.contains(ip)))
        {
            Some(pool) => format!(
                "requested IP {ip} ends in .0 or .255, which pool {:?} avoids (avoidBuggyIPs)",
                pool.name
            ),
            None => format!("requested IP {ip} is not in any IPAddressPool"),
        };
        Refusal::new(Reason::NotInAnyPool, message)
    }
}
