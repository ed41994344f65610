//! ferrolb's operator: it turns `EXTERNAL-IP <pending>` into an address.
//!
//! The [`allocator`] is a pure, synchronous core: pools and Services' demands in, assignments
//! out. [`service`] reads a Service object into a demand and says what its status should be.
//! The Kubernetes side only feeds and applies them: [`controller`] watches Services, pools and
//! namespaces and writes Service status, annotations, events and pool status while this
//! replica holds the leader [`election`] Lease; [`metrics`] serves MetalLB's allocator metrics
//! and health endpoints.

pub mod allocator;
pub mod service;
