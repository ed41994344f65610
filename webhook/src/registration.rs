//! How the API server finds the webhook: the ValidatingWebhookConfiguration (one webhook per
//! kind, failurePolicy Fail for metallb.io objects and Ignore for Services, so an unavailable
//! webhook never blocks unrelated workloads) and the conversion webhook of the BGPPeer CRD.
//! [`webhook_configuration`] and [`crd_conversion`] build them, pure; [`apply`] writes them
//! with server-side apply, or only injects the CA into an existing configuration.

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::admission::Kind;

/// The CRD whose versions the webhook converts.
pub const BGPPEER_CRD: &str = "bgppeers.metallb.io";
const FIELD_MANAGER: &str = "ferrolb-webhook";

/// Where the API server reaches the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A Service in the cluster (the normal case).
    Service {
        namespace: String,
        name: String,
        port: i32,
    },
    /// A URL such as `https://127.0.0.1:9443`, for a webhook outside the cluster (the local
    /// control plane has no Service network).
    Url(String),
}

impl Endpoint {
    fn client_config(&self, path: &str, ca: Option<&str>) -> WebhookClientConfig {
        let ca_bundle = ca.map(|pem| ByteString(pem.as_bytes().to_vec()));
        match self {
            Endpoint::Service {
                namespace,
                name,
                port,
            } => WebhookClientConfig {
                service: Some(ServiceReference {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    path: Some(path.to_owned()),
                    port: Some(*port),
                }),
                url: None,
                ca_bundle,
            },
            Endpoint::Url(base) => WebhookClientConfig {
                service: None,
                url: Some(format!("{}{path}", base.trim_end_matches('/'))),
                ca_bundle,
            },
        }
    }
}

/// The ValidatingWebhookConfiguration for every kind, trusting `ca` when given.
pub fn webhook_configuration(
    name: &str,
    endpoint: &Endpoint,
    ca: Option<&str>,
) -> ValidatingWebhookConfiguration {
    let webhooks = Kind::ALL
        .iter()
        .map(|&kind| {
            let (group, version, resource, failure_policy) = match kind {
                Kind::Service => ("", vec!["v1"], "services", "Ignore"),
                Kind::BGPPeer => ("metallb.io", vec!["v1beta1", "v1beta2"], "bgppeers", "Fail"),
                Kind::IPAddressPool => ("metallb.io", vec!["v1beta1"], "ipaddresspools", "Fail"),
                Kind::L2Advertisement => {
                    ("metallb.io", vec!["v1beta1"], "l2advertisements", "Fail")
                }
                Kind::BGPAdvertisement => {
                    ("metallb.io", vec!["v1beta1"], "bgpadvertisements", "Fail")
                }
                Kind::Community => ("metallb.io", vec!["v1beta1"], "communities", "Fail"),
                Kind::BFDProfile => ("metallb.io", vec!["v1beta1"], "bfdprofiles", "Fail"),
            };
            let mut operations = vec!["CREATE".to_owned(), "UPDATE".to_owned()];
            if kind == Kind::BFDProfile {
                operations.push("DELETE".to_owned());
            }
            ValidatingWebhook {
                name: format!(
                    "{}validationwebhook.metallb.io",
                    kind.name().to_ascii_lowercase()
                ),
                admission_review_versions: vec!["v1".to_owned()],
                client_config: endpoint.client_config(kind.path(), ca),
                failure_policy: Some(failure_policy.to_owned()),
                side_effects: "None".to_owned(),
                timeout_seconds: Some(10),
                match_policy: Some("Equivalent".to_owned()),
                rules: Some(vec![RuleWithOperations {
                    api_groups: Some(vec![group.to_owned()]),
                    api_versions: Some(version.into_iter().map(str::to_owned).collect()),
                    operations: Some(operations),
                    resources: Some(vec![resource.to_owned()]),
                    scope: Some("Namespaced".to_owned()),
                }]),
                ..Default::default()
            }
        })
        .collect();
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([("app.kubernetes.io/name".to_owned(), "ferrolb".to_owned())].into()),
            ..Default::default()
        },
        webhooks: Some(webhooks),
    }
}

/// The `spec.conversion` of the BGPPeer CRD, as a merge patch.
pub fn crd_conversion(endpoint: &Endpoint, ca: Option<&str>) -> Value {
    let client_config = serde_json::to_value(endpoint.client_config("/convert", ca))
        .expect("a WebhookClientConfig serializes");
    json!({
        "spec": {
            "conversion": {
                "strategy": "Webhook",
                "webhook": {
                    "clientConfig": client_config,
                    "conversionReviewVersions": ["v1"]
                }
            }
        }
    })
}

/// The configuration as YAML, for charts and `kubectl apply` (no caBundle: injected later).
pub fn manifest_yaml(name: &str, endpoint: &Endpoint) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&webhook_configuration(name, endpoint, None))
}

