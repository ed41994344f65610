//! Warning events on BGPPeers whose password keeps their session from opening on this node (a
//! password Secret that is missing or unusable, a password longer than the kernel's TCP MD5
//! key): a problem is recorded once when it appears or changes, and again only after it cleared
//! and came back, so `kubectl describe bgppeer` says why a session is missing without an event
//! per planning round. Events are published in the background and never hold up planning; one
//! that cannot be published is logged (the problem itself is logged by the planner as well).

use std::collections::BTreeMap;
use std::time::Duration;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use kube::Client;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};

/// The reason of the events.
pub const REASON: &str = "InvalidPassword";

/// The problems of `now` worth an event, given those reported `before` (peer name to message):
/// the new ones and the changed ones.
pub fn fresh<'a>(
    before: &BTreeMap<String, String>,
    now: &'a BTreeMap<String, String>,
) -> Vec<(&'a str, &'a str)> {
    now.iter()
        .filter(|(peer, message)| before.get(*peer) != Some(*message))
        .map(|(peer, message)| (peer.as_str(), message.as_str()))
        .collect()
}

/// Records password problems as events on the BGPPeers, for one node.
pub struct PeerEvents {
    recorder: Recorder,
    node: String,
    timeout: Duration,
    reported: BTreeMap<String, String>,
}

impl PeerEvents {
    pub fn new(client: Client, node: &str, timeout: Duration) -> PeerEvents {
        PeerEvents {
            recorder: crate::status::event_recorder(client, node),
            node: node.into(),
            timeout,
            reported: BTreeMap::new(),
        }
    }

    /// Takes the current `problems` (peer name to message) and records a Warning event on
    /// each of `peers` whose problem is [`fresh`].
    pub fn report(&mut self, peers: &[BGPPeer], problems: BTreeMap<String, String>) {
        for (name, message) in fresh(&self.reported, &problems) {
            let Some(peer) = peers
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(name))
            else {
                continue;
            };
            let reference = peer.object_ref(&());
            let event = Event {
                type_: EventType::Warning,
                reason: REASON.into(),
                note: Some(format!("node {:?}: {message}", self.node)),
                action: "Connect".into(),
                secondary: None,
            };
            let recorder = self.recorder.clone();
            let timeout = self.timeout;
            let name = name.to_owned();
            tokio::spawn(async move {
                match tokio::time::timeout(timeout, recorder.publish(&event, &reference)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(peer = %name, "recording event {REASON} on the BGPPeer: {e}")
                    }
                    Err(_) => tracing::warn!(
                        peer = %name,
                        "recording event {REASON} on the BGPPeer: no answer within {timeout:?}"
                    ),
                }
            });
        }
        self.reported = problems;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect()
    }

    #[test]
    fn a_new_problem_is_worth_an_event_and_a_lasting_one_is_not() {
        let first = problems(&[("router-a", "too long")]);
        assert_eq!(fresh(&BTreeMap::new(), &first), [("router-a", "too long")]);
        assert_eq!(fresh(&first, &first), Vec::<(&str, &str)>::new());
    }

    #[test]
    fn a_changed_problem_and_one_that_came_back_are_worth_an_event_again() {
        let first = problems(&[("router-a", "too long"), ("router-b", "gone")]);
        let changed = problems(&[("router-a", "not UTF-8"), ("router-b", "gone")]);
        assert_eq!(fresh(&first, &changed), [("router-a", "not UTF-8")]);
        let cleared = problems(&[("router-b", "gone")]);
        assert_eq!(fresh(&changed, &cleared), Vec::<(&str, &str)>::new());
        assert_eq!(fresh(&cleared, &changed), [("router-a", "not UTF-8")]);
    }
}
