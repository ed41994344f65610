//! NOTIFICATION messages (RFC 4271 §4.5) and the error codes of §6.
//!
//! The speaker sends one before closing a session for a reason and logs the one it receives;
//! both directions go through [`Notification`], whose `Display` names the code and subcode
//! ("hold timer expired", "cease: administrative shutdown") and, for a shutdown, the operator's
//! message of RFC 9003.

use std::fmt;

use super::reader::Reader;
use super::{DecodeError, DecodeErrorKind};

/// A NOTIFICATION: error code, subcode and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN: u8 = 2;
    pub const UPDATE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;

    /// OPEN subcodes used by the session.
    pub const OPEN_UNSUPPORTED_VERSION: u8 = 1;
    pub const OPEN_BAD_PEER_AS: u8 = 2;
    pub const OPEN_BAD_BGP_ID: u8 = 3;
    pub const OPEN_UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// FSM subcodes of RFC 6608: the state an unexpected message arrived in.
    pub const FSM_IN_OPEN_SENT: u8 = 1;
    pub const FSM_IN_OPEN_CONFIRM: u8 = 2;
    pub const FSM_IN_ESTABLISHED: u8 = 3;
    /// Cease subcodes of RFC 4486.
    pub const CEASE_ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const CEASE_PEER_DECONFIGURED: u8 = 3;
    pub const CEASE_ADMINISTRATIVE_RESET: u8 = 4;

    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    pub fn open_error(subcode: u8, data: Vec<u8>) -> Notification {
        Notification::new(Notification::OPEN, subcode, data)
    }

    pub fn hold_timer_expired() -> Notification {
        Notification::new(Notification::HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    pub fn fsm_error(subcode: u8) -> Notification {
        Notification::new(Notification::FSM, subcode, Vec::new())
    }

    pub fn cease(subcode: u8) -> Notification {
        Notification::new(Notification::CEASE, subcode, Vec::new())
    }

    pub fn administrative_shutdown() -> Notification {
        Notification::cease(Notification::CEASE_ADMINISTRATIVE_SHUTDOWN)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }

    pub(crate) fn read(body: &[u8]) -> Result<Notification, DecodeError> {
        let mut reader = Reader::new(body);
        match (reader.u8(), reader.u8()) {
            (Some(code), Some(subcode)) => {
                Ok(Notification::new(code, subcode, reader.rest().to_vec()))
            }
            _ => Err(DecodeErrorKind::BadLength {
                length: (super::HEADER_LEN + body.len()) as u16,
                message: "notification",
            }
            .into()),
        }
    }

    /// The operator's message of a shutdown or reset cease (RFC 9003), when present and valid.
    pub fn shutdown_message(&self) -> Option<&str> {
        let shutdown = [
            Notification::CEASE_ADMINISTRATIVE_SHUTDOWN,
            Notification::CEASE_ADMINISTRATIVE_RESET,
        ];
        if self.code != Notification::CEASE || !shutdown.contains(&self.subcode) {
            return None;
        }
        let (&len, text) = self.data.split_first()?;
        let text = text.get(..usize::from(len)).filter(|t| !t.is_empty())?;
        std::str::from_utf8(text).ok()
    }
}

fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "message header error",
        2 => "open message error",
        3 => "update message error",
        4 => "hold timer expired",
        5 => "finite state machine error",
        6 => "cease",
        7 => "route-refresh message error",
        _ => return None,
    })
}

fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (code, subcode) {
        (1, 1) => "connection not synchronized",
        (1, 2) => "bad message length",
        (1, 3) => "bad message type",
        (2, 1) => "unsupported version number",
        (2, 2) => "bad peer as",
        (2, 3) => "bad bgp identifier",
        (2, 4) => "unsupported optional parameter",
        (2, 6) => "unacceptable hold time",
        (2, 7) => "unsupported capability",
        (2, 11) => "role mismatch",
        (3, 1) => "malformed attribute list",
        (3, 2) => "unrecognized well-known attribute",
        (3, 3) => "missing well-known attribute",
        (3, 4) => "attribute flags error",
        (3, 5) => "attribute length error",
        (3, 6) => "invalid origin attribute",
        (3, 8) => "invalid next hop attribute",
        (3, 9) => "optional attribute error",
        (3, 10) => "invalid network field",
        (3, 11) => "malformed as path",
        (5, 1) => "unexpected message in open-sent state",
        (5, 2) => "unexpected message in open-confirm state",
        (5, 3) => "unexpected message in established state",
        (6, 1) => "maximum number of prefixes reached",
        (6, 2) => "administrative shutdown",
        (6, 3) => "peer de-configured",
        (6, 4) => "administrative reset",
        (6, 5) => "connection rejected",
        (6, 6) => "other configuration change",
        (6, 7) => "connection collision resolution",
        (6, 8) => "out of resources",
        (6, 9) => "hard reset",
        (6, 10) => "bfd down",
        (7, 1) => "invalid message length",
        _ => return None,
    })
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match code_name(self.code) {
            Some(name) => f.write_str(name)?,
            None => write!(f, "error code {}", self.code)?,
        }
        match subcode_name(self.code, self.subcode) {
            Some(name) => write!(f, ": {name}")?,
            None if self.subcode != 0 => write!(f, ": subcode {}", self.subcode)?,
            None => {}
        }
        if let Some(message) = self.shutdown_message() {
            write!(f, ": {message:?}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_code_and_subcode() {
        assert_eq!(
            Notification::hold_timer_expired().to_string(),
            "hold timer expired"
        );
        assert_eq!(
            Notification::administrative_shutdown().to_string(),
            "cease: administrative shutdown"
        );
        assert_eq!(
            Notification::new(3, 11, vec![]).to_string(),
            "update message error: malformed as path"
        );
        assert_eq!(
            Notification::new(2, 42, vec![]).to_string(),
            "open message error: subcode 42"
        );
        assert_eq!(
            Notification::new(99, 0, vec![]).to_string(),
            "error code 99"
        );
    }

    #[test]
    fn a_shutdown_communication_is_quoted_after_the_reason() {
        let mut data = vec![11];
        data.extend_from_slice(b"maintenance");
        let notification = Notification::new(6, 2, data);
        assert_eq!(notification.shutdown_message(), Some("maintenance"));
        assert_eq!(
            notification.to_string(),
            "cease: administrative shutdown: \"maintenance\""
        );
        assert_eq!(
            Notification::new(6, 2, vec![200, b'x']).shutdown_message(),
            None
        );
    }
}
