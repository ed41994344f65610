//! Graceful restart of the speaker process (RFC 4724): whether a stopping speaker withdraws
//! its routes or leaves them with its peers for a restart, and how the next process learns
//! that it restarts.
//!
//! [`stop_for`] decides from this node's Node object, read when the speaker stops. A node
//! that is cordoned (`spec.unschedulable`), excluded from load balancers by its label, being
//! deleted, marked for removal by the cluster autoscaler or out of service, or whose Node
//! object is gone or cannot be read, withdraws every route and closes with a Cease, as
//! without graceful restart: traffic leaves the node. Any other stop is a restart (a rolling
//! upgrade of the DaemonSet, a Pod restarted in place): a session that negotiated graceful
//! restart closes without a NOTIFICATION, so the router keeps the routes, marked stale, for
//! the restart time while kube-proxy on the node goes on forwarding. Sessions without it
//! withdraw as before.
//!
//! A restart is remembered in a marker file under `--graceful-restart-dir` (when given, best
//! put on a hostPath so that the next Pod sees it): the stopping process writes the time it
//! stopped, the next one takes the file away and, when it starts within the restart time,
//! sets the Restart State bit in the OPEN of each session until that session came up.
//!
//! The rules are pure functions; [`at_start`], [`stop_decision`] and [`close_sessions`] apply
//! them with the file system, the API server and the sessions.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Node as KubeNode;
use kube::{Api, Client};

use super::session_params::Restart;
use super::sessions::Sessions;
use crate::config::Config;
use crate::model::EXCLUDE_LABEL;

/// The marker's file name in the graceful restart directory.
pub const MARKER_FILE: &str = "bgp-graceful-stop";

/// Taints of a node that is about to go away for good.
const LEAVING_TAINTS: [&str; 2] = [
    "ToBeDeletedByClusterAutoscaler",
    "node.kubernetes.io/out-of-service",
];

/// How the speaker's sessions end when it stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Withdraw every route, then close with a Cease NOTIFICATION; `why` is for the log.
    Withdraw { why: String },
    /// Leave the routes with every peer that negotiated graceful restart; withdraw from the
    /// others.
    Restart,
}

/// What the stop decision reads from the Node object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeFacts {
    pub unschedulable: bool,
    pub excluded: bool,
    pub deleting: bool,
    /// A taint of [`LEAVING_TAINTS`], by key.
    pub leaving_taint: Option<String>,
}

impl NodeFacts {
    pub fn from_kube(node: &KubeNode) -> NodeFacts {
        let spec = node.spec.as_ref();
        NodeFacts {
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            excluded: node
                .metadata
                .labels
                .as_ref()
                .is_some_and(|labels| labels.contains_key(EXCLUDE_LABEL)),
            deleting: node.metadata.deletion_timestamp.is_some(),
            leaving_taint: spec
                .and_then(|s| s.taints.as_ref())
                .and_then(|taints| {
                    taints
                        .iter()
                        .find(|t| LEAVING_TAINTS.contains(&t.key.as_str()))
                })
                .map(|t| t.key.clone()),
        }
    }
}

/// How to stop, given this node's Node object as read when stopping: `Ok(None)` when it no
/// longer exists, `Err` with the reason when it could not be read.
pub fn stop_for(node: Result<Option<NodeFacts>, String>) -> Stop {
    let withdraw = |why: String| Stop::Withdraw { why };
    match node {
        Err(e) => withdraw(format!("the Node object cannot be read ({e})")),
        Ok(None) => withdraw("the Node object is gone".into()),
        Ok(Some(node)) if node.deleting => withdraw("the node is being deleted".into()),
        Ok(Some(node)) if node.unschedulable => withdraw("the node is cordoned".into()),
        Ok(Some(node)) if node.excluded => {
            withdraw(format!("the node is labelled {EXCLUDE_LABEL}"))
        }
        Ok(Some(NodeFacts {
            leaving_taint: Some(taint),
            ..
        })) => withdraw(format!("the node is tainted {taint}")),
        Ok(Some(_)) => Stop::Restart,
    }
}

/// The marker's text for a stop at `at`: seconds since the Unix epoch.
pub fn marker_text(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("{seconds}\n")
}

/// The stop time a marker's text records, if it is one.
pub fn parse_marker(text: &str) -> Option<SystemTime> {
    let seconds: u64 = text.trim().parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Whether a process starting at `now` restarts after a graceful stop at `stopped`: the
/// stop was at most `restart_time` ago (the marker has one-second resolution, so a stop
/// "in the future" by less than a second still counts).
pub fn restarting(stopped: Option<SystemTime>, now: SystemTime, restart_time: Duration) -> bool {
    let Some(stopped) = stopped else {
        return false;
    };
    match now.duration_since(stopped) {
        Ok(ago) => ago < restart_time,
        Err(ahead) => ahead.duration() < Duration::from_secs(1),
    }
}

/// The graceful restart directory of a speaker: where a stop for restart is remembered.
#[derive(Clone, Debug)]
pub struct Marker {
    path: PathBuf,
}

impl Marker {
    pub fn in_dir(dir: &Path) -> Marker {
        Marker {
            path: dir.join(MARKER_FILE),
        }
    }

    /// Records a stop for restart at `at`.
    pub fn write(&self, at: SystemTime) -> std::io::Result<()> {
        let partial = self.path.with_extension("partial");
        std::fs::write(&partial, marker_text(at))?;
        std::fs::rename(&partial, &self.path)
    }

    /// The recorded stop, if any; the marker is removed, so it counts for one start only.
    pub fn take(&self) -> Option<SystemTime> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!("cannot remove {}: {e}", self.path.display());
        }
        parse_marker(&text)
    }
}

/// How this process takes part in graceful restart: `config`'s restart time, and whether a
/// graceful stop left its marker within that time (the marker is taken either way).
pub(super) fn at_start(config: &Config) -> Restart {
    let stopped = config
        .graceful_restart_dir
        .as_deref()
        .and_then(|dir| Marker::in_dir(dir).take());
    let restarting = restarting(stopped, SystemTime::now(), config.graceful_restart_time);
    if restarting {
        tracing::info!("restarting after a graceful stop: sessions announce the restart");
    }
    Restart {
        time: config.graceful_restart_time,
        restarting,
    }
}

/// How to stop, from this node's Node object as the API server has it now.
pub(super) async fn stop_decision(client: Client, config: &Config) -> Stop {
    let nodes: Api<KubeNode> = Api::all(client);
    let read = tokio::time::timeout(config.api_timeout, nodes.get_opt(&config.node_name)).await;
    let node = match read {
        Ok(Ok(node)) => Ok(node.as_ref().map(NodeFacts::from_kube)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {:?}", config.api_timeout)),
    };
    stop_for(node)
}

/// Stops every session as `stop` says, remembering a stop for restart in the marker.
pub(super) async fn close_sessions(sessions: &mut Sessions, config: &Config, stop: &Stop) {
    match stop {
        Stop::Withdraw { why } => {
            tracing::info!("shutting down: withdrawing every BGP route: {why}");
            sessions.close_all(false).await;
        }
        Stop::Restart => {
            tracing::info!(
                "shutting down for a restart: peers with graceful restart keep the routes"
            );
            if let Some(dir) = &config.graceful_restart_dir
                && let Err(e) = Marker::in_dir(dir).write(SystemTime::now())
            {
                tracing::warn!("cannot leave the graceful restart marker in {dir:?}: {e}");
            }
            sessions.close_all(true).await;
        }
    }
}

#[cfg(test)]
mod tests;
