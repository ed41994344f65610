//! The Lease I/O of the election: each node's heartbeat Lease, renewed periodically, and one
//! Lease per announced IP naming its holder, written only when ownership changes.
//!
//! The calls go through [`ferrolb_lease`]: every write is guarded by the resourceVersion last
//! read (a replace that fails with a conflict means another node won), every call has a
//! timeout. [`LeaseWriter`] builds the Leases this node writes, and nothing here decides who
//! should hold what: [`LeaseBook`] keeps the Leases as watched and written, the decision lives
//! in [`crate::election::ownership`].

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_lease::LeaseClient;
pub use ferrolb_lease::{Written, holder};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;

use crate::Error;
use crate::election::lease_name;
use crate::election::usable::Usable;

/// Label on every Lease of the speakers, so one watch sees them all.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "ferrolb-speaker");
/// Label telling heartbeat Leases (`heartbeat`) from per-IP Leases (`ip`).
pub const ROLE_LABEL: &str = "ferrolb.io/lease";
/// Annotation naming the IP of a per-IP Lease, for people reading it.
pub const IP_ANNOTATION: &str = "ferrolb.io/ip";

/// How many versions of one Lease the watch delivered are remembered, to tell a response
/// that trails the watch from a new version.
const DELIVERED_KEPT: usize = 8;

/// The Leases of the speakers, as last watched or written.
///
/// resourceVersions are opaque: they are compared for equality only, never ordered. Order
/// comes from the watch instead, which delivers the versions of one Lease in the order they
/// were written. A version this node wrote or read is held as `pending` until the watch
/// delivers it; watch events before it are older and ignored, and a write or read response
/// carrying a version the watch already delivered is older than the book and ignored.
#[derive(Clone, Debug, Default)]
pub struct LeaseBook {
    leases: BTreeMap<String, Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    lease: Lease,
    /// The version of a write or read not yet delivered by the watch.
    pending: Option<String>,
    /// The latest versions the watch delivered, oldest first.
    delivered: VecDeque<String>,
}

fn version(lease: &Lease) -> Option<&str> {
    lease.metadata.resource_version.as_deref()
}

impl Entry {
    fn new(lease: Lease) -> Entry {
        Entry {
            lease,
            pending: None,
            delivered: VecDeque::new(),
        }
    }

    fn delivered(&mut self, lease: Lease) {
        self.note_delivered(&lease);
        self.lease = lease;
    }

    fn note_delivered(&mut self, lease: &Lease) {
        if let Some(v) = version(lease) {
            if self.delivered.len() == DELIVERED_KEPT {
                self.delivered.pop_front();
            }
            self.delivered.push_back(v.to_owned());
        }
    }

    fn was_delivered(&self, v: &str) -> bool {
        self.delivered.iter().any(|d| d == v)
    }
}

impl LeaseBook {
    /// Records `lease` as delivered by the watch, unless it trails a write or read of this
    /// node that the watch has not delivered yet.
    pub fn record_watched(&mut self, lease: Lease) {
        let Some(name) = lease.metadata.name.clone() else {
            return;
        };
        let Some(entry) = self.leases.get_mut(&name) else {
            let mut entry = Entry::new(lease.clone());
            entry.delivered(lease);
            self.leases.insert(name, entry);
            return;
        };
        match (&entry.pending, version(&lease)) {
            (Some(pending), Some(v)) if pending == v => {
                entry.pending = None;
                entry.delivered(lease);
            }
            // Written before this node's pending version: older than the book.
            (Some(_), _) => entry.note_delivered(&lease),
            (None, _) => entry.delivered(lease),
        }
    }

