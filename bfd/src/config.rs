//! What the operator chose for one BFD session, from the fields of a MetalLB BFDProfile.
//!
//! [`Profile`] mirrors `BFDProfile.spec` (every field optional, intervals in milliseconds) so
//! the speaker can copy the resource across without this crate knowing Kubernetes.
//! [`SessionConfig::from_profile`] applies MetalLB's defaults (300 ms each way, multiplier 3,
//! active, minimum TTL 254) and its ranges, and refuses echo mode, which is not implemented.
//! [`SessionConfig::new`] takes the timers alone, within what the wire can carry.

use std::time::Duration;

/// The fields of MetalLB's `BFDProfile.spec`, as the resource holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Milliseconds, 10 to 60000; 300 when unset.
    pub receive_interval: Option<u32>,
    /// Milliseconds, 10 to 60000; 300 when unset.
    pub transmit_interval: Option<u32>,
    /// 2 to 255; 3 when unset.
    pub detect_multiplier: Option<u32>,
    /// Milliseconds, 10 to 60000; checked, otherwise unused since echo mode is not implemented.
    pub echo_interval: Option<u32>,
    pub echo_mode: Option<bool>,
    pub passive_mode: Option<bool>,
    /// 1 to 254; 254 when unset.
    pub minimum_ttl: Option<u32>,
}

/// A configuration that cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("bfd echo mode is not implemented: set echoMode to false")]
    EchoModeNotImplemented,
    #[error(
        "bfd {field} {value}{unit} is out of range: it must be from {min}{unit} to {max}{unit}"
    )]
    OutOfRange {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
        unit: &'static str,
    },
}

/// MetalLB's default for both intervals.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(300);
/// MetalLB's default detection multiplier.
pub const DEFAULT_DETECT_MULTIPLIER: u8 = 3;
/// MetalLB's default minimum TTL.
pub const DEFAULT_MINIMUM_TTL: u8 = 254;

/// The parameters of one session. Intervals are whole microseconds, as the packet carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    desired_min_tx: u32,
    required_min_rx: u32,
    detect_multiplier: u8,
    passive: bool,
    minimum_ttl: u8,
}

impl Default for SessionConfig {
    /// MetalLB's defaults: 300 ms each way, multiplier 3, active, minimum TTL 254.
    fn default() -> SessionConfig {
        SessionConfig {
            desired_min_tx: micros(DEFAULT_INTERVAL),
            required_min_rx: micros(DEFAULT_INTERVAL),
            detect_multiplier: DEFAULT_DETECT_MULTIPLIER,
            passive: false,
            minimum_ttl: DEFAULT_MINIMUM_TTL,
        }
    }
}

impl SessionConfig {
    /// Timers alone, active, minimum TTL 254. Each interval must be from 1 µs to `u32::MAX`
    /// µs (sub-microsecond parts are dropped), the multiplier from 1 to 255.
    pub fn new(
        transmit_interval: Duration,
        receive_interval: Duration,
        detect_multiplier: u8,
    ) -> Result<SessionConfig, ConfigError> {
        let interval = |field, value: Duration| {
            let us = value.as_micros();
            u32::try_from(us)
                .ok()
                .filter(|&us| us > 0)
                .ok_or(ConfigError::OutOfRange {
                    field,
                    value: u64::try_from(us).unwrap_or(u64::MAX),
                    min: 1,
                    max: u64::from(u32::MAX),
                    unit: "us",
                })
        };
        if detect_multiplier == 0 {
            return Err(ConfigError::OutOfRange {
                field: "detectMultiplier",
                value: 0,
                min: 1,
                max: 255,
                unit: "",
            });
        }
        Ok(SessionConfig {
            desired_min_tx: interval("transmitInterval", transmit_interval)?,
            required_min_rx: interval("receiveInterval", receive_interval)?,
            detect_multiplier,
            ..SessionConfig::default()
        })
    }

    /// The configuration of a MetalLB BFDProfile, with MetalLB's defaults and ranges.
    pub fn from_profile(profile: &Profile) -> Result<SessionConfig, ConfigError> {
        if profile.echo_mode == Some(true) {
            return Err(ConfigError::EchoModeNotImplemented);
        }
        let ms = |field, value: Option<u32>| -> Result<u32, ConfigError> {
            let value = value.unwrap_or(DEFAULT_INTERVAL.as_millis() as u32);
            in_range(field, value, 10, 60_000, "ms")?;
            Ok(value * 1000)
        };
        let detect_multiplier = profile
            .detect_multiplier
            .unwrap_or(DEFAULT_DETECT_MULTIPLIER.into());
        in_range("detectMultiplier", detect_multiplier, 2, 255, "")?;
        let minimum_ttl = profile.minimum_ttl.unwrap_or(DEFAULT_MINIMUM_TTL.into());
        in_range("minimumTtl", minimum_ttl, 1, 254, "")?;
        if let Some(echo) = profile.echo_interval {
            in_range("echoInterval", echo, 10, 60_000, "ms")?;
        }
        Ok(SessionConfig {
            desired_min_tx: ms("transmitInterval", profile.transmit_interval)?,
            required_min_rx: ms("receiveInterval", profile.receive_interval)?,
            detect_multiplier: detect_multiplier as u8,
            passive: profile.passive_mode.unwrap_or(false),
            minimum_ttl: minimum_ttl as u8,
        })
    }

    /// The same configuration, passive or not.
    pub fn with_passive(self, passive: bool) -> SessionConfig {
        SessionConfig { passive, ..self }
    }

    /// The same configuration with another minimum TTL (zero is taken as 1).
    pub fn with_minimum_ttl(self, minimum_ttl: u8) -> SessionConfig {
        SessionConfig {
            minimum_ttl: minimum_ttl.max(1),
            ..self
        }
    }

    /// bfd.DesiredMinTxInterval once the session is Up, in microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        self.desired_min_tx
    }

    /// bfd.RequiredMinRxInterval, in microseconds.
    pub fn required_min_rx(&self) -> u32 {
        self.required_min_rx
    }

    /// bfd.DetectMult.
    pub fn detect_multiplier(&self) -> u8 {
        self.detect_multiplier
    }

    /// Passive role (§6.1): send nothing until the peer's discriminator is known.
    pub fn passive(&self) -> bool {
        self.passive
    }

    /// The lowest TTL a received packet may carry on a multi-hop session (RFC 5883 §5);
    /// checked by the caller, which sees the IP header.
    pub fn minimum_ttl(&self) -> u8 {
        self.minimum_ttl
    }
}

fn in_range(
    field: &'static str,
    value: u32,
    min: u32,
    max: u32,
    unit: &'static str,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            field,
            value: value.into(),
            min: min.into(),
            max: max.into(),
            unit,
        })
    }
}

fn micros(duration: Duration) -> u32 {
    duration.as_micros() as u32
}

#[cfg(test)]
mod tests;