/// Points the API server at the webhook with `ca` as trust: with `register`, the whole
/// configuration is written (server-side apply); without, only the caBundle of an existing
/// configuration (installed by a chart) is set. The BGPPeer CRD's conversion is set either way.
pub async fn apply(
    client: &Client,
    name: &str,
    endpoint: &Endpoint,
    ca: &str,
    register: bool,
) -> Result<(), kube::Error> {
    // Each is attempted whatever the other's outcome: a missing configuration must not keep
    // BGPPeer conversion from working.
    let webhooks = configure_webhooks(client, name, endpoint, ca, register).await;
    let conversion = configure_conversion(client, endpoint, ca).await;
    webhooks.and(conversion)
}

async fn configure_webhooks(
    client: &Client,
    name: &str,
    endpoint: &Endpoint,
    ca: &str,
    register: bool,
) -> Result<(), kube::Error> {
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    if register {
        let vwc = webhook_configuration(name, endpoint, Some(ca));
        let params = PatchParams::apply(FIELD_MANAGER).force();
        configurations
            .patch(name, &params, &Patch::Apply(&vwc))
            .await?;
        return Ok(());
    }
    let mut existing = configurations.get(name).await?;
    let bundle = ByteString(ca.as_bytes().to_vec());
    let mut changed = false;
    for webhook in existing.webhooks.iter_mut().flatten() {
        if webhook.client_config.ca_bundle.as_ref() != Some(&bundle) {
            webhook.client_config.ca_bundle = Some(bundle.clone());
            changed = true;
        }
    }
    if changed {
        // The resourceVersion read guards the write: a concurrent change makes it fail, and
        // the next round reads again.
        configurations
            .replace(name, &Default::default(), &existing)
            .await?;
    }
    Ok(())
}

async fn configure_conversion(
    client: &Client,
    endpoint: &Endpoint,
    ca: &str,
) -> Result<(), kube::Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        BGPPEER_CRD,
        &PatchParams::default(),
        &Patch::Merge(crd_conversion(endpoint, Some(ca))),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metallb_kinds_fail_closed_and_services_fail_open() {
        let endpoint = Endpoint::Service {
            namespace: "metallb-system".into(),
            name: "ferrolb-webhook".into(),
            port: 443,
        };
        let vwc = webhook_configuration("ferrolb", &endpoint, Some("CA"));
        let webhooks = vwc.webhooks.unwrap();
        assert_eq!(webhooks.len(), Kind::ALL.len());
        for webhook in &webhooks {
            let resource = &webhook.rules.as_ref().unwrap()[0]
                .resources
                .as_ref()
                .unwrap()[0];
            let expected = if resource == "services" {
                "Ignore"
            } else {
                "Fail"
            };
            assert_eq!(
                webhook.failure_policy.as_deref(),
                Some(expected),
                "{resource}"
            );
            assert_eq!(
                webhook.client_config.ca_bundle,
                Some(ByteString(b"CA".to_vec()))
            );
            assert_eq!(webhook.admission_review_versions, ["v1"]);
        }
        let pool = webhooks
            .iter()
            .find(|w| w.name == "ipaddresspoolvalidationwebhook.metallb.io")
            .unwrap();
        let service = pool.client_config.service.as_ref().unwrap();
        assert_eq!(
            service.path.as_deref(),
            Some("/validate-metallb-io-v1beta1-ipaddresspool")
        );
        assert_eq!(service.port, Some(443));
    }

    #[test]
    fn only_bfd_profile_deletions_are_reviewed() {
        let vwc = webhook_configuration(
            "ferrolb",
            &Endpoint::Url("https://127.0.0.1:9443".into()),
            None,
        );
        for webhook in vwc.webhooks.unwrap() {
            let operations = webhook.rules.unwrap()[0].operations.clone().unwrap();
            assert_eq!(
                operations.contains(&"DELETE".to_owned()),
                webhook.name.starts_with("bfdprofile"),
                "{}",
                webhook.name
            );
        }
    }

    #[test]
    fn a_url_endpoint_joins_base_and_path() {
        let patch = crd_conversion(&Endpoint::Url("https://127.0.0.1:9443/".into()), Some("CA"));
        assert_eq!(
            patch["spec"]["conversion"]["webhook"]["clientConfig"]["url"],
            "https://127.0.0.1:9443/convert"
        );
        assert_eq!(
            patch["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
            "Q0E="
        );
        assert_eq!(patch["spec"]["conversion"]["strategy"], "Webhook");
    }

    #[test]
    fn the_manifest_is_yaml_of_a_validating_webhook_configuration() {
        let yaml =
            manifest_yaml("ferrolb", &Endpoint::Url("https://127.0.0.1:9443".into())).unwrap();
        assert!(yaml.starts_with("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n"), "{yaml}");
        assert!(yaml.contains("url: https://127.0.0.1:9443/validate-v1-service"));
    }
}
