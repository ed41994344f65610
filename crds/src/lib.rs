//! The metallb.io API of ferrolb, and the pure parsing both the operator and the webhook need.
//!
//! Every kind of MetalLB's API (group `metallb.io`) is a Rust type here, with the same field
//! names, defaults and ranges, so a user's MetalLB YAML applies and reads back unchanged. The
//! CustomResourceDefinitions are generated from these types ([`manifest`]) and checked in under
//! `helm/ferrolb/crds/`. [`address`] parses pool entries into ranges; [`advertisement`] is
//! what both kinds of advertisement target; [`annotations`] reads what a Service asks for;
//! [`service_class`] decides which Services ferrolb serves; [`sharing_scope`] whether Services
//! of different namespaces may share a pool's IP; [`pool_overlap`] which pool ranges share
//! addresses, for the operator's report and the webhook's denials; [`rules`] holds the rules
//! that need only the object, worded once for the webhook and the CRDs' CEL rules.
//! Nothing here does I/O.

pub mod address;
pub mod advertisement;
pub mod annotations;
pub mod bfdprofile;
pub mod bgpadvertisement;
pub mod bgppeer;
pub mod cached;
pub mod community;
pub mod community_value;
pub mod configurationstate;
pub mod duration;
pub mod ipaddresspool;
pub mod l2advertisement;
pub mod manifest;
pub mod pool_overlap;
pub mod resource;
pub mod rules;
pub mod selector;
pub mod service_class;
pub mod service_ingress;
pub mod servicestatus;
pub mod sharing_scope;
pub mod watch_backoff;

pub use address::{AddressError, AddressRange, Family};
pub use annotations::{Annotation, RequestError, ServiceRequest};
pub use bfdprofile::BFDProfile;
pub use bgpadvertisement::BGPAdvertisement;
pub use community::Community;
pub use configurationstate::ConfigurationState;
pub use ipaddresspool::IPAddressPool;
pub use l2advertisement::L2Advertisement;
pub use servicestatus::{ServiceBGPStatus, ServiceL2Status};

/// The namespace ferrolb is installed in by default, as MetalLB's.
pub const DEFAULT_NAMESPACE: &str = "metallb-system";

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", rules::pool::ADDRESS_IN_POOL_INVALID.fill(&[&.source.entry, .pool, &.source.reason]))]
    PoolAddress { pool: String, source: AddressError },
    #[error("cannot render the CustomResourceDefinitions as YAML: {0}")]
    RenderCrds(#[from] serde_yaml::Error),
}
