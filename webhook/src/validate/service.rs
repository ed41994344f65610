//! LoadBalancer Service rules, beyond MetalLB: what the Service asks for (read by
//! [`ServiceRequest::parse`], the same code the operator allocates with) must make sense, and
//! the IPs and pool it names must exist: an IP in no pool, an unknown pool, or an IP outside
//! the pool asked for would otherwise leave the Service `<pending>` without a word. Legacy
//! `metallb.universe.tf/` annotations are warnings naming their replacement. A requested IP
//! of a pool with `ferrolb.io/sharing-scope: namespace` that a Service of another namespace
//! holds with the same sharing key is refused, naming both Services (the operator would keep
//! the Service pending). Services of other
//! types, and LoadBalancers of a class this webhook does not serve
//! ([`service_class::serves_service`], the rule the operator allocates by), are not looked at:
//! their annotations are another load balancer's business.

use k8s_openapi::api::core::v1::Service;

use ferrolb_crds::annotations::ServiceRequest;
use ferrolb_crds::service_class;
use ferrolb_crds::sharing_scope::{self, SharingScope};

use super::Verdict;
use crate::snapshot::Cluster;

/// Validates a Service being created, or updated from `old`. An update that leaves what the
/// Service asks for unchanged is not checked: a pool deleted since must not block unrelated
/// edits (or the operator's own writes) to the Service. An update that makes a Service ours
/// (from another type or class) is checked like a creation.
pub fn validate(service: &Service, old: Option<&Service>, cluster: &Cluster) -> Verdict {
    let mut verdict = Verdict::default();
    if !service_class::serves_service(cluster.lb_class.as_deref(), service) {
        return verdict;
    }
    let spec = service.spec.clone().unwrap_or_default();
    if old.is_some_and(|old| {
        service_class::serves_service(cluster.lb_class.as_deref(), old)
            && request_inputs(old) == request_inputs(service)
    }) {
        return verdict;
    }
    let object = format!(
        "Service \"{}/{}\"",
        service.metadata.namespace.as_deref().unwrap_or_default(),
        service.metadata.name.as_deref().unwrap_or_default()
    );
    let annotations = service.metadata.annotations.clone().unwrap_or_default();
    let request = match ServiceRequest::parse(&annotations, spec.load_balancer_ip.as_deref()) {
        Ok(request) => request,
        Err(why) => {
            verdict.deny(format!("{object}: {why}"));
            return verdict;
        }
    };
    for deprecation in &request.deprecations {
        verdict.warn(format!(
            "{object}: annotation {} is deprecated; use {} instead",
            deprecation.legacy_key, deprecation.replacement
        ));
    }
    if let Some(pool) = &request.pool
        && cluster.pools.get(pool).is_none()
    {
        verdict.deny(format!(
            "{object}: address-pool names IPAddressPool {pool:?}, which does not exist in namespace {}",
            cluster.namespace
        ));
        return verdict;
    }
    let source = request
        .ip_source
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    for ip in &request.ips {
        let holders = cluster.pools.pools_containing(*ip);
        match &request.pool {
            _ if holders.is_empty() => verdict.deny(format!(
                "{object}: {source} asks for {ip}, which is in no IPAddressPool"
            )),
            Some(pool) if !holders.contains(&pool.as_str()) => verdict.deny(format!(
                "{object}: {source} asks for {ip} from IPAddressPool {pool:?}, but {ip} is not in it (it is in IPAddressPool {})",
                holders
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => {}
        }
        let pool = request.pool.as_deref().or(holders.first().copied());
        if let (Some(pool), Some(key)) = (pool, &request.sharing_key) {
            for holder in namespace_scope_conflicts(service, *ip, key, pool, cluster) {
                verdict.deny(format!(
                    "{object}: {source} asks for {ip}, which Service {holder:?} holds with the same allow-shared-ip key, but IPAddressPool {pool:?} has {}: {}, so only Services of namespace {:?} may share it",
                    sharing_scope::ANNOTATION,
                    SharingScope::Namespace.as_str(),
                    namespace_of(holder)
                ));
            }
        }
    }
    verdict
}

/// The Services of other namespaces holding `ip` with sharing key `key`, when `pool` lets only
/// one namespace share its IPs (an unknown scope counts as that, as the operator reads it).
fn namespace_scope_conflicts<'a>(
    service: &Service,
    ip: std::net::IpAddr,
    key: &str,
    pool: &str,
    cluster: &'a Cluster,
) -> Vec<&'a str> {
    let scope = cluster.pools.get(pool).map_or(SharingScope::Cluster, |p| {
        SharingScope::of_pool(p).unwrap_or(SharingScope::FOR_UNKNOWN)
    });
    let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
    cluster
        .services
        .holders(ip)
        .filter(|(holder, theirs)| *theirs == key && !scope.admits(namespace, namespace_of(holder)))
        .map(|(holder, _)| holder)
        .collect()
}

