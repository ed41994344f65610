//! The BFD Control packet of RFC 5880 §4.1, as carried in a UDP datagram (RFC 5881, RFC 5883).
//!
//! [`encode`] writes the 24 bytes of a packet without an authentication section. [`decode`]
//! reads one and applies the reception checks of §6.8.6 that need nothing but the packet:
//! version 1, a length of at least 24 bytes (26 with an authentication section) that fits the
//! datagram, a non-zero detect multiplier, the multipoint bit clear, a non-zero My
//! Discriminator, and a zero Your Discriminator only from a peer in Down or AdminDown. Which
//! session a packet belongs to, and whether it came with the right TTL, is for the caller.
//! Authentication (§6.7) is not implemented: a packet with the A bit set is refused with
//! [`DecodeError::AuthenticationNotImplemented`].

use std::fmt;

/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;

/// The length of a Control packet without an authentication section.
pub const PACKET_LEN: usize = 24;

/// The shortest length of a Control packet with an authentication section: the 24 mandatory
/// bytes, the Auth Type and the Auth Len.
pub const MIN_AUTH_PACKET_LEN: usize = 26;

const POLL: u8 = 0x20;
const FINAL: u8 = 0x10;
const CONTROL_PLANE_INDEPENDENT: u8 = 0x08;
const AUTHENTICATION_PRESENT: u8 = 0x04;
const DEMAND: u8 = 0x02;
const MULTIPOINT: u8 = 0x01;

/// The state of a session, as the Sta field carries it (§4.1, §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    fn from_bits(bits: u8) -> State {
        match bits & 0x03 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "admin-down",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        })
    }
}

/// The reason for the sender's last change of state (§4.1, the Diag field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// 0
    None,
    /// 1: no packet arrived within the detection time.
    ControlDetectionTimeExpired,
    /// 2
    EchoFunctionFailed,
    /// 3: the peer said it is down (Down or AdminDown).
    NeighborSignaledDown,
    /// 4
    ForwardingPlaneReset,
    /// 5
    PathDown,
    /// 6
    ConcatenatedPathDown,
    /// 7: the session was disabled by its operator.
    AdministrativelyDown,
    /// 8
    ReverseConcatenatedPathDown,
    /// 9 to 31, reserved for future use: kept as received.
    Reserved(u8),
}

impl Diagnostic {
    /// The diagnostic of a 5-bit code; bits above the fifth are ignored.
    pub fn from_code(code: u8) -> Diagnostic {
        match code & 0x1f {
            0 => Diagnostic::None,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            code => Diagnostic::Reserved(code),
        }
    }

    /// The code on the wire (only its low 5 bits are sent).
    pub fn code(self) -> u8 {
        match self {
            Diagnostic::None => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Reserved(code) => code & 0x1f,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::None => f.write_str("no diagnostic"),
            Diagnostic::ControlDetectionTimeExpired => {
                f.write_str("control detection time expired")
            }
            Diagnostic::EchoFunctionFailed => f.write_str("echo function failed"),
            Diagnostic::NeighborSignaledDown => f.write_str("neighbor signaled session down"),
            Diagnostic::ForwardingPlaneReset => f.write_str("forwarding plane reset"),
            Diagnostic::PathDown => f.write_str("path down"),
            Diagnostic::ConcatenatedPathDown => f.write_str("concatenated path down"),
            Diagnostic::AdministrativelyDown => f.write_str("administratively down"),
            Diagnostic::ReverseConcatenatedPathDown => {
                f.write_str("reverse concatenated path down")
            }
            Diagnostic::Reserved(code) => write!(f, "reserved diagnostic {code}"),
        }
    }
}

/// One Control packet without an authentication section. The A and M bits are always clear:
/// [`decode`] refuses packets with either set and [`encode`] never sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    pub diagnostic: Diagnostic,
    pub state: State,
    /// P: the sender asks for a packet with F set in answer (a Poll Sequence, §6.5).
    pub poll: bool,
    /// F: the answer to a received Poll. Never set together with `poll`.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wishes to run in Demand mode (§6.6).
    pub demand: bool,
    /// Detection time multiplier; never zero on the wire.
    pub detect_multiplier: u8,
    /// The sender's discriminator; never zero on the wire.
    pub my_discriminator: u32,
    /// The discriminator the sender received from us, zero while it knows none.
    pub your_discriminator: u32,
    /// Microseconds.
    pub desired_min_tx_interval: u32,
    /// Microseconds; zero asks the receiver to send no periodic packets.
    pub required_min_rx_interval: u32,
    /// Microseconds; zero says the sender does not loop back Echo packets.
    pub required_min_echo_rx_interval: u32,
}

