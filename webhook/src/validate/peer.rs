//! BGPPeer rules, for both served versions (v1beta1 is converted to v1beta2 first): myASN set;
//! exactly one of peerASN and dynamicASN; exactly one of peerAddress and interface; valid IPs
//! for peerAddress, sourceAddress and routerID; holdTime 0 or at least 3s and keepaliveTime not
//! above it; connectTime whole seconds; no ebgpMultiHop on iBGP; not both password and
//! passwordSecret; a password the kernel takes as a TCP MD5 key (at most 80 bytes); valid node
//! selectors; no other peer with the same address (or interface) and VRF that can select the
//! same node. A BFD profile that does not exist (yet) is a warning: the speaker keeps that
//! peer's session closed until it does. The words of the rules within one
//! object, but the selectors' and the password length's, are [`ferrolb_crds::rules`]', which
//! the CRD's CEL rules say too; the password length is the webhook's only (CEL measures strings
//! in characters, the kernel in bytes), and a password kept in a Secret, which the webhook does
//! not read, is checked by the speaker.

use std::time::Duration;

use ferrolb_crds::address::parse_kubernetes_ip;
use ferrolb_crds::bgppeer::md5_password_problem;
use ferrolb_crds::bgppeer::v1beta2::{BGPPeer, BGPPeerSpec, DynamicAsnMode};
use ferrolb_crds::duration;
use ferrolb_crds::rules::peer::{
    ADDRESS_BOTH, ADDRESS_NEITHER, ASN_BOTH, ASN_NEITHER, CONNECT_TIME_INVALID, DEFAULT_HOLD_TIME,
    HOLD_TIME_TOO_SHORT, IN_FIELD, KEEPALIVE_ABOVE_HOLD_TIME, MULTIHOP_ON_IBGP, MY_ASN_MISSING,
    NOT_AN_IP, PASSWORD_BOTH, ROUTER_ID_NOT_IPV4,
};
use ferrolb_crds::selector::can_select_together;

use super::{Verdict, describe, require_namespace, valid_selectors};
use crate::snapshot::Cluster;

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
        deny(MY_ASN_MISSING.fill(&[]));
    }
    match (spec.peer_asn != 0, spec.dynamic_asn.is_some()) {
        (true, true) => deny(ASN_BOTH.fill(&[])),
        (false, false) => deny(ASN_NEITHER.fill(&[])),
        _ => {}
    }
    match (spec.peer_address.is_empty(), spec.interface.is_empty()) {
        (false, false) => deny(ADDRESS_BOTH.fill(&[])),
        (true, true) => deny(ADDRESS_NEITHER.fill(&[])),
        _ => {}
    }
    for (field, value) in [
        ("peerAddress", &spec.peer_address),
        ("sourceAddress", &spec.source_address),
    ] {
        if !value.is_empty() && parse_kubernetes_ip(value).is_none() {
            deny(NOT_AN_IP.fill(&[&field, value]));
        }
    }
    if !spec.router_id.is_empty() && spec.router_id.parse::<std::net::Ipv4Addr>().is_err() {
        deny(ROUTER_ID_NOT_IPV4.fill(&[&spec.router_id]));
    }
    timers(spec, &mut deny);
    if spec.ebgp_multi_hop && is_ibgp(spec) {
        deny(MULTIHOP_ON_IBGP.fill(&[]));
    }
    if !spec.password.is_empty() && spec.password_secret.is_some() {
        deny(PASSWORD_BOTH.fill(&[]));
    }
    if let Some(why) = md5_password_problem(&spec.password) {
        deny(format!("password {why}"));
    }
    valid_selectors(&mut verdict, &object, "nodeSelectors", &spec.node_selectors);
    // Admitted as MetalLB admits it (the profile may be applied next), but the speaker runs
    // no session for a peer whose BFD it cannot run.
    if !spec.bfd_profile.is_empty() && !cluster.bfd_profiles.contains_key(&spec.bfd_profile) {
        verdict.warn(format!(
            "{object}: BFDProfile {:?} does not exist in namespace {}; the speakers keep this peer's session closed until it does",
            spec.bfd_profile, cluster.namespace
        ));
    }
    same_session(&mut verdict, &object, peer, cluster);
    verdict
}

/// Denies a peer with the address (or interface) and VRF of another peer when both can select
/// one node: that node would open one session for two objects. MetalLB's default (FRR) backend
/// refuses the pair as this does; whether nodes are shared is judged from the selectors, since
/// nodes may join later.
fn same_session(verdict: &mut Verdict, object: &str, peer: &BGPPeer, cluster: &Cluster) {
    let name = peer.metadata.name.as_deref().unwrap_or_default();
    let Some((field, target)) = session_target(&peer.spec) else {
        return;
    };
    for (other_name, other) in cluster.peers.iter() {
        if other_name == name
            || session_target(&other.spec) != Some((field, target))
            || other.spec.vrf != peer.spec.vrf
            || !can_select_together(&peer.spec.node_selectors, &other.spec.node_selectors)
        {
            continue;
        }
        let vrf = if peer.spec.vrf.is_empty() {
            String::new()
        } else {
            format!(" in VRF {:?}", peer.spec.vrf)
        };
        verdict.deny(format!(
            "{object}: {field} {target:?}{vrf} is already the {field} of BGPPeer {other_name:?}, \
             and both can select the same node"
        ));
    }
}

/// The field and value that identify a peer's session on a node, when one is set.
fn session_target(spec: &BGPPeerSpec) -> Option<(&'static str, &str)> {
    if !spec.peer_address.is_empty() {
        Some(("peerAddress", spec.peer_address.as_str()))
    } else if !spec.interface.is_empty() {
        Some(("interface", spec.interface.as_str()))
    } else {
        None
    }
}

fn is_ibgp(spec: &BGPPeerSpec) -> bool {
    (spec.peer_asn != 0 && spec.peer_asn == spec.my_asn)
        || spec.dynamic_asn == Some(DynamicAsnMode::Internal)
}

fn timers(spec: &BGPPeerSpec, deny: &mut impl FnMut(String)) {
    let parsed = |field: &str, value: &Option<String>, deny: &mut dyn FnMut(String)| {
        let text = value.as_deref()?;
        duration::parse(text)
            .map_err(|why| deny(IN_FIELD.fill(&[&field, &why])))
            .ok()
    };
    let hold = parsed("holdTime", &spec.hold_time, deny);
    let keepalive = parsed("keepaliveTime", &spec.keepalive_time, deny);
    if let Some(hold) = hold
        && !hold.is_zero()
        && hold < Duration::from_secs(3)
    {
        deny(HOLD_TIME_TOO_SHORT.fill(&[&duration::show(hold)]));
    }
    if let Some(keepalive) = keepalive {
        let hold_in_effect = hold.unwrap_or_else(|| {
            duration::parse(DEFAULT_HOLD_TIME).expect("the default hold time parses")
        });
        if keepalive > hold_in_effect {
            deny(
                KEEPALIVE_ABOVE_HOLD_TIME
                    .fill(&[&duration::show(keepalive), &duration::show(hold_in_effect)]),
            );
        }
    }
    if let Some(connect) = parsed("connectTime", &spec.connect_time, deny)
        && (connect.subsec_nanos() != 0 || !(1..=65535).contains(&connect.as_secs()))
    {
        deny(CONNECT_TIME_INVALID.fill(&[&duration::show(connect)]));
    }
}

#[cfg(test)]
mod tests;
