//! `ServiceL2Status` and `ServiceBGPStatus` (metallb.io/v1beta1): written by the speakers to
//! say which node announces which Service, and how. Read by users and tools, never as input.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind};

metallb_kind! {
    /// ServiceL2Status reports the node that announces a Service's IPs via Layer 2.
    pub struct ServiceL2Status {
        version: "v1beta1",
        plural: "servicel2statuses",
        #[serde(default)]
        spec: ServiceStatusSpec,
        status: ServiceL2StatusStatus,
        columns: [
            column("Allocated Node", "string", ".status.node"),
            column("Service Name", "string", ".status.serviceName"),
            column("Service Namespace", "string", ".status.serviceNamespace"),
        ],
    }
}

metallb_kind! {
    /// ServiceBGPStatus reports a node that advertises a Service's IPs via BGP, and to whom.
    pub struct ServiceBGPStatus {
        version: "v1beta1",
        plural: "servicebgpstatuses",
        #[serde(default)]
        spec: ServiceStatusSpec,
        status: ServiceBGPStatusStatus,
        columns: [
            column("Node", "string", ".status.node"),
            column("Service Name", "string", ".status.serviceName"),
            column("Service Namespace", "string", ".status.serviceNamespace"),
        ],
    }
}

/// The spec of the status kinds is empty: everything is in status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceStatusSpec {}

/// Where a Service's traffic is directed in Layer 2 mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceL2StatusStatus {
    /// The node that receives the directed traffic.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// The Service this status represents.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// The namespace of the Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_namespace: String,
    /// The interfaces that receive the directed traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<InterfaceInfo>,
}

/// A network interface of the announcing node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceInfo {
    /// The name of the network interface.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// What one node advertises for a Service in BGP mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBGPStatusStatus {
    /// The node announcing the Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// The Service this status represents.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// The namespace of the Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_namespace: String,
    /// The BGPPeers the Service is configured to be advertised to; whether a route actually
    /// reached a peer depends on its session state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}
