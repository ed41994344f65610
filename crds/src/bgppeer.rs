//! `BGPPeer`: a BGP session the speakers open to a router. Served in v1beta2 (stored) and in
//! the deprecated v1beta1, whose node selectors have their own shape; the webhook converts
//! between them. [`md5_password_problem`] is the one limit of a password, the kernel's.

use k8s_openapi::api::core::v1::SecretReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind};

/// The longest TCP MD5 password (RFC 2385) a session can use, in bytes: Linux's
/// `TCP_MD5SIG_MAXKEYLEN`, the size of the key in `struct tcp_md5sig`.
pub const MD5_PASSWORD_MAX_BYTES: usize = 80;

/// Why `password` cannot protect a session, if it is longer than the kernel takes; the
/// password itself is never quoted.
pub fn md5_password_problem(password: &str) -> Option<String> {
    let bytes = password.len();
    (bytes > MD5_PASSWORD_MAX_BYTES).then(|| {
        format!(
            "is {bytes} bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most {MD5_PASSWORD_MAX_BYTES} bytes"
        )
    })
}

/// The current, stored version of BGPPeer.
pub mod v1beta2 {
    use super::*;

    metallb_kind! {
        /// BGPPeer is the Schema for the peers API: one BGP session per matching node.
        pub struct BGPPeer {
            version: "v1beta2",
            plural: "bgppeers",
            spec: BGPPeerSpec,
            status: BGPPeerStatus,
            columns: [
                column("Address", "string", ".spec.peerAddress"),
                column("ASN", "string", ".spec.peerASN"),
                column("BFD Profile", "string", ".spec.bfdProfile"),
                column("Multi Hops", "string", ".spec.ebgpMultiHop"),
            ],
        }
    }

    /// BGPPeerSpec defines the desired state of a BGP session.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(transform = crate::rules::peer::v1beta2_spec)]
    pub struct BGPPeerSpec {
        /// AS number to use for the local end of the session.
        #[serde(rename = "myASN")]
        #[schemars(range(max = 4294967295u32))]
        pub my_asn: u32,

        /// AS number to expect from the remote end of the session. peerASN and dynamicASN are
        /// mutually exclusive and one of them must be specified.
        #[serde(rename = "peerASN", default, skip_serializing_if = "is_zero")]
        #[schemars(range(max = 4294967295u32))]
        pub peer_asn: u32,

        /// Advertises a different local AS number to this peer (BGP local-as). Not supported
        /// by the native speaker.
        #[serde(rename = "localASN", default, skip_serializing_if = "is_zero")]
        #[schemars(range(max = 4294967295u32))]
        pub local_asn: u32,

        /// Detects the peer's AS number instead of setting peerASN: `internal` accepts only
        /// a peer with myASN, `external` only a peer with another AS number.
        #[serde(
            rename = "dynamicASN",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        pub dynamic_asn: Option<DynamicAsnMode>,

        /// Address to dial when establishing the session. peerAddress and interface are
        /// mutually exclusive and one of them must be specified.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub peer_address: String,

        /// The node interface over which an unnumbered BGP session is established.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub interface: String,

        /// Source address to use when establishing the session.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub source_address: String,

        /// Port to dial when establishing the session (default 179).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 16384), extend("default" = 179))]
        pub peer_port: Option<u16>,

        /// Requested BGP hold time, per RFC 4271, as a duration such as `90s`. 0 disables
        /// keepalives; otherwise at least 3s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hold_time: Option<String>,

        /// Requested BGP keepalive time, per RFC 4271, as a duration such as `30s`; not more
        /// than holdTime.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keepalive_time: Option<String>,

        /// How long to wait between connection attempts to the peer, a whole number of
        /// seconds from 1s to 65535s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub connect_time: Option<String>,

        /// BGP router ID to advertise to the peer (an IPv4 address).
        #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
        pub router_id: String,

        /// Only open this session on nodes that match one of these selectors.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub node_selectors: Vec<LabelSelector>,

        /// Password for routers enforcing TCP MD5 authenticated sessions.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub password: String,

        /// A Secret of type `kubernetes.io/basic-auth`, in ferrolb's namespace, whose
        /// `password` key holds the TCP MD5 password. Mutually exclusive with password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub password_secret: Option<SecretReference>,

