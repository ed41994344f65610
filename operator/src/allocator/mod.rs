//! The allocator: pools in, Services' demands in, assignments out. No client, no async.
//!
//! It remembers which Service holds which IPs and keeps them there ("an IP never moves"): a
//! Service keeps its IPs for as long as they are still offered by their pool, the pool's
//! serviceAllocation still admits it and they still satisfy what the Service asks for
//! (families and policy included; else [`Unkept`] says why), across restarts too, since the operator first [`Allocator::converge`]s
//! every Service that already has IPs in its status, and only then those that wait for one.
//! New IPs are the lowest free ones of the first pool that can give them, found in O(log n)
//! over the runs of used addresses ([`used::UsedSet`]).

mod choice;
mod demand;
mod keep;
#[cfg(test)]
mod metallb_cases;
pub mod pool;
mod sharing;
mod used;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ferrolb_crds::address::{Family, int_to_ip, ip_to_int};

pub use demand::{Demand, FamilyPolicy, Reason, Refusal};
pub use keep::Unkept;
pub use pool::{Audience, Eligibility, Pool};
pub use sharing::{Conflict, Sharing};
pub use used::UsedSet;

/// The IPs a Service holds and the pool they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub pool: String,
    /// In the order of the Service's IP families.
    pub ips: Vec<IpAddr>,
}

/// What converging a Service did, for events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// It kept the IPs it had.
    Kept,
    /// It had no IPs and got these.
    Allocated,
    /// It kept its IP and gained one of the missing family.
    Extended(IpAddr),
    /// Its IPs were no longer valid (the reason), and it got new ones.
    Moved(String),
}

/// The outcome of converging one Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converged {
    pub assignment: Assignment,
    pub change: Change,
}

/// The result of a failed convergence: why, and the IPs the Service lost, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub refusal: Refusal,
    /// Set when the Service had IPs that were cleared (and why).
    pub cleared: Option<String>,
}

#[derive(Clone, Debug)]
struct Held {
    assignment: Assignment,
    sharing: Sharing,
    /// When it took these IPs, on the allocator's own clock: a Service that keeps its IPs
    /// keeps its time, so the order says who was first on a shared IP.
    since: u64,
}

/// Usage of one pool, for its status and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUsage {
    pub assigned_v4: u128,
    pub assigned_v6: u128,
    pub capacity_v4: u128,
    pub capacity_v6: u128,
}

impl PoolUsage {
    pub fn available_v4(&self) -> u128 {
        self.capacity_v4.saturating_sub(self.assigned_v4)
    }
    pub fn available_v6(&self) -> u128 {
        self.capacity_v6.saturating_sub(self.assigned_v6)
    }
}

/// The allocator's whole state.
#[derive(Debug, Default)]
pub struct Allocator {
    pools: BTreeMap<String, Pool>,
    held: HashMap<String, Held>,
    holders: HashMap<IpAddr, BTreeSet<String>>,
    by_sharing_key: HashMap<String, BTreeSet<IpAddr>>,
    used_v4: UsedSet,
    used_v6: UsedSet,
    /// The last `since` handed out.
    clock: u64,
}

impl Allocator {
    /// Replaces the pools. Services keep their IPs; call [`Allocator::stale`] to find those
    /// whose IPs the new pools no longer offer, and converge them.
    pub fn set_pools(&mut self, pools: impl IntoIterator<Item = Pool>) {
        self.pools = pools.into_iter().map(|p| (p.name.clone(), p)).collect();
    }

    /// Services holding an IP that its pool no longer offers.
    pub fn stale(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| !self.still_offered(&h.assignment))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    /// The assignment of a Service, if it holds IPs.
    pub fn assignment(&self, key: &str) -> Option<&Assignment> {
        self.held.get(key).map(|h| &h.assignment)
    }

    /// The Services holding IPs.
    pub fn held_keys(&self) -> impl Iterator<Item = &String> {
        self.held.keys()
    }

