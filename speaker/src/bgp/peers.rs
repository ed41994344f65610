//! BGPPeers as this node's sessions: which peers select this node, and the session each one
//! asks for, with MetalLB's defaults filled in (port 179, hold time 90 s, keepalive a third
//! of it) and every value checked.
//!
//! A peer whose spec cannot work (an address that does not parse, a hold time under 3 s, a
//! keepalive longer than the hold time, both `peerASN` and `dynamicASN`) gets no session and
//! a [`PeerProblem`] naming the object, the field and the value; the other peers go on. The
//! BFDProfile a peer names is looked up later, by [`super::bfd_sessions`].
//! The result is compared between runs: a peer whose [`PeerSession`] changed is reconnected.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ferrolb_bgp::{Family, PeerAs};
use ferrolb_crds::bgppeer::v1beta2::{BGPPeer, BGPPeerSpec, DynamicAsnMode};

use crate::model::{Node, any_selects};

/// The BGP port.
pub const BGP_PORT: u16 = 179;
/// MetalLB's hold time when none is set.
pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);
/// The longest pause between connection attempts when `connectTime` is not set.
pub const DEFAULT_CONNECT_TIME: Duration = Duration::from_secs(10);

/// Where the TCP MD5 password of a session comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Password {
    None,
    Inline(String),
    /// The `password` key of a Secret in ferrolb's namespace.
    Secret {
        namespace: String,
        name: String,
    },
}

/// One session this node should hold, as the BGPPeer asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSession {
    /// The BGPPeer's name, as BGPAdvertisements' `peers` and ServiceBGPStatus name it.
    pub name: String,
    pub address: IpAddr,
    pub port: u16,
    pub source: Option<IpAddr>,
    pub local_as: u32,
    pub peer_as: PeerAs,
    pub router_id: Option<Ipv4Addr>,
    pub hold_time: Duration,
    pub keepalive_time: Option<Duration>,
    pub connect_time: Duration,
    pub ebgp_multihop: bool,
    pub password: Password,
    pub graceful_restart: bool,
    /// The families offered: the peer address's own, or both with `dualStackAddressFamily`.
    pub families: Vec<Family>,
    /// The BFDProfile of the BFD session under this one (see [`super::bfd_sessions`]).
    pub bfd_profile: Option<String>,
}

impl PeerSession {
    /// Whether the peer is in this node's AS, where LOCAL_PREF applies.
    pub fn ibgp(&self) -> bool {
        match self.peer_as {
            PeerAs::Fixed(asn) => asn == self.local_as,
            PeerAs::Internal => true,
            PeerAs::External => false,
        }
    }

    /// The `peer` label of the BGP metrics: `address:port`, as MetalLB writes it.
    pub fn label(&self) -> String {
        std::net::SocketAddr::new(self.address, self.port).to_string()
    }
}

/// A BGPPeer that selects this node but cannot be used as written, and why. A fatal problem
/// keeps the peer from getting a session; otherwise the session runs without the feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerProblem {
    pub peer: String,
    pub message: String,
    pub fatal: bool,
}

/// What the session runs without: fields of the spec the speaker does not implement.
pub fn unsupported(peer: &BGPPeer) -> Vec<PeerProblem> {
    let name = peer.metadata.name.clone().unwrap_or_default();
    let spec = &peer.spec;
    let problem = |message: String, fatal: bool| PeerProblem {
        peer: name.clone(),
        message: format!("BGPPeer {name:?}: {message}"),
        fatal,
    };
    let mut out = Vec::new();
    if !spec.vrf.is_empty() {
        out.push(problem(
            format!("vrf {:?} is not supported; no session is opened", spec.vrf),
            true,
        ));
    }
    if spec.local_asn != 0 {
        out.push(problem(
            format!(
                "localASN {} is not supported; no session is opened",
                spec.local_asn
            ),
            true,
        ));
    }
    out
}

fn duration(peer: &str, field: &str, text: Option<&str>) -> Result<Option<Duration>, PeerProblem> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => ferrolb_crds::duration::parse(text)
            .map(Some)
            .map_err(|e| PeerProblem {
                peer: peer.into(),
                message: format!("BGPPeer {peer:?}: {field} {text:?} is invalid: {e}"),
                fatal: true,
            }),
    }
}

/// A fatal problem of BGPPeer `name`.
fn fatal(name: &str, message: String) -> PeerProblem {
    PeerProblem {
        peer: name.to_owned(),
        message: format!("BGPPeer {name:?}: {message}"),
        fatal: true,
    }
}

/// The peer's address and the source address, of the same family.
fn addresses(name: &str, spec: &BGPPeerSpec) -> Result<(IpAddr, Option<IpAddr>), PeerProblem> {
    let fail = |message: String| fatal(name, message);
    if spec.peer_address.is_empty() {
        return Err(fail(if spec.interface.is_empty() {
            "peerAddress is required".into()
        } else {
            format!(
                "interface {:?} (unnumbered BGP) is not supported; set peerAddress",
                spec.interface
            )
        }));
    }
    let address: IpAddr = spec.peer_address.parse().map_err(|_| {
        fail(format!(
            "peerAddress {:?} is not an IP address",
            spec.peer_address
        ))
    })?;
    let source = match spec.source_address.as_str() {
        "" => None,
        text => Some(
            text.parse::<IpAddr>()
                .map_err(|_| fail(format!("sourceAddress {text:?} is not an IP address")))?,
        ),
    };
    if let Some(source) = source
        && source.is_ipv4() != address.is_ipv4()
    {
        return Err(fail(format!(
            "sourceAddress {source} and peerAddress {address} are of different families"
        )));
    }
    Ok((address, source))
}

