//! The BGP-4 wire format: whole messages to bytes and back.
//!
//! Every message starts with the 19-byte header of RFC 4271 §4.1 (16 marker bytes of ones, a
//! two-byte length, a type byte). [`encode`] produces one complete message; [`decode`] takes one
//! from the front of a buffer; [`Decoder`] buffers a TCP byte stream and yields messages as they
//! complete. The submodules hold one message body each, plus the path attributes and
//! capabilities they carry. A decoding failure is a [`DecodeError`] that knows which
//! NOTIFICATION RFC 4271 §6 says to send back.

mod attribute;
mod capability;
mod error;
mod nlri;
mod notification;
mod open;
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
pub fn encode(message: &Message, codec: Codec) -> Vec<u8> {
    let _ = (
        message,
        codec,
        TYPE_OPEN,
        TYPE_UPDATE,
        TYPE_NOTIFICATION,
        TYPE_KEEPALIVE,
        TYPE_ROUTE_REFRESH,
    );
    unimplemented!()
}

/// One whole message from the front of `bytes`, and how many bytes it took.
///
/// A buffer holding less than one message is an error here; [`Decoder`] waits for more instead.
pub fn decode(bytes: &[u8], codec: Codec) -> Result<(Message, usize), DecodeError> {
    let _ = (bytes, codec);
    unimplemented!()
}

/// Splits a TCP byte stream into messages.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self, codec: Codec) -> Result<Option<Message>, DecodeError> {
        let _ = codec;
        unimplemented!()
    }
}
