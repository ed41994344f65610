//! The LoadBalancer Services the operator benchmarks create by the thousand: IPv6 SingleStack,
//! without node ports (so the node port range sets no limit), one TCP port.

use k8s_openapi::api::core::v1::Service;
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