    fn still_offered(&self, a: &Assignment) -> bool {
        self.pools
            .get(&a.pool)
            .is_some_and(|pool| a.ips.iter().all(|ip| pool.offers(*ip)))
    }

    fn used(&self, family: Family) -> &UsedSet {
        match family {
            Family::V4 => &self.used_v4,
            Family::V6 => &self.used_v6,
        }
    }

    fn used_mut(&mut self, family: Family) -> &mut UsedSet {
        match family {
            Family::V4 => &mut self.used_v4,
            Family::V6 => &mut self.used_v6,
        }
    }

    /// Frees the IPs of a Service (deleted, or no longer a LoadBalancer). Returns what it held.
    pub fn release(&mut self, key: &str) -> Option<Assignment> {
        let held = self.held.remove(key)?;
        for ip in &held.assignment.ips {
            self.drop_holder(*ip, key, held.sharing.key.as_deref());
        }
        Some(held.assignment)
    }

    fn drop_holder(&mut self, ip: IpAddr, key: &str, sharing_key: Option<&str>) {
        let now_free = match self.holders.get_mut(&ip) {
            Some(set) => {
                set.remove(key);
                set.is_empty()
            }
            None => false,
        };
        if now_free {
            self.holders.remove(&ip);
            self.used_mut(Family::of(ip)).remove(ip_to_int(ip));
            if let Some(k) = sharing_key
                && let Some(ips) = self.by_sharing_key.get_mut(k)
            {
                ips.remove(&ip);
                if ips.is_empty() {
                    self.by_sharing_key.remove(k);
                }
            }
        }
    }

    /// Records that Service `key` holds `assignment`, since `since` when it already held it,
    /// else from now.
    fn take(&mut self, key: &str, assignment: Assignment, sharing: Sharing, since: Option<u64>) {
        let since = since.unwrap_or_else(|| {
            self.clock += 1;
            self.clock
        });
        for ip in &assignment.ips {
            self.holders.entry(*ip).or_default().insert(key.to_owned());
            self.used_mut(Family::of(*ip)).insert(ip_to_int(*ip));
            if let Some(k) = &sharing.key {
                self.by_sharing_key
                    .entry(k.clone())
                    .or_default()
                    .insert(*ip);
            }
        }
        self.held.insert(
            key.to_owned(),
            Held {
                assignment,
                sharing,
                since,
            },
        );
    }

    /// Whether `ip` of `pool` is free for Service `key`, or held only by Services it may share
    /// with. `since` is when the Service took `ip`, if it holds it already: in a pool whose
    /// sharing scope is the namespace, a partner of another namespace bars only a Service that
    /// came after it, so when a pool gains that scope the first holder keeps the IP and the
    /// later ones get their own.
    fn shareable(
        &self,
        ip: IpAddr,
        key: &str,
        sharing: &Sharing,
        pool: &Pool,
        since: Option<u64>,
    ) -> Result<(), Conflict> {
        for other in self.holders.get(&ip).into_iter().flatten() {
            if other == key {
                continue;
            }
            let theirs = &self.held[other];
            let same_key = sharing.key.is_some() && sharing.key == theirs.sharing.key;
            if same_key && since.is_none_or(|mine| theirs.since < mine) {
                sharing::within_scope(pool.sharing_scope, &pool.name, key, other)?;
            }
            sharing.check(&theirs.sharing, other)?;
        }
        Ok(())
    }

