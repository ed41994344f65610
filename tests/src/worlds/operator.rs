//! The operator suites' world: a control plane of the test's own (CRDs installed, the
//! `metallb-system` namespace created) and operator processes started on it under chosen
//! identities, with short Lease timings so a standby takes over within seconds. Pools and
//! Services are written as a user writes them, with `kubectl apply` of YAML; what a user would
//! see is read back through the API: IPs in status, the pool annotation, the `IPAllocated`
//! condition, events and pool status, each with a wait for the value a test expects.

use crate::infra::process::{self, Daemon, QUICK_ELECTION};
use crate::wait::eventually;
use crate::{ControlPlane, Kubectl};
use ferrolb_crds::IPAddressPool;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;

/// A control plane of its own, and clients of it.
pub struct OperatorWorld {
    pub control_plane: ControlPlane,
    pub kubectl: Kubectl,
    pub client: kube::Client,
}

impl OperatorWorld {
    /// Starts the control plane; no operator runs until a test starts one.
    pub async fn start() -> OperatorWorld {
        let control_plane = tokio::task::spawn_blocking(|| ControlPlane::start().unwrap())
            .await
            .unwrap();
        control_plane.install_crds().unwrap();
        let kubectl = control_plane.kubectl();
        kubectl.ensure_namespace("metallb-system").unwrap();
        let client = control_plane.client().await.unwrap();
        OperatorWorld {
            control_plane,
            kubectl,
            client,
        }
    }

    pub fn operator(&self, identity: &str) -> Daemon {
        self.operator_with_metrics(identity).0
    }

    /// An operator process and the address of its metrics endpoint.
    pub fn operator_with_metrics(&self, identity: &str) -> (Daemon, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["--identity", identity];
        args.extend_from_slice(&QUICK_ELECTION);
        let daemon = process::operator(
            identity,
            &self.control_plane.kubeconfig,
            &addr,
            "info",
            &args,
        )
        .unwrap();
        (daemon, addr)
    }

    pub fn apply(&self, yaml: &str) {
        self.kubectl.ok(&["apply", "-f", "-"], Some(yaml)).unwrap();
    }

    pub fn pool(&self, name: &str, spec: &str) {
        self.apply(&format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n{spec}"
        ));
    }

    pub fn service(&self, name: &str, annotations: &str, spec: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{{annotations}}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\n{spec}"
        ));
    }

    pub async fn get(&self, name: &str) -> Option<Service> {
        self.get_in("default", name).await
    }

    pub async fn get_in(&self, namespace: &str, name: &str) -> Option<Service> {
        Api::<Service>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .ok()
            .flatten()
    }

    /// The ingress IPs of each of the `default` Services `names`, which must exist.
    pub async fn ingresses(&self, names: &[&str]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for name in names {
            out.push(ingress(&self.get(name).await.unwrap()));
        }
        out
    }

    /// Waits until the Service has exactly these ingress IPs.
    pub async fn wait_ips(&self, name: &str, want: &[&str]) -> Service {
        self.wait_ips_in("default", name, want).await
    }

    /// Waits until the Service `namespace/name` has exactly these ingress IPs.
    pub async fn wait_ips_in(&self, namespace: &str, name: &str, want: &[&str]) -> Service {
        eventually(
            &format!("Service {namespace}/{name} to get {want:?}"),
            || async {
                let svc = self.get_in(namespace, name).await?;
                (ingress(&svc) == want).then_some(svc)
            },
        )
        .await
    }

    /// Waits until the Service carries this `metallb.io/ip-allocated-from-pool` value.
    pub async fn wait_annotation(&self, name: &str, want: Option<&str>) {
        eventually(
            &format!("Service {name} pool annotation {want:?}"),
            || async { (pool_annotation(&self.get(name).await?).as_deref() == want).then_some(()) },
        )
        .await
    }

    /// Waits until the Service's condition has this reason.
    pub async fn wait_condition(&self, name: &str, reason: &str) -> Condition {
        eventually(&format!("Service {name} condition {reason}"), || async {
            condition(&self.get(name).await?).filter(|c| c.reason == reason)
        })
        .await
    }

    pub async fn pool_status(&self, name: &str) -> Option<(i64, i64, i64, i64)> {
        let pool = Api::<IPAddressPool>::namespaced(self.client.clone(), "metallb-system")
            .get(name)
            .await
            .ok()?;
        let s = pool.status?;
        Some((
            s.assigned_ipv4,
            s.available_ipv4,
            s.assigned_ipv6,
            s.available_ipv6,
        ))
    }

    pub async fn wait_pool_status(&self, name: &str, want: (i64, i64, i64, i64)) {
        eventually(&format!("pool {name} status {want:?}"), || async {
            (self.pool_status(name).await? == want).then_some(())
        })
        .await
    }

    pub fn events(&self, name: &str) -> String {
        self.kubectl
            .ok(
                &[
                    "get",
                    "events",
                    "-n",
                    "default",
                    "--field-selector",
                    &format!("involvedObject.name={name}"),
                    "-o",
                    "custom-columns=TYPE:.type,REASON:.reason,NOTE:.note,MESSAGE:.message",
                ],
                None,
            )
            .unwrap()
    }

    pub async fn wait_event(&self, name: &str, reason: &str) -> String {
        eventually(&format!("event {reason} on {name}"), || async {
            let events = self.events(name);
            events.contains(reason).then_some(events)
        })
        .await
    }
}

/// The Service's IPs as text, read by the rule every component reads them by.
pub fn ingress(svc: &Service) -> Vec<String> {
    ferrolb_crds::service_ingress::ingress_ips(svc)
        .iter()
        .map(ToString::to_string)
        .collect()
}

pub fn condition(svc: &Service) -> Option<Condition> {
    svc.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "metallb.io/IPAllocated")
        .cloned()
}

pub fn pool_annotation(svc: &Service) -> Option<String> {
    svc.metadata
        .annotations
        .as_ref()?
        .get("metallb.io/ip-allocated-from-pool")
        .cloned()
}
