//! Kubernetes objects written the way their usual authors write them, so that ferrolb meets
//! what it meets in a cluster: EndpointSlices as the endpoint-slice controller writes them,
//! users' MetalLB configuration as they wrote it, and the Services the benchmarks create by
//! the thousand.

pub mod endpoint_slices;
pub mod scale_services;
pub mod seeds;
