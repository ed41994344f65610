//! Carrying out the reconciler's Service writes without holding it up: a queue run in the
//! background, at most N writes at once and one at a time per Service, where a newer write for
//! a Service replaces one still waiting (only the latest wanted state matters). Each write is a
//! [`ServiceWrite::apply`]; failed ones come back to the reconciler as retries a second later. Each queued write carries the
//! leader term it was decided in and is dropped, not retried, once that term may no longer
//! write: the next term's full pass decides afresh.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::caches::Trigger;
use crate::metrics::Metrics;
use crate::status_patch::ServiceWrite;
use crate::term::Term;

/// A write and the term it was decided in.
struct Queued {
    term: Term,
    write: ServiceWrite,
}

/// The sending side of the Service write queue of one term.
#[derive(Clone)]
pub struct WriteQueue {
    term: Term,
    tx: mpsc::UnboundedSender<Queued>,
}

impl WriteQueue {
    /// Starts the queue's task; it ends when every sender is dropped and the queue is empty.
    pub fn start(
        client: kube::Client,
        term: Term,
        concurrency: usize,
        metrics: Arc<Metrics>,
        retries: mpsc::UnboundedSender<Trigger>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_queue(client, concurrency.max(1), metrics, retries, rx));
        (Self { term, tx }, task)
    }

    /// Queues a write decided in this queue's term.
    pub fn push(&self, write: ServiceWrite) {
        let _ = self.tx.send(Queued {
            term: self.term.clone(),
            write,
        });
    }
}

async fn run_queue(
    client: kube::Client,
    concurrency: usize,
    metrics: Arc<Metrics>,
    retries: mpsc::UnboundedSender<Trigger>,
    mut rx: mpsc::UnboundedReceiver<Queued>,
) {
    let mut waiting: HashMap<String, Queued> = HashMap::new();
    let mut dropped = 0_u64;
    let mut order: VecDeque<String> = VecDeque::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut running = FuturesUnordered::new();
    let mut open = true;
    loop {
        // Start what may start: waiting keys not already being written, in arrival order.
        let mut deferred = VecDeque::new();
        while running.len() < concurrency {
            let Some(key) = order.pop_front() else { break };
            if busy.contains(&key) {
                deferred.push_back(key);
                continue;
            }
            if let Some(queued) = waiting.remove(&key) {
                busy.insert(key.clone());
                let client = client.clone();
                running.push(async move {
                    let result = queued.write.apply(&client, &queued.term).await;
                    (key, result)
                });
            }
        }
        order.extend(deferred);
        if !open && running.is_empty() && waiting.is_empty() {
            return;
        }
        tokio::select! {
            incoming = rx.recv(), if open => match incoming {
                Some(queued) => {
                    let key = queued.write.key();
                    if waiting.insert(key.clone(), queued).is_none() {
                        order.push_back(key);
                    }
                }
                None => open = false,
            },
            Some((key, result)) = running.next() => {
                busy.remove(&key);
                if let Some(why) = result.as_ref().err().and_then(crate::Error::refusal) {
                    if dropped == 0 {
                        tracing::warn!("dropping queued Service writes, the first of Service {key}: {why}");
                    }
                    dropped += 1;
                } else if let Err(e) = result {
                    tracing::warn!("{e}; retrying");
                    metrics.write_errors.inc();
                    let retries = retries.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let _ = retries.send(Trigger::Retry(key));
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
