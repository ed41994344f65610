//! The soak's churn, planned without I/O: Services created and deleted (a third of them
//! sharing one IP under a common `allow-shared-ip` key, each on its own port, so they may),
//! and the pool's second range added and removed now and then, which moves the Services on
//! it. The number of Services stays within what the pool's first range can always hold, so
//! every Service is satisfiable whatever the pool looks like.

use std::collections::BTreeSet;

use super::RANGES;

/// Fewest and most Services at once; the most fit the first range (16 IPs) alone.
pub const FEWEST: usize = 6;
pub const MOST: usize = 12;

/// The sharing key of the Services that share.
pub const SHARING_KEY: &str = "soak-shared";

/// A Service to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewService {
    pub name: String,
    pub sharing_key: Option<String>,
    pub port: i32,
}

/// One change to the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Create(NewService),
    Delete(String),
    /// The pool's new address list.
    EditPool(Vec<String>),
}

impl Action {
    /// The kind of change, for the counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Create(_) => "Service created",
            Action::Delete(_) => "Service deleted",
            Action::EditPool(_) => "pool edited",
        }
    }
}

/// The churn's state: the Services that exist, and whether the pool has its second range.
pub struct ChurnPlan {
    rng: fastrand::Rng,
    pub services: BTreeSet<String>,
    next_name: u32,
    pub wide_pool: bool,
}

impl ChurnPlan {
    /// A plan starting from no Service and the pool with both ranges.
    pub fn new(seed: u64) -> ChurnPlan {
        ChurnPlan {
            rng: fastrand::Rng::with_seed(seed),
            services: BTreeSet::new(),
            next_name: 0,
            wide_pool: true,
        }
    }

    /// The next change: a pool edit one time in twenty, else a Service created (always below
    /// [`FEWEST`], never at [`MOST`]) or deleted.
    pub fn draw(&mut self) -> Action {
        if self.rng.u32(0..20) == 0 {
            let ranges = if self.wide_pool { 1 } else { 2 };
            return Action::EditPool(RANGES[..ranges].iter().map(|r| r.to_string()).collect());
        }
        let count = self.services.len();
        let create = count < FEWEST || (count < MOST && self.rng.bool());
        if create {
            let n = self.next_name;
            let shares = n.is_multiple_of(3);
            Action::Create(NewService {
                name: format!("soak-{n}"),
                sharing_key: shares.then(|| SHARING_KEY.to_owned()),
                port: if shares { 8000 + n as i32 } else { 80 },
            })
        } else {
            let index = self.rng.usize(0..count);
            let name = self.services.iter().nth(index).cloned().unwrap_or_default();
            Action::Delete(name)
        }
    }

    /// Records that `action` took effect (a failed one is planned afresh next time).
    pub fn applied(&mut self, action: &Action) {
        match action {
            Action::Create(service) => {
                self.services.insert(service.name.clone());
                self.next_name += 1;
            }
            Action::Delete(name) => {
                self.services.remove(name);
            }
            Action::EditPool(ranges) => self.wide_pool = ranges.len() > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_of_services_stays_within_bounds() {
        let mut plan = ChurnPlan::new(3);
        let mut kinds = BTreeSet::new();
        for _ in 0..2000 {
            let action = plan.draw();
            kinds.insert(action.kind());
            plan.applied(&action);
            assert!(plan.services.len() <= MOST);
        }
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(plan.services.len() >= FEWEST - 1);
    }

    #[test]
    fn a_failed_create_is_not_counted_and_names_are_never_reused() {
        let mut plan = ChurnPlan::new(5);
        let mut names = BTreeSet::new();
        for _ in 0..500 {
            let action = plan.draw();
            if let Action::Create(service) = &action {
                assert!(!names.contains(&service.name), "{} reused", service.name);
                // Every other create fails and is planned again under the same name.
                if plan.rng.bool() {
                    continue;
                }
                names.insert(service.name.clone());
            }
            plan.applied(&action);
        }
    }

    #[test]
    fn sharing_services_use_distinct_ports_and_pool_edits_toggle_the_second_range() {
        let mut plan = ChurnPlan::new(9);
        let mut shared_ports = BTreeSet::new();
        let mut edits = Vec::new();
        for _ in 0..2000 {
            let action = plan.draw();
            match &action {
                Action::Create(s) if s.sharing_key.is_some() => {
                    assert!(shared_ports.insert(s.port), "port {} twice", s.port)
                }
                Action::EditPool(ranges) => edits.push(ranges.len()),
                _ => {}
            }
            plan.applied(&action);
        }
        assert!(edits.windows(2).all(|w| w[0] != w[1]), "{edits:?}");
        assert_eq!(edits.first(), Some(&1));
    }
}
