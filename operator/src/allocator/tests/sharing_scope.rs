//! `ferrolb.io/sharing-scope` on a pool: with `namespace`, Services of different namespaces
//! never share one of its IPs, whatever their sharing key; without it (or with `cluster`) they
//! share as in MetalLB; an unknown value restricts.

use ferrolb_crds::sharing_scope::{ANNOTATION, SharingScope};

use super::*;

/// A pool of `addresses` with the sharing-scope annotation set to `scope`, if any.
fn scoped(name: &str, addresses: &[&str], scope: Option<&str>) -> Pool {
    let mut object = IPAddressPool::new(
        name,
        IPAddressPoolSpec {
            addresses: addresses.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        },
    );
    object.metadata.annotations = scope.map(|v| [(ANNOTATION.to_owned(), v.to_owned())].into());
    Pool::from_object(&object).unwrap()
}

/// A Service `key` with sharing key `k` on TCP port `port`.
fn sharer(key: &str, port: i32) -> Demand {
    let mut d = demand(key);
    d.sharing = sharing("k", port);
    d
}

/// The IPs two Services of different namespaces, with one key and different ports, get from
/// a pool with this scope annotation.
fn across_namespaces(scope: Option<&str>) -> (Vec<String>, Vec<String>) {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], scope)]);
    a.converge(&sharer("team-a/web", 80), &[]).unwrap();
    a.converge(&sharer("team-b/web", 443), &[]).unwrap();
    (ips(&a, "team-a/web"), ips(&a, "team-b/web"))
}

#[test]
fn services_of_two_namespaces_share_only_when_the_pool_is_not_scoped() {
    for scope in [None, Some("cluster")] {
        assert_eq!(
            across_namespaces(scope),
            (vec!["192.0.2.0".into()], vec!["192.0.2.0".into()]),
            "{scope:?}"
        );
    }
    assert_eq!(
        across_namespaces(Some("namespace")),
        (vec!["192.0.2.0".into()], vec!["192.0.2.1".into()])
    );
}

#[test]
fn an_unknown_scope_restricts_as_namespace() {
    assert_eq!(
        scoped("p", &["192.0.2.0/28"], Some("Namespace")).sharing_scope,
        SharingScope::Namespace
    );
    assert_eq!(
        across_namespaces(Some("tenant")),
        (vec!["192.0.2.0".into()], vec!["192.0.2.1".into()])
    );
}

#[test]
fn services_of_one_namespace_still_share_in_a_scoped_pool() {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], Some("namespace"))]);
    a.converge(&sharer("team-a/web", 80), &[]).unwrap();
    a.converge(&sharer("team-b/web", 443), &[]).unwrap();
    // Each namespace shares its own IP: the key finds the one shared within the namespace.
    a.converge(&sharer("team-a/api", 8080), &[]).unwrap();
    a.converge(&sharer("team-b/api", 8080), &[]).unwrap();
    assert_eq!(ips(&a, "team-a/api"), ["192.0.2.0"]);
    assert_eq!(ips(&a, "team-b/api"), ["192.0.2.1"]);
}

#[test]
fn a_requested_ip_of_another_namespace_waits_naming_both_services() {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], Some("namespace"))]);
    let mut first = sharer("team-a/web", 80);
    first.ips = vec![ip("192.0.2.5")];
    a.converge(&first, &[]).unwrap();
    let mut second = sharer("team-b/web", 443);
    second.ips = vec![ip("192.0.2.5")];
    let failed = a.converge(&second, &[]).unwrap_err();
    assert_eq!(failed.refusal.reason, Reason::SharingConflict);
    assert_eq!(
        failed.refusal.message,
        r#"requested IP 192.0.2.5 is not available: it is in use by team-a/web, and IPAddressPool "p" has ferrolb.io/sharing-scope: namespace, so only Services of namespace "team-a" may share it, not team-b/web"#
    );
    assert!(a.assignment("team-b/web").is_none());
    // The same request from the holder's namespace shares.
    let mut neighbour = sharer("team-a/api", 443);
    neighbour.ips = vec![ip("192.0.2.5")];
    assert_eq!(
        a.converge(&neighbour, &[]).unwrap().assignment.ips,
        [ip("192.0.2.5")]
    );
}

#[test]
fn when_a_pool_gains_the_scope_the_first_holder_keeps_the_ip_and_the_later_one_moves() {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], None)]);
    let first = sharer("team-b/web", 80);
    let later = sharer("team-a/web", 443);
    a.converge(&first, &[]).unwrap();
    a.converge(&later, &[]).unwrap();
    assert_eq!(ips(&a, "team-a/web"), ["192.0.2.0"]);
    a.set_pools(vec![scoped("p", &["192.0.2.0/28"], Some("namespace"))]);
    // A full pass converges them in age order: the first holder stays, the later one moves.
    assert_eq!(a.converge(&first, &[]).unwrap().change, Change::Kept);
    assert!(matches!(
        a.converge(&later, &[]).unwrap().change,
        Change::Moved(_)
    ));
    assert_eq!(ips(&a, "team-b/web"), ["192.0.2.0"]);
    assert_eq!(ips(&a, "team-a/web"), ["192.0.2.1"]);
}

#[test]
fn when_a_pool_gains_the_scope_the_later_holder_moves_even_if_converged_first() {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], None)]);
    let first = sharer("team-b/web", 80);
    let later = sharer("team-a/web", 443);
    a.converge(&first, &[]).unwrap();
    a.converge(&later, &[]).unwrap();
    a.set_pools(vec![scoped("p", &["192.0.2.0/28"], Some("namespace"))]);
    let moved = a.converge(&later, &[]).unwrap();
    assert!(
        matches!(&moved.change, Change::Moved(why) if why.contains("team-b/web") && why.contains("team-a/web")),
        "{moved:?}"
    );
    assert_eq!(moved.assignment.ips, [ip("192.0.2.1")]);
    assert_eq!(a.converge(&first, &[]).unwrap().change, Change::Kept);
    assert_eq!(ips(&a, "team-b/web"), ["192.0.2.0"]);
}

#[test]
fn after_a_restart_the_first_service_read_from_status_keeps_a_cross_namespace_ip() {
    let mut a = allocator(vec![scoped("p", &["192.0.2.0/28"], Some("namespace"))]);
    let shared = [ip("192.0.2.3")];
    assert_eq!(
        a.converge(&sharer("team-a/web", 80), &shared)
            .unwrap()
            .change,
        Change::Kept
    );
    let second = a.converge(&sharer("team-b/web", 443), &shared).unwrap();
    assert_eq!(second.assignment.ips, [ip("192.0.2.0")]);
}
