//! The Service annotations users write to steer allocation (`metallb.io/loadBalancerIPs`,
//! `metallb.io/address-pool`, `metallb.io/allow-shared-ip`) and the one the operator writes
//! back (`metallb.io/ip-allocated-from-pool`), read under the stable `metallb.io/` prefix and
//! the older `metallb.universe.tf/` one.
//!
//! [`ServiceRequest::parse`] turns a Service's annotations and `spec.loadBalancerIP` into what
//! the Service asks for, or a [`RequestError`] naming the key and the value at fault; the
//! operator and the webhook both use it, so they never disagree on what a Service means.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::address::Family;

/// The prefix MetalLB uses today.
pub const STABLE_PREFIX: &str = "metallb.io/";
/// The prefix of MetalLB before v0.13, still read; the stable prefix wins when both are set.
pub const LEGACY_PREFIX: &str = "metallb.universe.tf/";

/// The annotations ferrolb understands, by their name after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Annotation {
    /// `loadBalancerIPs`: one IP, or one IPv4 and one IPv6, comma-separated.
    LoadBalancerIps,
    /// `address-pool`: the pool to allocate from.
    AddressPool,
    /// `allow-shared-ip`: the sharing key; Services with the same key may share an IP.
    AllowSharedIp,
    /// `ip-allocated-from-pool`: written by the operator, the pool the IP came from.
    IpAllocatedFromPool,
}

impl Annotation {
    pub const ALL: [Annotation; 4] = [
        Annotation::LoadBalancerIps,
        Annotation::AddressPool,
        Annotation::AllowSharedIp,
        Annotation::IpAllocatedFromPool,
    ];

    /// The name after the prefix.
    pub fn name(self) -> &'static str {
        match self {
            Annotation::LoadBalancerIps => "loadBalancerIPs",
            Annotation::AddressPool => "address-pool",
            Annotation::AllowSharedIp => "allow-shared-ip",
            Annotation::IpAllocatedFromPool => "ip-allocated-from-pool",
        }
    }

    /// The key under the stable prefix, e.g. `metallb.io/address-pool`.
    pub fn key(self) -> String {
        format!("{STABLE_PREFIX}{}", self.name())
    }

    /// The key under the legacy prefix, e.g. `metallb.universe.tf/address-pool`.
    pub fn legacy_key(self) -> String {
        format!("{LEGACY_PREFIX}{}", self.name())
    }

    /// The value and the key it was found under: the stable key first, then the legacy one.
    pub fn lookup(self, annotations: &BTreeMap<String, String>) -> Option<Found<'_>> {
        let stable = self.key();
        if let Some(value) = annotations.get(&stable) {
            return Some(Found {
                value,
                key: stable,
                legacy: false,
            });
        }
        let legacy = self.legacy_key();
        annotations.get(&legacy).map(|value| Found {
            value,
            key: legacy,
            legacy: true,
        })
    }
}

/// An annotation value and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub value: &'a str,
    /// The full key it was read from.
    pub key: String,
    /// Whether it was read from the legacy `metallb.universe.tf/` key only.
    pub legacy: bool,
}

/// A legacy annotation a Service still uses, and the key that replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deprecation {
    pub legacy_key: String,
    pub replacement: String,
}

/// Where the requested IPs came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpSource {
    /// An annotation, by its full key.
    Annotation(String),
    /// `spec.loadBalancerIP`.
    SpecField,
}

impl std::fmt::Display for IpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpSource::Annotation(key) => f.write_str(key),
            IpSource::SpecField => f.write_str("spec.loadBalancerIP"),
        }
    }
}

/// What a Service asks of the allocator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRequest {
    /// Specific IPs asked for: none, one, or one of each family.
    pub ips: Vec<IpAddr>,
    /// Where `ips` came from, when there are any.
    pub ip_source: Option<IpSource>,
    /// The pool asked for by name.
    pub pool: Option<String>,
    /// The sharing key; Services with the same key may share an IP.
    pub sharing_key: Option<String>,
    /// Legacy annotations in use, to warn about.
    pub deprecations: Vec<Deprecation>,
}

