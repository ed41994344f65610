//! What the suites on the real cluster deploy and read back. A test applies its objects
//! through a [`Cleanup`], which deletes them again when dropped (also when the test fails);
//! [`serve`] puts a pool, its advertisement and a Deployment of `ferrolb-whoami` backends
//! behind a LoadBalancer Service and waits for its IP. The readings are `kubectl get` with a
//! JSONPath, ARP from this machine (the node answering alone) and HTTP to the Service IP.

use std::net::SocketAddr;
use std::time::Duration;

use super::real_cluster::{RealCluster, RealNode, http_get};
use crate::Kubectl;
use crate::wait::until;

/// The namespace the chart installs ferrolb into.
pub const NAMESPACE: &str = "metallb-system";

/// The cluster `FERROLB_E2E_CLUSTER` names, and `kubectl` against it; panics without one.
pub fn connect() -> (RealCluster, Kubectl) {
    let cluster = RealCluster::from_env()
        .expect("FERROLB_E2E_CLUSTER names the cluster's folder (dev/cluster up)")
        .unwrap_or_else(|e| panic!("{e}"));
    let kubectl = Kubectl::new(cluster.kubeconfig());
    (cluster, kubectl)
}

/// `kubectl get ARGS -o jsonpath=PATH`, empty when kubectl fails.
pub fn jsonpath(kubectl: &Kubectl, args: &[&str], path: &str) -> String {
    let expr = format!("jsonpath={path}");
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", &expr]);
    kubectl
        .run(&all, None)
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// Deletes what a test created, in reverse order, even when it fails.
pub struct Cleanup<'a> {
    pub kubectl: &'a Kubectl,
    deletes: Vec<Vec<String>>,
}

impl<'a> Cleanup<'a> {
    pub fn new(kubectl: &'a Kubectl) -> Self {
        Cleanup {
            kubectl,
            deletes: Vec::new(),
        }
    }

    /// Applies `yaml`, and deletes each of its objects when dropped.
    pub fn apply(&mut self, yaml: &str) {
        self.kubectl
            .ok(&["apply", "-f", "-"], Some(yaml))
            .unwrap_or_else(|e| panic!("apply failed: {e}\n{yaml}"));
        for doc in yaml.split("\n---\n") {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.trim_start().strip_prefix(key))
                    .map(|v| v.trim().to_owned())
            };
            let (Some(kind), Some(name)) = (field("kind:"), field("name:")) else {
                continue;
            };
            let namespace = field("namespace:").unwrap_or_else(|| "default".into());
            self.deletes.push(vec![
                "delete".into(),
                kind,
                name,
                "-n".into(),
                namespace,
                "--ignore-not-found".into(),
                "--wait=false".into(),
            ]);
        }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for args in self.deletes.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = self.kubectl.run(&args, None);
        }
    }
}

/// A pool with its own advertisement (Layer 2 or BGP), a Deployment of `ferrolb-whoami`
/// spread over the nodes, and a LoadBalancer Service in front of it.
pub fn backends_behind_a_service(name: &str, addresses: &str, bgp: bool) -> String {
    let advertisement = if bgp {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: {name}\n  namespace: {NAMESPACE}\nspec:\n  ipAddressPools: [{name}]\n"
        )
    } else {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: {name}\n  namespace: {NAMESPACE}\nspec:\n  ipAddressPools: [{name}]\n"
        )
    };
    format!(
        "apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  addresses: [{addresses}]
  autoAssign: false
---
{advertisement}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {{matchLabels: {{app: {name}}}}}}}
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: whoami
          image: ferrolb.local/whoami:1
          imagePullPolicy: Never
          ports: [{{containerPort: 8080, protocol: TCP}}]
          env:
            - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
            - {{name: NODE_NAME, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
          readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
  annotations: {{metallb.io/address-pool: {name}}}
spec:
  type: LoadBalancer
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080, protocol: TCP}}]
"
    )
}

/// Applies [`backends_behind_a_service`] (deleted by `cleanup`), then waits for its IP and its
/// ready backends; returns the IP.
pub fn serve(cleanup: &mut Cleanup, name: &str, addresses: &str, bgp: bool) -> String {
    cleanup.apply(&backends_behind_a_service(name, addresses, bgp));
    service_ip(cleanup.kubectl, name)
}

/// Waits for the Service's IP and for its backends to be ready; returns the IP.
pub fn service_ip(kubectl: &Kubectl, name: &str) -> String {
    let ip = until("the Service's IP", || {
        let ip = jsonpath(
            kubectl,
            &["service", name],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    until("3 ready backends", || {
        (jsonpath(kubectl, &["deployment", name], "{.status.readyReplicas}") == "3").then_some(())
    });
    ip
}

/// The node named in the Service's ServiceL2Status.
pub fn l2_status_node(kubectl: &Kubectl, service: &str) -> String {
    jsonpath(
        kubectl,
        &[
            "servicel2statuses",
            "-n",
            NAMESPACE,
            "-l",
            &format!("metallb.io/service-name={service}"),
        ],
        "{.items[*].status.node}",
    )
}

/// The node whose MAC answers ARP for `ip` alone (several answers in a row, one MAC).
pub fn sole_owner<'c>(cluster: &'c RealCluster, ip: &str) -> &'c RealNode {
    until("one node answering ARP", || {
        let macs = cluster.arping(ip, 3);
        let first = macs.first()?;
        (macs.len() == 3 && macs.iter().all(|m| m == first))
            .then(|| cluster.node_with_mac(first))
            .flatten()
    })
}

/// The HTTP port of a Service IP.
pub fn address(ip: &str) -> SocketAddr {
    format!("{ip}:80").parse().expect("an IPv4 address")
}

/// Waits for an HTTP answer from a Service IP, and returns its body.
pub fn http_ok(ip: &str) -> String {
    until("an HTTP answer", || {
        http_get(address(ip), "/", Duration::from_secs(2)).ok()
    })
}

/// The name of the speaker pod on `node`.
pub fn speaker_pod_on(kubectl: &Kubectl, node: &str) -> String {
    jsonpath(
        kubectl,
        &[
            "pods",
            "-n",
            NAMESPACE,
            "-l",
            "app.kubernetes.io/component=speaker",
            "--field-selector",
            &format!("spec.nodeName={node}"),
        ],
        "{.items[0].metadata.name}",
    )
}

/// Waits until ferrolb's DaemonSet and Deployments have rolled out.
pub fn rollout_done(kubectl: &Kubectl) {
    for target in [
        "daemonset/ferrolb-speaker",
        "deployment/ferrolb-operator",
        "deployment/ferrolb-webhook",
    ] {
        kubectl
            .ok(
                &[
                    "rollout",
                    "status",
                    "-n",
                    NAMESPACE,
                    target,
                    "--timeout=180s",
                ],
                None,
            )
            .unwrap_or_else(|e| panic!("{target} did not roll out: {e}"));
    }
}