    /// Brings one Service to an assignment: keeps its IPs when they are still valid (from
    /// memory, or else from `status_ips` as read from its status), completes a dual-stack pair
    /// when it can, and otherwise allocates anew.
    pub fn converge(
        &mut self,
        demand: &Demand,
        status_ips: &[IpAddr],
    ) -> Result<Converged, Failed> {
        let key = demand.key.as_str();
        let (current, since) = match self.held.get(key) {
            Some(h) => (Some(h.assignment.clone()), Some(h.since)),
            None => (self.recover(status_ips), None),
        };
        let mut cleared = None;
        if let Some(current) = current {
            match self.keepable(demand, &current, since) {
                Ok(()) => {
                    self.release(key);
                    self.take(key, current.clone(), demand.sharing.clone(), since);
                    return Ok(self.maybe_extend(demand, current));
                }
                Err(why) => {
                    self.release(key);
                    cleared = Some(why.to_string());
                }
            }
        }
        match self.allocate(demand) {
            Ok(assignment) => {
                self.take(key, assignment.clone(), demand.sharing.clone(), None);
                let change = match cleared {
                    Some(why) => Change::Moved(why),
                    None => Change::Allocated,
                };
                Ok(Converged { assignment, change })
            }
            Err(refusal) => Err(Failed { refusal, cleared }),
        }
    }

    /// An assignment rebuilt from IPs found in a Service's status: the pool offering them.
    fn recover(&self, ips: &[IpAddr]) -> Option<Assignment> {
        let first = ips.first()?;
        let pool = self.pools.values().find(|p| p.offers(*first))?;
        Some(Assignment {
            pool: pool.name.clone(),
            ips: ips.to_vec(),
        })
    }

    /// Adds the missing family to a dual-stack Service holding one IP, from the same pool.
    fn maybe_extend(&mut self, demand: &Demand, current: Assignment) -> Converged {
        let kept = Converged {
            assignment: current.clone(),
            change: Change::Kept,
        };
        if demand.policy == FamilyPolicy::SingleStack
            || current.ips.len() != 1
            || !demand.ips.is_empty()
        {
            return kept;
        }
        let have = Family::of(current.ips[0]);
        let Some(missing) = demand.families.iter().copied().find(|f| *f != have) else {
            return kept;
        };
        let Some(pool) = self.pools.get(&current.pool) else {
            return kept;
        };
        let Some(ip) = self.pick_one(pool, missing, demand) else {
            return kept;
        };
        let mut assignment = current;
        assignment.ips.push(ip);
        assignment
            .ips
            .sort_by_key(|ip| demand.families.iter().position(|f| *f == Family::of(*ip)));
        let since = self.held.get(&demand.key).map(|h| h.since);
        self.release(&demand.key);
        self.take(
            &demand.key,
            assignment.clone(),
            demand.sharing.clone(),
            since,
        );
        Converged {
            assignment,
            change: Change::Extended(ip),
        }
    }

    /// Usage of every pool: IPs in use within its ranges (whoever holds them), and capacity.
    pub fn usage(&self) -> BTreeMap<String, PoolUsage> {
        self.pools
            .values()
            .map(|pool| {
                let assigned = |family: Family| {
                    let used = self.used(family);
                    pool.bounds(family).fold(0u128, |sum, (first, last)| {
                        let mut within = used.count_within(first, last);
                        if pool.avoid_buggy_ips && family == Family::V4 {
                            // Addresses the pool skips are not part of it, even when another
                            // (overlapping) pool handed them out.
                            within -= used
                                .runs_within(first, last)
                                .map(|(s, e)| buggy_between(s, e))
                                .sum::<u128>();
                        }
                        sum.saturating_add(within)
                    })
                };
                let usage = PoolUsage {
                    assigned_v4: assigned(Family::V4),
                    assigned_v6: assigned(Family::V6),
                    capacity_v4: pool.capacity(Family::V4),
                    capacity_v6: pool.capacity(Family::V6),
                };
                (pool.name.clone(), usage)
            })
            .collect()
    }
}

/// How many IPv4 addresses (as integers) between `first` and `last` end in .0 or .255.
fn buggy_between(first: u128, last: u128) -> u128 {
    ferrolb_crds::AddressRange::new(int_to_ip(Family::V4, first), int_to_ip(Family::V4, last))
        .map(|r| r.buggy_count())
        .unwrap_or(0)
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
