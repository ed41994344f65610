//! Why bytes failed to decode, and the NOTIFICATION that answers it (RFC 4271 §6).
//!
//! Each [`DecodeErrorKind`] carries what RFC 4271 says the NOTIFICATION's data field holds (the
//! bad length, the bad type, the offending attribute), so [`DecodeError::notification`] is a
//! plain mapping and the session never has to re-inspect the bytes.

use super::notification::Notification;

/// A message that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct DecodeError {
    kind: DecodeErrorKind,
}

/// The specific fault found while decoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    #[error("buffer holds {available} bytes, the message needs {needed}")]
    Incomplete {
        needed: usize,
        available: usize,
        /// The header's length field, when the header was complete.
        length: Option<u16>,
    },
    #[error("message marker is not all ones")]
    BadMarker,
    #[error("message length {length} is invalid for {message}")]
    BadLength { length: u16, message: &'static str },
    #[error("message type {message_type} is unknown")]
    BadType { message_type: u8 },
    #[error("malformed open message: {reason}")]
    MalformedOpen { reason: String },
    #[error("open message carries unsupported optional parameter {parameter}")]
    UnsupportedOptionalParameter { parameter: u8 },
    #[error("malformed attribute list: {reason}")]
    MalformedAttributeList { reason: String },
    #[error("well-known attribute {code} is not recognized")]
    UnrecognizedWellKnown { code: u8, attribute: Vec<u8> },
    #[error("well-known attribute {code} is missing")]
    MissingWellKnown { code: u8 },
    #[error("attribute {code} has flags {flags:#04x}, which conflict with its type")]
    AttributeFlags {
        code: u8,
        flags: u8,
        attribute: Vec<u8>,
    },
    #[error("attribute {code} has length {length}, which conflicts with its type")]
    AttributeLength {
        code: u8,
        length: usize,
        attribute: Vec<u8>,
    },
    #[error("origin value {value} is not igp (0), egp (1) or incomplete (2)")]
    InvalidOrigin { value: u8, attribute: Vec<u8> },
    #[error("next hop is invalid: {reason}")]
    InvalidNextHop { reason: String, attribute: Vec<u8> },
    #[error("optional attribute {code} is malformed: {reason}")]
    OptionalAttribute {
        code: u8,
        reason: String,
        attribute: Vec<u8>,
    },
    #[error("invalid network field: {reason}")]
    InvalidNetworkField { reason: String },
    #[error("malformed as path: {reason}")]
    MalformedAsPath { reason: String },
    /// RFC 2918 asks a speaker to ignore a ROUTE-REFRESH for a family it did not advertise;
    /// [`super::Decoder`] skips such messages and the session ignores this error.
    #[error("route refresh for unsupported family afi {afi} safi {safi}")]
    RouteRefreshFamily { afi: u16, safi: u8 },
}

impl From<DecodeErrorKind> for DecodeError {
    fn from(kind: DecodeErrorKind) -> DecodeError {
        DecodeError { kind }
    }
}

impl DecodeError {
    pub fn new(kind: DecodeErrorKind) -> DecodeError {
        DecodeError { kind }
    }

    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// Whether RFC 2918 asks for the message to be ignored rather than answered.
    pub fn is_ignorable(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::RouteRefreshFamily { .. })
    }

    /// The NOTIFICATION to send the peer for this error (RFC 4271 §6.1–6.3).
    pub fn notification(&self) -> Notification {
        use DecodeErrorKind as K;
        let (code, subcode, data) = match &self.kind {
            K::Incomplete { length, .. } => (
                Notification::MESSAGE_HEADER,
                2,
                length.map(|l| l.to_be_bytes().to_vec()).unwrap_or_default(),
            ),
            K::BadMarker => (Notification::MESSAGE_HEADER, 1, Vec::new()),
            K::BadLength { length, .. } => (
                Notification::MESSAGE_HEADER,
                2,
                length.to_be_bytes().to_vec(),
            ),
            K::BadType { message_type } => (Notification::MESSAGE_HEADER, 3, vec![*message_type]),
            K::MalformedOpen { .. } => (Notification::OPEN, 0, Vec::new()),
            K::UnsupportedOptionalParameter { .. } => (Notification::OPEN, 4, Vec::new()),
            K::MalformedAttributeList { .. } => (Notification::UPDATE, 1, Vec::new()),
            K::UnrecognizedWellKnown { attribute, .. } => {
                (Notification::UPDATE, 2, attribute.clone())
            }
            K::MissingWellKnown { code } => (Notification::UPDATE, 3, vec![*code]),
            K::AttributeFlags { attribute, .. } => (Notification::UPDATE, 4, attribute.clone()),
            K::AttributeLength { attribute, .. } => (Notification::UPDATE, 5, attribute.clone()),
            K::InvalidOrigin { attribute, .. } => (Notification::UPDATE, 6, attribute.clone()),
            K::InvalidNextHop { attribute, .. } => (Notification::UPDATE, 8, attribute.clone()),
            K::OptionalAttribute { attribute, .. } => (Notification::UPDATE, 9, attribute.clone()),
            K::InvalidNetworkField { .. } => (Notification::UPDATE, 10, Vec::new()),
            K::MalformedAsPath { .. } => (Notification::UPDATE, 11, Vec::new()),
            // Never sent: the message is ignored. Were it answered, the only fitting code is
            // a cease without subcode.
            K::RouteRefreshFamily { .. } => (Notification::CEASE, 0, Vec::new()),
        };
        Notification::new(code, subcode, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_carry_the_bad_length_or_type() {
        let error = DecodeError::new(DecodeErrorKind::BadLength {
            length: 5000,
            message: "any message",
        });
        assert_eq!(
            error.notification(),
            Notification::new(1, 2, vec![0x13, 0x88])
        );
        assert_eq!(
            error.to_string(),
            "message length 5000 is invalid for any message"
        );
        let error = DecodeError::new(DecodeErrorKind::BadType { message_type: 9 });
        assert_eq!(error.notification(), Notification::new(1, 3, vec![9]));
    }

    #[test]
    fn update_errors_carry_the_offending_attribute() {
        let attribute = vec![0x40, 1, 1, 7];
        let error = DecodeError::new(DecodeErrorKind::InvalidOrigin {
            value: 7,
            attribute: attribute.clone(),
        });
        assert_eq!(error.notification(), Notification::new(3, 6, attribute));
        let error = DecodeError::new(DecodeErrorKind::MissingWellKnown { code: 3 });
        assert_eq!(error.notification(), Notification::new(3, 3, vec![3]));
    }
}
