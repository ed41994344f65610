//! ferrolb's operator: it turns `EXTERNAL-IP <pending>` into an address.
//!
//! The [`allocator`] is a pure, synchronous core: pools and Services' demands in, assignments
//! out. [`service`] reads a Service object into a demand and says what its status should be.
//! The Kubernetes side only feeds and applies them: [`caches`] watches Services, pools and
//! namespaces; [`controller`] runs a [`reconciler`] while this replica holds the leader
//! [`election`] Lease, which carries out its decisions through [`writer`] and [`writes`], each
//! write admitted by the fence of its leader [`term`]; [`metrics`] serves MetalLB's allocator
//! metrics and the health endpoints.

pub mod allocator;
pub mod caches;
pub mod controller;
pub mod election;
pub mod metrics;
pub mod reconciler;
pub mod service;
pub mod term;
pub mod writer;
pub mod writes;
