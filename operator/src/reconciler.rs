//! One leader term of the operator: a fresh [`Allocator`] fed from the caches, and the writes
//! that bring Services and pools in line with it.
//!
//! [`Reconciler::full_pass`] starts a term: pools first, then every Service that already has
//! IPs (so they keep them), then the ones waiting. [`Reconciler::process`] handles a batch of
//! triggers the same way. Deciding is synchronous; the writes of a batch then run
//! concurrently, at most one per Service, and failed ones come back as retries. Every write,
//! event and status of a reconciler is made for its [`Term`] and stops when the term does.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use ferrolb_crds::annotations::{Annotation, Deprecation};

use crate::allocator::{Allocator, Change, Pool, PoolUsage, pool};
use crate::caches::{Caches, Trigger};
use crate::metrics::Metrics;
use crate::service::{self, View};
use crate::term::{Term, WriteError};
use crate::writer::{self, WriteQueue};
use crate::writes::{self, ServiceEvent, ServiceWrite};

/// What a reconciler needs from the outside.
pub struct Context {
    pub client: kube::Client,
    pub namespace: String,
    pub lb_class: Option<String>,
    pub caches: Caches,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub retries: UnboundedSender<Trigger>,
    pub write_concurrency: usize,
}

/// The state of one leader term. Its background writers stop with it, so a replica that
/// lost the lead stops writing at once.
pub struct Reconciler {
    ctx: Arc<Context>,
    term: Term,
    allocator: Allocator,
    waiting: BTreeSet<String>,
    warned: HashSet<(String, String)>,
    config_errors: Option<Vec<String>>,
    queue: WriteQueue,
    usage: watch::Sender<BTreeMap<String, PoolUsage>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Reconciler {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Reconciler {
    pub fn new(ctx: Arc<Context>, term: Term) -> Self {
        let (queue, queue_task) = WriteQueue::start(
            ctx.client.clone(),
            term.clone(),
            ctx.write_concurrency,
            ctx.metrics.clone(),
            ctx.retries.clone(),
        );
        let (usage, usage_rx) = watch::channel(BTreeMap::new());
        let pool_task = writer::start_pool_status(
            ctx.client.clone(),
            term.clone(),
            ctx.namespace.clone(),
            ctx.metrics.clone(),
            ctx.caches.pools.clone(),
            usage_rx,
        );
        Self {
            ctx,
            term,
            allocator: Allocator::default(),
            waiting: BTreeSet::new(),
            warned: HashSet::new(),
            config_errors: None,
            queue,
            usage,
            tasks: vec![queue_task, pool_task],
        }
    }

    /// Converges everything: holders first, then the Services waiting for an IP.
    pub async fn full_pass(&mut self) {
        self.load_pools().await;
        let keys = self.all_keys();
        self.converge_all(keys).await;
    }

    /// Handles a batch of triggers.
    pub async fn process(&mut self, batch: BTreeSet<Trigger>) {
        let mut keys = BTreeSet::new();
        let mut everything = false;
        for trigger in batch {
            match trigger {
                Trigger::Service(key) | Trigger::Retry(key) => {
                    keys.insert(key);
                }
                Trigger::Pools => {
                    self.load_pools().await;
                    everything = true;
                    // A pool's status may have been edited: let the status writer compare,
                    // even when the usage stays the same.
                    self.usage.send_modify(|_| ());
                }
                Trigger::Everything => everything = true,
            }
        }
        if everything {
            keys = self.all_keys();
        }
        self.converge_all(keys).await;
    }

    /// Every Service key in the cache, and every one the allocator still holds.
    fn all_keys(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .ctx
            .caches
            .services
            .state()
            .iter()
            .map(|s| service::key(s))
            .collect();
        keys.extend(self.allocator.held_keys().cloned());
        keys
    }

    async fn load_pools(&mut self) {
        let mut pools = Vec::new();
        let mut errors = Vec::new();
        for object in self.ctx.caches.pools.state() {
            match Pool::from_object(&object) {
                Ok(pool) => pools.push(pool),
                Err(e) => errors.push(e),
            }
        }
        errors.extend(pool::overlaps(&pools));
        errors.sort();
        for e in &errors {
            tracing::warn!("{e}");
        }
        self.allocator.set_pools(pools);
        if self.config_errors.as_ref() != Some(&errors) {
            let written = writes::write_configuration_state(
                &self.ctx.client,
                &self.term,
                &self.ctx.namespace,
                &errors,
            )
            .await;
            match written {
                Ok(()) => self.config_errors = Some(errors),
                Err(WriteError::Refused(why)) => {
                    tracing::info!("not writing ConfigurationState: {why}")
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }

    fn service(&self, key: &str) -> Option<Arc<Service>> {
        let (ns, name) = key.split_once('/')?;
        self.ctx
            .caches
            .services
            .get(&ObjectRef::new(name).within(ns))
    }

    async fn converge_all(&mut self, keys: BTreeSet<String>) {
        // Holders first, so nobody waiting can take an address someone already has; then by
        // age, so earlier Services get the lower addresses.
        let mut ordered: Vec<(bool, Option<Timestamp>, String)> = keys
            .into_iter()
            .map(|k| {
                let svc = self.service(&k);
                let holds = self.allocator.assignment(&k).is_some()
                    || svc
                        .as_deref()
                        .is_some_and(|s| !service::ingress_ips(s).is_empty());
                let created = svc
                    .and_then(|s| s.metadata.creation_timestamp.clone())
                    .map(|t| t.0);
                (!holds, created, k)
            })
            .collect();
        ordered.sort();
        let mut freed = false;
        for (_, _, key) in &ordered {
            freed |= self.converge_one(key);
        }
        if freed {
            let waiting: Vec<String> = self
                .waiting
                .iter()
                .filter(|k| !ordered.iter().any(|o| &o.2 == *k))
                .cloned()
                .collect();
            for key in waiting {
                self.converge_one(&key);
            }
        }
        let usage = self.allocator.usage();
        self.usage.send_if_modified(|published| {
            let changed = *published != usage;
            *published = usage;
            changed
        });
    }

    /// Converges one Service and queues the writes it needs; returns whether waiting Services
    /// may fit now: IPs were freed, or a Service that shares its IP was converged (its sharing
    /// terms, such as its traffic policy, may have changed to admit a waiting partner).
    fn converge_one(&mut self, key: &str) -> bool {
        self.ctx.metrics.reconciles.inc();
        let Some(svc) = self.service(key) else {
            self.waiting.remove(key);
            return self.allocator.release(key).is_some();
        };
        let ns_labels = svc
            .metadata
            .namespace
            .as_deref()
            .and_then(|ns| self.ctx.caches.namespaces.get(&ObjectRef::new(ns)))
            .and_then(|ns| ns.metadata.labels.clone())
            .unwrap_or_default();
        let now = Time(Timestamp::now());
        let mut events = Vec::new();
        let (writes, freed) = match service::read(&svc, &ns_labels, self.ctx.lb_class.as_deref()) {
            View::NotOurs => {
                self.waiting.remove(key);
                let freed = self.allocator.release(key).is_some();
                let writes = if service::carries_our_marks(&svc) {
                    if freed {
                        events.push(info("ClearAssignment", "the Service is no longer a LoadBalancer of this class; its IPs are released".into()));
                    }
                    desired(&svc, Vec::new(), None, None)
                } else {
                    None
                };
                (writes, freed)
            }
            View::Invalid(refusal, deprecations) => {
                self.warn_deprecations(key, &deprecations, &mut events);
                let freed = self.allocator.release(key).is_some();
                self.waiting.insert(key.to_owned());
                let condition =
                    service::condition(&svc, false, refusal.reason.as_str(), &refusal.message, now);
                if !service::condition_matches(&svc, &condition) {
                    events.push(warning(
                        "AllocationFailed",
                        format!("Failed to allocate IP for {key:?}: {}", refusal.message),
                    ));
                }
                (desired(&svc, Vec::new(), None, Some(condition)), freed)
            }
            View::Ours(demand, deprecations) => {
                self.warn_deprecations(key, &deprecations, &mut events);
                match self
                    .allocator
                    .converge(&demand, &service::ingress_ips(&svc))
                {
                    Ok(done) => {
                        self.waiting.remove(key);
                        let ips = &done.assignment.ips;
                        let listed = ips
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",");
                        match &done.change {
                            Change::Kept => {}
                            Change::Allocated => {
                                events.push(info("IPAllocated", format!("Assigned IP [{listed}]")))
                            }
                            Change::Extended(ip) => events
                                .push(info("IPAllocated", format!("Assigned additional IP {ip}"))),
                            Change::Moved(why) => {
                                events.push(info("ClearAssignment", format!("current IP for {key:?} not allowed by config, will attempt for new IP assignment: {why}")));
                                events.push(info("IPAllocated", format!("Assigned IP [{listed}]")));
                            }
                        }
                        let message =
                            format!("assigned {listed} from pool {:?}", done.assignment.pool);
                        let condition =
                            service::condition(&svc, true, "IPAllocated", &message, now);
                        let pool = Some(done.assignment.pool.clone());
                        let sharing = demand.sharing.key.is_some();
                        (desired(&svc, ips.clone(), pool, Some(condition)), sharing)
                    }
                    Err(failed) => {
                        self.waiting.insert(key.to_owned());
                        if let Some(why) = &failed.cleared {
                            events.push(info(
                                "ClearAssignment",
                                format!("current IP for {key:?} not allowed by config: {why}"),
                            ));
                        }
                        let condition = service::condition(
                            &svc,
                            false,
                            failed.refusal.reason.as_str(),
                            &failed.refusal.message,
                            now,
                        );
                        if !service::condition_matches(&svc, &condition) {
                            events.push(warning(
                                "AllocationFailed",
                                format!(
                                    "Failed to allocate IP for {key:?}: {}",
                                    failed.refusal.message
                                ),
                            ));
                        }
                        (
                            desired(&svc, Vec::new(), None, Some(condition)),
                            failed.cleared.is_some(),
                        )
                    }
                }
            }
        };
        writes::publish(&self.ctx.recorder, &self.term, &svc, events);
        if let Some(write) = writes {
            self.queue.push(write);
        }
        freed
    }

    /// One warning per Service naming every legacy annotation it still uses (events of one
    /// reason on one object are folded together, so several would hide each other).
    fn warn_deprecations(
        &mut self,
        key: &str,
        deprecations: &[Deprecation],
        events: &mut Vec<ServiceEvent>,
    ) {
        let fresh: Vec<&Deprecation> = deprecations
            .iter()
            .filter(|d| self.warned.insert((key.to_owned(), d.legacy_key.clone())))
            .collect();
        if fresh.is_empty() {
            return;
        }
        let text = fresh
            .iter()
            .map(|d| {
                format!(
                    "{} is deprecated, use {} instead",
                    d.legacy_key, d.replacement
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        events.push(warning(
            "deprecatedAnnotation",
            format!("annotation {text}"),
        ));
    }
}

/// The write that brings `svc` to these IPs, pool annotation and condition, if any is needed.
fn desired(
    svc: &Service,
    ips: Vec<std::net::IpAddr>,
    pool: Option<String>,
    condition: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
) -> Option<ServiceWrite> {
    let condition_current = match &condition {
        Some(c) => service::condition_matches(svc, c),
        None => service::our_condition(svc).is_none(),
    };
    let status = (service::ingress_ips(svc) != ips || !condition_current)
        .then(|| (ips, writes::merged_conditions(svc, condition)));
    let current_pool = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(&Annotation::IpAllocatedFromPool.key()))
        .cloned();
    let pool_annotation = (current_pool != pool).then_some(pool);
    (status.is_some() || pool_annotation.is_some()).then(|| ServiceWrite {
        namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        status,
        pool_annotation,
    })
}

fn info(reason: &'static str, note: String) -> ServiceEvent {
    ServiceEvent {
        warning: false,
        reason,
        note,
    }
}

fn warning(reason: &'static str, note: String) -> ServiceEvent {
    ServiceEvent {
        warning: true,
        reason,
        note,
    }
}
