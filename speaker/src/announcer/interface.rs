//! The task of one interface: answers ARP requests and Neighbor Solicitations for the IPs the
//! announce table puts on this interface, sends `count` rounds of gratuitous ARP / unsolicited
//! NA for each IP new to it, joins the solicited-node group of each IPv6 IP and reports frames
//! announcing an IP of this node from another MAC as conflicts.
//!
//! What a frame means is decided by [`crate::responder`]; which IPs are new and which groups
//! to join by [`LinkAnnouncements::take_table`]. The task is generic over the sockets, so the
//! tests drive it over fakes that record what is sent and feed what is received.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv6Addr, UdpSocket};
use std::sync::Arc;

use super::{Conflict, InterfaceTaskInputs};
use crate::link::Link;
use crate::metrics::Metrics;
use crate::packet::{ETHERTYPE_ARP, ndp};
use crate::responder::{self, Outcome, Table, announced_on};
use crate::socket::{FrameSocket, GroupMembership, PacketSocket};

/// The sockets of one interface: ARP frames, Neighbor Discovery frames, and the multicast
/// memberships (none when no socket for them could be opened).
pub struct LinkSockets<S, G> {
    pub arp: S,
    pub nd: S,
    pub groups: Option<G>,
}

/// What one interface announces, and what is still to send.
#[derive(Debug, Default)]
pub struct LinkAnnouncements {
    current: Arc<Table>,
    /// IP -> gratuitous rounds still to send.
    pending: BTreeMap<IpAddr, u32>,
    joined: BTreeSet<Ipv6Addr>,
}

impl LinkAnnouncements {
    /// Takes in the table `next`: each IP it newly puts on `link` gets `rounds` announcements;
    /// returns the multicast groups to join and to leave.
    pub fn take_table(
        &mut self,
        link: &Link,
        next: Arc<Table>,
        rounds: u32,
    ) -> (Vec<Ipv6Addr>, Vec<Ipv6Addr>) {
        let on_link = |t: &Table| -> BTreeSet<IpAddr> {
            t.keys()
                .copied()
                .filter(|ip| announced_on(t, *ip, link))
                .collect()
        };
        let before = on_link(&self.current);
        let after = on_link(&next);
        for ip in after.difference(&before) {
            self.pending.insert(*ip, rounds);
        }
        self.pending.retain(|ip, _| after.contains(ip));
        let wanted: BTreeSet<Ipv6Addr> = after
            .iter()
            .filter_map(|ip| match ip {
                IpAddr::V6(v6) => Some(ndp::solicited_node(*v6)),
                IpAddr::V4(_) => None,
            })
            .collect();
        let join = wanted.difference(&self.joined).copied().collect();
        let leave = self.joined.difference(&wanted).copied().collect();
        self.joined = wanted;
        self.current = next;
        (join, leave)
    }
}

pub(super) async fn serve_link(link: Link, inputs: InterfaceTaskInputs) {
    let opened = PacketSocket::open(link.index, ETHERTYPE_ARP).and_then(|arp| {
        Ok(LinkSockets {
            arp,
            nd: PacketSocket::open_neighbor_discovery(link.index)?,
            groups: UdpSocket::bind("[::]:0").ok(),
        })
    });
    let served = match opened {
        Ok(sockets) => serve(&link, sockets, inputs).await,
        Err(e) => Err(e),
    };
    if let Err(e) = served {
        tracing::warn!(interface = %link.name, "cannot announce on interface: {e}");
    }
}

/// Serves `link` over `sockets` until the table's sender is gone or a socket fails.
pub async fn serve<S: FrameSocket, G: GroupMembership>(
    link: &Link,
    sockets: LinkSockets<S, G>,
    inputs: InterfaceTaskInputs,
) -> io::Result<()> {
    let mut table = inputs.table.clone();
    let mut state = LinkAnnouncements::default();
    let mut arp_buf = vec![0u8; 2048];
    let mut nd_buf = vec![0u8; 2048];
    let mut ticker = tokio::time::interval(inputs.repeat.interval);
    let mut table_changed = true;
    loop {
        if table_changed || table.has_changed().unwrap_or(false) {
            table_changed = false;
            let next = table.borrow_and_update().clone();
            let (join, leave) = state.take_table(link, next, inputs.repeat.count);
            if let Some(groups) = &sockets.groups {
                for group in join {
                    if let Err(e) = groups.join(&group, link.index) {
                        tracing::debug!(interface = %link.name, %group, "cannot join group: {e}");
                    }
                }
                for group in leave {
                    let _ = groups.leave(&group, link.index);
                }
            }
            if !state.pending.is_empty() {
                announce_pending(link, &sockets, &mut state.pending, &inputs.metrics).await;
                ticker.reset();
            }
        }
        tokio::select! {
            n = sockets.arp.recv(&mut arp_buf) => {
                handle(&arp_buf[..n?], link, &state.current, &sockets.arp, &inputs).await;
            }
            n = sockets.nd.recv(&mut nd_buf) => {
                handle(&nd_buf[..n?], link, &state.current, &sockets.nd, &inputs).await;
            }
            _ = ticker.tick(), if !state.pending.is_empty() => {
                announce_pending(link, &sockets, &mut state.pending, &inputs.metrics).await;
            }
            changed = table.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                table_changed = true;
            }
        }
    }
}

async fn handle(
    frame: &[u8],
    link: &Link,
    table: &Table,
    socket: &impl FrameSocket,
    inputs: &InterfaceTaskInputs,
) {
    match responder::respond(frame, link, table) {
        Outcome::Ignore => {}
        Outcome::Reply { ip, frame } => {
            let label = Metrics::ip(ip);
            inputs.metrics.requests_received.get_or_create(&label).inc();
            match socket.send(&frame).await {
                Ok(()) => {
                    inputs.metrics.responses_sent.get_or_create(&label).inc();
                }
                Err(e) => tracing::warn!(interface = %link.name, %ip, "cannot send reply: {e}"),
            }
        }
        Outcome::Conflict { ip, mac } => {
            let _ = inputs.conflicts.try_send(Conflict {
                ip,
                mac,
                interface: link.index,
            });
        }
    }
}

/// Sends one round of announcements for every pending IP, and forgets the IPs whose rounds
/// are all sent.
async fn announce_pending<S: FrameSocket, G>(
    link: &Link,
    sockets: &LinkSockets<S, G>,
    pending: &mut BTreeMap<IpAddr, u32>,
    metrics: &Metrics,
) {
    for (ip, left) in pending.iter_mut() {
        let socket = if ip.is_ipv4() {
            &sockets.arp
        } else {
            &sockets.nd
        };
        for frame in responder::announcement(*ip, link.mac) {
            match socket.send(&frame).await {
                Ok(()) => {
                    metrics
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

#[cfg(test)]
mod tests;
