//! Every transition of the session, driven by events and checked by the actions it returns.
//!
//! The submodules group the transitions by phase; this module holds the peer they talk to.

mod connection;
mod established;
mod graceful_restart;
mod open;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::message::{
    AS_TRANS, Capability, DecodeError, DecodeErrorKind, Message, Notification, Open, Update,
};
use crate::prefix::Family;

const LOCAL_AS: u32 = 65001;
const PEER_AS: u32 = 65002;
const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config() -> SessionConfig {
    SessionConfig {
        local_as: LOCAL_AS,
        peer_as: PeerAs::Fixed(PEER_AS),
        router_id: ROUTER_ID,
        hold_time: secs(90),
        keepalive_time: None,
        connect_retry: secs(2),
        max_connect_retry: secs(20),
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
        graceful_restart: None,
        restarting: false,
    }
}

fn peer_open(asn: u32, hold_time: u16) -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
        hold_time,
        bgp_id: PEER_ID,
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::RouteRefresh,
            Capability::FourOctetAs(asn),
        ],
    }
}

fn received(open: Open) -> Event {
    Event::Received(Message::Open(open))
}

/// A session of `config` that has sent its OPEN.
fn open_sent(config: SessionConfig) -> Session {
    let mut session = Session::new(config);
    session.handle(Event::Start);
    session.handle(Event::TcpConnected);
    assert_eq!(session.state(), State::OpenSent);
    session
}

fn established(config: SessionConfig) -> Session {
    let mut session = open_sent(config);
    session.handle(received(peer_open(PEER_AS, 90)));
    session.handle(Event::Received(Message::Keepalive));
    assert_eq!(session.state(), State::Established);
    session
}

fn sent_notification(actions: &[Action]) -> Option<&Notification> {
    actions.iter().find_map(|action| match action {
        Action::Send(Message::Notification(notification)) => Some(notification),
        _ => None,
    })
}

fn retry_delay(actions: &[Action]) -> Option<Duration> {
    actions.iter().find_map(|action| match action {
        Action::StartTimer(Timer::ConnectRetry, delay) => Some(*delay),
        _ => None,
    })
}

fn down_reason(actions: &[Action]) -> Option<&str> {
    actions.iter().find_map(|action| match action {
        Action::Down(reason) => Some(reason.as_str()),
        _ => None,
    })
}
