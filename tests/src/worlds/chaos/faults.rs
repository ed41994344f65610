//! Which component fails next, when, and for how long, drawn from a seeded generator (the soak
//! prints its seed, so a run can be replayed with `FERROLB_SOAK_SEED`).
//!
//! A fault is a SIGKILL of an operator replica, a speaker or the webhook, which stays down for
//! a while and is then started again, or a restart of the API server (SIGKILL, then a new
//! process at once).

use std::time::Duration;

/// A part of the world that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Operator(usize),
    Speaker(usize),
    Webhook,
    ApiServer,
}

impl Component {
    /// Every process of a world with `operators` replicas and `nodes` speakers.
    pub fn processes(operators: usize, nodes: usize) -> Vec<Component> {
        (0..operators)
            .map(Component::Operator)
            .chain((0..nodes).map(Component::Speaker))
            .chain([Component::Webhook])
            .collect()
    }

    /// The kind of component, for the counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Component::Operator(_) => "operator SIGKILL",
            Component::Speaker(_) => "speaker SIGKILL",
            Component::Webhook => "webhook SIGKILL",
            Component::ApiServer => "API server restart",
        }
    }
}

/// One fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub component: Component,
    /// The pause since the previous fault.
    pub after: Duration,
    /// How long a killed process stays down before it is started again.
    pub down_for: Duration,
}

/// The random schedule of faults.
pub struct FaultPlan {
    rng: fastrand::Rng,
    operators: usize,
    nodes: usize,
}

impl FaultPlan {
    pub fn new(seed: u64, operators: usize, nodes: usize) -> FaultPlan {
        FaultPlan {
            rng: fastrand::Rng::with_seed(seed),
            operators,
            nodes,
        }
    }

    /// The next fault: a speaker 40 % of the time, an operator replica 30 %, the webhook and
    /// the API server 15 % each; 2 to 5 s after the previous one, down for 0.3 to 3 s.
    pub fn draw(&mut self) -> Fault {
        let roll = self.rng.u32(0..100);
        let component = match roll {
            0..40 => Component::Speaker(self.rng.usize(0..self.nodes)),
            40..70 => Component::Operator(self.rng.usize(0..self.operators)),
            70..85 => Component::Webhook,
            _ => Component::ApiServer,
        };
        Fault {
            component,
            after: Duration::from_millis(self.rng.u64(2000..5000)),
            down_for: Duration::from_millis(self.rng.u64(300..3000)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_faults() {
        let mut a = FaultPlan::new(7, 2, 3);
        let mut b = FaultPlan::new(7, 2, 3);
        for _ in 0..50 {
            assert_eq!(a.draw(), b.draw());
        }
    }

    #[test]
    fn every_kind_of_fault_comes_within_its_bounds() {
        let mut plan = FaultPlan::new(1, 2, 3);
        let faults: Vec<Fault> = (0..400).map(|_| plan.draw()).collect();
        for kind in ["operator", "speaker", "webhook", "API server"] {
            assert!(
                faults.iter().any(|f| f.component.kind().starts_with(kind)),
                "no {kind} fault in 400"
            );
        }
        assert!(faults.iter().all(|f| {
            (2..5).contains(&f.after.as_secs()) && f.down_for < Duration::from_secs(3)
        }));
        assert!(faults.iter().all(|f| match f.component {
            Component::Operator(i) => i < 2,
            Component::Speaker(i) => i < 3,
            _ => true,
        }));
    }

    #[test]
    fn processes_are_every_replica_speaker_and_the_webhook() {
        assert_eq!(
            Component::processes(2, 1),
            vec![
                Component::Operator(0),
                Component::Operator(1),
                Component::Speaker(0),
                Component::Webhook
            ]
        );
    }
}
