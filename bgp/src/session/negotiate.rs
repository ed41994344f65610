//! Checking a peer's OPEN against the configuration and settling the session parameters.
//!
//! [`negotiate`] either returns what both sides agreed on, or the NOTIFICATION to send and a
//! lowercase reason the speaker can show the operator (RFC 4271 §6.2).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::config::{PeerAs, SessionConfig};
use crate::message::{Capability, Notification, Open};
use crate::prefix::Family;

/// What both sides agreed on when the session came up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub peer_as: u32,
    pub peer_id: Ipv4Addr,
    /// Zero when no hold timer runs.
    pub hold_time: Duration,
    /// Zero when no keepalives are sent.
    pub keepalive: Duration,
    pub four_octet_as: bool,
    /// Families both sides offered.
    pub families: BTreeSet<Family>,
    /// The peer accepts ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer is in our AS.
    pub ibgp: bool,
    /// Both sides advertised graceful restart (RFC 4724): closing the connection without a
    /// NOTIFICATION leaves our routes with the peer, marked stale, for our restart time.
    pub graceful_restart: bool,
}

/// Why a peer's OPEN was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) notification: Notification,
    pub(crate) reason: String,
}

fn reject(subcode: u8, data: Vec<u8>, reason: String) -> Rejection {
    Rejection {
        notification: Notification::open_error(subcode, data),
        reason,
    }
}

/// The session parameters of `config` and the peer's `open`, or why the peer is refused.
pub(crate) fn negotiate(config: &SessionConfig, open: &Open) -> Result<Negotiated, Rejection> {
    check_version(open)?;
    let peer_as = open.asn();
    check_peer_as(config, peer_as)?;
    check_hold_time(open)?;
    let ibgp = peer_as == config.local_as;
    check_bgp_id(config, open, ibgp)?;

    let hold_seconds = config.proposed_hold_time().min(open.hold_time);
    let hold_time = Duration::from_secs(hold_seconds.into());
    let peer_families = peer_families(open);
    let families = config
        .offered_families()
        .into_iter()
        .filter(|family| peer_families.contains(family))
        .collect();
    let has = |wanted: fn(&Capability) -> bool| open.capabilities.iter().any(wanted);
    Ok(Negotiated {
        peer_as,
        peer_id: open.bgp_id,
        hold_time,
        keepalive: keepalive_interval(config, hold_time),
        four_octet_as: has(|c| matches!(c, Capability::FourOctetAs(_))),
        families,
        route_refresh: has(|c| matches!(c, Capability::RouteRefresh)),
        ibgp,
        graceful_restart: config.graceful_restart.is_some()
            && has(|c| matches!(c, Capability::GracefulRestart { .. })),
    })
}

/// Only BGP version 4 is spoken.
fn check_version(open: &Open) -> Result<(), Rejection> {
    if open.version != 4 {
        return Err(reject(
            Notification::OPEN_UNSUPPORTED_VERSION,
            4u16.to_be_bytes().to_vec(),
            format!(
                "peer proposed bgp version {}, only version 4 is supported",
                open.version
            ),
        ));
    }
    Ok(())
}

/// The peer's AS is the one configured: a fixed number, the local AS for an internal peer,
/// any other for an external one.
fn check_peer_as(config: &SessionConfig, peer_as: u32) -> Result<(), Rejection> {
    let local_as = config.local_as;
    let as_fault = match config.peer_as {
        PeerAs::Fixed(expected) if peer_as != expected => Some(format!(
            "peer AS {peer_as} does not match the configured {expected}"
        )),
        PeerAs::Internal if peer_as != local_as => Some(format!(
            "peer AS {peer_as} is not the local AS {local_as} an internal peer must have"
        )),
        PeerAs::External if peer_as == local_as => Some(format!(
            "peer AS {peer_as} is the local AS, but the peer is configured as external"
        )),
        _ => None,
    };
    match as_fault {
        Some(reason) => Err(reject(Notification::OPEN_BAD_PEER_AS, Vec::new(), reason)),
        None => Ok(()),
    }
}

/// The peer's hold time is zero or at least 3 seconds (RFC 4271 §4.2).
fn check_hold_time(open: &Open) -> Result<(), Rejection> {
    if matches!(open.hold_time, 1 | 2) {
        return Err(reject(
            Notification::OPEN_UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            format!(
                "peer proposed a hold time of {} s, below the minimum of 3 s",
                open.hold_time
            ),
        ));
    }
    Ok(())
}

/// The peer's BGP identifier is set and, for an internal peer, not our own.
fn check_bgp_id(config: &SessionConfig, open: &Open, ibgp: bool) -> Result<(), Rejection> {
    if open.bgp_id.is_unspecified() || (ibgp && open.bgp_id == config.router_id) {
        return Err(reject(
            Notification::OPEN_BAD_BGP_ID,
            Vec::new(),
            format!("peer bgp identifier {} is invalid", open.bgp_id),
        ));
    }
    Ok(())
}

/// The keepalive interval for the agreed `hold_time`: none without a hold timer, the
/// configured one when it fits within the hold time, otherwise a third of it.
fn keepalive_interval(config: &SessionConfig, hold_time: Duration) -> Duration {
    match config.keepalive_time {
        _ if hold_time.is_zero() => Duration::ZERO,
        Some(keepalive) if !keepalive.is_zero() && keepalive <= hold_time => keepalive,
        _ => hold_time / 3,
    }
}

/// The families the peer's OPEN offers.
fn peer_families(open: &Open) -> BTreeSet<Family> {
    let announced_multiprotocol = open.capabilities.iter().any(|c| {
        matches!(
            c,
            Capability::Multiprotocol(_) | Capability::Unknown { code: 1, .. }
        )
    });
    // RFC 4760 §8: a speaker without any multiprotocol capability carries IPv4 unicast only.
    if !announced_multiprotocol {
        return [Family::Ipv4Unicast].into();
    }
    open.capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(family) => Some(*family),
            _ => None,
        })
        .collect()
}
