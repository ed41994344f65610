//! The BGP-4 wire format: whole messages to bytes and back.
//!
//! Every message starts with the 19-byte header of RFC 4271 §4.1 (16 marker bytes of ones, a
//! two-byte length, a type byte). [`encode`] produces one complete message; [`decode`] takes one
//! from the front of a buffer; [`Decoder`] buffers a TCP byte stream and yields messages as they
//! complete. The submodules hold one message body each, plus the path attributes and
//! capabilities they carry. A decoding failure is a [`DecodeError`] that knows which
//! NOTIFICATION RFC 4271 §6 says to send back.

mod as_path;
pub(crate) mod attribute;
mod capability;
mod error;
pub(crate) mod multiprotocol;
pub(crate) mod nlri;
mod notification;
mod open;
#[cfg(test)]
mod proptests;
mod reader;
#[cfg(test)]
mod tests;
mod update;

pub use attribute::{AsSegment, Attribute, Origin};
pub use capability::Capability;
pub use error::{DecodeError, DecodeErrorKind};
pub use notification::Notification;
pub use open::Open;
pub use update::Update;

use crate::prefix::Family;

/// The length of the message header: marker, length and type.
pub const HEADER_LEN: usize = 19;
/// The largest message RFC 4271 allows.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The AS number a speaker with a four-octet AS puts where only two octets fit (RFC 6793).
pub const AS_TRANS: u16 = 23456;

const TYPE_OPEN: u8 = 1;
const TYPE_UPDATE: u8 = 2;
const TYPE_NOTIFICATION: u8 = 3;
const TYPE_KEEPALIVE: u8 = 4;
const TYPE_ROUTE_REFRESH: u8 = 5;

/// One BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    /// RFC 2918: the peer asks to be sent every route of `family` again.
    RouteRefresh {
        family: Family,
    },
}

/// What the two speakers agreed on that changes the encoding of messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Codec {
    /// AS numbers in AS_PATH are four octets wide (both OPENs carried the capability).
    pub four_octet_as: bool,
}

/// The complete bytes of `message`, header included.
///
/// The caller keeps messages within [`MAX_MESSAGE_LEN`]; the Adj-RIB-Out packs UPDATEs so.
pub fn encode(message: &Message, codec: Codec) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0xFF; 16]);
    out.extend_from_slice(&[0, 0]);
    match message {
        Message::Open(open) => {
            out.push(TYPE_OPEN);
            open.write(&mut out);
        }
        Message::Update(update) => {
            out.push(TYPE_UPDATE);
            update.write(codec.four_octet_as, &mut out);
        }
        Message::Notification(notification) => {
            out.push(TYPE_NOTIFICATION);
            notification.write(&mut out);
        }
        Message::Keepalive => out.push(TYPE_KEEPALIVE),
        Message::RouteRefresh { family } => {
            out.push(TYPE_ROUTE_REFRESH);
            out.extend_from_slice(&family.afi().to_be_bytes());
            out.push(0);
            out.push(family.safi());
        }
    }
    let length = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[16..18].copy_from_slice(&length.to_be_bytes());
    out
}

/// One whole message from the front of `bytes`, and how many bytes it took.
///
/// The header is checked before the body is needed, so a stream that can never become a
/// valid message fails as soon as its header is in. A buffer holding less than one message is
/// a [`DecodeErrorKind::Incomplete`] error here; [`Decoder`] waits for more instead.
pub fn decode(bytes: &[u8], codec: Codec) -> Result<(Message, usize), DecodeError> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(DecodeErrorKind::Incomplete {
            needed: HEADER_LEN,
            available: bytes.len(),
            length: None,
        }
        .into());
    };
    if header[..16].iter().any(|&b| b != 0xFF) {
        return Err(DecodeErrorKind::BadMarker.into());
    }
    let length = u16::from_be_bytes([header[16], header[17]]);
    let message_type = header[18];
    let bad_length = |message| DecodeErrorKind::BadLength { length, message };
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&usize::from(length)) {
        return Err(bad_length("any message").into());
    }
    let (minimum, exact, name) = match message_type {
        TYPE_OPEN => (29, false, "open"),
        TYPE_UPDATE => (23, false, "update"),
        TYPE_NOTIFICATION => (21, false, "notification"),
        TYPE_KEEPALIVE => (19, true, "keepalive"),
        TYPE_ROUTE_REFRESH => (23, true, "route refresh"),
        _ => return Err(DecodeErrorKind::BadType { message_type }.into()),
    };
    if length < minimum || (exact && length != minimum) {
        return Err(bad_length(name).into());
    }
    let length = usize::from(length);
    let Some(body) = bytes.get(HEADER_LEN..length) else {
        return Err(DecodeErrorKind::Incomplete {
            needed: length,
            available: bytes.len(),
            length: Some(length as u16),
        }
        .into());
    };
    let message = match message_type {
        TYPE_OPEN => Message::Open(Open::read(body)?),
        TYPE_UPDATE => Message::Update(Update::read(body, codec.four_octet_as)?),
        TYPE_NOTIFICATION => Message::Notification(Notification::read(body)?),
        TYPE_KEEPALIVE => Message::Keepalive,
        _ => {
            let afi = u16::from_be_bytes([body[0], body[1]]);
            let safi = body[3];
            let family = Family::from_afi_safi(afi, safi)
                .ok_or(DecodeErrorKind::RouteRefreshFamily { afi, safi })?;
            Message::RouteRefresh { family }
        }
    };
    Ok((message, length))
}

/// Splits a TCP byte stream into messages.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    /// Bytes of `buffer` before this offset were consumed already.
    start: usize,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The number of bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    ///
    /// A ROUTE-REFRESH for a family this crate does not carry is skipped, as RFC 2918 asks.
    /// After an error the buffer is emptied: the session closes the connection anyway.
    pub fn next_message(&mut self, codec: Codec) -> Result<Option<Message>, DecodeError> {
        loop {
            let pending = &self.buffer[self.start..];
            if pending.len() < HEADER_LEN {
                return Ok(None);
            }
            match decode(pending, codec) {
                Ok((message, used)) => {
                    self.start += used;
                    return Ok(Some(message));
                }
                Err(error) if matches!(error.kind(), DecodeErrorKind::Incomplete { .. }) => {
                    return Ok(None);
                }
                Err(error) if error.is_ignorable() => {
                    self.start += usize::from(u16::from_be_bytes([pending[16], pending[17]]));
                }
                Err(error) => {
                    self.buffer.clear();
                    self.start = 0;
                    return Err(error);
                }
            }
        }
    }
}
