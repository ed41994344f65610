//! The BFD sessions this node's BGP sessions ask for: a BGPPeer with a `bfdProfile` gets a BFD
//! session to its peer address, single-hop (RFC 5881) or, with `ebgpMultiHop`, multi-hop
//! (RFC 5883), from its source address if it has one, with the profile's timers. BGPPeers to
//! the same address share one session, which follows the profile of the first by name.
//!
//! A peer whose profile does not exist, or cannot be run, gets no BGP session until that is
//! fixed: it asked for sub-second failure detection, and advertising without it would hide
//! the mistake until a failure. MetalLB refuses such a configuration as a whole ("peer X
//! referencing non existing bfd profile Y") and keeps running the last one it accepted;
//! ferrolb holds back that peer alone and says so. The profile's content is not part of the
//! BGP session: a changed profile reconfigures the BFD session in place.

use std::collections::BTreeMap;

use ferrolb_bfd::SessionConfig;
use ferrolb_crds::bfdprofile::BFDProfileSpec;

use super::peers::PeerSession;
use crate::bfd::{Hop, SessionKey, profile};

/// What the BGP sessions need of BFD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BfdPlan {
    /// The sessions to run, each with its configuration.
    pub sessions: BTreeMap<SessionKey, SessionConfig>,
    /// The BFD session of each BGP peer that has one, by peer name.
    pub peers: BTreeMap<String, SessionKey>,
    /// The peers that get no BGP session, with why.
    pub refused: BTreeMap<String, String>,
    /// What the sessions run despite.
    pub warnings: Vec<String>,
}

/// The BFD session a BGP session runs over.
pub fn key(session: &PeerSession) -> SessionKey {
    SessionKey {
        hop: if session.ebgp_multihop {
            Hop::Multi
        } else {
            Hop::Single
        },
        peer: session.address,
        source: session.source,
    }
}

/// The BFD sessions of `sessions`, whose profiles are looked up in `profiles` (the BFDProfiles
/// of `namespace`, by name).
pub fn plan<'a>(
    sessions: impl IntoIterator<Item = &'a PeerSession>,
    profiles: &BTreeMap<String, BFDProfileSpec>,
    namespace: &str,
) -> BfdPlan {
    let mut plan = BfdPlan::default();
    let mut sorted: Vec<&PeerSession> = sessions.into_iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    // The peer and profile each session follows.
    let mut followed: BTreeMap<SessionKey, (&str, &str)> = BTreeMap::new();
    for session in sorted {
        let Some(profile) = session.bfd_profile.as_deref() else {
            continue;
        };
        let peer = session.name.as_str();
        let Some(spec) = profiles.get(profile) else {
            plan.refused.insert(
                peer.to_owned(),
                format!(
                    "BGPPeer {peer:?}: bfdProfile {profile:?} names no BFDProfile in namespace \
                     {namespace:?}; no session is opened until it exists"
                ),
            );
            continue;
        };
        let config = match profile::session_config(profile, spec) {
            Ok((config, warning)) => {
                plan.warnings
                    .extend(warning.map(|w| format!("BGPPeer {peer:?}: {w}")));
                config
            }
            Err(problem) => {
                plan.refused.insert(
                    peer.to_owned(),
                    format!("BGPPeer {peer:?}: {problem}; no session is opened"),
                );
                continue;
            }
        };
        let key = key(session);
        match followed.get(&key) {
            None => {
                followed.insert(key, (peer, profile));
                plan.sessions.insert(key, config);
            }
            Some((first, first_profile)) if plan.sessions[&key] != config => {
                plan.warnings.push(format!(
                    "BGPPeer {peer:?}: shares its BFD session to {} with BGPPeer {first:?}, \
                     whose BFDProfile {first_profile:?} it follows; bfdProfile {profile:?} is \
                     not applied",
                    key.peer
                ));
            }
            Some(_) => {}
        }
        plan.peers.insert(peer.to_owned(), key);
    }
    plan
}

#[cfg(test)]
#[path = "bfd_sessions_tests.rs"]
mod tests;
