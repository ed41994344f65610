//! Leader election over one `coordination.k8s.io/v1` Lease, so that of several operator
//! replicas exactly one writes. The Lease is read and written through [`ferrolb_lease`], so
//! every update is guarded by the resourceVersion it read (no blind overwrite); what to write
//! and when is decided here. Expiry is judged on this replica's own clock from when it last
//! saw the Lease change (immune to clock skew between nodes), and the Lease is vacated on
//! shutdown so a standby takes over at its next try instead of waiting it out.
//!
//! Each successful renewal is reported to the [`Fence`], which ends the term's writes at the
//! renew deadline counted from when the renewal was sent, whatever this replica is doing then;
//! an attempt still running at that deadline is abandoned, and each API call of an attempt is
//! limited to half the renew deadline, so a leader that cannot renew learns it well before a
//! standby may take over.

use std::sync::Arc;
use std::time::Duration;

use ferrolb_lease::{LeaseClient, Written, holder};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use crate::term::{Fence, Term};

/// Timings of the election.
#[derive(Clone, Debug)]
pub struct Timings {
    /// How long a Lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// How long the leader may fail to renew before it stops acting as leader; shorter than
    /// `lease_duration`, so it stops before anyone else may start.
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby tries to acquire.
    pub retry_period: Duration,
    /// Timeout of each API call; at most half the renew deadline, so an attempt (a read and a
    /// write) ends within it.
    pub call_timeout: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            call_timeout: Duration::from_secs(5),
        }
    }
}

/// The longest timeout of one election call.
const MAX_CALL_TIMEOUT: Duration = Duration::from_secs(5);

impl Timings {
    /// Timings from the three durations an operator is configured with, refused unless the
    /// renew deadline is shorter than the Lease duration (the leader must stop writing before
    /// a standby may start) and the retry period shorter than the renew deadline (a leader
    /// must get to renew within it); each call may take half the renew deadline, at most 5 s.
    pub fn new(
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Result<Self, String> {
        if renew_deadline.is_zero() || renew_deadline >= lease_duration {
            return Err(format!(
                "the renew deadline ({renew_deadline:?}) must be longer than zero and shorter than the lease duration ({lease_duration:?})"
            ));
        }
        if retry_period.is_zero() || retry_period >= renew_deadline {
            return Err(format!(
                "the retry period ({retry_period:?}) must be longer than zero and shorter than the renew deadline ({renew_deadline:?})"
            ));
        }
        Ok(Self {
            lease_duration,
            renew_deadline,
            retry_period,
            call_timeout: (renew_deadline / 2).min(MAX_CALL_TIMEOUT),
        })
    }
}

/// One replica's side of the election.
pub struct Elector {
    /// Each call limited to the election's call timeout.
    leases: LeaseClient,
    name: String,
    identity: String,
    timings: Timings,
    /// The resourceVersion last seen and when this replica saw it change.
    observed: Option<(String, Instant)>,
    fence: Arc<Fence>,
    /// When an attempt last read or wrote the Lease, and who hears whether that is recent.
    last_answer: Option<Instant>,
    leader_known: Option<Box<dyn Fn(bool) + Send + Sync>>,
}

enum Attempt {
    /// The Lease is this replica's, written by a request sent at this instant.
    Leading(Instant),
    Following,
    Failed(String),
}

impl Elector {
    pub fn new(api: Api<Lease>, name: &str, identity: &str, timings: Timings) -> Self {
        Self {
            leases: LeaseClient::new(api, timings.call_timeout),
            name: name.to_owned(),
            identity: identity.to_owned(),
            fence: Fence::new(timings.renew_deadline),
            timings,
            observed: None,
            last_answer: None,
            leader_known: None,
        }
    }

    /// Tells `report`, after each attempt, whether this replica knows who leads: whether the
    /// API server answered one of its Lease reads or writes within the last lease duration.
    pub fn reporting_leader_known(mut self, report: impl Fn(bool) + Send + Sync + 'static) -> Self {
        self.leader_known = Some(Box::new(report));
        self
    }

    fn report_answer(&mut self, answered: bool) {
        if answered {
            self.last_answer = Some(Instant::now());
        }
        let known = self
            .last_answer
            .is_some_and(|at| at.elapsed() < self.timings.lease_duration);
        if let Some(report) = &self.leader_known {
            report(known);
        }
    }

