//! What the components' reflector caches keep of an object: everything but the API server's
//! bookkeeping that no decision reads (`managedFields`, and kubectl's copy of the last applied
//! configuration). That bookkeeping is most of a small object's size, so most of a cache of
//! 10,000 Services.

use kube::ResourceExt;

/// The annotation `kubectl apply` keeps its copy of the applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what a cache never reads from `object`.
pub fn trim_for_cache<K: ResourceExt>(object: &mut K) {
    object.managed_fields_mut().clear();
    if object.annotations().contains_key(LAST_APPLIED) {
        object.annotations_mut().remove(LAST_APPLIED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Service;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
    use std::collections::BTreeMap;

    #[test]
    fn a_cached_service_keeps_its_own_annotations_but_not_the_servers_bookkeeping() {
        let mut service = Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                annotations: Some(BTreeMap::from([
                    (LAST_APPLIED.to_owned(), "{...}".to_owned()),
                    ("metallb.io/address-pool".to_owned(), "prod".to_owned()),
                ])),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                ..Default::default()
            },
            ..Default::default()
        };
        trim_for_cache(&mut service);
        assert!(service.managed_fields().is_empty());
        assert_eq!(
            service.annotations().keys().collect::<Vec<_>>(),
            ["metallb.io/address-pool"]
        );
    }

    #[test]
    fn an_object_without_annotations_gains_none() {
        let mut service = Service::default();
        trim_for_cache(&mut service);
        assert!(service.metadata.annotations.is_none());
    }
}