/// A datagram that is not an acceptable Control packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "bfd control packet of {payload} bytes is shorter than the {PACKET_LEN} bytes of its mandatory section"
    )]
    Truncated { payload: usize },
    #[error("bfd version {version} is not supported: only version {VERSION} is")]
    Version { version: u8 },
    #[error("bfd length {length} is less than the minimum {minimum} for a packet {}", if *.authentication { "with an authentication section" } else { "without authentication" })]
    Length {
        length: u8,
        minimum: u8,
        authentication: bool,
    },
    #[error("bfd length {length} is greater than the {payload} bytes of the datagram")]
    LengthBeyondPayload { length: u8, payload: usize },
    #[error("bfd detect multiplier 0 is invalid: it must be at least 1")]
    DetectMultiplierZero,
    #[error("bfd multipoint bit is set: multipoint sessions are not supported")]
    Multipoint,
    #[error("bfd my discriminator 0 is invalid: it must be non-zero")]
    MyDiscriminatorZero,
    #[error(
        "bfd your discriminator 0 is invalid in state {state}: only down or admin-down may send it"
    )]
    YourDiscriminatorZero { state: State },
    #[error("bfd authentication (auth type {auth_type}, {}) is not implemented: configure the peer without authentication", auth_type_name(*.auth_type))]
    AuthenticationNotImplemented { auth_type: u8 },
}

fn auth_type_name(auth_type: u8) -> &'static str {
    match auth_type {
        1 => "simple password",
        2 => "keyed md5",
        3 => "meticulous keyed md5",
        4 => "keyed sha1",
        5 => "meticulous keyed sha1",
        _ => "reserved",
    }
}

/// The 24 bytes of `packet`, with the Length field 24 and the A and M bits clear.
pub fn encode(packet: &ControlPacket) -> [u8; PACKET_LEN] {
    let mut flags = packet.state.bits() << 6;
    for (set, bit) in [
        (packet.poll, POLL),
        (packet.final_, FINAL),
        (packet.control_plane_independent, CONTROL_PLANE_INDEPENDENT),
        (packet.demand, DEMAND),
    ] {
        if set {
            flags |= bit;
        }
    }
    let mut bytes = [0; PACKET_LEN];
    bytes[0] = (VERSION << 5) | packet.diagnostic.code();
    bytes[1] = flags;
    bytes[2] = packet.detect_multiplier;
    bytes[3] = PACKET_LEN as u8;
    let words = [
        packet.my_discriminator,
        packet.your_discriminator,
        packet.desired_min_tx_interval,
        packet.required_min_rx_interval,
        packet.required_min_echo_rx_interval,
    ];
    for (i, word) in words.into_iter().enumerate() {
        bytes[4 + 4 * i..8 + 4 * i].copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// The Control packet in `payload`, a whole UDP payload. Bytes beyond the Length field are
/// ignored.
pub fn decode(payload: &[u8]) -> Result<ControlPacket, DecodeError> {
    if payload.len() < PACKET_LEN {
        return Err(DecodeError::Truncated {
            payload: payload.len(),
        });
    }
    let version = payload[0] >> 5;
    if version != VERSION {
        return Err(DecodeError::Version { version });
    }
    let flags = payload[1];
    let authentication = flags & AUTHENTICATION_PRESENT != 0;
    let length = payload[3];
    let minimum = if authentication {
        MIN_AUTH_PACKET_LEN
    } else {
        PACKET_LEN
    };
    if usize::from(length) < minimum {
        return Err(DecodeError::Length {
            length,
            minimum: minimum as u8,
            authentication,
        });
    }
    if usize::from(length) > payload.len() {
        return Err(DecodeError::LengthBeyondPayload {
            length,
            payload: payload.len(),
        });
    }
    let detect_multiplier = payload[2];
    if detect_multiplier == 0 {
        return Err(DecodeError::DetectMultiplierZero);
    }
    if flags & MULTIPOINT != 0 {
        return Err(DecodeError::Multipoint);
    }
    let word = |i: usize| {
        let at = 4 + 4 * i;
        u32::from_be_bytes([
            payload[at],
            payload[at + 1],
            payload[at + 2],
            payload[at + 3],
        ])
    };
    let my_discriminator = word(0);
    if my_discriminator == 0 {
        return Err(DecodeError::MyDiscriminatorZero);
    }
    let state = State::from_bits(flags >> 6);
    let your_discriminator = word(1);
    if your_discriminator == 0 && !matches!(state, State::Down | State::AdminDown) {
        return Err(DecodeError::YourDiscriminatorZero { state });
    }
    if authentication {
        return Err(DecodeError::AuthenticationNotImplemented {
            auth_type: payload[PACKET_LEN],
        });
    }
    Ok(ControlPacket {
        diagnostic: Diagnostic::from_code(payload[0]),
        state,
        poll: flags & POLL != 0,
        final_: flags & FINAL != 0,
        control_plane_independent: flags & CONTROL_PLANE_INDEPENDENT != 0,
        demand: flags & DEMAND != 0,
        detect_multiplier,
        my_discriminator,
        your_discriminator,
        desired_min_tx_interval: word(2),
        required_min_rx_interval: word(3),
        required_min_echo_rx_interval: word(4),
    })
}

#[cfg(test)]
mod tests;