/// The peer's AS: a fixed number, or whichever `dynamicASN` allows.
fn peer_as(name: &str, spec: &BGPPeerSpec) -> Result<PeerAs, PeerProblem> {
    match (spec.peer_asn, spec.dynamic_asn) {
        (0, None) => Err(fatal(
            name,
            "one of peerASN and dynamicASN is required".into(),
        )),
        (asn, None) => Ok(PeerAs::Fixed(asn)),
        (0, Some(DynamicAsnMode::Internal)) => Ok(PeerAs::Internal),
        (0, Some(DynamicAsnMode::External)) => Ok(PeerAs::External),
        (asn, Some(_)) => Err(fatal(
            name,
            format!("peerASN {asn} and dynamicASN are mutually exclusive"),
        )),
    }
}

/// The hold, keepalive and connect times, with their defaults and limits.
fn timers(
    name: &str,
    spec: &BGPPeerSpec,
) -> Result<(Duration, Option<Duration>, Duration), PeerProblem> {
    let fail = |message: String| fatal(name, message);
    let hold_time =
        duration(name, "holdTime", spec.hold_time.as_deref())?.unwrap_or(DEFAULT_HOLD_TIME);
    if !hold_time.is_zero() && hold_time < Duration::from_secs(3) {
        return Err(fail(format!(
            "holdTime {hold_time:?} is invalid: it must be 0 or at least 3s"
        )));
    }
    let keepalive_time = duration(name, "keepaliveTime", spec.keepalive_time.as_deref())?;
    if let Some(keepalive) = keepalive_time
        && keepalive > hold_time
    {
        return Err(fail(format!(
            "keepaliveTime {keepalive:?} exceeds holdTime {hold_time:?}"
        )));
    }
    let connect_time = duration(name, "connectTime", spec.connect_time.as_deref())?
        .unwrap_or(DEFAULT_CONNECT_TIME);
    if connect_time < Duration::from_secs(1) {
        return Err(fail(format!(
            "connectTime {connect_time:?} is invalid: it must be at least 1s"
        )));
    }
    Ok((hold_time, keepalive_time, connect_time))
}

/// The password: none, inline, or in a Secret, never both.
fn password(name: &str, spec: &BGPPeerSpec) -> Result<Password, PeerProblem> {
    match (&spec.password, &spec.password_secret) {
        (p, None) if p.is_empty() => Ok(Password::None),
        (p, None) => Ok(Password::Inline(p.clone())),
        (p, Some(secret)) if p.is_empty() => Ok(Password::Secret {
            namespace: secret.namespace.clone().unwrap_or_default(),
            name: secret.name.clone().unwrap_or_default(),
        }),
        _ => Err(fatal(
            name,
            "password and passwordSecret are mutually exclusive".into(),
        )),
    }
}

/// The session one BGPPeer asks of this node, or why it cannot have one.
pub fn session(peer: &BGPPeer) -> Result<PeerSession, PeerProblem> {
    let name = peer.metadata.name.clone().unwrap_or_default();
    let spec = &peer.spec;
    let (address, source) = addresses(&name, spec)?;
    if spec.my_asn == 0 {
        return Err(fatal(&name, "myASN is required".into()));
    }
    let peer_as = peer_as(&name, spec)?;
    let router_id = match spec.router_id.as_str() {
        "" => None,
        text => Some(
            text.parse::<Ipv4Addr>()
                .map_err(|_| fatal(&name, format!("routerID {text:?} is not an IPv4 address")))?,
        ),
    };
    let (hold_time, keepalive_time, connect_time) = timers(&name, spec)?;
    let password = password(&name, spec)?;
    let own = if address.is_ipv4() {
        Family::Ipv4Unicast
    } else {
        Family::Ipv6Unicast
    };
    let families = if spec.dual_stack_address_family {
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    } else {
        vec![own]
    };
    Ok(PeerSession {
        name,
        address,
        port: spec.peer_port.unwrap_or(BGP_PORT),
        source,
        local_as: spec.my_asn,
        peer_as,
        router_id,
        hold_time,
        keepalive_time,
        connect_time,
        ebgp_multihop: spec.ebgp_multi_hop,
        password,
        graceful_restart: spec.enable_graceful_restart,
        families,
        bfd_profile: (!spec.bfd_profile.is_empty()).then(|| spec.bfd_profile.clone()),
    })
}

/// The sessions of the peers that select `node`, by peer name, and the problems of those
/// that select it but cannot work. A node that may not announce has no sessions.
pub fn sessions_for(
    node: &Node,
    peers: &[BGPPeer],
) -> (BTreeMap<String, PeerSession>, Vec<PeerProblem>) {
    let mut sessions = BTreeMap::new();
    let mut problems = Vec::new();
    if !node.may_announce() {
        return (sessions, problems);
    }
    for peer in peers {
        if !any_selects(&peer.spec.node_selectors, &node.labels) {
            continue;
        }
        let unsupported = unsupported(peer);
        let usable = !unsupported.iter().any(|p| p.fatal);
        problems.extend(unsupported);
        match session(peer) {
            Ok(session) if usable => {
                sessions.insert(session.name.clone(), session);
            }
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
    }
    (sessions, problems)
}

#[cfg(test)]
#[path = "peers_tests.rs"]
mod tests;
