//! Fake sockets for the tests of the session tasks, the demultiplexer and the service: a
//! [`FakeNetwork`] whose listeners receive what a test injects through its [`Wire`], and whose
//! transmitters decode every packet they are given and put it on the wire's `sent` channel,
//! with the session it came from and the (paused) instant.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use ferrolb_bfd::{ControlPacket, decode, encode};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::socket::{Datagram, Family, Listener, Network, Transmitter};
use super::{Hop, SessionKey, TTL};

/// One packet a transmitter sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub key: SessionKey,
    pub packet: ControlPacket,
    pub at: Instant,
}

pub struct FakeListener {
    datagrams: tokio::sync::Mutex<mpsc::UnboundedReceiver<Datagram>>,
}

impl Listener for FakeListener {
    async fn recv(&self) -> io::Result<Datagram> {
        match self.datagrams.lock().await.recv().await {
            Some(datagram) => Ok(datagram),
            None => std::future::pending().await,
        }
    }
}

pub struct FakeTransmitter {
    key: SessionKey,
    local: IpAddr,
    sent: mpsc::UnboundedSender<Sent>,
}

impl Transmitter for FakeTransmitter {
    async fn send(&self, payload: &[u8]) -> io::Result<()> {
        let packet = decode(payload).map_err(io::Error::other)?;
        let _ = self.sent.send(Sent {
            key: self.key,
            packet,
            at: Instant::now(),
        });
        Ok(())
    }

    fn local_address(&self) -> IpAddr {
        self.local
    }
}

impl FakeTransmitter {
    /// A transmitter for `key` from `local`, and what it sends.
    pub fn new(key: SessionKey, local: IpAddr) -> (FakeTransmitter, mpsc::UnboundedReceiver<Sent>) {
        let (sent, packets) = mpsc::unbounded_channel();
        (FakeTransmitter { key, local, sent }, packets)
    }
}

#[derive(Default)]
struct Shared {
    listeners: HashMap<(Family, Hop), mpsc::UnboundedReceiver<Datagram>>,
    refused_listeners: BTreeSet<(Family, Hop)>,
    failing_transmitters: u32,
    opened_transmitters: u32,
}

/// The network of a test.
pub struct FakeNetwork {
    shared: Arc<Mutex<Shared>>,
    local: IpAddr,
    sent: mpsc::UnboundedSender<Sent>,
}

/// The test's side of a [`FakeNetwork`].
pub struct Wire {
    shared: Arc<Mutex<Shared>>,
    inject: HashMap<(Family, Hop), mpsc::UnboundedSender<Datagram>>,
    pub local: IpAddr,
    pub sent: mpsc::UnboundedReceiver<Sent>,
}

impl FakeNetwork {
    /// A network whose transmitters send from `local`.
    pub fn new(local: IpAddr) -> (FakeNetwork, Wire) {
        let mut shared = Shared::default();
        let mut inject = HashMap::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            for hop in [Hop::Single, Hop::Multi] {
                let (tx, rx) = mpsc::unbounded_channel();
                inject.insert((family, hop), tx);
                shared.listeners.insert((family, hop), rx);
            }
        }
        let shared = Arc::new(Mutex::new(shared));
        let (sent, packets) = mpsc::unbounded_channel();
        let network = FakeNetwork {
            shared: shared.clone(),
            local,
            sent,
        };
        let wire = Wire {
            shared,
            inject,
            local,
            sent: packets,
        };
        (network, wire)
    }
}

impl Network for FakeNetwork {
    type Listener = FakeListener;
    type Transmitter = FakeTransmitter;

    fn listen(&self, family: Family, hop: Hop) -> io::Result<FakeListener> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if shared.refused_listeners.contains(&(family, hop)) {
            return Err(io::Error::from(io::ErrorKind::AddrInUse));
        }
        let datagrams = shared
            .listeners
            .remove(&(family, hop))
            .ok_or_else(|| io::Error::other("each listener is opened once"))?;
        Ok(FakeListener {
            datagrams: tokio::sync::Mutex::new(datagrams),
        })
    }

    fn transmitter(&self, key: &SessionKey) -> io::Result<FakeTransmitter> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if shared.failing_transmitters > 0 {
            shared.failing_transmitters -= 1;
            return Err(io::Error::from(io::ErrorKind::NetworkUnreachable));
        }
        shared.opened_transmitters += 1;
        Ok(FakeTransmitter {
            key: *key,
            local: key.source.unwrap_or(self.local),
            sent: self.sent.clone(),
        })
    }
}

impl Wire {
    /// Delivers `packet` from `from` to the listener of its family and `hop`, with `ttl`.
    pub fn inject(&self, hop: Hop, from: IpAddr, packet: &ControlPacket, ttl: u8) {
        let datagram = Datagram {
            payload: encode(packet).to_vec(),
            source: SocketAddr::new(from, 49152),
            destination: Some(self.local),
            ttl: Some(ttl),
        };
        self.inject[&(Family::of(from), hop)]
            .send(datagram)
            .expect("the listener is open");
    }

    /// Delivers `packet` from `from` on the single-hop port, as a peer on the link sends it.
    pub fn from_peer(&self, from: IpAddr, packet: &ControlPacket) {
        self.inject(Hop::Single, from, packet, TTL);
    }

    /// Makes the listener of `family` and `hop` fail to open while refused.
    pub fn refuse_listener(&self, family: Family, hop: Hop, refused: bool) {
        let mut shared = self.shared.lock().unwrap();
        if refused {
            shared.refused_listeners.insert((family, hop));
        } else {
            shared.refused_listeners.remove(&(family, hop));
        }
    }

    /// Makes the next `count` transmitters fail to open.
    pub fn fail_transmitters(&self, count: u32) {
        self.shared.lock().unwrap().failing_transmitters = count;
    }

    pub fn opened_transmitters(&self) -> u32 {
        self.shared.lock().unwrap().opened_transmitters
    }

    /// The next packet sent by any session.
    pub async fn next_sent(&mut self) -> Sent {
        self.sent.recv().await.expect("the network is alive")
    }
}
