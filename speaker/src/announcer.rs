//! Announcing on the wire: one task per usable interface answers ARP and NDP for the IPs in
//! the current announce table and broadcasts gratuitous ARP / unsolicited NA for IPs new to
//! it; a supervisor follows link changes through netlink, starts or stops those tasks and
//! tells the election which interfaces are usable.
//!
//! The table arrives over a `watch` channel from the election loop; what each frame means is
//! decided by [`crate::responder`]. Frames announcing an IP this node holds from another MAC
//! are reported back as conflicts.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::election::usable::Usable;
use crate::link::{Link, read_links, suitable, suitable_for};
use crate::metrics::Metrics;
use crate::packet::ETHERTYPE_ARP;
use crate::packet::{Mac, ndp};
use crate::responder::{self, Outcome, Table, announced_on};
use crate::socket::{LinkChanges, PacketSocket};

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
            let task = tokio::spawn(serve_link(link.clone(), shared.clone()));
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

async fn serve_link(link: Link, shared: InterfaceTaskInputs) {
    if let Err(e) = serve_link_inner(&link, shared).await {
        tracing::warn!(interface = %link.name, "cannot announce on interface: {e}");
    }
}

async fn serve_link_inner(link: &Link, shared: InterfaceTaskInputs) -> std::io::Result<()> {
    let arp = PacketSocket::open(link.index, ETHERTYPE_ARP)?;
    let nd = PacketSocket::open_neighbor_discovery(link.index)?;
    let groups = UdpSocket::bind("[::]:0").ok();
    let mut joined: BTreeSet<Ipv6Addr> = BTreeSet::new();
    let mut table = shared.table.clone();
    let mut current: Arc<Table> = Arc::new(Table::new());
    // IP -> announcements still to send.
    let mut pending: BTreeMap<IpAddr, u32> = BTreeMap::new();
    let mut arp_buf = vec![0u8; 2048];
    let mut nd_buf = vec![0u8; 2048];
    let mut ticker = tokio::time::interval(shared.repeat.interval);
    let mut first = true;
    loop {
        if first || table.has_changed().unwrap_or(false) {
            first = false;
            let next = table.borrow_and_update().clone();
            let on_link = |t: &Table| -> BTreeSet<IpAddr> {
                t.keys()
                    .copied()
                    .filter(|ip| announced_on(t, *ip, link))
                    .collect()
            };
            let before = on_link(&current);
            let after = on_link(&next);
            for ip in after.difference(&before) {
                pending.insert(*ip, shared.repeat.count);
            }
            pending.retain(|ip, _| after.contains(ip));
            let wanted_groups: BTreeSet<Ipv6Addr> = after
                .iter()
                .filter_map(|ip| match ip {
                    IpAddr::V6(v6) => Some(ndp::solicited_node(*v6)),
                    IpAddr::V4(_) => None,
                })
                .collect();
            if let Some(groups) = &groups {
                for group in wanted_groups.difference(&joined) {
                    if let Err(e) = groups.join_multicast_v6(group, link.index) {
                        tracing::debug!(interface = %link.name, %group, "cannot join group: {e}");
                    }
                }
                for group in joined.difference(&wanted_groups) {
                    let _ = groups.leave_multicast_v6(group, link.index);
                }
            }
            joined = wanted_groups;
            current = next;
            if !pending.is_empty() {
                announce_pending(link, &arp, &nd, &mut pending, &shared).await;
                ticker.reset();
            }
        }
        tokio::select! {
            n = arp.recv(&mut arp_buf) => {
                let n = n?;
                handle(&arp_buf[..n], link, &current, &arp, &shared).await;
            }
            n = nd.recv(&mut nd_buf) => {
                let n = n?;
                handle(&nd_buf[..n], link, &current, &nd, &shared).await;
            }
            _ = ticker.tick(), if !pending.is_empty() => {
                announce_pending(link, &arp, &nd, &mut pending, &shared).await;
            }
            changed = table.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                first = true;
            }
        }
    }
}

async fn handle(
    frame: &[u8],
    link: &Link,
    table: &Table,
    socket: &PacketSocket,
    shared: &InterfaceTaskInputs,
) {
    match responder::respond(frame, link, table) {
        Outcome::Ignore => {}
        Outcome::Reply { ip, frame } => {
            let label = Metrics::ip(ip);
            shared.metrics.requests_received.get_or_create(&label).inc();
            match socket.send(&frame).await {
                Ok(()) => {
                    shared.metrics.responses_sent.get_or_create(&label).inc();
                }
                Err(e) => tracing::warn!(interface = %link.name, %ip, "cannot send reply: {e}"),
            }
        }
        Outcome::Conflict { ip, mac } => {
            let _ = shared.conflicts.try_send(Conflict {
                ip,
                mac,
                interface: link.index,
            });
        }
    }
}

async fn announce_pending(
    link: &Link,
    arp: &PacketSocket,
    nd: &PacketSocket,
    pending: &mut BTreeMap<IpAddr, u32>,
    shared: &InterfaceTaskInputs,
) {
    for (ip, left) in pending.iter_mut() {
        let socket = if ip.is_ipv4() { arp } else { nd };
        for frame in responder::announcement(*ip, link.mac) {
            match socket.send(&frame).await {
                Ok(()) => {
                    shared
                        .metrics
                        .gratuitous_sent
                        .get_or_create(&Metrics::ip(*ip))
                        .inc();
                }
                Err(e) => tracing::warn!(interface = %link.name, %ip, "cannot announce: {e}"),
            }
        }
        *left = left.saturating_sub(1);
    }
    pending.retain(|_, left| *left > 0);
}
