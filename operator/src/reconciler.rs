//! One leader term of the operator: a fresh [`Allocator`] fed from the caches, and the writes
//! that bring Services and pools in line with it.
//!
//! [`Reconciler::full_pass`] starts a term: pools first, then every Service that already has
//! IPs (so they keep them), then the ones waiting. [`Reconciler::process`] handles a batch of
//! triggers the same way. What each Service needs is decided by [`decision`], synchronously;
//! this module only feeds it from the caches and hands its writes to the [`WriteQueue`], its
//! events to [`events`], and the pools' usage to [`pool_status`]. Every write, event and
//! status of a reconciler is made for its [`Term`] and stops when the term does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::allocator::{Allocator, PoolUsage};
use crate::caches::{Caches, Trigger};
use crate::decision::{self, Decision, Warned};
use crate::metrics::Metrics;
use crate::service;
use crate::term::Term;
use crate::write_queue::WriteQueue;
use crate::{events, pool_status, status_patch};

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
    warned: Warned,
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
        let pool_task = pool_status::start(
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
            warned: Warned::default(),
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
        let (pools, errors) = decision::configuration(&self.ctx.caches.pools.state());
        for e in &errors {
            tracing::warn!("{e}");
        }
        self.allocator.set_pools(pools);
        if self.config_errors.as_ref() == Some(&errors) {
            return;
        }
        let written = status_patch::write_configuration_state(
            &self.ctx.client,
            &self.term,
            &self.ctx.namespace,
            &errors,
        )
        .await;
        match written {
            Ok(()) => self.config_errors = Some(errors),
            Err(e) if e.refusal().is_some() => tracing::info!("{e}"),
            Err(e) => tracing::warn!("{e}"),
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
        let ordered = decision::order(&self.allocator, keys, |k| self.service(k));
        let mut freed = false;
        for key in &ordered {
            freed |= self.converge_one(key);
        }
        if freed {
            let waiting: Vec<String> = self
                .waiting
                .iter()
                .filter(|k| !ordered.contains(k))
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
    /// may fit now.
    fn converge_one(&mut self, key: &str) -> bool {
        self.ctx.metrics.reconciles.inc();
        let Some(svc) = self.service(key) else {
            self.waiting.remove(key);
            return decision::deleted(&mut self.allocator, key).may_admit_waiting;
        };
        let namespace_labels = svc
            .metadata
            .namespace
            .as_deref()
            .and_then(|ns| self.ctx.caches.namespaces.get(&ObjectRef::new(ns)))
            .and_then(|ns| ns.metadata.labels.clone())
            .unwrap_or_default();
        let Decision {
            write,
            events,
            waiting,
            may_admit_waiting,
            ..
        } = decision::converge(
            &mut self.allocator,
            &mut self.warned,
            &svc,
            &namespace_labels,
            self.ctx.lb_class.as_deref(),
            Time(Timestamp::now()),
        );
        if waiting {
            self.waiting.insert(key.to_owned());
        } else {
            self.waiting.remove(key);
        }
        events::publish(&self.ctx.recorder, &self.term, &svc, events);
        if let Some(write) = write {
            self.queue.push(write);
        }
        may_admit_waiting
    }
}

#[cfg(test)]
mod tests;
