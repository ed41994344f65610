//! A BFDProfile as a session's configuration: the fields of `BFDProfile.spec` copied into
//! [`ferrolb_bfd::Profile`], whose conversion applies MetalLB's defaults and ranges.
//!
//! Echo mode is not implemented. A profile asking for it still gets its session, in
//! Asynchronous mode alone: Control packets at the profile's intervals detect a failure as
//! they do without echo, and the warning names the profile. A profile whose values are out of
//! range (which the CRD's rules and the webhook refuse) cannot be run.

use ferrolb_bfd::{Profile, SessionConfig};
use ferrolb_crds::bfdprofile::BFDProfileSpec;

/// The configuration of a session following profile `name`, and a warning for what of it is
/// not applied; or why it cannot be run.
pub fn session_config(
    name: &str,
    spec: &BFDProfileSpec,
) -> Result<(SessionConfig, Option<String>), String> {
    let echo = spec.echo_mode == Some(true);
    let profile = Profile {
        receive_interval: spec.receive_interval,
        transmit_interval: spec.transmit_interval,
        detect_multiplier: spec.detect_multiplier,
        echo_interval: spec.echo_interval,
        echo_mode: Some(false),
        passive_mode: spec.passive_mode,
        minimum_ttl: spec.minimum_ttl,
    };
    let config = SessionConfig::from_profile(&profile)
        .map_err(|e| format!("BFDProfile {name:?} cannot be used: {e}"))?;
    let warning = echo.then(|| {
        format!(
            "BFDProfile {name:?}: echoMode is not implemented; its sessions run without echo \
             packets, detecting failures from control packets alone"
        )
    });
    Ok((config, warning))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_field_reaches_the_session() {
        let spec = BFDProfileSpec {
            receive_interval: Some(100),
            transmit_interval: Some(150),
            detect_multiplier: Some(5),
            passive_mode: Some(true),
            minimum_ttl: Some(250),
            ..Default::default()
        };
        let (config, warning) = session_config("fast", &spec).unwrap();
        assert_eq!(warning, None);
        assert_eq!(config.required_min_rx(), 100_000);
        assert_eq!(config.desired_min_tx(), 150_000);
        assert_eq!(config.detect_multiplier(), 5);
        assert!(config.passive());
        assert_eq!(config.minimum_ttl(), 250);
    }

    #[test]
    fn an_empty_profile_has_metallbs_defaults() {
        let (config, _) = session_config("default", &BFDProfileSpec::default()).unwrap();
        let defaults =
            SessionConfig::new(Duration::from_millis(300), Duration::from_millis(300), 3)
                .unwrap()
                .with_minimum_ttl(254);
        assert_eq!(config, defaults);
    }

    #[test]
    fn echo_mode_runs_without_echo_and_says_so_naming_the_profile() {
        let spec = BFDProfileSpec {
            echo_mode: Some(true),
            echo_interval: Some(50),
            ..Default::default()
        };
        let (config, warning) = session_config("echo", &spec).unwrap();
        assert_eq!(config.desired_min_tx(), 300_000);
        let warning = warning.unwrap();
        assert!(
            warning.starts_with("BFDProfile \"echo\": echoMode is not implemented"),
            "{warning}"
        );
    }

    #[test]
    fn a_value_out_of_range_is_refused_naming_the_profile_and_field() {
        let spec = BFDProfileSpec {
            receive_interval: Some(5),
            ..Default::default()
        };
        let problem = session_config("bad", &spec).unwrap_err();
        assert!(
            problem.starts_with("BFDProfile \"bad\" cannot be used: ")
                && problem.contains("receiveInterval 5ms"),
            "{problem}"
        );
    }
}
