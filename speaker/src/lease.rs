//! The Lease I/O of the election: each node's heartbeat Lease, renewed periodically, and one
//! Lease per announced IP naming its holder, written only when ownership changes.
//!
//! Every write is guarded by the resourceVersion last read (a replace that fails with a
//! conflict means another node won), every call has a timeout, and nothing here decides who
//! should hold what: [`LeaseBook`] keeps the Leases as watched and written, the decision lives
//! in [`crate::election::ownership`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use crate::Error;
use crate::election::lease_name;

/// Label on every Lease of the speakers, so one watch sees them all.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "ferrolb-speaker");
/// Label telling heartbeat Leases (`heartbeat`) from per-IP Leases (`ip`).
pub const ROLE_LABEL: &str = "ferrolb.io/lease";
/// Annotation naming the IP of a per-IP Lease, for people reading it.
pub const IP_ANNOTATION: &str = "ferrolb.io/ip";

/// The Leases of the speakers, as last watched or written.
#[derive(Clone, Debug, Default)]
pub struct LeaseBook {
    leases: BTreeMap<String, Lease>,
}

fn version(lease: &Lease) -> Option<u64> {
    lease.metadata.resource_version.as_deref()?.parse().ok()
}

impl LeaseBook {
    /// Records `lease` unless the book already holds a newer version of it (a watch event can
    /// trail this node's own write).
    pub fn record(&mut self, lease: Lease) {
        let Some(name) = lease.metadata.name.clone() else {
            return;
        };
        if let (Some(old), Some(new)) = (self.leases.get(&name).and_then(version), version(&lease))
            && old > new
        {
            return;
        }
        self.leases.insert(name, lease);
    }

    pub fn remove(&mut self, name: &str) {
        self.leases.remove(name);
    }

