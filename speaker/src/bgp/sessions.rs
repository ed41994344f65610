//! The set of running sessions, kept in line with the peers this node should have: a new
//! peer gets a session, a changed peer (any field, or its password) is reconnected, a peer
//! that no longer selects this node is withdrawn from and closed, and every other session is
//! handed its current routes. A new session gets the status of its BFD session, if it has one,
//! and, while this process restarts after a graceful stop, sets the Restart State bit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;
use tokio::time::Instant;

use super::connection::{Routes, SessionHandle};
use super::peers::PeerSession;
use super::session_params::Restart;
use crate::bfd::BfdStatus;
use crate::metrics::Metrics;

/// How long a closing session may take to withdraw its routes and say goodbye.
pub const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// The sessions of this node, by peer name.
pub struct Sessions {
    node: String,
    metrics: Arc<Metrics>,
    running: BTreeMap<String, SessionHandle>,
    restart_time: Duration,
    /// Until when new sessions announce a restart: the restart time after a graceful stop.
    restarting_until: Option<Instant>,
}

impl Sessions {
    /// The sessions of `node`, announcing `restart.time` to peers with graceful restart;
    /// `restart.restarting` says this process starts again after a graceful stop, which
    /// new sessions announce for the restart time from now.
    pub fn new(node: &str, metrics: Arc<Metrics>, restart: Restart) -> Sessions {
        Sessions {
            node: node.into(),
            metrics,
            running: BTreeMap::new(),
            restart_time: restart.time,
            restarting_until: restart.restarting.then(|| Instant::now() + restart.time),
        }
    }

    /// How a session started now takes part in graceful restart.
    fn restart(&self) -> Restart {
        Restart {
            time: self.restart_time,
            restarting: self.restarting_until.is_some_and(|u| Instant::now() < u),
        }
    }

    /// Brings the running sessions to `wanted` (each with its password) and hands each its
    /// routes from `routes`; a session that starts watches its BFD session in `bfd`.
    pub async fn reconcile(
        &mut self,
        wanted: BTreeMap<String, (PeerSession, Option<String>)>,
        routes: &BTreeMap<String, Routes>,
        bfd: &BTreeMap<String, watch::Receiver<BfdStatus>>,
    ) {
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, handle)| {
                wanted.get(*name).is_none_or(|(session, password)| {
                    handle.session != *session || handle.password != *password
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        let closing = stale.into_iter().filter_map(|name| {
            tracing::info!(peer = %name, "closing the session: the peer changed or left this node");
            self.running.remove(&name)
        });
        join_all(closing.map(|h| h.stop(CLOSE_GRACE, false))).await;
        for (name, (session, password)) in wanted {
            let routes = routes.get(&name).cloned().unwrap_or_default();
            match self.running.get(&name) {
                Some(handle) => handle.advertise(routes),
                None => {
                    tracing::info!(peer = %name, address = %session.address, "opening a session");
                    let handle = SessionHandle::spawn(
                        session,
                        password,
                        &self.node,
                        self.metrics.clone(),
                        routes,
                        bfd.get(&name).cloned(),
                        self.restart(),
                    );
                    self.running.insert(name, handle);
                }
            }
        }
    }

    /// Withdraws every route and closes every session, all at once; `for_restart` leaves
    /// the routes with the peers that negotiated graceful restart.
    pub async fn close_all(&mut self, for_restart: bool) {
        let all = std::mem::take(&mut self.running);
        join_all(all.into_values().map(|h| h.stop(CLOSE_GRACE, for_restart))).await;
    }
}
