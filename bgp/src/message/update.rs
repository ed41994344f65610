//! UPDATE messages (RFC 4271 §4.3).

use super::attribute::Attribute;
use crate::prefix::Prefix;

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// IPv4 prefixes withdrawn; IPv6 ones travel in [`Attribute::MpUnreach`].
    pub withdrawn: Vec<Prefix>,
    pub attributes: Vec<Attribute>,
    /// IPv4 prefixes announced; IPv6 ones travel in [`Attribute::MpReach`].
    pub nlri: Vec<Prefix>,
}
