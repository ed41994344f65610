//! Announcing on the wire: one task per usable interface answers ARP and NDP for the IPs in
//! the current announce table and broadcasts gratuitous ARP / unsolicited NA for IPs new to
//! it; a supervisor follows link changes through netlink, starts or stops those tasks and
//! tells the election which interfaces are usable.
//!
//! The table arrives over a `watch` channel from the election loop; what each frame means is
//! decided by [`crate::responder`]. Frames announcing an IP this node holds from another MAC
//! are reported back as conflicts. The interface tasks ([`interface`]) work over the
//! [`crate::socket::FrameSocket`] and [`crate::socket::GroupMembership`] traits, so their
//! tests run over fake sockets.

mod interface;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::election::usable::Usable;
use crate::link::{Link, read_links, suitable, suitable_for};
use crate::metrics::Metrics;
use crate::packet::Mac;
use crate::responder::Table;
use crate::socket::LinkChanges;

/// How gratuitous announcements are repeated after taking an IP.
#[derive(Clone, Copy, Debug)]
pub struct Repeat {
    /// How many times in all (the first at once).
    pub count: u32,
    pub interval: Duration,
}

/// Another MAC announced an IP of this node.
#[derive(Clone, Copy, Debug)]
pub struct Conflict {
    pub ip: IpAddr,
    pub mac: Mac,
    pub interface: u32,
}

/// What every interface task shares.
#[derive(Clone)]
pub struct InterfaceTaskInputs {
    pub table: watch::Receiver<Arc<Table>>,
    pub conflicts: mpsc::Sender<Conflict>,
    pub metrics: Arc<Metrics>,
    pub repeat: Repeat,
}

/// Whether `link` needs a task for `table`: it is suitable by default, or named for an IP.
fn wanted(link: &Link, table: &Table) -> bool {
    suitable(link, None) || table.values().any(|allowed| suitable_for(link, allowed))
}

/// Keeps one task per wanted interface, re-reading the links on every netlink notification
/// and every table change, and publishes them to `links`: the election drops this node as a
/// candidate where none is usable, and names them in the ServiceL2Status. Runs until
/// dropped.
pub async fn supervise(
    shared: InterfaceTaskInputs,
    links_out: watch::Sender<Option<Arc<Vec<Link>>>>,
) -> std::io::Result<()> {
    let changes = LinkChanges::open()?;
    let mut table = shared.table.clone();
    let mut running: BTreeMap<u32, (Link, JoinHandle<()>)> = BTreeMap::new();
    let mut usable: Option<Usable> = None;
    loop {
        let links = read_links().unwrap_or_default();
        let now_usable = Usable::from_links(&links);
        if usable.as_ref() != Some(&now_usable) {
            tracing::info!(
                interfaces = ?now_usable.named, default = ?now_usable.default,
                "usable interfaces changed"
            );
            usable = Some(now_usable);
        }
        links_out.send_if_modified(|published| {
            let changed = published.as_deref() != Some(&links);
            if changed {
                *published = Some(Arc::new(links.clone()));
            }
            changed
        });
        let current = table.borrow_and_update().clone();
        let keep: BTreeMap<u32, Link> = links
            .into_iter()
            .filter(|l| wanted(l, &current))
            .map(|l| (l.index, l))
            .collect();
        running.retain(|index, (link, task)| {
            let same = keep.get(index) == Some(link) && !task.is_finished();
            if !same {
                tracing::info!(interface = %link.name, "stopped announcing on interface");
                task.abort();
            }
            same
        });
        for (index, link) in keep {
            if running.contains_key(&index) {
                continue;
            }
            tracing::info!(interface = %link.name, mac = %link.mac, "announcing on interface");
            let task = tokio::spawn(interface::serve_link(link.clone(), shared.clone()));
            running.insert(index, (link, task));
        }
        tokio::select! {
            changed = changes.next() => changed?,
            changed = table.changed() => if changed.is_err() { break },
        }
    }
    for (_, (_, task)) in running {
        task.abort();
    }
    Ok(())
}