    /// Replaces the book with a fresh listing, keeping newer versions this node wrote since.
    pub fn relist(&mut self, listed: Vec<Lease>) {
        let mut old = std::mem::take(&mut self.leases);
        for lease in listed {
            let name = lease.metadata.name.clone().unwrap_or_default();
            if let Some(mine) = old.remove(&name) {
                self.record(mine);
            }
            self.record(lease);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Lease> {
        self.leases.get(name)
    }

    pub fn ip_lease(&self, ip: IpAddr) -> Option<&Lease> {
        self.leases.get(&lease_name::for_ip(ip))
    }

    /// The holder each per-IP Lease names (`None` when released).
    pub fn holders(&self) -> BTreeMap<IpAddr, Option<String>> {
        self.leases
            .iter()
            .filter_map(|(name, lease)| Some((lease_name::ip_of(name)?, holder(lease))))
            .collect()
    }

    /// Every heartbeat Lease: node, resourceVersion, released.
    pub fn heartbeats(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.leases.iter().filter_map(|(name, lease)| {
            Some((
                lease_name::heartbeat_node(name)?,
                lease
                    .metadata
                    .resource_version
                    .as_deref()
                    .unwrap_or_default(),
                holder(lease).is_none(),
            ))
        })
    }
}

/// The holder a Lease names, if any.
pub fn holder(lease: &Lease) -> Option<String> {
    lease
        .spec
        .as_ref()?
        .holder_identity
        .clone()
        .filter(|h| !h.is_empty())
}

/// Writes this node's Leases.
#[derive(Clone)]
pub struct LeaseWriter {
    pub api: Api<Lease>,
    pub node: String,
    pub timeout: Duration,
    /// Written into heartbeat Leases for people reading them; liveness is judged by change.
    pub heartbeat_timeout: Duration,
}

/// The outcome of a guarded write.
#[derive(Debug)]
pub enum Written {
    /// The write went through; the Lease as stored.
    Won(Box<Lease>),
    /// Another writer changed the Lease since it was read.
    Lost,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl LeaseWriter {
    async fn call<T>(
        &self,
        what: String,
        call: impl Future<Output = kube::Result<T>>,
    ) -> Result<Result<T, kube::Error>, Error> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| Error::Timeout {
                what,
                after: self.timeout,
            })
    }

    /// Creates `lease`, or replaces it guarded by the resourceVersion of `current`.
    async fn write(&self, lease: Lease, current: Option<&Lease>) -> Result<Written, Error> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        let result = match current {
            None => {
                self.call(
                    format!("creating Lease {name:?}"),
                    self.api.create(&PostParams::default(), &lease),
                )
                .await?
            }
            Some(current) => {
                let mut lease = lease;
                lease.metadata.resource_version = current.metadata.resource_version.clone();
                self.call(
                    format!("updating Lease {name:?}"),
                    self.api.replace(&name, &PostParams::default(), &lease),
                )
                .await?
            }
        };
        match result {
            Ok(stored) => Ok(Written::Won(Box::new(stored))),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Written::Lost),
            Err(source) => Err(Error::Kube {
                what: format!("writing Lease {name:?}"),
                source,
            }),
        }
    }

    fn meta(&self, name: String, role: &str, current: Option<&Lease>) -> ObjectMeta {
        let mut meta = current.map(|c| c.metadata.clone()).unwrap_or_default();
        meta.name = Some(name);
        let labels = meta.labels.get_or_insert_with(Default::default);
        labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
        labels.insert(ROLE_LABEL.into(), role.into());
        meta
    }

    /// Renews (or creates) this node's heartbeat; `release` clears its holder on shutdown.
    pub async fn heartbeat(
        &self,
        current: Option<&Lease>,
        release: bool,
    ) -> Result<Written, Error> {
        let lease = Lease {
            metadata: self.meta(lease_name::heartbeat(&self.node), "heartbeat", current),
            spec: Some(LeaseSpec {
                holder_identity: (!release).then(|| self.node.clone()),
                lease_duration_seconds: Some(self.heartbeat_timeout.as_secs().max(1) as i32),
                renew_time: Some(now()),
                ..current.and_then(|c| c.spec.clone()).unwrap_or_default()
            }),
        };
        self.write(lease, current).await
    }

    /// Takes the Lease of `ip` for this node.
    pub async fn acquire(&self, ip: IpAddr, current: Option<&Lease>) -> Result<Written, Error> {
        let mut meta = self.meta(lease_name::for_ip(ip), "ip", current);
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(IP_ANNOTATION.into(), ip.to_string());
        let spec = current.and_then(|c| c.spec.clone()).unwrap_or_default();
        let lease = Lease {
            metadata: meta,
            spec: Some(LeaseSpec {
                holder_identity: Some(self.node.clone()),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(spec.lease_transitions.unwrap_or(0) + 1),
                ..spec
            }),
        };
        self.write(lease, current).await
    }

    /// Clears the holder of a Lease this node holds.
    pub async fn release(&self, current: &Lease) -> Result<Written, Error> {
        let mut lease = current.clone();
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(now());
        }
        self.write(lease, Some(current)).await
    }

    /// Reads one Lease.
    pub async fn get(&self, name: &str) -> Result<Option<Lease>, Error> {
        self.call(format!("reading Lease {name:?}"), self.api.get_opt(name))
            .await?
            .map_err(|source| Error::Kube {
                what: format!("reading Lease {name:?}"),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(name: &str, version: &str, holder: Option<&str>) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(name.into()),
                resource_version: Some(version.into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(Into::into),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_trailing_watch_event_does_not_undo_a_newer_write() {
        let mut book = LeaseBook::default();
        book.record(lease("ferrolb-ip4-192-0-2-1", "20", Some("node-a")));
        book.record(lease("ferrolb-ip4-192-0-2-1", "15", None));
        assert_eq!(
            book.holders()[&"192.0.2.1".parse().unwrap()].as_deref(),
            Some("node-a")
        );
    }

    #[test]
    fn holders_and_heartbeats_are_told_apart_by_name() {
        let mut book = LeaseBook::default();
        book.record(lease("ferrolb-ip4-192-0-2-1", "1", Some("node-a")));
        book.record(lease(
            "ferrolb-ip6-20010db8000000000000000000000001",
            "2",
            None,
        ));
        book.record(lease("ferrolb-speaker-node-a", "3", Some("node-a")));
        book.record(lease("ferrolb-speaker-node-b", "4", None));
        assert_eq!(book.holders().len(), 2);
        let beats: Vec<_> = book.heartbeats().collect();
        assert_eq!(beats, [("node-a", "3", false), ("node-b", "4", true)]);
    }

    #[test]
    fn a_relist_drops_deleted_leases_but_keeps_a_newer_own_write() {
        let mut book = LeaseBook::default();
        book.record(lease("ferrolb-ip4-192-0-2-1", "30", Some("node-a")));
        book.record(lease("ferrolb-ip4-192-0-2-2", "5", Some("node-a")));
        book.relist(vec![lease("ferrolb-ip4-192-0-2-1", "25", None)]);
        let holders = book.holders();
        assert_eq!(holders.len(), 1);
        assert_eq!(
            holders[&"192.0.2.1".parse().unwrap()].as_deref(),
            Some("node-a")
        );
    }
}
