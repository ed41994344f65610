//! The Lease writes that carry out an ownership plan: acquisitions and releases of per-IP
//! Leases, many at once, each guarded by the resourceVersion the book holds, and the re-reads
//! after a write lost to another node or a conflict seen on the wire. Every answer goes into
//! the [`LeaseBook`]; the decision of what to write was made before, in
//! [`super::election_state`].

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;

use crate::Error;
use crate::announcer::Conflict;
use crate::election::lease_name;
use crate::lease::{LeaseBook, LeaseWriter, Written, holder};
use crate::metrics::Metrics;

/// How many Lease writes run at once.
const CONCURRENT_WRITES: usize = 64;

/// Writes this node's per-IP Leases.
#[derive(Clone)]
pub struct LeaseWrites {
    pub writer: LeaseWriter,
    pub metrics: Arc<Metrics>,
}

impl LeaseWrites {
    fn node(&self) -> &str {
        &self.writer.node
    }

    /// Runs `write` for every job, [`CONCURRENT_WRITES`] at a time.
    async fn concurrently<J, F, Fut>(
        &self,
        jobs: Vec<(IpAddr, J)>,
        write: F,
    ) -> Vec<(IpAddr, Result<Written, Error>)>
    where
        F: Fn(LeaseWriter, IpAddr, J) -> Fut,
        Fut: Future<Output = Result<Written, Error>>,
    {
        futures::stream::iter(jobs)
            .map(|(ip, job)| {
                let written = write(self.writer.clone(), ip, job);
                async move { (ip, written.await) }
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .collect()
            .await
    }

    fn won(&self, book: &mut LeaseBook, ip: IpAddr, lease: Lease, direction: &'static str) {
        tracing::info!(%ip, "{direction}");
        self.metrics.ownership_changed(direction);
        book.record_own(lease);
    }

    /// Releases `ips`, concurrently.
    pub async fn release(&self, book: &mut LeaseBook, ips: &BTreeSet<IpAddr>) {
        let jobs: Vec<(IpAddr, Lease)> = ips
            .iter()
            .filter_map(|ip| Some((*ip, book.ip_lease(*ip)?.clone())))
            .collect();
        let results = self
            .concurrently(jobs, |writer, _, lease| async move {
                writer.release(&lease).await
            })
            .await;
        for (ip, result) in results {
            match result {
                Ok(Written::Won(lease)) => self.won(book, ip, *lease, "released"),
                Ok(Written::Lost) => {
                    // Someone wrote the Lease since this node read it; if it still names this
                    // node, release that version so a successor need not wait for a timeout.
                    self.refresh(book, ip).await;
                    if let Some(lease) = book.ip_lease(ip).cloned()
                        && holder(&lease).as_deref() == Some(self.node())
                        && let Ok(Written::Won(lease)) = self.writer.release(&lease).await
                    {
                        self.won(book, ip, *lease, "released");
                    }
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    self.metrics.lease_write_failed("release");
                }
            }
        }
    }

    /// Acquires `ips`, concurrently; returns whether any was won.
    pub async fn acquire(&self, book: &mut LeaseBook, ips: &BTreeSet<IpAddr>) -> bool {
        let jobs: Vec<(IpAddr, Option<Lease>)> = ips
            .iter()
            .map(|ip| (*ip, book.ip_lease(*ip).cloned()))
            .collect();
        let results = self
            .concurrently(jobs, |writer, ip, lease| async move {
                writer.acquire(ip, lease.as_ref()).await
            })
            .await;
        let mut any_won = false;
        for (ip, result) in results {
            match result {
                Ok(Written::Won(lease)) => {
                    self.won(book, ip, *lease, "acquired");
                    any_won = true;
                }
                Ok(Written::Lost) => self.refresh(book, ip).await,
                Err(e) => {
                    tracing::warn!("{e}");
                    self.metrics.lease_write_failed("acquire");
                }
            }
        }
        any_won
    }

    /// Reads the Lease `name` again into the book; `false` when it could not be read.
    async fn reread(&self, book: &mut LeaseBook, name: &str) -> bool {
        match self.writer.get(name).await {
            Ok(Some(lease)) => book.record_own(lease),
            Ok(None) => book.remove(name),
            Err(_) => return false,
        }
        true
    }

    /// Reads the Lease of `ip` again, after a write lost to another node.
    pub async fn refresh(&self, book: &mut LeaseBook, ip: IpAddr) {
        self.reread(book, &lease_name::for_ip(ip)).await;
    }

    /// Another MAC announced an IP this node holds: reads its Lease again; if that is not
    /// possible, adds it to `yielded` so it is not answered until the Lease can be read.
    pub async fn recheck_conflict(
        &self,
        book: &mut LeaseBook,
        yielded: &mut BTreeSet<IpAddr>,
        conflict: Conflict,
    ) {
        let name = lease_name::for_ip(conflict.ip);
        if book.get(&name).and_then(holder).as_deref() != Some(self.node()) {
            return;
        }
        tracing::info!(ip = %conflict.ip, mac = %conflict.mac, "another node announces an IP this node holds");
        if !self.reread(book, &name).await {
            yielded.insert(conflict.ip);
        }
    }
}
