//! The LoadBalancer Services the operator benchmarks create by the thousand: IPv6 SingleStack,
//! without node ports (so the node port range sets no limit), one TCP port; and the control
//! plane they are created on, with the CRDs, their namespace and one IPv6 pool.

use k8s_openapi::api::core::v1::Service;

use crate::ControlPlane;
use serde_json::json;

/// Service `namespace/name` as the benchmarks create it.
pub fn ipv6_load_balancer(namespace: &str, name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "LoadBalancer",
            "ipFamilies": ["IPv6"],
            "ipFamilyPolicy": "SingleStack",
            "allocateLoadBalancerNodePorts": false,
            "ports": [{"port": 80, "protocol": "TCP"}]
        }
    }))
    .expect("the Service is well formed")
}

/// A control plane of its own with the CRDs, `metallb-system`, `namespace`, and an
/// IPAddressPool `pool` of `cidr` (allocation only: nothing is ever sent to these addresses).
pub async fn control_plane_with_pool(namespace: &str, pool: &str, cidr: &str) -> ControlPlane {
    let control_plane = tokio::task::spawn_blocking(|| ControlPlane::start().unwrap())
        .await
        .unwrap();
    control_plane.install_crds().unwrap();
    let kubectl = control_plane.kubectl();
    kubectl.ensure_namespace("metallb-system").unwrap();
    kubectl.ensure_namespace(namespace).unwrap();
    let yaml = format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {pool}, namespace: metallb-system}}\nspec:\n  addresses: [{cidr}]\n"
    );
    kubectl.ok(&["apply", "-f", "-"], Some(&yaml)).unwrap();
    control_plane
}
