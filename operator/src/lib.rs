//! ferrolb's operator: it turns `EXTERNAL-IP <pending>` into an address.
//!
//! The [`allocator`] is a pure, synchronous core: pools and Services' demands in, assignments
//! out. [`service`] reads a Service object into a demand, and [`decision`] turns a Service, the
//! allocator and what the Service shows today into the write, events and condition it needs,
//! without I/O. The Kubernetes side only feeds and applies them: [`caches`] watches Services,
//! pools and namespaces; [`controller`] runs a [`reconciler`] while this replica holds the
//! leader [`election`] Lease, which hands the decided writes to the [`write_queue`] (carried
//! out by [`status_patch`]), events to [`events`] and pool usage to [`pool_status`], each call
//! admitted by the fence of its leader [`term`]; [`metrics`] serves MetalLB's allocator
//! metrics and the health endpoints. Failures of the edge are one [`Error`].

pub mod allocator;
pub mod caches;
pub mod controller;
pub mod decision;
pub mod election;
pub mod error;
pub mod events;
#[cfg(test)]
mod fake_api;
pub mod metrics;
pub mod pool_status;
pub mod reconciler;
pub mod service;
pub mod status_patch;
pub mod term;
pub mod write_queue;

pub use error::{Error, Result};
