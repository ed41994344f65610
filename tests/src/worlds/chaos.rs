//! The chaos soak's world: a Layer 2 world ([`super::layer2`]: node namespaces, a client
//! namespace, one speaker per node) with the rest of ferrolb beside it (two operator replicas
//! and the admission webhook), every component of which can be killed with SIGKILL and
//! revived, and the API server restarted.
//!
//! [`invariants`] judges what is seen from outside, [`probe`] is the client asking ARP for
//! every pool IP, [`churn`] creates and deletes Services and edits the pool, and [`faults`]
//! draws which component fails next; [`writes`] carries the churn out through the API.

pub mod churn;
pub mod faults;
pub mod invariants;
pub mod probe;
pub mod writes;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use super::layer2::{Options, World};
use super::webhook::WebhookProcess;
use crate::ControlPlane;
use crate::infra::process::{self, Daemon, QUICK_ELECTION};
use faults::Component;

/// How many operator replicas run.
pub const OPERATORS: usize = 2;

/// The soak's pool: its first range always, its second one only part of the time.
pub const RANGES: [&str; 2] = ["192.0.2.128/28", "192.0.2.144/28"];

/// The world, with its components by kind; `None` is a component killed and not yet revived.
pub struct ChaosWorld {
    pub world: World,
    operators: Vec<Option<Daemon>>,
    webhook: Option<WebhookProcess>,
}

impl ChaosWorld {
    /// Starts the Layer 2 world of three nodes over the soak's pool (both ranges), then the
    /// operators and the webhook.
    pub async fn start() -> ChaosWorld {
        let world = World::start(Options {
            pool: RANGES.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        })
        .await;
        let mut chaos = ChaosWorld {
            world,
            operators: (0..OPERATORS).map(|_| None).collect(),
            webhook: None,
        };
        for component in Component::processes(OPERATORS, chaos.world.lab.nodes.len()) {
            chaos.revive(component);
        }
        chaos
    }

    pub fn namespace(&self) -> &str {
        &self.world.namespace
    }

    /// The operator identity of replica `index`.
    pub fn operator_identity(&self, index: usize) -> String {
        format!("soak-operator-{index}")
    }

    /// Kills `component` at once; the API server is restarted instead (it comes back by
    /// itself).
    pub fn kill(&mut self, component: Component) {
        match component {
            Component::Operator(i) => {
                if let Some(mut daemon) = self.operators[i].take() {
                    daemon.kill();
                }
            }
            Component::Speaker(i) => {
                let name = self.world.lab.nodes[i].name.clone();
                if let Some(daemon) = self.world.speakers.get_mut(&name) {
                    daemon.kill();
                }
            }
            Component::Webhook => {
                if let Some(mut webhook) = self.webhook.take() {
                    webhook.kill();
                }
            }
            Component::ApiServer => ControlPlane::shared().restart_api_server(),
        }
    }

    /// Starts `component` again (a no-op for the API server).
    pub fn revive(&mut self, component: Component) {
        let kubeconfig = ControlPlane::shared().kubeconfig.clone();
        match component {
            Component::Operator(i) => {
                let identity = self.operator_identity(i);
                let mut args = vec!["--identity", &identity, "--namespace", self.namespace()];
                args.extend_from_slice(&QUICK_ELECTION);
                let daemon =
                    process::operator(&identity, &kubeconfig, "127.0.0.1:0", "info", &args)
                        .unwrap();
                self.operators[i] = Some(daemon);
            }
            Component::Speaker(i) => self.world.start_speaker(i),
            Component::Webhook => {
                let namespace = self.namespace().to_owned();
                self.webhook =
                    Some(WebhookProcess::start(&kubeconfig, &["--namespace", &namespace]).unwrap());
            }
            Component::ApiServer => {}
        }
    }

    /// Whether the operator leader Lease names a running replica and was renewed within the
    /// lease duration, the webhook is ready and the API server answers: the world is whole.
    pub async fn whole(&self) -> bool {
        let leases = Api::<Lease>::namespaced(self.world.client.clone(), self.namespace());
        let Ok(Ok(lease)) =
            tokio::time::timeout(Duration::from_secs(2), leases.get("ferrolb-operator")).await
        else {
            return false;
        };
        let Some(spec) = lease.spec else { return false };
        let holder = spec.holder_identity.unwrap_or_default();
        let running = (0..OPERATORS)
            .any(|i| self.operators[i].is_some() && self.operator_identity(i) == holder);
        let fresh = spec.renew_time.is_some_and(|t| {
            let age = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
            age.as_secs_f64() < 4.0
        });
        let webhook_ready = self
            .webhook
            .as_ref()
            .and_then(|w| w.probe("/readyz").ok())
            .is_some_and(|status| status.contains("200"));
        running && fresh && webhook_ready
    }
}
