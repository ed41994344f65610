//! When two Services may share one IP (`metallb.io/allow-shared-ip`), as MetalLB defines it:
//! the same non-empty sharing key, the same externalTrafficPolicy (with `Local`, the same pod
//! selector, so both reach the same pods from the announcing node), and no port used by both
//! with the same protocol. Beyond MetalLB, a pool with `ferrolb.io/sharing-scope: namespace`
//! lets only Services of one namespace share ([`within_scope`]).

use std::collections::{BTreeMap, BTreeSet};

use ferrolb_crds::sharing_scope::{self, SharingScope};

/// What of a Service matters for sharing its IP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sharing {
    /// The `allow-shared-ip` key; `None` never shares.
    pub key: Option<String>,
    /// `(protocol, port)` pairs the Service exposes.
    pub ports: BTreeSet<(String, i32)>,
    /// The pod selector when externalTrafficPolicy is `Local`; `None` for `Cluster`.
    pub local_selector: Option<BTreeMap<String, String>>,
}

/// Why an IP held by Service `them` cannot be shared with another Service (`me`), worded to
/// follow "IP ... is not available: " or "... cannot stay: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("it is in use by {them} with allow-shared-ip key {theirs:?}, not {ours:?}")]
    OtherKey {
        them: String,
        theirs: String,
        ours: String,
    },
    #[error(
        "it is in use by {them}; Services share an IP only when both set the same allow-shared-ip key"
    )]
    NoKey { them: String },
    #[error("it is in use by {them}, which does not set allow-shared-ip")]
    TheyHaveNoKey { them: String },
    #[error(
        "it is in use by {them}; both use externalTrafficPolicy Local but select different pods"
    )]
    OtherPods { them: String },
    #[error("it is in use by {them} with a different externalTrafficPolicy")]
    OtherTrafficPolicy { them: String },
    #[error("it is in use by {them}, which also uses port {port}/{protocol}")]
    SamePort {
        them: String,
        protocol: String,
        port: i32,
    },
    #[error(
        "it is in use by {them}, and IPAddressPool {pool:?} has {}: {}, so only Services of namespace {:?} may share it, not {me}",
        sharing_scope::ANNOTATION,
        .scope.as_str(),
        namespace_of(.them)
    )]
    OtherNamespace {
        them: String,
        me: String,
        pool: String,
        scope: SharingScope,
    },
}

impl Sharing {
    /// Whether `self` may share an IP with `other` (of Service `them`), or why not.
    pub fn check(&self, other: &Sharing, them: &str) -> Result<(), Conflict> {
        let them = them.to_owned();
        match (&self.key, &other.key) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return Err(Conflict::OtherKey {
                    them,
                    theirs: b.clone(),
                    ours: a.clone(),
                });
            }
            (None, _) => return Err(Conflict::NoKey { them }),
            (Some(_), None) => return Err(Conflict::TheyHaveNoKey { them }),
        }
        match (&self.local_selector, &other.local_selector) {
            (None, None) => {}
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(_)) => return Err(Conflict::OtherPods { them }),
            _ => return Err(Conflict::OtherTrafficPolicy { them }),
        }
        if let Some((protocol, port)) = self.ports.intersection(&other.ports).next() {
            return Err(Conflict::SamePort {
                them,
                protocol: protocol.clone(),
                port: *port,
            });
        }
        Ok(())
    }
}

/// Whether Service `me` may share an IP of `pool`, whose scope is `scope`, with Service
/// `them` (both `namespace/name`) as far as their namespaces go, or why not, naming both.
pub fn within_scope(scope: SharingScope, pool: &str, me: &str, them: &str) -> Result<(), Conflict> {
    if scope.admits(namespace_of(me), namespace_of(them)) {
        return Ok(());
    }
    Err(Conflict::OtherNamespace {
        them: them.to_owned(),
        me: me.to_owned(),
        pool: pool.to_owned(),
        scope,
    })
}

/// The namespace of a `namespace/name` key.
fn namespace_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(namespace, _)| namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sharing(
        key: Option<&str>,
        ports: &[(&str, i32)],
        local: Option<&[(&str, &str)]>,
    ) -> Sharing {
        Sharing {
            key: key.map(str::to_owned),
            ports: ports.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect(),
            local_selector: local.map(|l| {
                l.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
        }
    }

    #[test]
    fn same_key_different_ports_share() {
        let a = sharing(Some("k"), &[("TCP", 80)], None);
        let b = sharing(Some("k"), &[("TCP", 443)], None);
        assert_eq!(a.check(&b, "default/b"), Ok(()));
    }

    #[test]
    fn same_port_with_other_protocol_shares() {
        let a = sharing(Some("k"), &[("TCP", 53)], None);
        let b = sharing(Some("k"), &[("UDP", 53)], None);
        assert_eq!(a.check(&b, "default/b"), Ok(()));
    }

    #[test]
    fn colliding_port_is_refused_naming_the_port() {
        let a = sharing(Some("k"), &[("TCP", 80)], None);
        let b = sharing(Some("k"), &[("TCP", 80)], None);
        assert_eq!(
            a.check(&b, "default/b").unwrap_err().to_string(),
            "it is in use by default/b, which also uses port 80/TCP"
        );
    }

    #[test]
    fn different_or_missing_keys_are_refused() {
        let a = sharing(Some("k"), &[("TCP", 80)], None);
        let b = sharing(Some("other"), &[("TCP", 81)], None);
        assert!(
            a.check(&b, "default/b")
                .unwrap_err()
                .to_string()
                .contains(r#"key "other", not "k""#)
        );
        let none = sharing(None, &[("TCP", 81)], None);
        assert!(
            none.check(&a, "default/a")
                .unwrap_err()
                .to_string()
                .contains("only when both set")
        );
        assert!(
            a.check(&none, "default/n")
                .unwrap_err()
                .to_string()
                .contains("does not set allow-shared-ip")
        );
    }

    #[test]
    fn local_policy_needs_identical_selectors() {
        let a = sharing(Some("k"), &[("TCP", 80)], Some(&[("app", "web")]));
        let same = sharing(Some("k"), &[("TCP", 81)], Some(&[("app", "web")]));
        let other = sharing(Some("k"), &[("TCP", 81)], Some(&[("app", "db")]));
        let cluster = sharing(Some("k"), &[("TCP", 81)], None);
        assert_eq!(a.check(&same, "default/s"), Ok(()));
        assert!(
            a.check(&other, "default/o")
                .unwrap_err()
                .to_string()
                .contains("select different pods")
        );
        assert!(
            a.check(&cluster, "default/c")
                .unwrap_err()
                .to_string()
                .contains("different externalTrafficPolicy")
        );
    }

    #[test]
    fn a_namespace_scoped_pool_refuses_another_namespace_naming_both_services() {
        assert_eq!(
            within_scope(SharingScope::Namespace, "p", "team-a/web", "team-a/api"),
            Ok(())
        );
        assert_eq!(
            within_scope(SharingScope::Namespace, "p", "team-b/web", "team-a/web")
                .unwrap_err()
                .to_string(),
            r#"it is in use by team-a/web, and IPAddressPool "p" has ferrolb.io/sharing-scope: namespace, so only Services of namespace "team-a" may share it, not team-b/web"#
        );
        assert_eq!(
            within_scope(SharingScope::Cluster, "p", "team-b/web", "team-a/web"),
            Ok(())
        );
    }
}
