//! Leader election over one `coordination.k8s.io/v1` Lease, so that of several operator
//! replicas exactly one writes. Every update is guarded by the resourceVersion it read (no
//! blind overwrite), every API call has a timeout, expiry is judged on this replica's own clock
//! from when it last saw the Lease change (immune to clock skew between nodes), and the Lease
//! is vacated on shutdown so a standby takes over at its next try instead of waiting it out.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};

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
    /// Timeout of each API call.
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

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timings: Timings,
    /// The resourceVersion last seen and when this replica saw it change.
    observed: Option<(String, Instant)>,
}

enum Attempt {
    Leading,
    Following,
    Failed(String),
}

impl Elector {
    pub fn new(api: Api<Lease>, name: &str, identity: &str, timings: Timings) -> Self {
        Self {
            api,
            name: name.to_owned(),
            identity: identity.to_owned(),
            timings,
            observed: None,
        }
    }

    /// Runs until `stop` turns true, publishing whether this replica leads; then vacates the
    /// Lease if it holds it.
    pub async fn run(mut self, leading: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
        let mut last_renewal: Option<Instant> = None;
        loop {
            match self.attempt().await {
                Attempt::Leading => last_renewal = Some(Instant::now()),
                Attempt::Following => last_renewal = None,
                Attempt::Failed(why) => {
                    tracing::warn!(lease = %self.name, "leader election: {why}")
                }
            }
            let lead = last_renewal.is_some_and(|t| t.elapsed() < self.timings.renew_deadline);
            if *leading.borrow() != lead {
                tracing::info!(identity = %self.identity, leading = lead, "leadership changed");
                let _ = leading.send(lead);
            }
            tokio::select! {
                _ = sleep(self.timings.retry_period) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        let _ = leading.send(false);
        if let Err(why) = self.vacate().await {
            tracing::warn!(lease = %self.name, "could not vacate the leader Lease: {why}");
        }
    }

    async fn attempt(&mut self) -> Attempt {
        let current = match timeout(self.timings.call_timeout, self.api.get_opt(&self.name)).await {
            Err(_) => return Attempt::Failed("reading the Lease timed out".into()),
            Ok(Err(e)) => return Attempt::Failed(format!("reading the Lease: {e}")),
            Ok(Ok(lease)) => lease,
        };
        let Some(lease) = current else {
            return self.write(None).await;
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
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let duration = spec
            .lease_duration_seconds
            .map_or(self.timings.lease_duration, |s| {
                Duration::from_secs(s.max(0) as u64)
            });
        if holder == self.identity || holder.is_empty() || seen_at.elapsed() > duration {
            self.write(Some(lease)).await
        } else {
            Attempt::Following
        }
    }

    /// Creates the Lease, or renews or takes it over, guarded by the resourceVersion read.
    async fn write(&mut self, existing: Option<Lease>) -> Attempt {
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
        let call = async {
            match &existing {
                None => self.api.create(&PostParams::default(), &lease).await,
                Some(_) => {
                    self.api
                        .replace(&self.name, &PostParams::default(), &lease)
                        .await
                }
            }
        };
        match timeout(self.timings.call_timeout, call).await {
            Err(_) => Attempt::Failed("writing the Lease timed out".into()),
            Ok(Ok(written)) => {
                self.observed = written
                    .metadata
                    .resource_version
                    .map(|rv| (rv, Instant::now()));
                Attempt::Leading
            }
            Ok(Err(kube::Error::Api(e))) if e.code == 409 => Attempt::Following,
            Ok(Err(e)) => Attempt::Failed(format!("writing the Lease: {e}")),
        }
    }

    /// Empties the holder of a Lease this replica holds, so a standby can take it at once.
    async fn vacate(&self) -> Result<(), String> {
        let lease = timeout(self.timings.call_timeout, self.api.get_opt(&self.name))
            .await
            .map_err(|_| "reading the Lease timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let Some(mut lease) = lease else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        timeout(
            self.timings.call_timeout,
            self.api.replace(&self.name, &PostParams::default(), &lease),
        )
        .await
        .map_err(|_| "vacating the Lease timed out".to_owned())?
        .map_err(|e| e.to_string())?;
        tracing::info!(lease = %self.name, "vacated the leader Lease");
        Ok(())
    }
}