    /// Records `lease` as returned by a write or read of this node (current when the server
    /// answered), unless the watch already delivered that version and more since.
    pub fn record_own(&mut self, lease: Lease) {
        let Some(name) = lease.metadata.name.clone() else {
            return;
        };
        let Some(entry) = self.leases.get_mut(&name) else {
            let mut entry = Entry::new(lease.clone());
            entry.pending = version(&lease).map(Into::into);
            self.leases.insert(name, entry);
            return;
        };
        let Some(v) = version(&lease) else {
            entry.lease = lease;
            return;
        };
        if version(&entry.lease) == Some(v) {
            entry.lease = lease;
        } else if !entry.was_delivered(v) {
            entry.pending = Some(v.to_owned());
            entry.lease = lease;
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.leases.remove(name);
    }

    /// Replaces the book with a fresh listing, keeping a write of this node the listing
    /// predates (its version is one the watch delivered before that write).
    pub fn relist(&mut self, listed: Vec<Lease>) {
        let mut old = std::mem::take(&mut self.leases);
        for lease in listed {
            let name = lease.metadata.name.clone().unwrap_or_default();
            let mut entry = match old.remove(&name) {
                Some(mine)
                    if mine.pending.is_some()
                        && mine.pending.as_deref() != version(&lease)
                        && version(&lease).is_some_and(|v| mine.was_delivered(v)) =>
                {
                    self.leases.insert(name, mine);
                    continue;
                }
                Some(mut entry) => {
                    entry.pending = None;
                    entry
                }
                None => Entry::new(lease.clone()),
            };
            entry.delivered(lease);
            self.leases.insert(name, entry);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Lease> {
        self.leases.get(name).map(|e| &e.lease)
    }

    pub fn ip_lease(&self, ip: IpAddr) -> Option<&Lease> {
        self.get(&lease_name::for_ip(ip))
    }

    /// The holder each per-IP Lease names (`None` when released).
    pub fn holders(&self) -> BTreeMap<IpAddr, Option<String>> {
        self.leases
            .iter()
            .filter_map(|(name, e)| Some((lease_name::ip_of(name)?, holder(&e.lease))))
            .collect()
    }

    /// The interfaces each node's heartbeat publishes, for the nodes that publish them.
    pub fn published_usable(&self) -> BTreeMap<String, Usable> {
        self.leases
            .iter()
            .filter_map(|(name, e)| {
                let node = lease_name::heartbeat_node(name)?;
                let usable = Usable::from_annotations(e.lease.metadata.annotations.as_ref()?)?;
                Some((node.to_owned(), usable))
            })
            .collect()
    }

    /// Every heartbeat Lease: node, resourceVersion, released.
    pub fn heartbeats(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.leases.iter().filter_map(|(name, e)| {
            let lease = &e.lease;
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

/// Writes this node's Leases.
#[derive(Clone)]
pub struct LeaseWriter {
    pub api: Api<Lease>,
    pub node: String,
    pub timeout: Duration,
    /// Written into heartbeat Leases for people reading them; liveness is judged by change.
    pub heartbeat_timeout: Duration,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// A failed Lease call as the speaker reports it: a timeout or an API error naming the Lease
/// and the call.
impl From<ferrolb_lease::Error> for Error {
    fn from(e: ferrolb_lease::Error) -> Self {
        let what = format!("{} Lease {}", e.operation(), e.lease());
        match e {
            ferrolb_lease::Error::Timeout { after, .. } => Error::Timeout { what, after },
            ferrolb_lease::Error::Api { source, .. } => Error::Kube { what, source },
            unversioned @ ferrolb_lease::Error::Unversioned { .. } => Error::Lease(unversioned),
        }
    }
}

impl LeaseWriter {
    fn leases(&self) -> LeaseClient {
        LeaseClient::new(self.api.clone(), self.timeout)
    }

    /// Creates `lease`, or replaces it guarded by the resourceVersion of `current`.
    async fn write(&self, lease: Lease, current: Option<&Lease>) -> Result<Written, Error> {
        Ok(self.leases().write(lease, current).await?)
    }

    fn meta(&self, name: String, role: &str, current: Option<&Lease>) -> ObjectMeta {
        let mut meta = current.map(|c| c.metadata.clone()).unwrap_or_default();
        meta.name = Some(name);
        let labels = meta.labels.get_or_insert_with(Default::default);
        labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
        labels.insert(ROLE_LABEL.into(), role.into());
        meta
    }

    /// Renews (or creates) this node's heartbeat, publishing `usable` when known; `release`
    /// clears its holder on shutdown.
    pub async fn heartbeat(
        &self,
        current: Option<&Lease>,
        release: bool,
        usable: Option<&Usable>,
    ) -> Result<Written, Error> {
        let mut metadata = self.meta(lease_name::heartbeat(&self.node), "heartbeat", current);
        if let Some(usable) = usable {
            let annotations = metadata.annotations.get_or_insert_with(Default::default);
            for (key, value) in usable.annotations() {
                annotations.insert(key.into(), value);
            }
        }
        let lease = Lease {
            metadata,
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
        let leases = self.leases();
        Ok(leases
            .vacate(current, |spec| spec.renew_time = Some(now()))
            .await?)
    }

    /// Reads one Lease.
    pub async fn get(&self, name: &str) -> Result<Option<Lease>, Error> {
        Ok(self.leases().get(name).await?)
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

    /// The holder the Lease of 192.0.2.1 names in `book`, empty when released.
    fn holder_of(book: &LeaseBook) -> String {
        book.holders()[&"192.0.2.1".parse().unwrap()]
            .clone()
            .unwrap_or_default()
    }

    const IP: &str = "ferrolb-ip4-192-0-2-1";

    #[test]
    fn a_trailing_watch_event_does_not_undo_a_newer_write() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "9", None));
        book.record_own(lease(IP, "10", Some("node-a")));
        book.record_watched(lease(IP, "9", None));
        assert_eq!(holder_of(&book), "node-a");
    }

    #[test]
    fn a_trailing_watch_event_with_an_opaque_version_does_not_undo_a_write() {
        let mut book = LeaseBook::default();
        book.record_own(lease(IP, "rv-b", Some("node-a")));
        book.record_watched(lease(IP, "rv-a", None));
        assert_eq!(holder_of(&book), "node-a");
    }

    #[test]
    fn watch_events_are_taken_in_arrival_order_whatever_their_versions_look_like() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "100", Some("node-a")));
        book.record_watched(lease(IP, "99", Some("node-b")));
        assert_eq!(holder_of(&book), "node-b");
    }

    #[test]
    fn after_the_watch_delivers_a_write_later_writes_of_others_are_taken() {
        let mut book = LeaseBook::default();
        book.record_own(lease(IP, "50", Some("node-a")));
        book.record_watched(lease(IP, "49", None));
        book.record_watched(lease(IP, "50", Some("node-a")));
        book.record_watched(lease(IP, "7", Some("node-b")));
        assert_eq!(holder_of(&book), "node-b");
    }

    #[test]
    fn a_write_response_the_watch_already_passed_is_ignored() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "11", Some("node-a")));
        book.record_watched(lease(IP, "2", Some("node-b")));
        book.record_own(lease(IP, "11", Some("node-a")));
        assert_eq!(holder_of(&book), "node-b");
        book.record_watched(lease(IP, "3", Some("node-c")));
        assert_eq!(holder_of(&book), "node-c");
    }

    #[test]
    fn holders_and_heartbeats_are_told_apart_by_name() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "1", Some("node-a")));
        book.record_watched(lease(
            "ferrolb-ip6-20010db8000000000000000000000001",
            "2",
            None,
        ));
        book.record_watched(lease("ferrolb-speaker-node-a", "3", Some("node-a")));
        book.record_watched(lease("ferrolb-speaker-node-b", "4", None));
        assert_eq!(book.holders().len(), 2);
        let beats: Vec<_> = book.heartbeats().collect();
        assert_eq!(beats, [("node-a", "3", false), ("node-b", "4", true)]);
    }

    #[test]
    fn a_relist_drops_deleted_leases_but_keeps_an_own_write_it_predates() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "25", None));
        book.record_own(lease(IP, "30", Some("node-a")));
        book.record_own(lease("ferrolb-ip4-192-0-2-2", "5", Some("node-a")));
        book.relist(vec![lease(IP, "25", None)]);
        let holders = book.holders();
        assert_eq!(holders.len(), 1);
        assert_eq!(holder_of(&book), "node-a");
        book.record_watched(lease(IP, "30", Some("node-a")));
        book.record_watched(lease(IP, "31", Some("node-b")));
        assert_eq!(holder_of(&book), "node-b");
    }

    #[test]
    fn a_relist_with_a_version_never_seen_replaces_an_own_write() {
        let mut book = LeaseBook::default();
        book.record_watched(lease(IP, "25", None));
        book.record_own(lease(IP, "30", Some("node-a")));
        book.relist(vec![lease(IP, "12", Some("node-b"))]);
        assert_eq!(holder_of(&book), "node-b");
        book.record_watched(lease(IP, "13", Some("node-c")));
        assert_eq!(holder_of(&book), "node-c");
    }
}