/// The namespace of a `namespace/name` key.
fn namespace_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(namespace, _)| namespace)
}

/// What [`ServiceRequest::parse`] reads from a Service: its type, the annotations it knows
/// under both prefixes, and `spec.loadBalancerIP`.
fn request_inputs(service: &Service) -> (Option<String>, Vec<Option<String>>, Option<String>) {
    let annotations = service.metadata.annotations.clone().unwrap_or_default();
    let known = ferrolb_crds::annotations::Annotation::ALL
        .iter()
        .flat_map(|a| [a.key(), a.legacy_key()])
        .map(|key| annotations.get(&key).cloned())
        .collect();
    let spec = service.spec.as_ref();
    (
        spec.and_then(|s| s.type_.clone()),
        known,
        spec.and_then(|s| s.load_balancer_ip.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fixtures::{NS, pools};
    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn service(type_: &str, annotations: &[(&str, &str)], spec_ip: Option<&str>) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some(type_.into()),
                load_balancer_ip: spec_ip.map(Into::into),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn cluster() -> Cluster {
        Cluster::empty(NS).with_pools(pools(&[
            ("prod", &["10.0.0.0/24", "fd00::/120"]),
            ("lab", &["10.1.0.0/24"]),
        ]))
    }

    #[test]
    fn an_ip_pair_from_the_named_pool_is_admitted() {
        let s = service(
            "LoadBalancer",
            &[
                ("metallb.io/loadBalancerIPs", "10.0.0.5,fd00::5"),
                ("metallb.io/address-pool", "prod"),
            ],
            None,
        );
        assert_eq!(validate(&s, None, &cluster()), Verdict::default());
    }

    #[test]
    fn a_malformed_ip_list_is_denied_with_the_parse_error() {
        let s = service(
            "LoadBalancer",
            &[("metallb.io/loadBalancerIPs", "10.0.0.5,10.0.0.6")],
            None,
        );
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": metallb.io/loadBalancerIPs "10.0.0.5,10.0.0.6" lists two IPv4 addresses; two addresses must be one IPv4 and one IPv6"#
            ]
        );
        let s = service(
            "LoadBalancer",
            &[("metallb.io/loadBalancerIPs", "10.0.0.500")],
            None,
        );
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": metallb.io/loadBalancerIPs "10.0.0.500" is invalid: "10.0.0.500" is not an IP address"#
            ]
        );
    }

    #[test]
    fn an_ip_in_no_pool_is_denied() {
        let s = service(
            "LoadBalancer",
            &[("metallb.io/loadBalancerIPs", "192.0.2.1")],
            None,
        );
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": metallb.io/loadBalancerIPs asks for 192.0.2.1, which is in no IPAddressPool"#
            ]
        );
    }

    #[test]
    fn an_unknown_pool_is_denied() {
        let s = service("LoadBalancer", &[("metallb.io/address-pool", "gold")], None);
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": address-pool names IPAddressPool "gold", which does not exist in namespace metallb-system"#
            ]
        );
    }

    #[test]
    fn an_ip_outside_the_named_pool_is_denied_naming_its_pool() {
        let s = service(
            "LoadBalancer",
            &[("metallb.io/address-pool", "prod")],
            Some("10.1.0.7"),
        );
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": spec.loadBalancerIP asks for 10.1.0.7 from IPAddressPool "prod", but 10.1.0.7 is not in it (it is in IPAddressPool "lab")"#
            ]
        );
    }

    #[test]
    fn annotation_and_spec_ip_together_are_denied() {
        let s = service(
            "LoadBalancer",
            &[("metallb.io/loadBalancerIPs", "10.0.0.5")],
            Some("10.0.0.5"),
        );
        assert_eq!(
            validate(&s, None, &cluster()).denials,
            [
                r#"Service "shop/web": both metallb.io/loadBalancerIPs and spec.loadBalancerIP are set; set only metallb.io/loadBalancerIPs"#
            ]
        );
    }

    #[test]
    fn legacy_annotations_are_admitted_with_a_warning_naming_the_replacement() {
        let s = service(
            "LoadBalancer",
            &[("metallb.universe.tf/address-pool", "lab")],
            None,
        );
        let verdict = validate(&s, None, &cluster());
        assert!(verdict.allowed(), "{verdict:?}");
        assert_eq!(
            verdict.warnings,
            [
                r#"Service "shop/web": annotation metallb.universe.tf/address-pool is deprecated; use metallb.io/address-pool instead"#
            ]
        );
    }

    #[test]
    fn an_update_that_keeps_the_request_is_admitted_even_if_its_pool_is_gone() {
        let old = service("LoadBalancer", &[("metallb.io/address-pool", "gone")], None);
        let mut new = old.clone();
        new.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
        assert_eq!(validate(&new, Some(&old), &cluster()), Verdict::default());
        let changed = service(
            "LoadBalancer",
            &[("metallb.io/address-pool", "gone2")],
            None,
        );
        assert!(!validate(&changed, Some(&old), &cluster()).allowed());
    }

    #[test]
    fn services_of_other_types_are_not_checked() {
        let s = service(
            "ClusterIP",
            &[("metallb.io/loadBalancerIPs", "nonsense")],
            None,
        );
        assert_eq!(validate(&s, None, &cluster()), Verdict::default());
    }

    fn of_class(mut service: Service, class: &str) -> Service {
        service.spec.as_mut().unwrap().load_balancer_class = Some(class.into());
        service
    }

    /// What the Service asks for would be denied, and warned about, if it were ours.
    fn out_of_pool_request() -> Service {
        service(
            "LoadBalancer",
            &[
                ("metallb.io/loadBalancerIPs", "203.0.113.7"),
                ("metallb.universe.tf/allow-shared-ip", "k"),
            ],
            None,
        )
    }

    #[test]
    fn a_load_balancer_of_another_class_is_admitted_without_a_check_or_warning() {
        let other = of_class(out_of_pool_request(), "example.com/other");
        assert_eq!(validate(&other, None, &cluster()), Verdict::default());
        let verdict = validate(&out_of_pool_request(), None, &cluster());
        assert_eq!(verdict.denials.len(), 1, "{verdict:?}");
        assert_eq!(verdict.warnings.len(), 1, "{verdict:?}");
    }

    #[test]
    fn with_a_class_flag_only_services_of_that_class_are_judged() {
        let cluster = cluster().with_lb_class(Some("ferrolb.io/lb"));
        assert_eq!(
            validate(&out_of_pool_request(), None, &cluster),
            Verdict::default()
        );
        let ours = of_class(out_of_pool_request(), "ferrolb.io/lb");
        assert_eq!(
            validate(&ours, None, &cluster).denials,
            [
                r#"Service "shop/web": metallb.io/loadBalancerIPs asks for 203.0.113.7, which is in no IPAddressPool"#
            ]
        );
    }

    #[test]
    fn an_update_that_makes_a_service_ours_is_checked_although_its_request_is_unchanged() {
        let cluster = cluster().with_lb_class(Some("ferrolb.io/lb"));
        let before = out_of_pool_request();
        let after = of_class(before.clone(), "ferrolb.io/lb");
        assert!(!validate(&after, Some(&before), &cluster).allowed());
    }

    /// A cluster whose pool "shared" (198.51.100.0/24) has this sharing-scope annotation, where
    /// `holder` holds 198.51.100.5 with the sharing key `k`.
    fn sharing_cluster(scope: Option<&str>, holder: &str) -> Cluster {
        let mut shared = crate::validate::fixtures::pool("shared", &["198.51.100.0/24"]);
        shared.metadata.annotations =
            scope.map(|v| [(sharing_scope::ANNOTATION.to_owned(), v.to_owned())].into());
        let holder = crate::service_index::tests::holder(
            holder,
            &[("metallb.io/allow-shared-ip", "k")],
            &["198.51.100.5"],
        );
        Cluster::empty(NS)
            .with_pools([std::sync::Arc::new(shared)])
            .with_services([&holder])
    }

    fn asking_for_the_shared_ip(key: &str) -> Service {
        service(
            "LoadBalancer",
            &[
                ("metallb.io/loadBalancerIPs", "198.51.100.5"),
                ("metallb.io/allow-shared-ip", key),
            ],
            None,
        )
    }

    #[test]
    fn an_ip_shared_by_another_namespace_of_a_namespace_scoped_pool_is_denied_naming_both() {
        let cluster = sharing_cluster(Some("namespace"), "team-a/web");
        assert_eq!(
            validate(&asking_for_the_shared_ip("k"), None, &cluster).denials,
            [
                r#"Service "shop/web": metallb.io/loadBalancerIPs asks for 198.51.100.5, which Service "team-a/web" holds with the same allow-shared-ip key, but IPAddressPool "shared" has ferrolb.io/sharing-scope: namespace, so only Services of namespace "team-a" may share it"#
            ]
        );
        // Named by spec.loadBalancerIP and the pool, with the legacy key: the same.
        let legacy = service(
            "LoadBalancer",
            &[
                ("metallb.universe.tf/allow-shared-ip", "k"),
                ("metallb.io/address-pool", "shared"),
            ],
            Some("198.51.100.5"),
        );
        assert_eq!(validate(&legacy, None, &cluster).denials.len(), 1);
    }

    #[test]
    fn an_unknown_scope_is_judged_as_namespace() {
        let cluster = sharing_cluster(Some("tenant"), "team-a/web");
        assert!(!validate(&asking_for_the_shared_ip("k"), None, &cluster).allowed());
    }

    #[test]
    fn sharing_is_admitted_within_a_namespace_or_from_an_unscoped_pool() {
        let same_namespace = sharing_cluster(Some("namespace"), "shop/api");
        assert_eq!(
            validate(&asking_for_the_shared_ip("k"), None, &same_namespace),
            Verdict::default()
        );
        for scope in [None, Some("cluster")] {
            let unscoped = sharing_cluster(scope, "team-a/web");
            assert_eq!(
                validate(&asking_for_the_shared_ip("k"), None, &unscoped),
                Verdict::default(),
                "{scope:?}"
            );
        }
    }

    #[test]
    fn another_key_or_another_ip_is_not_a_scope_conflict() {
        let cluster = sharing_cluster(Some("namespace"), "team-a/web");
        assert!(validate(&asking_for_the_shared_ip("other"), None, &cluster).allowed());
        let elsewhere = service(
            "LoadBalancer",
            &[
                ("metallb.io/loadBalancerIPs", "198.51.100.6"),
                ("metallb.io/allow-shared-ip", "k"),
            ],
            None,
        );
        assert!(validate(&elsewhere, None, &cluster).allowed());
    }
}
