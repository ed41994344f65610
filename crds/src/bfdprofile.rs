//! `BFDProfile` (metallb.io/v1beta1): the timers of a BFD session, referenced by name from
//! BGPPeers that want sub-second failure detection.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind};

metallb_kind! {
    /// BFDProfile represents the settings of the bfd session that can be optionally associated
    /// with a BGP session.
    pub struct BFDProfile {
        version: "v1beta1",
        plural: "bfdprofiles",
        #[serde(default)]
        spec: BFDProfileSpec,
        status: BFDProfileStatus,
        columns: [
            column("Passive Mode", "boolean", ".spec.passiveMode"),
            column("Transmit Interval", "integer", ".spec.transmitInterval"),
            column("Receive Interval", "integer", ".spec.receiveInterval"),
            column("Multiplier", "integer", ".spec.detectMultiplier"),
        ],
    }
}

/// BFDProfileSpec defines the timers and modes of a BFD session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::rules::bfd::spec)]
pub struct BFDProfileSpec {
    /// The minimum interval, in milliseconds, at which this system can receive control
    /// packets. Defaults to 300ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub receive_interval: Option<u32>,

    /// The minimum interval, in milliseconds, at which this system wants to send control
    /// packets (less jitter). Defaults to 300ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub transmit_interval: Option<u32>,

    /// The detection multiplier: the remote transmission interval multiplied by this value
    /// is the time after which the session is declared down. Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 255))]
    pub detect_multiplier: Option<u32>,

    /// The minimal echo receive interval, in milliseconds, this system can handle. Defaults
    /// to 50ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub echo_interval: Option<u32>,

    /// Enables the echo transmission mode. Disabled by default; not supported on multi-hop
    /// sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_mode: Option<bool>,

    /// Marks the session passive: it does not start the connection and waits for control
    /// packets from the peer before replying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_mode: Option<bool>,

    /// For multi-hop sessions only: the minimum expected TTL of an incoming control packet.
    #[serde(
        rename = "minimumTtl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = 254))]
    pub minimum_ttl: Option<u32>,
}

/// BFDProfileStatus is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BFDProfileStatus {}
