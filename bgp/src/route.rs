//! What the speaker chooses for each prefix it advertises.
//!
//! A [`Route`] holds only the per-prefix attributes a MetalLB `BGPAdvertisement` sets: local
//! preference and (large) communities. Next hop, origin and AS path belong to the session and
//! are added by the Adj-RIB-Out when it builds UPDATEs, so two prefixes with equal `Route`s share
//! one UPDATE.

use std::collections::BTreeSet;
use std::fmt;

/// A large community of RFC 8092: three 32-bit values, written `global:local1:local2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// The attributes advertised with one prefix, beyond those the session supplies.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// LOCAL_PREF, sent to internal peers only and only when set.
    pub local_pref: Option<u32>,
    /// RFC 1997 communities, each `(high 16 bits << 16) | low 16 bits`.
    pub communities: BTreeSet<u32>,
    pub large_communities: BTreeSet<LargeCommunity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_communities_display_as_three_colon_separated_numbers() {
        let community = LargeCommunity {
            global: 4_200_000_000,
            local1: 1,
            local2: 70_000,
        };
        assert_eq!(community.to_string(), "4200000000:1:70000");
    }

    #[test]
    fn routes_with_the_same_attributes_are_equal() {
        let a = Route {
            local_pref: Some(150),
            communities: [0xFDE8_0001, 0xFDE8_0002].into(),
            large_communities: BTreeSet::new(),
        };
        let b = Route {
            communities: [0xFDE8_0002, 0xFDE8_0001].into(),
            ..a.clone()
        };
        assert_eq!(a, b);
        assert_ne!(a, Route::default());
    }
}
