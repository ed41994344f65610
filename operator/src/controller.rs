//! The operator's main loop: watch, wait to lead, reconcile in batches, stop on request.
//!
//! Caches are filled in every replica, so a standby is ready the moment it is elected. While
//! this replica leads, triggers are drained in batches (everything that arrived since the last
//! batch, each Service once) and handed to a [`Reconciler`]; losing the lead ends the term at
//! once, and the next term starts from a fresh allocator and a full pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::{mpsc, watch};

use crate::caches::{self, Trigger};
use crate::metrics::Metrics;
use crate::reconciler::{Context, Reconciler};

/// How the operator runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub namespace: String,
    pub lb_class: Option<String>,
    pub identity: String,
    pub write_concurrency: usize,
}

/// Runs until `stop` turns true.
pub async fn run(
    client: kube::Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    mut leading: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let (tx, mut triggers) = mpsc::unbounded_channel();
    let caches = caches::start(client.clone(), &settings.namespace, tx.clone());
    tokio::select! {
        _ = caches.ready() => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    metrics.set_ready();
    tracing::info!("caches filled");
    let reporter = Reporter {
        controller: "ferrolb-operator".to_owned(),
        instance: Some(settings.identity.clone()),
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        namespace: settings.namespace.clone(),
        lb_class: settings.lb_class.clone(),
        caches,
        metrics: metrics.clone(),
        recorder: Recorder::new(client, reporter),
        retries: tx,
        write_concurrency: settings.write_concurrency,
    });
    loop {
        // Follow: drop triggers, the next term's full pass covers them.
        loop {
            if *leading.borrow_and_update() {
                break;
            }
            tokio::select! {
                _ = leading.changed() => {}
                _ = stop.wait_for(|s| *s) => return,
                Some(_) = triggers.recv() => {}
            }
        }
        metrics.leader.set(1);
        tracing::info!("leading: reconciling every Service");
        let mut term = Reconciler::new(ctx.clone());
        let lost = tokio::select! {
            _ = lead(&mut term, &mut triggers) => false,
            _ = leading.wait_for(|l| !*l) => true,
            _ = stop.wait_for(|s| *s) => false,
        };
        metrics.leader.set(0);
        if !lost {
            return;
        }
        tracing::warn!("lost the lead: stopped writing");
    }
}

async fn lead(term: &mut Reconciler, triggers: &mut mpsc::UnboundedReceiver<Trigger>) {
    while triggers.try_recv().is_ok() {}
    term.full_pass().await;
    while let Some(first) = triggers.recv().await {
        let mut batch = BTreeSet::from([first]);
        while let Ok(more) = triggers.try_recv() {
            batch.insert(more);
        }
        term.process(batch).await;
    }
}