/// Why a Service's request cannot be understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("{field} {value:?} is invalid: {entry:?} is not an IP address")]
    NotAnIp {
        field: IpSource,
        value: String,
        entry: String,
    },
    #[error("{field} {value:?} is invalid: it has an empty entry")]
    EmptyEntry { field: IpSource, value: String },
    #[error(
        "{field} {value:?} lists {count} addresses; at most two are allowed, one IPv4 and one IPv6"
    )]
    TooMany {
        field: IpSource,
        value: String,
        count: usize,
    },
    #[error(
        "{field} {value:?} lists two {family} addresses; two addresses must be one IPv4 and one IPv6"
    )]
    SameFamily {
        field: IpSource,
        value: String,
        family: Family,
    },
    #[error("both {annotation} and spec.loadBalancerIP are set; set only {annotation}")]
    BothIpFields { annotation: String },
    #[error("{key} is set but empty; remove it or name a pool")]
    EmptyPool { key: String },
}

impl ServiceRequest {
    /// Reads what a Service asks for from its annotations and `spec.loadBalancerIP`.
    pub fn parse(
        annotations: &BTreeMap<String, String>,
        spec_load_balancer_ip: Option<&str>,
    ) -> Result<Self, RequestError> {
        let mut request = ServiceRequest::default();
        for annotation in [
            Annotation::LoadBalancerIps,
            Annotation::AddressPool,
            Annotation::AllowSharedIp,
        ] {
            if let Some(found) = annotation.lookup(annotations)
                && found.legacy
            {
                request.deprecations.push(Deprecation {
                    legacy_key: found.key.clone(),
                    replacement: annotation.key(),
                });
            }
        }

        let spec_ip = spec_load_balancer_ip
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (Annotation::LoadBalancerIps.lookup(annotations), spec_ip) {
            (Some(found), Some(_)) => {
                return Err(RequestError::BothIpFields {
                    annotation: found.key,
                });
            }
            (Some(found), None) => {
                let source = IpSource::Annotation(found.key.clone());
                request.ips = parse_ip_list(found.value, &source)?;
                request.ip_source = Some(source);
            }
            (None, Some(ip)) => {
                request.ips = parse_ip_list(ip, &IpSource::SpecField)?;
                request.ip_source = Some(IpSource::SpecField);
            }
            (None, None) => {}
        }

        if let Some(found) = Annotation::AddressPool.lookup(annotations) {
            let pool = found.value.trim();
            if pool.is_empty() {
                return Err(RequestError::EmptyPool { key: found.key });
            }
            request.pool = Some(pool.to_owned());
        }
        request.sharing_key = Annotation::AllowSharedIp
            .lookup(annotations)
            .map(|found| found.value.trim().to_owned())
            .filter(|key| !key.is_empty());
        Ok(request)
    }
}

/// Parses a comma-separated list of at most one IPv4 and one IPv6 address.
fn parse_ip_list(value: &str, source: &IpSource) -> Result<Vec<IpAddr>, RequestError> {
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    if entries.iter().any(|e| e.is_empty()) {
        return Err(RequestError::EmptyEntry {
            field: source.clone(),
            value: value.to_owned(),
        });
    }
    if entries.len() > 2 {
        return Err(RequestError::TooMany {
            field: source.clone(),
            value: value.to_owned(),
            count: entries.len(),
        });
    }
    let ips = entries
        .iter()
        .map(|entry| {
            entry.parse::<IpAddr>().map_err(|_| RequestError::NotAnIp {
                field: source.clone(),
                value: value.to_owned(),
                entry: (*entry).to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let [a, b] = ips[..]
        && Family::of(a) == Family::of(b)
    {
        return Err(RequestError::SameFamily {
            field: source.clone(),
            value: value.to_owned(),
            family: Family::of(a),
        });
    }
    Ok(ips)
}

#[cfg(test)]
mod tests;
