//! The rules of every kind that need only the object itself, in one place for the webhook and
//! the CRDs. Each submodule gives a kind's messages as [`Wording`]s, which the webhook fills
//! and the parsers of this crate return, and the schemars transforms that add the same rules
//! to the generated CRD schema as CEL (`x-kubernetes-validations`, see [`cel`]), so the API
//! server refuses a malformed object with the webhook's words even while the webhook is down.
//!
//! Rules that need other objects (references to pools, peers, aliases and BFD profiles,
//! aggregation lengths against the selected pools, localPref conflicts, peers sharing a
//! session), entries listed twice and the syntax of label keys and values stay with the
//! webhook only; overlapping pools, which the operator reports too, are found by
//! [`crate::pool_overlap`].

pub mod advertisement;
pub mod bfd;
pub mod cel;
pub mod community;
pub mod peer;
pub mod pool;
pub mod selector;
pub mod wording;

pub use wording::Wording;

#[cfg(test)]
mod tests;
