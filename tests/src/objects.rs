//! Kubernetes objects written the way their usual authors write them, so that ferrolb meets
//! what it meets in a cluster: EndpointSlices as the endpoint-slice controller writes them,
//! and users' MetalLB configuration as they wrote it.

pub mod endpoint_slices;
pub mod seeds;
