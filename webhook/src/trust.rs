//! Whether the API server trusts the certificate this webhook serves: every webhook of the
//! ValidatingWebhookConfiguration must carry, in its caBundle, a CA whose key signed the
//! serving certificate. Until then the API server's calls fail their TLS handshake, so the
//! webhook reports itself not ready, with the reason. [`verdict`] judges one reading; [`watch`]
//! reads the configuration again every few seconds and sets the readiness. A read that fails
//! (the API server away) changes nothing once a verdict stands: the API server cannot call the
//! webhook then anyway, and when it is back the webhook must be in its endpoints at once, not
//! after its probes have seen it ready again.

use std::sync::Arc;
use std::time::Duration;

use ferrolb_endpoint::metrics::Readiness;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::{Api, Client};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::tls::ServingCertificate;

/// How often the configuration is read again: often until the webhook is ready (a new pod
/// joins its endpoints as soon as the CA is injected), then every few seconds.
const RECHECK_UNTIL_READY: Duration = Duration::from_millis(250);
const RECHECK: Duration = Duration::from_secs(5);

/// Whether every webhook of `configuration` trusts the serving certificate `leaf` (DER).
pub fn verdict(leaf: &[u8], configuration: &ValidatingWebhookConfiguration) -> Result<(), String> {
    let name = configuration.metadata.name.as_deref().unwrap_or_default();
    let (_, leaf) = X509Certificate::from_der(leaf)
        .map_err(|e| format!("the serving certificate cannot be read: {e}"))?;
    let webhooks = configuration.webhooks.as_deref().unwrap_or_default();
    if webhooks.is_empty() {
        return Err(format!(
            "the ValidatingWebhookConfiguration {name:?} lists no webhook"
        ));
    }
    for webhook in webhooks {
        let Some(bundle) = &webhook.client_config.ca_bundle else {
            return Err(format!(
                "webhook {:?} of the ValidatingWebhookConfiguration {name:?} has no caBundle yet",
                webhook.name
            ));
        };
        if !signed_by_one_of(&leaf, &bundle.0) {
            return Err(format!(
                "the caBundle of webhook {:?} in the ValidatingWebhookConfiguration {name:?} holds no CA that signed the serving certificate",
                webhook.name
            ));
        }
    }
    Ok(())
}

fn signed_by_one_of(leaf: &X509Certificate<'_>, bundle: &[u8]) -> bool {
    CertificateDer::pem_slice_iter(bundle)
        .filter_map(Result::ok)
        .any(|ca| {
            X509Certificate::from_der(&ca)
                .is_ok_and(|(_, ca)| leaf.verify_signature(Some(ca.public_key())).is_ok())
        })
}

/// The readiness one reading of the configuration `name` gives, or `None` to keep the last
/// one: a read that failed after a verdict was reached changes nothing.
fn judge(
    leaf: &[u8],
    read: Result<Option<ValidatingWebhookConfiguration>, String>,
    judged: bool,
    name: &str,
) -> Option<Result<(), String>> {
    match read {
        Ok(Some(configuration)) => Some(verdict(leaf, &configuration)),
        Ok(None) => Some(Err(format!(
            "the ValidatingWebhookConfiguration {name:?} does not exist"
        ))),
        Err(e) if judged => {
            tracing::debug!(error = %e, "cannot read the ValidatingWebhookConfiguration; keeping the last verdict");
            None
        }
        Err(e) => Some(Err(format!(
            "cannot read the ValidatingWebhookConfiguration {name:?}: {e}"
        ))),
    }
}

/// Sets `readiness` from the served certificate and the configuration `configuration_name`,
/// every few seconds, forever.
pub async fn watch(
    client: Client,
    configuration_name: String,
    certificate: Arc<ServingCertificate>,
    readiness: Readiness,
) {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client);
    let mut judged = false;
    loop {
        let state = match certificate.leaf() {
            None => Some(Err("no serving certificate yet".to_string())),
            Some(leaf) => {
                let read = api
                    .get_opt(&configuration_name)
                    .await
                    .map_err(|e| e.to_string());
                judge(&leaf, read, judged, &configuration_name)
            }
        };
        if let Some(state) = state {
            if let Err(reason) = &state {
                tracing::debug!(%reason, "not ready");
            }
            judged = true;
            readiness.set(state);
        }
        let pause = if readiness.is_ready() {
            RECHECK
        } else {
            RECHECK_UNTIL_READY
        };
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {

    use k8s_openapi::ByteString;
    use k8s_openapi::api::admissionregistration::v1::{ValidatingWebhook, WebhookClientConfig};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::certs::Bundle;
    use crate::certs::tests::localhost_bundle as bundle;

    fn leaf(bundle: &Bundle) -> Vec<u8> {
        CertificateDer::from_pem_slice(bundle.cert.as_bytes())
            .unwrap()
            .to_vec()
    }

    fn configuration(bundles: &[Option<&str>]) -> ValidatingWebhookConfiguration {
        ValidatingWebhookConfiguration {
            metadata: ObjectMeta {
                name: Some("metallb-webhook-configuration".into()),
                ..Default::default()
            },
            webhooks: Some(
                bundles
                    .iter()
                    .enumerate()
                    .map(|(i, ca)| ValidatingWebhook {
                        name: format!("w{i}.metallb.io"),
                        client_config: WebhookClientConfig {
                            ca_bundle: ca.map(|pem| ByteString(pem.as_bytes().to_vec())),
                            ..Default::default()
                        },
                        admission_review_versions: vec!["v1".into()],
                        side_effects: "None".into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn a_certificate_signed_by_the_ca_in_every_ca_bundle_is_trusted() {
        let served = bundle();
        let both = format!("{}{}", bundle().ca_cert, served.ca_cert);
        let config = configuration(&[Some(&served.ca_cert), Some(&both)]);
        assert_eq!(verdict(&leaf(&served), &config), Ok(()));
    }

    #[test]
    fn a_missing_or_foreign_ca_bundle_is_not_ready_naming_the_webhook() {
        let served = bundle();
        let other = bundle();
        let missing = configuration(&[Some(&served.ca_cert), None]);
        let reason = verdict(&leaf(&served), &missing).unwrap_err();
        assert!(
            reason.contains("\"w1.metallb.io\"") && reason.contains("no caBundle"),
            "{reason}"
        );
        let foreign = configuration(&[Some(&other.ca_cert)]);
        let reason = verdict(&leaf(&served), &foreign).unwrap_err();
        assert!(reason.contains("holds no CA that signed"), "{reason}");
        assert!(verdict(&leaf(&served), &configuration(&[])).is_err());
    }

    #[test]
    fn a_failed_read_keeps_the_last_verdict_but_not_before_the_first() {
        let served = bundle();
        let name = "metallb-webhook-configuration";
        let trusted = configuration(&[Some(&served.ca_cert)]);
        assert_eq!(
            judge(&leaf(&served), Ok(Some(trusted)), false, name),
            Some(Ok(()))
        );
        assert_eq!(
            judge(&leaf(&served), Err("connection refused".into()), true, name),
            None,
            "an API server away changes nothing"
        );
        let first = judge(
            &leaf(&served),
            Err("connection refused".into()),
            false,
            name,
        );
        assert!(
            matches!(&first, Some(Err(reason)) if reason.contains("connection refused")),
            "{first:?}"
        );
        assert!(matches!(
            judge(&leaf(&served), Ok(None), true, name),
            Some(Err(_))
        ));
    }
}
