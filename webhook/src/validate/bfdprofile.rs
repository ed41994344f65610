//! BFDProfile rules: timers and counts within the ranges BFD implementations accept (the
//! ranges and words of [`ferrolb_crds::rules::bfd`], which the CRD's CEL rules say too), and no
//! deletion while a BGPPeer still names the profile. `echoMode` is admitted, as MetalLB admits
//! it, with a warning: the speaker runs its sessions without echo.

use ferrolb_crds::BFDProfile;
use ferrolb_crds::rules::bfd::{OUT_OF_RANGE, RANGES};

use super::{Verdict, describe, require_namespace};
use crate::snapshot::Cluster;

/// Validates a BFDProfile being created or updated.
pub fn validate(profile: &BFDProfile, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let object = describe("BFDProfile", profile.metadata.name.as_deref());
    require_namespace(
        &mut verdict,
        cluster,
        &object,
        profile.metadata.namespace.as_deref(),
    );
    let spec = &profile.spec;
    for (field, min, max, unit) in RANGES {
        let value = match field {
            "receiveInterval" => spec.receive_interval,
            "transmitInterval" => spec.transmit_interval,
            "echoInterval" => spec.echo_interval,
            "detectMultiplier" => spec.detect_multiplier,
            "minimumTtl" => spec.minimum_ttl,
            other => unreachable!("BFDProfile has no bounded field {other}"),
        };
        if let Some(value) = value
            && !(min..=max).contains(&value)
        {
            verdict.deny(format!(
                "{object}: {}",
                OUT_OF_RANGE.fill(&[
                    &field,
                    &format!("{value}{unit}"),
                    &format!("{min}{unit}"),
                    &format!("{max}{unit}"),
                ])
            ));
        }
    }
    if spec.echo_mode == Some(true) {
        verdict.warn(format!(
            "{object}: echoMode is not implemented by ferrolb's speaker: its BFD sessions run in asynchronous mode without echo (detection after detectMultiplier × the negotiated interval)"
        ));
    }
    verdict
}

/// Refuses to delete a profile that BGPPeers still use, naming them.
pub fn validate_deletion(profile: &BFDProfile, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    let name = profile.metadata.name.as_deref().unwrap_or_default();
    let users: Vec<String> = cluster
        .peers
        .iter()
        .filter(|(_, peer)| peer.spec.bfd_profile == name)
        .map(|(peer, _)| format!("{peer:?}"))
        .collect();
    if !users.is_empty() {
        verdict.deny(format!(
            "BFDProfile {name:?} cannot be deleted: it is still used by BGPPeer {}",
            users.join(", ")
        ));
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fixtures::{NS, meta};
    use ferrolb_crds::bfdprofile::BFDProfileSpec;
    use ferrolb_crds::bgppeer::v1beta2::{BGPPeer, BGPPeerSpec};

    fn profile(spec: BFDProfileSpec) -> BFDProfile {
        BFDProfile {
            metadata: meta("fast"),
            spec,
            status: None,
        }
    }

    fn peer(name: &str, bfd: &str) -> BGPPeer {
        BGPPeer {
            metadata: meta(name),
            spec: BGPPeerSpec {
                bfd_profile: bfd.into(),
                ..Default::default()
            },
            status: None,
        }
    }

    #[test]
    fn timers_within_range_are_admitted() {
        let spec = BFDProfileSpec {
            receive_interval: Some(10),
            transmit_interval: Some(60000),
            detect_multiplier: Some(3),
            minimum_ttl: Some(254),
            ..Default::default()
        };
        assert_eq!(
            validate(&profile(spec), &Cluster::empty(NS)),
            Verdict::default()
        );
    }

    #[test]
    fn echo_mode_is_admitted_with_a_warning_that_it_does_not_run() {
        let spec = BFDProfileSpec {
            echo_mode: Some(true),
            ..Default::default()
        };
        let verdict = validate(&profile(spec), &Cluster::empty(NS));
        assert!(verdict.denials.is_empty());
        assert_eq!(
            verdict.warnings,
            [
                r#"BFDProfile "fast": echoMode is not implemented by ferrolb's speaker: its BFD sessions run in asynchronous mode without echo (detection after detectMultiplier × the negotiated interval)"#
            ]
        );
    }

    #[test]
    fn timers_out_of_range_are_denied_with_the_bounds() {
        let spec = BFDProfileSpec {
            receive_interval: Some(5),
            detect_multiplier: Some(1),
            ..Default::default()
        };
        assert_eq!(
            validate(&profile(spec), &Cluster::empty(NS)).denials,
            [
                r#"BFDProfile "fast": receiveInterval 5ms is out of range: it must be from 10ms to 60000ms"#,
                r#"BFDProfile "fast": detectMultiplier 1 is out of range: it must be from 2 to 255"#,
            ]
        );
    }

    #[test]
    fn deleting_a_profile_in_use_is_denied_naming_the_peers() {
        let cluster = Cluster::empty(NS).with_peers([
            peer("a", "fast"),
            peer("b", "slow"),
            peer("c", "fast"),
        ]);
        assert_eq!(
            validate_deletion(&profile(Default::default()), &cluster).denials,
            [r#"BFDProfile "fast" cannot be deleted: it is still used by BGPPeer "a", "c""#]
        );
    }

    #[test]
    fn deleting_an_unused_profile_is_admitted() {
        let cluster = Cluster::empty(NS).with_peers([peer("b", "slow")]);
        assert!(validate_deletion(&profile(Default::default()), &cluster).allowed());
    }
}
