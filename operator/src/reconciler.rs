//! One leader term of the operator: a fresh [`Allocator`] fed from the caches, and the writes
//! that bring Services and pools in line with it.
//!
//! [`Reconciler::full_pass`] starts a term: pools first, then every Service that already has
//! IPs (so they keep them), then the ones waiting. [`Reconciler::process`] handles a batch of
//! triggers the same way. Deciding is synchronous; the writes of a batch then run
//! concurrently, at most one per Service, and failed ones come back as retries.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;

use ferrolb_crds::annotations::{Annotation, Deprecation};

use crate::allocator::{Allocator, Change, Pool, PoolUsage};
use crate::caches::{Caches, Trigger};
use crate::metrics::Metrics;
use crate::service::{self, View};
use crate::writes::{self, PoolAnnotationWrite, ServiceEvent, ServiceStatusWrite};

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

/// The state of one leader term.
pub struct Reconciler {
    ctx: Arc<Context>,
    allocator: Allocator,
    waiting: BTreeSet<String>,
    warned: HashSet<(String, String)>,
    pool_status: HashMap<String, PoolUsage>,
    config_errors: Option<Vec<String>>,
}

/// The writes one Service needs.
#[derive(Default)]
struct ServiceWrites {
    status: Option<ServiceStatusWrite>,
    annotation: Option<PoolAnnotationWrite>,
}

impl Reconciler {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            allocator: Allocator::default(),
            waiting: BTreeSet::new(),
            warned: HashSet::new(),
            pool_status: HashMap::new(),
            config_errors: None,
        }
    }

    /// Converges everything: holders first, then the Services waiting for an IP.
    pub async fn full_pass(&mut self) {
        self.load_pools().await;
        let keys = self.all_keys();
        self.converge_and_write(keys).await;
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
                }
                Trigger::Everything => everything = true,
            }
        }
        if everything {
            keys = self.all_keys();
        }
        self.converge_and_write(keys).await;
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
        errors.extend(overlaps(&pools));
        errors.sort();
        for e in &errors {
            tracing::warn!("{e}");
        }
        self.allocator.set_pools(pools);
        if self.config_errors.as_ref() != Some(&errors) {
            match writes::write_configuration_state(&self.ctx.client, &self.ctx.namespace, &errors)
                .await
            {
                Ok(()) => self.config_errors = Some(errors),
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

    async fn converge_and_write(&mut self, keys: BTreeSet<String>) {
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
        let mut writes = Vec::new();
        let mut freed = false;
        for (_, _, key) in &ordered {
            let (w, f) = self.converge_one(key);
            freed |= f;
            writes.extend(w.map(|w| (key.clone(), w)));
        }
        if freed {
            let waiting: Vec<String> = self
                .waiting
                .iter()
                .filter(|k| !ordered.iter().any(|o| &o.2 == *k))
                .cloned()
                .collect();
            for key in waiting {
                let (w, _) = self.converge_one(&key);
                writes.extend(w.map(|w| (key.clone(), w)));
            }
        }
        self.apply(writes).await;
        self.write_pool_status().await;
    }

    /// Converges one Service; returns its writes and whether IPs were freed.
    fn converge_one(&mut self, key: &str) -> (Option<ServiceWrites>, bool) {
        self.ctx.metrics.reconciles.inc();
        let Some(svc) = self.service(key) else {
            self.waiting.remove(key);
            return (None, self.allocator.release(key).is_some());
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
                    ServiceWrites::default()
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
                        (desired(&svc, ips.clone(), pool, Some(condition)), false)
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
        writes::publish(&self.ctx.recorder, &svc, events);
        let any = writes.status.is_some() || writes.annotation.is_some();
        (any.then_some(writes), freed)
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

    /// Runs the writes of a batch concurrently; failed Services are retried a second later.
    async fn apply(&self, writes: Vec<(String, ServiceWrites)>) {
        let ctx = &self.ctx;
        futures::stream::iter(writes)
            .for_each_concurrent(ctx.write_concurrency, |(key, w)| async move {
                let status = async {
                    match &w.status {
                        Some(s) => s.apply(&ctx.client).await,
                        None => Ok(()),
                    }
                };
                let annotation = async {
                    match &w.annotation {
                        Some(a) => a.apply(&ctx.client).await,
                        None => Ok(()),
                    }
                };
                let (s, a) = futures::join!(status, annotation);
                for e in [s.err(), a.err()].into_iter().flatten() {
                    tracing::warn!("{e}; retrying");
                    ctx.metrics.write_errors.inc();
                    let retries = ctx.retries.clone();
                    let key = key.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let _ = retries.send(Trigger::Retry(key));
                    });
                }
            })
            .await;
    }

    async fn write_pool_status(&mut self) {
        let usage = self.allocator.usage();
        self.ctx.metrics.set_pools(usage.iter());
        self.pool_status.retain(|name, _| usage.contains_key(name));
        let changed: Vec<(String, PoolUsage)> = usage
            .into_iter()
            .filter(|(name, u)| self.pool_status.get(name) != Some(u))
            .collect();
        let ctx = &self.ctx;
        let results: Vec<(String, PoolUsage, Result<(), String>)> = futures::stream::iter(changed)
            .map(|(name, u)| async move {
                let r = writes::write_pool_status(&ctx.client, &ctx.namespace, &name, &u).await;
                (name, u, r)
            })
            .buffer_unordered(ctx.write_concurrency)
            .collect()
            .await;
        for (name, u, r) in results {
            match r {
                Ok(()) => {
                    self.pool_status.insert(name, u);
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    self.ctx.metrics.write_errors.inc();
                }
            }
        }
    }
}

/// The writes that bring `svc` to these IPs, pool annotation and condition.
fn desired(
    svc: &Service,
    ips: Vec<std::net::IpAddr>,
    pool: Option<String>,
    condition: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
) -> ServiceWrites {
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let condition_current = match &condition {
        Some(c) => service::condition_matches(svc, c),
        None => service::our_condition(svc).is_none(),
    };
    let status =
        (service::ingress_ips(svc) != ips || !condition_current).then(|| ServiceStatusWrite {
            namespace: namespace.clone(),
            name: name.clone(),
            ips,
            conditions: writes::merged_conditions(svc, condition),
        });
    let empty = BTreeMap::new();
    let annotations = svc.metadata.annotations.as_ref().unwrap_or(&empty);
    let current_pool = annotations
        .get(&Annotation::IpAllocatedFromPool.key())
        .cloned();
    let annotation = (current_pool != pool).then_some(PoolAnnotationWrite {
        namespace,
        name,
        pool,
    });
    ServiceWrites { status, annotation }
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

/// Overlaps between pools that slipped past admission: reported, and the allocator never
/// hands out one address twice regardless, since it tracks addresses, not pools.
fn overlaps(pools: &[Pool]) -> Vec<String> {
    let mut ranges: Vec<(&ferrolb_crds::AddressRange, &str)> = pools
        .iter()
        .flat_map(|p| p.ranges.iter().map(move |r| (r, p.name.as_str())))
        .collect();
    ranges.sort();
    ranges
        .windows(2)
        .filter(|w| w[0].0.overlaps(w[1].0))
        .map(|w| {
            format!(
                "IPAddressPool {:?} address {} overlaps with IPAddressPool {:?} address {}",
                w[1].1, w[1].0, w[0].1, w[0].0
            )
        })
        .collect()
}
