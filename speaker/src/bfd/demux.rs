//! Which session a received Control packet belongs to, and the checks of its IP header.
//!
//! A packet on the single-hop port must arrive with TTL (hop limit) 255, which proves it was
//! sent on the link (RFC 5881 §5); one on the multi-hop port with at least the session's
//! minimum TTL (RFC 5883 §5, MetalLB's `minimumTtl`). A packet that names our discriminator
//! (Your Discriminator) goes to that session, provided it comes from the session's peer and on
//! its port; one with Your Discriminator 0 (the peer knows none yet) goes to the session of its
//! source and destination addresses (RFC 5880 §6.3), or to the only session to that peer when
//! the destination does not single one out. Everything else is dropped, with the reason for a
//! debug log. [`receive`] runs this over a [`Listener`] and hands each packet to its
//! session's inbox without waiting: a session that is behind loses packets, as on the wire.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrolb_bfd::{ControlPacket, DecodeError, decode};
use tokio::sync::mpsc;

use super::socket::{Datagram, Listener};
use super::{Hop, SessionKey, TTL};

/// How long a failing listener pauses before it reads again.
const RETRY: Duration = Duration::from_millis(100);

/// A session as the demultiplexer knows it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: SessionKey,
    /// The address the session sends from, once its transmitter is open.
    pub local: Option<IpAddr>,
    /// The lowest TTL a multi-hop packet may arrive with.
    pub minimum_ttl: u8,
    pub inbox: mpsc::Sender<ControlPacket>,
}

/// Why a datagram reached no session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    #[error("ttl {ttl:?} from {from} is not acceptable: the {hop} port requires {required}")]
    Ttl {
        from: IpAddr,
        hop: Hop,
        ttl: Option<u8>,
        required: String,
    },
    #[error("malformed bfd packet from {from}: {error}")]
    Malformed { from: IpAddr, error: DecodeError },
    #[error(
        "bfd packet from {from} for your discriminator {discriminator}, which no {hop} session has"
    )]
    UnknownDiscriminator {
        from: IpAddr,
        hop: Hop,
        discriminator: u32,
    },
    #[error(
        "bfd packet from {from} for the session of local discriminator {discriminator}, whose peer is {peer}"
    )]
    WrongSource {
        from: IpAddr,
        discriminator: u32,
        peer: IpAddr,
    },
    #[error("bfd packet from {from} to {destination:?} matches no {hop} session")]
    NoSession {
        from: IpAddr,
        destination: Option<IpAddr>,
        hop: Hop,
    },
    #[error("bfd packet from {from} arrived while its session is busy: dropped")]
    Busy { from: IpAddr },
}

/// The sessions by local discriminator.
#[derive(Debug, Default)]
pub struct Table {
    entries: HashMap<u32, Entry>,
}

impl Table {
    pub fn insert(&mut self, discriminator: u32, entry: Entry) {
        self.entries.insert(discriminator, entry);
    }

    pub fn remove(&mut self, discriminator: u32) {
        self.entries.remove(&discriminator);
    }

    pub fn contains(&self, discriminator: u32) -> bool {
        self.entries.contains_key(&discriminator)
    }

    pub fn set_local(&mut self, discriminator: u32, local: IpAddr) {
        if let Some(entry) = self.entries.get_mut(&discriminator) {
            entry.local = Some(local);
        }
    }

    pub fn set_minimum_ttl(&mut self, discriminator: u32, minimum_ttl: u8) {
        if let Some(entry) = self.entries.get_mut(&discriminator) {
            entry.minimum_ttl = minimum_ttl;
        }
    }

    /// The session `datagram`, received on `hop`'s port, belongs to, with its packet.
    pub fn route(
        &self,
        hop: Hop,
        datagram: &Datagram,
    ) -> Result<(u32, &Entry, ControlPacket), Dropped> {
        let source = datagram.source.ip().to_canonical();
        let destination = datagram.destination.map(|d| d.to_canonical());
        if hop == Hop::Single && datagram.ttl != Some(TTL) {
            return Err(Dropped::Ttl {
                from: source,
                hop,
                ttl: datagram.ttl,
                required: TTL.to_string(),
            });
        }
        let packet = decode(&datagram.payload).map_err(|error| Dropped::Malformed {
            from: source,
            error,
        })?;
        let (discriminator, entry) = if packet.your_discriminator != 0 {
            let discriminator = packet.your_discriminator;
            let entry = self
                .entries
                .get(&discriminator)
                .filter(|e| e.key.hop == hop)
                .ok_or(Dropped::UnknownDiscriminator {
                    from: source,
                    hop,
                    discriminator,
                })?;
            if entry.key.peer != source {
                return Err(Dropped::WrongSource {
                    from: source,
                    discriminator,
                    peer: entry.key.peer,
                });
            }
            (discriminator, entry)
        } else {
            self.by_addresses(hop, source, destination)
                .ok_or(Dropped::NoSession {
                    from: source,
                    destination,
                    hop,
                })?
        };
        if hop == Hop::Multi && datagram.ttl.is_none_or(|ttl| ttl < entry.minimum_ttl) {
            return Err(Dropped::Ttl {
                from: source,
                hop,
                ttl: datagram.ttl,
                required: format!("at least {}", entry.minimum_ttl),
            });
        }
        Ok((discriminator, entry, packet))
    }

    /// The session to `peer` whose local address is `destination`; else the only session to
    /// `peer` whose local address is not known yet (or any, when `destination` is unknown).
    fn by_addresses(
        &self,
        hop: Hop,
        peer: IpAddr,
        destination: Option<IpAddr>,
    ) -> Option<(u32, &Entry)> {
        let to_peer = || {
            self.entries
                .iter()
                .filter(move |(_, e)| e.key.hop == hop && e.key.peer == peer)
                .map(|(d, e)| (*d, e))
        };
        if let Some(exact) = to_peer()
            .find(|(_, e)| destination.is_some() && e.local.or(e.key.source) == destination)
        {
            return Some(exact);
        }
        let mut open =
            to_peer().filter(|(_, e)| destination.is_none() || e.local.or(e.key.source).is_none());
        match (open.next(), open.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// Routes `datagram` and hands its packet to its session without waiting.
    pub fn deliver(&self, hop: Hop, datagram: &Datagram) -> Result<u32, Dropped> {
        let (discriminator, entry, packet) = self.route(hop, datagram)?;
        entry.inbox.try_send(packet).map_err(|_| Dropped::Busy {
            from: datagram.source.ip(),
        })?;
        Ok(discriminator)
    }
}

/// Reads `listener` for ever, delivering each packet through `table`.
pub async fn receive<L: Listener>(listener: L, hop: Hop, table: Arc<Mutex<Table>>) {
    loop {
        match listener.recv().await {
            Ok(datagram) => {
                let delivered = table
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .deliver(hop, &datagram);
                if let Err(dropped) = delivered {
                    tracing::debug!("{dropped}");
                }
            }
            Err(e) => {
                tracing::debug!(%hop, "cannot receive bfd packets: {e}");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

#[cfg(test)]
#[path = "demux_tests.rs"]
mod tests;
