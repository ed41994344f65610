//! NOTIFICATION messages (RFC 4271 §4.5) and the error codes of §6.
//!
//! The speaker sends one before closing a session for a reason, and logs the one it receives;
//! both directions go through [`Notification`], whose `Display` names the code and subcode.

use std::fmt;

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

    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    pub fn hold_timer_expired() -> Notification {
        Notification::new(Notification::HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    pub fn administrative_shutdown() -> Notification {
        Notification::new(Notification::CEASE, 2, Vec::new())
    }

    /// A finite state machine error (RFC 6608 subcodes: 1 OpenSent, 2 OpenConfirm, 3 Established).
    pub fn fsm_error(subcode: u8) -> Notification {
        Notification::new(Notification::FSM, subcode, Vec::new())
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {} subcode {}", self.code, self.subcode)
    }
}
