//! The operator's main loop: watch, wait to lead, reconcile in batches, stop on request.
//!
//! Caches are filled in every replica, so a standby is ready the moment it is elected. While
//! this replica leads, triggers are drained in batches (everything that arrived since the last
//! batch, each Service once) and handed to a [`Reconciler`] of the elector's current [`Term`];
//! when the elector publishes another term or none, the reconciler is dropped at once (its
//! writes were already refused by the fence from the moment its term ended), and the next term
//! starts from a fresh allocator and a full pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::{mpsc, watch};

use crate::caches::{self, Trigger};
use crate::metrics::Metrics;
use crate::reconciler::{Context, Reconciler};
use crate::term::Term;

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
    mut leading: watch::Receiver<Option<Term>>,
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
        let term = loop {
            if let Some(term) = leading.borrow_and_update().clone() {
                break term;
            }
            tokio::select! {
                _ = leading.changed() => {}
                _ = stop.wait_for(|s| *s) => return,
                Some(_) = triggers.recv() => {}
            }
        };
        metrics.leader.set(1);
        tracing::info!(term = term.id().0, "leading: reconciling every Service");
        let id = term.id();
        let mut reconciler = Reconciler::new(ctx.clone(), term);
        let lost = tokio::select! {
            _ = lead(&mut reconciler, &mut triggers) => false,
            _ = leading.wait_for(|l| l.as_ref().map(Term::id) != Some(id)) => true,
            _ = stop.wait_for(|s| *s) => false,
        };
        drop(reconciler);
        metrics.leader.set(0);
        if !lost {
            return;
        }
        tracing::warn!(term = id.0, "lost the lead: stopped writing");
    }
}

async fn lead(reconciler: &mut Reconciler, triggers: &mut mpsc::UnboundedReceiver<Trigger>) {
    while triggers.try_recv().is_ok() {}
    reconciler.full_pass().await;
    while let Some(first) = triggers.recv().await {
        let mut batch = BTreeSet::from([first]);
        while let Ok(more) = triggers.try_recv() {
            batch.insert(more);
        }
        reconciler.process(batch).await;
    }
}
