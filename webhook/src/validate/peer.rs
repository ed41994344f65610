//! BGPPeer rules, for both served versions (v1beta1 is converted to v1beta2 first): myASN set;
//! exactly one of peerASN and dynamicASN; exactly one of peerAddress and interface; valid IPs
//! for peerAddress, sourceAddress and routerID; holdTime 0 or at least 3s and keepaliveTime not
//! above it; connectTime whole seconds; no ebgpMultiHop on iBGP; not both password and
//! passwordSecret. A BFD profile that does not exist is a warning.

use std::net::IpAddr;
use std::time::Duration;

use ferrolb_crds::bgppeer::v1beta2::{BGPPeer, BGPPeerSpec, DynamicAsnMode};
use ferrolb_crds::duration;

use super::{Verdict, describe, require_namespace};
use crate::cluster::Cluster;

/// The hold time a peer gets when it sets none, as in MetalLB.
const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);

/// Validates a BGPPeer (v1beta2, or v1beta1 converted) being created or updated.
pub fn validate(peer: &BGPPeer, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let object = describe("BGPPeer", peer.metadata.name.as_deref());
    require_namespace(
        &mut verdict,
        cluster,
        &object,
        peer.metadata.namespace.as_deref(),
    );
    let spec = &peer.spec;
    let mut deny = |reason: String| verdict.deny(format!("{object}: {reason}"));

    if spec.my_asn == 0 {
        deny("myASN is missing; set the AS number of the local end".into());
    }
    match (spec.peer_asn != 0, spec.dynamic_asn.is_some()) {
        (true, true) => deny("peerASN and dynamicASN are mutually exclusive; set only one".into()),
        (false, false) => deny("one of peerASN and dynamicASN must be set".into()),
        _ => {}
    }
    match (spec.peer_address.is_empty(), spec.interface.is_empty()) {
        (false, false) => {
            deny("peerAddress and interface are mutually exclusive; set only one".into())
        }
        (true, true) => deny("one of peerAddress and interface must be set".into()),
        _ => {}
    }
    for (field, value) in [
        ("peerAddress", &spec.peer_address),
        ("sourceAddress", &spec.source_address),
    ] {
        if !value.is_empty() && value.parse::<IpAddr>().is_err() {
            deny(format!("{field} {value:?} is not a valid IP address"));
        }
    }
    if !spec.router_id.is_empty() && spec.router_id.parse::<std::net::Ipv4Addr>().is_err() {
        deny(format!(
            "routerID {:?} is not a valid IPv4 address",
            spec.router_id
        ));
    }
    timers(spec, &mut deny);
    if spec.ebgp_multi_hop && is_ibgp(spec) {
        deny("ebgpMultiHop cannot be set on an iBGP session (peerASN equals myASN)".into());
    }
    if !spec.password.is_empty() && spec.password_secret.is_some() {
        deny("password and passwordSecret are mutually exclusive; set only one".into());
    }
    if !spec.bfd_profile.is_empty() && !cluster.bfd_profiles.contains_key(&spec.bfd_profile) {
        verdict.warn(format!(
            "{object}: BFDProfile {:?} does not exist in namespace {}; the session runs without BFD until it is created",
            spec.bfd_profile, cluster.namespace
        ));
    }
    verdict
}

fn is_ibgp(spec: &BGPPeerSpec) -> bool {
    (spec.peer_asn != 0 && spec.peer_asn == spec.my_asn)
        || spec.dynamic_asn == Some(DynamicAsnMode::Internal)
}

fn timers(spec: &BGPPeerSpec, deny: &mut impl FnMut(String)) {
    let parsed = |field: &str, value: &Option<String>, deny: &mut dyn FnMut(String)| {
        let text = value.as_deref()?;
        duration::parse(text)
            .map_err(|why| deny(format!("{field}: {why}")))
            .ok()
    };
    let hold = parsed("holdTime", &spec.hold_time, deny);
    let keepalive = parsed("keepaliveTime", &spec.keepalive_time, deny);
    if let Some(hold) = hold
        && !hold.is_zero()
        && hold < Duration::from_secs(3)
    {
        deny(format!(
            "holdTime {hold:?} is invalid: it must be 0 or at least 3s"
        ));
    }
    if let Some(keepalive) = keepalive {
        let hold_in_effect = hold.unwrap_or(DEFAULT_HOLD_TIME);
        if keepalive > hold_in_effect {
            deny(format!(
                "keepaliveTime {keepalive:?} is greater than holdTime {hold_in_effect:?}"
            ));
        }
    }
    if let Some(connect) = parsed("connectTime", &spec.connect_time, deny)
        && (connect.subsec_nanos() != 0 || !(1..=65535).contains(&connect.as_secs()))
    {
        deny(format!(
            "connectTime {connect:?} is invalid: it must be a whole number of seconds from 1s to 65535s"
        ));
    }
}

#[cfg(test)]
mod tests;
