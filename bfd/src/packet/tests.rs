//! The wire layout of Control packets, and each reception check of §6.8.6 that decoding makes.

use super::*;

/// A packet of an Up session, answering nothing, with every field distinct.
fn up() -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::NeighborSignaledDown,
        state: State::Up,
        poll: true,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: 0x0102_0304,
        your_discriminator: 0x0a0b_0c0d,
        desired_min_tx_interval: 300_000,
        required_min_rx_interval: 1_000_000,
        required_min_echo_rx_interval: 0,
    }
}

/// The bytes of [`up`], written out by hand from the figure of §4.1.
const UP: [u8; 24] = [
    0x23, // version 1, diag 3
    0xe0, // state 3 (up), poll
    3,    // detect mult
    24,   // length
    0x01, 0x02, 0x03, 0x04, // my discriminator
    0x0a, 0x0b, 0x0c, 0x0d, // your discriminator
    0x00, 0x04, 0x93, 0xe0, // desired min tx 300000 us
    0x00, 0x0f, 0x42, 0x40, // required min rx 1000000 us
    0x00, 0x00, 0x00, 0x00, // required min echo rx
];

#[test]
fn encodes_the_layout_of_section_4_1() {
    assert_eq!(encode(&up()), UP);
}

#[test]
fn decodes_the_layout_of_section_4_1() {
    assert_eq!(decode(&UP), Ok(up()));
}

#[test]
fn each_flag_has_its_own_bit() {
    type Set = fn(&mut ControlPacket);
    let cases: [(Set, u8); 4] = [
        (|p| p.poll = true, 0x20),
        (|p| p.final_ = true, 0x10),
        (|p| p.control_plane_independent = true, 0x08),
        (|p| p.demand = true, 0x02),
    ];
    for (set, bit) in cases {
        let mut packet = ControlPacket {
            poll: false,
            ..up()
        };
        set(&mut packet);
        let bytes = encode(&packet);
        assert_eq!(bytes[1], 0xc0 | bit, "{packet:?}");
        assert_eq!(decode(&bytes), Ok(packet));
    }
}

#[test]
fn every_state_and_diagnostic_round_trips() {
    let states = [
        (State::AdminDown, 0),
        (State::Down, 1),
        (State::Init, 2),
        (State::Up, 3),
    ];
    for (state, bits) in states {
        for code in 0..32 {
            let packet = ControlPacket {
                state,
                diagnostic: Diagnostic::from_code(code),
                ..up()
            };
            let bytes = encode(&packet);
            assert_eq!(bytes[0], 0x20 | code);
            assert_eq!(bytes[1] >> 6, bits);
            assert_eq!(decode(&bytes), Ok(packet));
        }
    }
}

#[test]
fn diagnostics_have_the_codes_of_section_4_1() {
    let named = [
        Diagnostic::None,
        Diagnostic::ControlDetectionTimeExpired,
        Diagnostic::EchoFunctionFailed,
        Diagnostic::NeighborSignaledDown,
        Diagnostic::ForwardingPlaneReset,
        Diagnostic::PathDown,
        Diagnostic::ConcatenatedPathDown,
        Diagnostic::AdministrativelyDown,
        Diagnostic::ReverseConcatenatedPathDown,
    ];
    for (code, diagnostic) in named.into_iter().enumerate() {
        assert_eq!(diagnostic.code(), code as u8);
        assert_eq!(Diagnostic::from_code(code as u8), diagnostic);
    }
    assert_eq!(Diagnostic::from_code(9), Diagnostic::Reserved(9));
    assert_eq!(Diagnostic::from_code(31), Diagnostic::Reserved(31));
}

#[test]
fn bytes_beyond_the_length_field_are_ignored() {
    let mut datagram = UP.to_vec();
    datagram.extend_from_slice(&[0xff; 8]);
    assert_eq!(decode(&datagram), Ok(up()));
}

/// [`UP`] changed by `change`.
fn with(change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = UP.to_vec();
    change(&mut bytes);
    bytes
}

#[test]
fn a_datagram_shorter_than_the_mandatory_section_is_truncated() {
    for payload in [0, 1, 4, 23] {
        assert_eq!(
            decode(&UP[..payload]),
            Err(DecodeError::Truncated { payload })
        );
    }
}

#[test]
fn only_version_1_is_accepted() {
    for version in [0u8, 2, 7] {
        let bytes = with(|b| b[0] = (version << 5) | 3);
        assert_eq!(decode(&bytes), Err(DecodeError::Version { version }));
    }
}

#[test]
fn a_length_below_24_is_refused() {
    for length in [0u8, 1, 23] {
        let bytes = with(|b| b[3] = length);
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::Length {
                length,
                minimum: 24,
                authentication: false,
            })
        );
    }
}

#[test]
fn a_length_below_26_is_refused_with_authentication() {
    for length in [24u8, 25] {
        let bytes = with(|b| {
            b[1] |= 0x04;
            b[3] = length;
            b.extend_from_slice(&[1, 2]);
        });
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::Length {
                length,
                minimum: 26,
                authentication: true,
            })
        );
    }
}

#[test]
fn a_length_beyond_the_datagram_is_refused() {
    let bytes = with(|b| b[3] = 25);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::LengthBeyondPayload {
            length: 25,
            payload: 24,
        })
    );
}

