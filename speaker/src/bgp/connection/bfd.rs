//! A BGP session over a BFD session: what the session does when the BFD status changes.
//!
//! [`BfdGate`] decides, purely: BFD going down after having been up (a path failure, not the
//! peer disabling BFD) closes the BGP session at once and holds it closed; BFD coming up again
//! lets it connect again. A BFD session that never came up holds nothing back, so a router
//! without BFD still gets its session. The connection task carries the decision out: a Cease
//! NOTIFICATION with the "BFD Down" subcode of RFC 9384 when connected, then the connection
//! closes and the machine stops until BFD is up.

use ferrolb_bfd::{Diagnostic, State as BfdState};
use ferrolb_bgp::{Event, Message, Notification, State};
use tokio::io::AsyncWriteExt;

use super::Connection;
use crate::bfd::BfdStatus;

/// The Cease subcode "BFD Down" (RFC 9384).
pub const CEASE_BFD_DOWN: u8 = 10;

/// What the BGP session does after a change of its BFD session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Close the session now, for this reason.
    pub tear_down: Option<Diagnostic>,
    /// Connect again.
    pub resume: bool,
}

/// Follows the BFD status a BGP session runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdGate {
    failures_seen: u64,
    held: bool,
}

impl BfdGate {
    /// A gate for a session starting while BFD is in `status`: failures before it count not.
    pub fn new(status: &BfdStatus) -> BfdGate {
        BfdGate {
            failures_seen: status.failures,
            held: false,
        }
    }

    /// Whether the BGP session waits for BFD to come up.
    pub fn held(&self) -> bool {
        self.held
    }

    pub fn observe(&mut self, status: &BfdStatus) -> Reaction {
        let mut reaction = Reaction::default();
        if status.failures > self.failures_seen {
            self.failures_seen = status.failures;
            self.held = true;
            reaction.tear_down = Some(status.diagnostic);
        }
        if self.held && status.state == BfdState::Up {
            self.held = false;
            reaction.resume = true;
        }
        reaction
    }

    /// The BFD session is gone: nothing will bring it up, so nothing holds the session back.
    pub fn release(&mut self) -> Reaction {
        let resume = std::mem::take(&mut self.held);
        Reaction {
            tear_down: None,
            resume,
        }
    }
}

impl Connection {
    /// Reacts to the BFD session's new `status`.
    pub(super) async fn bfd_changed(&mut self, status: Option<BfdStatus>) {
        let reaction = match status {
            Some(status) => self.gate.observe(&status),
            None => {
                self.bfd = None;
                self.gate.release()
            }
        };
        if let Some(diagnostic) = reaction.tear_down {
            self.tear_down_for_bfd(diagnostic).await;
        }
        if reaction.resume {
            tracing::info!(peer = %self.peer_name, "bfd session up: connecting again");
            self.events.push_back(Event::Start);
        }
    }

    /// Closes the session because BFD saw the path fail.
    async fn tear_down_for_bfd(&mut self, diagnostic: Diagnostic) {
        let state = self.fsm.state();
        if state == State::Idle {
            return;
        }
        tracing::warn!(
            peer = %self.peer_name, address = %self.dial.peer,
            "bfd session down ({diagnostic}): closing the BGP session until it is up again"
        );
        if matches!(
            state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            let cease = Notification::cease(CEASE_BFD_DOWN);
            self.send(&Message::Notification(cease)).await;
        }
        if state == State::Established {
            self.down_reason = Some(format!("its bfd session went down ({diagnostic})"));
        }
        self.reader = None;
        if let Some(mut writer) = self.writer.take() {
            let _ = writer.shutdown().await;
        }
        self.events.push_back(Event::Stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: BfdState, failures: u64) -> BfdStatus {
        BfdStatus {
            state,
            diagnostic: if state == BfdState::Up {
                Diagnostic::None
            } else {
                Diagnostic::ControlDetectionTimeExpired
            },
            failures,
        }
    }

    #[test]
    fn bfd_that_never_came_up_holds_nothing_back() {
        let mut gate = BfdGate::new(&BfdStatus::INITIAL);
        assert_eq!(
            gate.observe(&status(BfdState::Init, 0)),
            Reaction::default()
        );
        assert!(!gate.held());
    }

    #[test]
    fn a_failure_tears_down_and_holds_until_bfd_is_up_again() {
        let mut gate = BfdGate::new(&BfdStatus::INITIAL);
        assert_eq!(gate.observe(&status(BfdState::Up, 0)), Reaction::default());
        let down = gate.observe(&status(BfdState::Down, 1));
        assert_eq!(
            down.tear_down,
            Some(Diagnostic::ControlDetectionTimeExpired)
        );
        assert!(!down.resume && gate.held());
        assert_eq!(
            gate.observe(&status(BfdState::Init, 1)),
            Reaction::default()
        );
        let up = gate.observe(&status(BfdState::Up, 1));
        assert_eq!((up.tear_down, up.resume), (None, true));
        assert!(!gate.held());
    }

    #[test]
    fn a_flap_seen_late_tears_down_and_resumes_at_once() {
        let mut gate = BfdGate::new(&status(BfdState::Up, 0));
        let reaction = gate.observe(&status(BfdState::Up, 1));
        assert!(reaction.tear_down.is_some() && reaction.resume);
    }

    #[test]
    fn failures_from_before_the_session_started_do_not_count() {
        let mut gate = BfdGate::new(&status(BfdState::Down, 4));
        assert_eq!(
            gate.observe(&status(BfdState::Down, 4)),
            Reaction::default()
        );
    }

    #[test]
    fn a_vanished_bfd_session_releases_a_held_session() {
        let mut gate = BfdGate::new(&BfdStatus::INITIAL);
        gate.observe(&status(BfdState::Down, 1));
        assert!(gate.release().resume);
        assert!(!gate.release().resume, "once");
    }
}
