//! Who may share an IP of a pool: ferrolb's opt-in annotation `ferrolb.io/sharing-scope` on an
//! IPAddressPool, read the same way by the operator (which allocates by it) and the webhook
//! (which refuses a bad value and a Service that would break it).
//!
//! MetalLB lets any two Services that set the same `allow-shared-ip` key share an IP, whatever
//! their namespaces, so anyone who learns a key can join another team's IP. With
//! `ferrolb.io/sharing-scope: namespace` a pool's IPs are shared only between Services of one
//! namespace; `cluster`, or no annotation, keeps MetalLB's rule. It is an annotation because
//! MetalLB's CRD has no field for it: a pool carrying it still applies to MetalLB unchanged.
//!
//! Any other value is refused by the webhook. One that reaches the operator anyway (written
//! while the webhook was down, or before ferrolb was installed) is read as `namespace`
//! ([`SharingScope::FOR_UNKNOWN`]): a misspelt restriction restricts rather than opens the
//! pool to every namespace, and splitting a shared IP costs an IP, not a team's traffic.

use crate::IPAddressPool;

/// The annotation on an IPAddressPool.
pub const ANNOTATION: &str = "ferrolb.io/sharing-scope";

/// Which Services may share an IP of a pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SharingScope {
    /// MetalLB's rule: Services of any namespace with the same sharing key (the default).
    #[default]
    Cluster,
    /// Only Services of one namespace with the same sharing key.
    Namespace,
}

/// An annotation value that is neither `namespace` nor `cluster`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "IPAddressPool {pool:?}: annotation {ANNOTATION} is {value:?}; use \"namespace\" (Services share an IP only within one namespace) or \"cluster\" (any namespace, as MetalLB), or remove it"
)]
pub struct UnknownScope {
    pub pool: String,
    pub value: String,
}

impl SharingScope {
    /// What the operator allocates by when the value is unknown: the restriction.
    pub const FOR_UNKNOWN: SharingScope = SharingScope::Namespace;

    /// The annotation value naming this scope.
    pub fn as_str(self) -> &'static str {
        match self {
            SharingScope::Cluster => "cluster",
            SharingScope::Namespace => "namespace",
        }
    }

    /// The scope an annotation value names, exactly as written (as Kubernetes enums are).
    pub fn parse(value: &str) -> Option<Self> {
        [SharingScope::Cluster, SharingScope::Namespace]
            .into_iter()
            .find(|scope| scope.as_str() == value)
    }

    /// The scope of a pool: its annotation, or [`SharingScope::Cluster`] without one.
    pub fn of_pool(pool: &IPAddressPool) -> Result<Self, UnknownScope> {
        let Some(value) = pool
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION))
        else {
            return Ok(SharingScope::Cluster);
        };
        Self::parse(value).ok_or_else(|| UnknownScope {
            pool: pool.name().to_owned(),
            value: value.clone(),
        })
    }

    /// Whether Services of namespaces `a` and `b` may share an IP under this scope (their
    /// other sharing terms aside).
    pub fn admits(self, a: &str, b: &str) -> bool {
        self == SharingScope::Cluster || a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipaddresspool::IPAddressPoolSpec;

    fn pool(annotation: Option<&str>) -> IPAddressPool {
        let mut pool = IPAddressPool::new("shared", IPAddressPoolSpec::default());
        pool.metadata.annotations =
            annotation.map(|value| [(ANNOTATION.to_owned(), value.to_owned())].into());
        pool
    }

    #[test]
    fn a_pool_without_the_annotation_shares_across_namespaces_as_metallb() {
        assert_eq!(
            SharingScope::of_pool(&pool(None)),
            Ok(SharingScope::Cluster)
        );
        assert!(SharingScope::Cluster.admits("team-a", "team-b"));
    }

    #[test]
    fn both_values_are_read() {
        assert_eq!(
            SharingScope::of_pool(&pool(Some("namespace"))),
            Ok(SharingScope::Namespace)
        );
        assert_eq!(
            SharingScope::of_pool(&pool(Some("cluster"))),
            Ok(SharingScope::Cluster)
        );
    }

    #[test]
    fn the_namespace_scope_admits_only_one_namespace() {
        assert!(SharingScope::Namespace.admits("team-a", "team-a"));
        assert!(!SharingScope::Namespace.admits("team-a", "team-b"));
    }

    #[test]
    fn any_other_value_is_refused_naming_the_pool_and_the_value() {
        for value in ["Namespace", " namespace", "", "tenant"] {
            let err = SharingScope::of_pool(&pool(Some(value))).unwrap_err();
            assert_eq!(
                err,
                UnknownScope {
                    pool: "shared".into(),
                    value: value.into()
                }
            );
            assert!(
                err.to_string().starts_with(&format!(
                    "IPAddressPool \"shared\": annotation ferrolb.io/sharing-scope is {value:?}; use \"namespace\""
                )),
                "{err}"
            );
        }
    }
}
