//! What a Service asks of the allocator ([`Demand`]), in the allocator's own terms, and why a
//! demand cannot be met ([`Refusal`], whose [`Reason`] becomes the reason of the Service's
//! `metallb.io/IPAllocated` condition).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ferrolb_crds::address::Family;

use super::pool::Audience;
use super::sharing::Sharing;

/// How many IP families a Service wants, from its `spec.ipFamilyPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FamilyPolicy {
    SingleStack,
    PreferDualStack,
    RequireDualStack,
}

/// One Service's request, as the allocator needs it.
#[derive(Clone, Debug)]
pub struct Demand {
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub namespace_labels: BTreeMap<String, String>,
    pub service_labels: BTreeMap<String, String>,
    pub policy: FamilyPolicy,
    /// The Service's IP families, primary first.
    pub families: Vec<Family>,
    /// Specific IPs asked for (annotation or spec.loadBalancerIP).
    pub ips: Vec<IpAddr>,
    /// A pool asked for by name.
    pub pool: Option<String>,
    pub sharing: Sharing,
}

/// Why a demand is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The request is malformed or contradicts itself or the Service.
    InvalidRequest,
    /// The named pool does not exist.
    UnknownPool,
    /// A requested IP is in no pool.
    NotInAnyPool,
    /// A requested IP is held by a Service it may not share with.
    SharingConflict,
    /// The pools that may serve the Service have no free address.
    PoolExhausted,
    /// No pool may serve the Service automatically.
    NoMatchingPool,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidRequest => "InvalidRequest",
            Reason::UnknownPool => "UnknownPool",
            Reason::NotInAnyPool => "NotInAnyPool",
            Reason::SharingConflict => "SharingConflict",
            Reason::PoolExhausted => "PoolExhausted",
            Reason::NoMatchingPool => "NoMatchingPool",
        }
    }
}

/// A refused demand: the reason code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: Reason, message: String) -> Self {
        Self { reason, message }
    }

    pub fn invalid(message: String) -> Self {
        Self::new(Reason::InvalidRequest, message)
    }

    pub fn unknown_pool(name: &str) -> Self {
        Self::new(
            Reason::UnknownPool,
            format!("IPAddressPool {name:?} does not exist"),
        )
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Demand {
    pub fn audience(&self) -> Audience<'_> {
        Audience {
            namespace: &self.namespace,
            namespace_labels: &self.namespace_labels,
            service_labels: &self.service_labels,
        }
    }

    /// The sets of families to try, in order: both for dual-stack, and for PreferDualStack
    /// then each family alone, primary first.
    pub fn family_attempts(&self) -> Vec<Vec<Family>> {
        let primary = self.families.first().copied().unwrap_or(Family::V4);
        let both = || {
            let mut both = self.families.clone();
            for f in [Family::V4, Family::V6] {
                if !both.contains(&f) {
                    both.push(f);
                }
            }
            both
        };
        match self.policy {
            FamilyPolicy::SingleStack => vec![vec![primary]],
            FamilyPolicy::RequireDualStack => vec![both()],
            FamilyPolicy::PreferDualStack => {
                let both = both();
                let mut attempts = vec![both.clone()];
                attempts.extend(both.into_iter().map(|f| vec![f]));
                attempts
            }
        }
    }

    /// "IPv4", "IPv6" or "IPv4 and IPv6", for messages.
    pub fn families_text(&self) -> String {
        match self.policy {
            FamilyPolicy::SingleStack => self
                .families
                .first()
                .copied()
                .unwrap_or(Family::V4)
                .to_string(),
            _ => "IPv4 and IPv6".to_owned(),
        }
    }

    /// Requested IPs must fit the Service's families and family policy.
    pub fn check_requested_families(&self) -> Result<(), Refusal> {
        if let Some(ip) = self
            .ips
            .iter()
            .find(|ip| !self.families.contains(&Family::of(**ip)))
        {
            return Err(Refusal::invalid(format!(
                "requested IP {ip} is {} but the Service's ipFamilies are {}",
                Family::of(*ip),
                self.families
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        match (self.policy, self.ips.len()) {
            (FamilyPolicy::SingleStack, n) if n > 1 => Err(Refusal::invalid(format!(
                "{n} IPs are requested but the Service is SingleStack; request one, or set ipFamilyPolicy"
            ))),
            (FamilyPolicy::RequireDualStack, 1) => Err(Refusal::invalid(
                "one IP is requested but the Service is RequireDualStack; request one IPv4 and one IPv6".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}
