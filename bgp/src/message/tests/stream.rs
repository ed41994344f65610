//! A TCP byte stream split into messages, however the bytes arrive.

use super::*;

#[test]
fn the_decoder_yields_messages_fed_one_byte_at_a_time() {
    let messages = [
        Message::Open(sample_open()),
        Message::Keepalive,
        Message::Notification(Notification::hold_timer_expired()),
    ];
    let stream: Vec<u8> = messages.iter().flat_map(|m| encode(m, FOUR)).collect();
    let mut decoder = Decoder::new();
    let mut received = Vec::new();
    for byte in &stream {
        decoder.feed(std::slice::from_ref(byte));
        while let Some(message) = decoder.next_message(FOUR).unwrap() {
            received.push(message);
        }
    }
    assert_eq!(received, messages);
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn the_decoder_skips_route_refresh_for_foreign_families() {
    let mut decoder = Decoder::new();
    decoder.feed(&wire(5, &[0, 1, 0, 128]));
    decoder.feed(&wire(4, &[]));
    assert_eq!(decoder.next_message(TWO), Ok(Some(Message::Keepalive)));
    assert_eq!(decoder.next_message(TWO), Ok(None));
    let error = decode(&wire(5, &[0, 1, 0, 128]), TWO).unwrap_err();
    assert!(error.is_ignorable());
}

#[test]
fn the_decoder_reports_a_bad_header_before_the_body_arrives() {
    let mut decoder = Decoder::new();
    let mut bytes = wire(2, &[0; 100]);
    bytes[0] = 0;
    decoder.feed(&bytes[..19]);
    let error = decoder.next_message(TWO).unwrap_err();
    assert_eq!(error.notification(), Notification::new(1, 1, vec![]));
    assert_eq!(decoder.buffered(), 0);
}
