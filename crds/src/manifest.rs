//! The CustomResourceDefinitions of every metallb.io kind, generated from the Rust types, and
//! their YAML rendering as checked in at [`CRD_PATH`] (the Helm chart's `crds/` folder, from
//! which the plain manifest is rendered too). A test fails when the checked-in file and the
//! types drift; `cargo run -p ferrolb-operator -- crds > helm/ferrolb/crds/metallb.io.yaml`
//! regenerates it.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::resource::{GROUP, MetallbKind, crd_version};
use crate::{Error, bfdprofile, bgpadvertisement, bgppeer, community, configurationstate};
use crate::{ipaddresspool, l2advertisement, servicestatus};

/// Where the generated CRDs are checked in, relative to the repository root.
pub const CRD_PATH: &str = "helm/ferrolb/crds/metallb.io.yaml";

/// A single-version CRD for `K`.
fn single<K: MetallbKind>() -> CustomResourceDefinition {
    crd::<K>(vec![crd_version::<K>(true)])
}

/// A CRD named after `K` with the given versions.
fn crd<K: MetallbKind>(versions: Vec<CustomResourceDefinitionVersion>) -> CustomResourceDefinition {
    let singular = K::KIND.to_ascii_lowercase();
    CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(format!("{}.{GROUP}", K::PLURAL)),
            ..Default::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: GROUP.to_owned(),
            names: CustomResourceDefinitionNames {
                kind: K::KIND.to_owned(),
                list_kind: Some(format!("{}List", K::KIND)),
                plural: K::PLURAL.to_owned(),
                singular: Some(singular),
                ..Default::default()
            },
            scope: "Namespaced".to_owned(),
            versions,
            conversion: None,
            preserve_unknown_fields: None,
        },
        status: None,
    }
}

/// Every CRD, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        single::<bfdprofile::BFDProfile>(),
        single::<bgpadvertisement::BGPAdvertisement>(),
        crd::<bgppeer::v1beta2::BGPPeer>(vec![
            crd_version::<bgppeer::v1beta1::BGPPeer>(false),
            crd_version::<bgppeer::v1beta2::BGPPeer>(true),
        ]),
        single::<community::Community>(),
        single::<configurationstate::ConfigurationState>(),
        single::<ipaddresspool::IPAddressPool>(),
        single::<l2advertisement::L2Advertisement>(),
        single::<servicestatus::ServiceBGPStatus>(),
        single::<servicestatus::ServiceL2Status>(),
    ]
}

/// Every CRD as one multi-document YAML file, as checked in at [`CRD_PATH`].
pub fn crds_yaml() -> Result<String, Error> {
    let mut out = String::from(
        "# Generated from the Rust types in crds/ by `cargo run -p ferrolb-operator -- crds`.\n\
         # Do not edit: a test fails when this file and the types drift.\n",
    );
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn checked_in_crds_match_the_rust_types() {
        let path = repo_root().join(CRD_PATH);
        let checked_in = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let generated = crds_yaml().unwrap();
        assert!(
            checked_in == generated,
            "{CRD_PATH} is out of date with the types in crds/; regenerate it with\n  \
             cargo run -p ferrolb-operator -- crds > {CRD_PATH}"
        );
    }

    #[test]
    fn every_kind_is_namespaced_with_a_status_subresource() {
        let crds = crds();
        assert_eq!(crds.len(), 9);
        for crd in &crds {
            assert_eq!(crd.spec.scope, "Namespaced");
            for v in &crd.spec.versions {
                assert!(
                    v.subresources
                        .as_ref()
                        .and_then(|s| s.status.as_ref())
                        .is_some()
                );
            }
        }
    }

    #[test]
    fn bgppeer_serves_both_versions_and_stores_v1beta2() {
        let crd = crds()
            .into_iter()
            .find(|c| c.spec.names.kind == "BGPPeer")
            .unwrap();
        let versions: Vec<_> = crd
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.storage))
            .collect();
        assert_eq!(versions, [("v1beta1", false), ("v1beta2", true)]);
        assert_eq!(crd.spec.versions[0].deprecated, Some(true));
    }

    #[test]
    fn pool_schema_carries_defaults_and_descriptions() {
        let yaml = crds_yaml().unwrap();
        let pool = yaml
            .split("---\n")
            .find(|d| d.contains("kind: IPAddressPool\n"))
            .unwrap();
        assert!(
            pool.contains("default: true"),
            "autoAssign defaults to true"
        );
        assert!(pool.contains("ServiceAllocation restricts the pool"));
        assert!(pool.contains("jsonPath: .spec.avoidBuggyIPs"));
    }
}
