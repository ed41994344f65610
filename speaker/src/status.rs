//! What users see of the announcements: a ServiceL2Status per announced Service naming the
//! node and interfaces, written by the owner and removed when it stops owning; a
//! ServiceBGPStatus per (Service, node) naming the peers the node advertises it to; and a
//! `nodeAssigned` event on the Service each time a node starts announcing it.
//!
//! One writer serves both kinds through [`StatusKind`]. ServiceL2Status objects are named
//! after the Service (`l2-<namespace>.<name>`, unambiguous since neither part may hold a
//! dot), so a new owner overwrites the old owner's object instead of leaving a second one;
//! ServiceBGPStatus objects add the node (`bgp-<namespace>.<name>.<node>`), since every
//! advertising node has its own. A withdrawal deletes only the version this node wrote.
//!
//! [`StatusWriter`] makes the API calls for one kind; [`publish_status`] (started through
//! [`StatusPublisher`]) keeps the objects in line with the [`DesiredStatus`] the Layer 2 loop
//! or the BGP loop hands it, retrying failed writes, and withdraws everything on shutdown.

mod publisher;
mod writer;

use ferrolb_crds::servicestatus::{InterfaceInfo, ServiceBGPStatusStatus, ServiceL2StatusStatus};
use ferrolb_crds::{ServiceBGPStatus, ServiceL2Status};
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::ServiceKey;
pub use publisher::{DesiredStatus, StatusPublisher, publish_status};
pub use writer::StatusWriter;
pub(crate) use writer::event_recorder;

/// Labels of MetalLB's status objects.
pub const NODE_LABEL: &str = "metallb.io/node";
pub const SERVICE_NAME_LABEL: &str = "metallb.io/service-name";
pub const SERVICE_NAMESPACE_LABEL: &str = "metallb.io/service-namespace";

/// The name of the ServiceL2Status of a Service.
pub fn status_name(key: &ServiceKey) -> String {
    format!("l2-{}.{}", key.namespace, key.name)
}

/// The name of the ServiceBGPStatus of a Service on a node; a name too long for the API is
/// shortened with a hash of the node name in place of its tail.
pub fn bgp_status_name(key: &ServiceKey, node: &str) -> String {
    let name = format!("bgp-{}.{}.{node}", key.namespace, key.name);
    if name.len() <= 253 {
        return name;
    }
    let hash = node.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut short = name[..236].trim_end_matches(['.', '-']).to_owned();
    short.push_str(&format!(".{hash:016x}"));
    short
}

/// A status kind the speaker publishes per Service: its name, and how one is written.
pub trait StatusKind:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The protocol named in `nodeAssigned` events: `layer2` or `bgp`.
    const PROTOCOL: &'static str;
    fn object_name(key: &ServiceKey, node: &str) -> String;
    /// The object with labels only, for the metadata write.
    fn empty(name: &str) -> Self;
    /// Sets the status: the node, the Service, and the interfaces or peers.
    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]);
    fn node(&self) -> Option<&str>;
}

impl StatusKind for ServiceL2Status {
    const PROTOCOL: &'static str = "layer2";

    fn object_name(key: &ServiceKey, _node: &str) -> String {
        status_name(key)
    }

    fn empty(name: &str) -> Self {
        ServiceL2Status::new(name, Default::default())
    }

    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]) {
        self.status = Some(ServiceL2StatusStatus {
            node: node.into(),
            service_name: key.name.clone(),
            service_namespace: key.namespace.clone(),
            interfaces: detail
                .iter()
                .map(|n| InterfaceInfo { name: n.clone() })
                .collect(),
        });
    }

    fn node(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.node.as_str())
    }
}

impl StatusKind for ServiceBGPStatus {
    const PROTOCOL: &'static str = "bgp";

    fn object_name(key: &ServiceKey, node: &str) -> String {
        bgp_status_name(key, node)
    }

    fn empty(name: &str) -> Self {
        ServiceBGPStatus::new(name, Default::default())
    }

    fn set_status(&mut self, node: &str, key: &ServiceKey, detail: &[String]) {
        self.status = Some(ServiceBGPStatusStatus {
            node: node.into(),
            service_name: key.name.clone(),
            service_namespace: key.namespace.clone(),
            peers: detail.to_vec(),
        });
    }

    fn node(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.node.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_cannot_collide_across_namespaces() {
        let a = ServiceKey {
            namespace: "a-b".into(),
            name: "c".into(),
        };
        let b = ServiceKey {
            namespace: "a".into(),
            name: "b-c".into(),
        };
        assert_eq!(status_name(&a), "l2-a-b.c");
        assert_ne!(status_name(&a), status_name(&b));
    }

    #[test]
    fn bgp_status_names_carry_the_node_and_fit_the_api() {
        let key = ServiceKey {
            namespace: "web".into(),
            name: "front".into(),
        };
        assert_eq!(bgp_status_name(&key, "node-a"), "bgp-web.front.node-a");
        let long_node = "n".repeat(250);
        let other_node = format!("{}m", "n".repeat(249));
        let long = bgp_status_name(&key, &long_node);
        assert!(long.len() <= 253, "{}", long.len());
        assert_ne!(long, bgp_status_name(&key, &other_node));
    }
}
