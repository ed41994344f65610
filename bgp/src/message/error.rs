//! Why bytes failed to decode, and the NOTIFICATION that answers it (RFC 4271 §6).

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
    #[error("message marker is not all ones")]
    BadMarker,
}

impl DecodeError {
    pub fn new(kind: DecodeErrorKind) -> DecodeError {
        DecodeError { kind }
    }

    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// The NOTIFICATION to send the peer for this error.
    pub fn notification(&self) -> Notification {
        unimplemented!()
    }
}
