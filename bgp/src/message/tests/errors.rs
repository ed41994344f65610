//! Faulty bytes and the NOTIFICATION each fault is answered with.

use super::*;

/// The NOTIFICATION answering an UPDATE with these path attribute and NLRI bytes.
fn update_error(attributes: &[u8], nlri: &[u8]) -> Notification {
    let mut body = vec![0, 0];
    body.extend_from_slice(&(attributes.len() as u16).to_be_bytes());
    body.extend_from_slice(attributes);
    body.extend_from_slice(nlri);
    decode(&wire(2, &body), TWO).unwrap_err().notification()
}

/// The fault found in `bytes` and the NOTIFICATION it is answered with.
fn error_of(bytes: &[u8], codec: Codec) -> (DecodeErrorKind, Notification) {
    let error = decode(bytes, codec).unwrap_err();
    (error.kind().clone(), error.notification())
}

#[test]
fn header_faults_map_to_message_header_errors() {
    let mut bad_marker = wire(4, &[]);
    bad_marker[3] = 0;
    assert_eq!(
        error_of(&bad_marker, TWO).1,
        Notification::new(1, 1, vec![])
    );

    let mut too_long = wire(2, &[]);
    too_long[16..18].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(
        error_of(&too_long, TWO).1,
        Notification::new(1, 2, vec![0x10, 0x01])
    );

    let long_keepalive = wire(4, &[0]);
    assert_eq!(
        error_of(&long_keepalive, TWO).1,
        Notification::new(1, 2, vec![0, 20])
    );

    let short_open = wire(1, &[4, 0, 1]);
    assert_eq!(
        error_of(&short_open, TWO).1,
        Notification::new(1, 2, vec![0, 22])
    );

    assert_eq!(
        error_of(&wire(9, &[]), TWO).1,
        Notification::new(1, 3, vec![9])
    );
}

#[test]
fn an_incomplete_buffer_is_an_error_for_decode() {
    let bytes = wire(4, &[]);
    let (kind, _) = error_of(&bytes[..10], TWO);
    assert_eq!(
        kind,
        DecodeErrorKind::Incomplete {
            needed: 19,
            available: 10,
            length: None
        }
    );
    let open = encode(&Message::Open(sample_open()), TWO);
    let (kind, notification) = error_of(&open[..25], TWO);
    assert!(matches!(kind, DecodeErrorKind::Incomplete { needed, .. } if needed == open.len()));
    assert_eq!(notification.code, 1);
}

#[test]
fn open_faults_map_to_open_message_errors() {
    let unknown_parameter = [4, 0, 1, 0, 90, 10, 0, 0, 1, 3, 1, 1, 0];
    let (kind, notification) = error_of(&wire(1, &unknown_parameter), TWO);
    assert_eq!(
        kind,
        DecodeErrorKind::UnsupportedOptionalParameter { parameter: 1 }
    );
    assert_eq!((notification.code, notification.subcode), (2, 4));

    let overrun = [4, 0, 1, 0, 90, 10, 0, 0, 1, 4, 2, 9, 1, 0];
    assert_eq!(error_of(&wire(1, &overrun), TWO).1.code, 2);
    let mismatched = [4, 0, 1, 0, 90, 10, 0, 0, 1, 7, 2, 2, 2, 0];
    assert_eq!(error_of(&wire(1, &mismatched), TWO).1.code, 2);
}

#[test]
fn update_faults_map_to_their_rfc_4271_subcodes() {
    let with = |parts: &[&[u8]]| parts.concat();
    let route = [&ORIGIN_IGP[..], &AS_PATH_65001, &NEXT_HOP].concat();
    let host = [32, 203, 0, 113, 10];

    let duplicate = with(&[&route, &ORIGIN_IGP]);
    assert_eq!(update_error(&duplicate, &host).subcode, 1);
    let truncated = with(&[&route, &[0x40, 5]]);
    assert_eq!(update_error(&truncated, &host).subcode, 1);

    let unrecognized = with(&[&route, &[0x40, 99, 0]]);
    assert_eq!(
        update_error(&unrecognized, &host),
        Notification::new(3, 2, vec![0x40, 99, 0])
    );

    let no_next_hop = with(&[&ORIGIN_IGP, &AS_PATH_65001]);
    assert_eq!(
        update_error(&no_next_hop, &host),
        Notification::new(3, 3, vec![3])
    );

    let optional_origin = with(&[&[0xC0, 1, 1, 0], &AS_PATH_65001, &NEXT_HOP]);
    assert_eq!(
        update_error(&optional_origin, &host),
        Notification::new(3, 4, vec![0xC0, 1, 1, 0])
    );

    let long_next_hop = with(&[&ORIGIN_IGP, &AS_PATH_65001, &[0x40, 3, 5, 1, 2, 3, 4, 5]]);
    assert_eq!(update_error(&long_next_hop, &host).subcode, 5);

    let bad_origin = with(&[&[0x40, 1, 1, 3], &AS_PATH_65001, &NEXT_HOP]);
    assert_eq!(
        update_error(&bad_origin, &host),
        Notification::new(3, 6, vec![0x40, 1, 1, 3])
    );

    let zero_next_hop = with(&[&ORIGIN_IGP, &AS_PATH_65001, &[0x40, 3, 4, 0, 0, 0, 0]]);
    assert_eq!(update_error(&zero_next_hop, &host).subcode, 8);

    let odd_communities = with(&[&route, &[0xC0, 8, 3, 1, 2, 3]]);
    assert_eq!(update_error(&odd_communities, &host).subcode, 9);

    assert_eq!(update_error(&route, &[33, 1, 2, 3, 4, 5]).subcode, 10);
    assert_eq!(update_error(&route, &[24, 10, 0]).subcode, 10);

    let bad_path = with(&[&ORIGIN_IGP, &[0x40, 2, 3, 2, 1, 0xFD], &NEXT_HOP]);
    assert_eq!(update_error(&bad_path, &host).subcode, 11);
}