    /// Runs until `stop` turns true, publishing the term this replica leads in, if any; then
    /// ends the term and vacates the Lease if it holds it.
    pub async fn run(
        mut self,
        leading: watch::Sender<Option<Term>>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let deadline = self.fence.deadline();
            let renew_deadline = self.timings.renew_deadline;
            let attempt = async {
                match deadline {
                    Some(deadline) => tokio::select! {
                        attempt = self.attempt() => attempt,
                        _ = sleep_until(deadline) => Attempt::Failed(format!(
                            "no renewal within the renew deadline ({renew_deadline:?})"
                        )),
                    },
                    None => self.attempt().await,
                }
            };
            match attempt.await {
                Attempt::Leading(sent) => {
                    self.fence.renewed(sent);
                    self.report_answer(true);
                }
                Attempt::Following => {
                    self.fence.end();
                    self.report_answer(true);
                }
                Attempt::Failed(why) => {
                    tracing::warn!(lease = %self.name, "leader election: {why}");
                    self.report_answer(false);
                }
            }
            let lead = self.fence.leading();
            if lead.is_none() {
                self.fence.end();
            }
            let published = leading.borrow().as_ref().map(Term::id);
            if published != lead {
                match lead {
                    Some(term) => {
                        tracing::info!(identity = %self.identity, term = term.0, "leading")
                    }
                    None => tracing::info!(identity = %self.identity, "stopped leading"),
                }
                let _ = leading.send(lead.map(|id| Term::new(id, self.fence.clone())));
            }
            // Wake at the deadline too, so a term that is not renewed is seen to end.
            let until_deadline = async {
                match self.fence.deadline() {
                    Some(deadline) => sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep(self.timings.retry_period) => {}
                _ = until_deadline => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        self.fence.end();
        let _ = leading.send(None);
        if let Err(why) = self.vacate().await {
            tracing::warn!(lease = %self.name, "could not vacate the leader Lease: {why}");
        }
    }

    async fn attempt(&mut self) -> Attempt {
        let lease = match self.leases.get(&self.name).await {
            Err(e) => return Attempt::Failed(e.to_string()),
            Ok(None) => return self.write(None).await,
            Ok(Some(lease)) => lease,
        };
        let rv = lease.metadata.resource_version.clone().unwrap_or_default();
        let seen_at = match &self.observed {
            Some((seen, at)) if *seen == rv => *at,
            _ => {
                let now = Instant::now();
                self.observed = Some((rv, now));
                now
            }
        };
        let duration = lease
            .spec
            .as_ref()
            .and_then(|spec| spec.lease_duration_seconds)
            .map_or(self.timings.lease_duration, |s| {
                Duration::from_secs(s.max(0) as u64)
            });
        let free = match holder(&lease) {
            None => true,
            Some(holder) => holder == self.identity,
        };
        if free || seen_at.elapsed() > duration {
            self.write(Some(lease)).await
        } else {
            Attempt::Following
        }
    }

    /// Creates the Lease, or renews or takes it over, guarded by the resourceVersion read.
    async fn write(&mut self, existing: Option<Lease>) -> Attempt {
        let sent = Instant::now();
        let now = MicroTime(Timestamp::now());
        let mut lease = existing.clone().unwrap_or_else(|| Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec::default()),
        });
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions =
                Some(spec.lease_transitions.unwrap_or(0) + i32::from(existing.is_some()));
        }
        spec.lease_duration_seconds = Some(self.timings.lease_duration.as_secs() as i32);
        spec.renew_time = Some(now);
        match self.leases.write(lease, existing.as_ref()).await {
            Ok(Written::Won(written)) => {
                self.observed = written
                    .metadata
                    .resource_version
                    .map(|rv| (rv, Instant::now()));
                Attempt::Leading(sent)
            }
            Ok(Written::Lost) => Attempt::Following,
            Err(e) => Attempt::Failed(e.to_string()),
        }
    }

    /// Empties the holder of a Lease this replica holds, so a standby can take it at once.
    async fn vacate(&self) -> Result<(), String> {
        let Some(lease) = self
            .leases
            .get(&self.name)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if holder(&lease).as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let vacated = self
            .leases
            .vacate(&lease, |spec| spec.lease_duration_seconds = Some(1))
            .await
            .map_err(|e| e.to_string())?;
        if let Written::Lost = vacated {
            return Err(format!(
                "Lease {:?} changed since it was read; left as it is",
                self.name
            ));
        }
        tracing::info!(lease = %self.name, "vacated the leader Lease");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