        /// The name of the BFDProfile for the BFD session tied to this BGP session. Without
        /// it, no BFD session is set up.
        #[serde(
            rename = "bfdProfile",
            default,
            skip_serializing_if = "String::is_empty"
        )]
        pub bfd_profile: String,

        /// Lets the peer keep forwarding along known routes while the session restarts.
        #[serde(default, skip_serializing_if = "is_false")]
        pub enable_graceful_restart: bool,

        /// The peer is more than one hop away (eBGP multi-hop): outgoing packets get a TTL of
        /// 255 instead of 1.
        #[serde(rename = "ebgpMultiHop", default, skip_serializing_if = "is_false")]
        pub ebgp_multi_hop: bool,

        /// The host VRF whose interface the session uses.
        #[serde(rename = "vrf", default, skip_serializing_if = "String::is_empty")]
        pub vrf: String,

        /// Deprecated in favour of dualStackAddressFamily: separate IPv4 and IPv6 route
        /// exchange into distinct sessions.
        #[serde(rename = "disableMP", default, skip_serializing_if = "is_false")]
        #[schemars(extend("default" = false))]
        pub disable_mp: bool,

        /// Exchange both IPv4 and IPv6 prefixes over this session, whatever its address
        /// family.
        #[serde(default, skip_serializing_if = "is_false")]
        #[schemars(extend("default" = false))]
        pub dual_stack_address_family: bool,
    }

    /// How the peer's AS number is detected when peerASN is not set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DynamicAsnMode {
        /// The peer must use myASN (iBGP).
        Internal,
        /// The peer must use an AS number other than myASN (eBGP).
        External,
    }

    /// BGPPeerStatus is empty; session state is in metrics and ServiceBGPStatus.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    pub struct BGPPeerStatus {}
}

/// The deprecated version of BGPPeer, still served.
pub mod v1beta1 {
    use super::*;

    metallb_kind! {
        /// BGPPeer is the Schema for the peers API (deprecated version).
        pub struct BGPPeer {
            version: "v1beta1",
            plural: "bgppeers",
            spec: BGPPeerSpec,
            status: super::v1beta2::BGPPeerStatus,
            columns: [
                column("Address", "string", ".spec.peerAddress"),
                column("ASN", "string", ".spec.peerASN"),
                column("BFD Profile", "string", ".spec.bfdProfile"),
                column("Multi Hops", "string", ".spec.ebgpMultiHop"),
            ],
            deprecation: "metallb.io/v1beta1 BGPPeer is deprecated, please use metallb.io/v1beta2",
        }
    }

    /// BGPPeerSpec defines the desired state of a BGP session (deprecated version).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(transform = crate::rules::peer::v1beta1_spec)]
    pub struct BGPPeerSpec {
        /// AS number to use for the local end of the session.
        #[serde(rename = "myASN")]
        #[schemars(range(max = 4294967295u32))]
        pub my_asn: u32,
        /// AS number to expect from the remote end of the session.
        #[serde(rename = "peerASN")]
        #[schemars(range(max = 4294967295u32))]
        pub peer_asn: u32,
        /// Address to dial when establishing the session.
        pub peer_address: String,
        /// Source address to use when establishing the session.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub source_address: String,
        /// Port to dial when establishing the session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0, max = 16384))]
        pub peer_port: Option<u16>,
        /// Requested BGP hold time, per RFC 4271.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hold_time: Option<String>,
        /// Requested BGP keepalive time, per RFC 4271.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub keepalive_time: Option<String>,
        /// BGP router ID to advertise to the peer.
        #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
        pub router_id: String,
        /// Only connect to this peer on nodes that match one of these selectors.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub node_selectors: Vec<NodeSelector>,
        /// Authentication password for routers enforcing TCP MD5 authenticated sessions.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub password: String,
        /// The name of the BFDProfile for the BFD session tied to this BGP session.
        #[serde(
            rename = "bfdProfile",
            default,
            skip_serializing_if = "String::is_empty"
        )]
        pub bfd_profile: String,
        /// The peer is more than one hop away.
        #[serde(rename = "ebgpMultiHop", default, skip_serializing_if = "is_false")]
        pub ebgp_multi_hop: bool,
    }

    /// The v1beta1 node selector: labels and expressions, as in a label selector.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct NodeSelector {
        /// Labels the node must carry.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        pub match_labels: std::collections::BTreeMap<String, String>,
        /// Expressions the node's labels must satisfy.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub match_expressions: Vec<MatchExpression>,
    }

    /// One requirement on a node's labels.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    pub struct MatchExpression {
        /// The label key.
        pub key: String,
        /// In, NotIn, Exists or DoesNotExist.
        pub operator: String,
        /// The values for In and NotIn.
        #[schemars(length(min = 1))]
        pub values: Vec<String>,
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod md5_password_tests {
    use super::*;

    #[test]
    fn a_password_of_up_to_80_bytes_fits() {
        assert_eq!(md5_password_problem(""), None);
        assert_eq!(md5_password_problem(&"x".repeat(80)), None);
    }

    #[test]
    fn a_longer_password_is_refused_with_its_length_in_bytes() {
        assert_eq!(
            md5_password_problem(&"x".repeat(81)).as_deref(),
            Some(
                "is 81 bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most 80 bytes"
            )
        );
        // 41 characters, 82 bytes: the kernel counts bytes.
        let accented = "é".repeat(41);
        let problem = md5_password_problem(&accented).unwrap();
        assert!(problem.starts_with("is 82 bytes long"), "{problem}");
    }
}
