//! MetalLB's defaults and ranges, echo mode refused, and the limits of the wire.

use std::time::Duration;

use super::*;

#[test]
fn an_empty_profile_has_metallb_defaults() {
    let config = SessionConfig::from_profile(&Profile::default()).unwrap();
    assert_eq!(config.desired_min_tx(), 300_000);
    assert_eq!(config.required_min_rx(), 300_000);
    assert_eq!(config.detect_multiplier(), 3);
    assert!(!config.passive());
    assert_eq!(config.minimum_ttl(), 254);
    assert_eq!(config, SessionConfig::default());
}

#[test]
fn profile_values_are_taken_in_milliseconds() {
    let profile = Profile {
        receive_interval: Some(50),
        transmit_interval: Some(120),
        detect_multiplier: Some(5),
        echo_interval: Some(60),
        echo_mode: Some(false),
        passive_mode: Some(true),
        minimum_ttl: Some(250),
    };
    let config = SessionConfig::from_profile(&profile).unwrap();
    assert_eq!(config.required_min_rx(), 50_000);
    assert_eq!(config.desired_min_tx(), 120_000);
    assert_eq!(config.detect_multiplier(), 5);
    assert!(config.passive());
    assert_eq!(config.minimum_ttl(), 250);
}

#[test]
fn echo_mode_is_refused_as_not_implemented() {
    let profile = Profile {
        echo_mode: Some(true),
        ..Profile::default()
    };
    let error = SessionConfig::from_profile(&profile).unwrap_err();
    assert_eq!(error, ConfigError::EchoModeNotImplemented);
    assert_eq!(
        error.to_string(),
        "bfd echo mode is not implemented: set echoMode to false"
    );
}

#[test]
fn each_profile_field_has_metallb_range() {
    type Set = fn(&mut Profile, u32);
    let fields: [(&str, Set, u32, u32, &str); 5] = [
        (
            "receiveInterval",
            |p, v| p.receive_interval = Some(v),
            10,
            60_000,
            "ms",
        ),
        (
            "transmitInterval",
            |p, v| p.transmit_interval = Some(v),
            10,
            60_000,
            "ms",
        ),
        (
            "echoInterval",
            |p, v| p.echo_interval = Some(v),
            10,
            60_000,
            "ms",
        ),
        (
            "detectMultiplier",
            |p, v| p.detect_multiplier = Some(v),
            2,
            255,
            "",
        ),
        ("minimumTtl", |p, v| p.minimum_ttl = Some(v), 1, 254, ""),
    ];
    for (field, set, min, max, unit) in fields {
        for value in [min, max] {
            let mut profile = Profile::default();
            set(&mut profile, value);
            assert!(
                SessionConfig::from_profile(&profile).is_ok(),
                "{field} {value}"
            );
        }
        for value in [min - 1, max + 1] {
            let mut profile = Profile::default();
            set(&mut profile, value);
            assert_eq!(
                SessionConfig::from_profile(&profile),
                Err(ConfigError::OutOfRange {
                    field,
                    value: value.into(),
                    min: min.into(),
                    max: max.into(),
                    unit,
                })
            );
        }
    }
}

#[test]
fn range_errors_name_the_field_and_value() {
    let profile = Profile {
        transmit_interval: Some(5),
        ..Profile::default()
    };
    assert_eq!(
        SessionConfig::from_profile(&profile)
            .unwrap_err()
            .to_string(),
        "bfd transmitInterval 5ms is out of range: it must be from 10ms to 60000ms"
    );
}

#[test]
fn timers_alone_accept_what_the_wire_carries() {
    let config =
        SessionConfig::new(Duration::from_micros(1), Duration::from_secs(4000), 1).unwrap();
    assert_eq!(config.desired_min_tx(), 1);
    assert_eq!(config.required_min_rx(), 4_000_000_000);
    assert_eq!(config.detect_multiplier(), 1);
    assert_eq!(config.minimum_ttl(), 254);
    assert!(!config.passive());
}

#[test]
fn timers_alone_refuse_what_the_wire_cannot_carry() {
    let ms = Duration::from_millis;
    assert!(matches!(
        SessionConfig::new(ms(300), ms(300), 0),
        Err(ConfigError::OutOfRange {
            field: "detectMultiplier",
            value: 0,
            ..
        })
    ));
    assert!(matches!(
        SessionConfig::new(Duration::from_nanos(999), ms(300), 3),
        Err(ConfigError::OutOfRange {
            field: "transmitInterval",
            value: 0,
            ..
        })
    ));
    assert!(matches!(
        SessionConfig::new(ms(300), Duration::from_secs(4295), 3),
        Err(ConfigError::OutOfRange {
            field: "receiveInterval",
            value: 4_295_000_000,
            ..
        })
    ));
}

#[test]
fn passive_and_minimum_ttl_can_be_changed() {
    let config = SessionConfig::default()
        .with_passive(true)
        .with_minimum_ttl(0);
    assert!(config.passive());
    assert_eq!(config.minimum_ttl(), 1);
}