#[test]
fn a_zero_detect_multiplier_is_refused() {
    let bytes = with(|b| b[2] = 0);
    assert_eq!(decode(&bytes), Err(DecodeError::DetectMultiplierZero));
    assert_eq!(
        decode(&with(|b| b[2] = 1)).map(|p| p.detect_multiplier),
        Ok(1)
    );
}

#[test]
fn the_multipoint_bit_is_refused() {
    let bytes = with(|b| b[1] |= 0x01);
    assert_eq!(decode(&bytes), Err(DecodeError::Multipoint));
}

#[test]
fn a_zero_my_discriminator_is_refused() {
    let bytes = with(|b| b[4..8].fill(0));
    assert_eq!(decode(&bytes), Err(DecodeError::MyDiscriminatorZero));
}

#[test]
fn a_zero_your_discriminator_is_refused_from_init_and_up() {
    for (bits, state) in [(2u8, State::Init), (3, State::Up)] {
        let bytes = with(|b| {
            b[1] = bits << 6;
            b[8..12].fill(0);
        });
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::YourDiscriminatorZero { state })
        );
    }
}

#[test]
fn a_zero_your_discriminator_is_accepted_from_down_and_admin_down() {
    for (bits, state) in [(0u8, State::AdminDown), (1, State::Down)] {
        let bytes = with(|b| {
            b[1] = bits << 6;
            b[8..12].fill(0);
        });
        let packet = decode(&bytes).unwrap();
        assert_eq!((packet.state, packet.your_discriminator), (state, 0));
    }
}

#[test]
fn authentication_is_refused_as_not_implemented() {
    // Keyed SHA1: auth type 4, auth len 28, key id, reserved, sequence, 20-byte hash.
    let bytes = with(|b| {
        b[1] |= 0x04;
        b[3] = 52;
        b.extend_from_slice(&[4, 28, 1, 0, 0, 0, 0, 9]);
        b.extend_from_slice(&[0xab; 20]);
    });
    let error = decode(&bytes).unwrap_err();
    assert_eq!(
        error,
        DecodeError::AuthenticationNotImplemented { auth_type: 4 }
    );
    assert_eq!(
        error.to_string(),
        "bfd authentication (auth type 4, keyed sha1) is not implemented: configure the peer \
         without authentication"
    );
}

#[test]
fn checks_run_in_the_order_of_section_6_8_6() {
    // Every later field is bad too: the first check that fails is reported.
    let all_bad = with(|b| {
        b[0] = 2 << 5;
        b[1] = 0x05 | (3 << 6);
        b[2] = 0;
        b[3] = 10;
        b[4..12].fill(0);
    });
    assert_eq!(decode(&all_bad), Err(DecodeError::Version { version: 2 }));
    let mut bytes = all_bad.clone();
    bytes[0] = 0x20;
    assert!(matches!(decode(&bytes), Err(DecodeError::Length { .. })));
    bytes[3] = 26;
    bytes.extend_from_slice(&[1, 2]);
    assert_eq!(decode(&bytes), Err(DecodeError::DetectMultiplierZero));
    bytes[2] = 3;
    assert_eq!(decode(&bytes), Err(DecodeError::Multipoint));
    bytes[1] &= !0x01;
    assert_eq!(decode(&bytes), Err(DecodeError::MyDiscriminatorZero));
    bytes[7] = 1;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::YourDiscriminatorZero { state: State::Up })
    );
    bytes[11] = 1;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AuthenticationNotImplemented { auth_type: 1 })
    );
}

#[test]
fn errors_name_the_field_and_its_value() {
    let messages = [
        (
            DecodeError::Truncated { payload: 7 },
            "bfd control packet of 7 bytes is shorter than the 24 bytes of its mandatory section",
        ),
        (
            DecodeError::Version { version: 2 },
            "bfd version 2 is not supported: only version 1 is",
        ),
        (
            DecodeError::Length {
                length: 20,
                minimum: 24,
                authentication: false,
            },
            "bfd length 20 is less than the minimum 24 for a packet without authentication",
        ),
        (
            DecodeError::Length {
                length: 24,
                minimum: 26,
                authentication: true,
            },
            "bfd length 24 is less than the minimum 26 for a packet with an authentication section",
        ),
        (
            DecodeError::LengthBeyondPayload {
                length: 30,
                payload: 24,
            },
            "bfd length 30 is greater than the 24 bytes of the datagram",
        ),
        (
            DecodeError::DetectMultiplierZero,
            "bfd detect multiplier 0 is invalid: it must be at least 1",
        ),
        (
            DecodeError::Multipoint,
            "bfd multipoint bit is set: multipoint sessions are not supported",
        ),
        (
            DecodeError::MyDiscriminatorZero,
            "bfd my discriminator 0 is invalid: it must be non-zero",
        ),
        (
            DecodeError::YourDiscriminatorZero { state: State::Init },
            "bfd your discriminator 0 is invalid in state init: only down or admin-down may send it",
        ),
        (
            DecodeError::AuthenticationNotImplemented { auth_type: 1 },
            "bfd authentication (auth type 1, simple password) is not implemented: configure the \
             peer without authentication",
        ),
    ];
    for (error, message) in messages {
        assert_eq!(error.to_string(), message);
    }
}
