//! Keeps a valid certificate in the TLS server and the CA in the API server's configuration.
//!
//! Self-managed mode: the bundle lives in a Secret so every replica serves the same one. Each
//! round reads the Secret, asks [`certs::plan`] what it needs, writes a renewed bundle when
//! needed (guarded by the resourceVersion read, so two replicas never overwrite each other:
//! the loser re-reads and adopts the winner's), loads it into the [`ServingCertificate`] and
//! injects the CA through [`registration::apply`]. Rounds repeat every minute, sooner when a
//! renewal is due, which also picks up a rotation done by another replica.
//!
//! File mode (cert-manager or user-supplied): `tls.crt`, `tls.key` and optionally `ca.crt`
//! are read from a folder and reloaded whenever their content changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;
use kube::{Api, Client};

use crate::certs::{self, Bundle, Lifetimes, Names, Plan};
use crate::registration::{self, Endpoint};
use crate::tls::ServingCertificate;
use crate::{Error, Result};

/// How often the Secret (or the files) are checked even when nothing is due.
const RECHECK: Duration = Duration::from_secs(60);
const FILE_RECHECK: Duration = Duration::from_secs(5);

/// Where the CA goes once a certificate is loaded.
#[derive(Clone)]
pub struct Injection {
    pub client: Client,
    pub configuration_name: String,
    pub endpoint: Endpoint,
    /// Write the whole ValidatingWebhookConfiguration rather than only its caBundle.
    pub register: bool,
}

impl Injection {
    async fn inject(&self, ca: &str) {
        if let Err(e) = registration::apply(
            &self.client,
            &self.configuration_name,
            &self.endpoint,
            ca,
            self.register,
        )
        .await
        {
            tracing::warn!(error = %e, configuration = %self.configuration_name, "cannot inject the CA; retrying next round");
        }
    }
}

/// The self-managed certificate loop; runs forever.
pub async fn self_managed(
    secrets: Api<Secret>,
    secret_name: String,
    names: Names,
    lifetimes: Lifetimes,
    certificate: Arc<ServingCertificate>,
    injection: Injection,
) {
    let mut loaded: Option<Bundle> = None;
    loop {
        let wait = match round(&secrets, &secret_name, &names, lifetimes).await {
            Ok((bundle, renew_at)) => {
                // Trust first, serve second: after a CA rotation the API server must hold the
                // new CA before the certificate it signed is presented.
                injection.inject(&bundle.ca_cert).await;
                if loaded.as_ref() != Some(&bundle) {
                    match certificate.load(
                        &bundle.cert,
                        &bundle.key,
                        &format!("Secret {secret_name:?}"),
                    ) {
                        Ok(()) => {
                            tracing::info!(secret = %secret_name, expires = ?certs::not_after(&bundle.cert).ok(), "serving certificate loaded");
                            loaded = Some(bundle.clone());
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot load the serving certificate")
                        }
                    }
                }
                renew_at
                    .duration_since(SystemTime::now())
                    .unwrap_or_default()
                    .clamp(Duration::from_secs(1), RECHECK)
            }
            Err(e) => {
                tracing::warn!(error = %e, secret = %secret_name, "certificate round failed; retrying");
                Duration::from_secs(2)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// One round: the bundle to serve, and when the next renewal is due.
async fn round(
    secrets: &Api<Secret>,
    name: &str,
    names: &Names,
    lifetimes: Lifetimes,
) -> Result<(Bundle, SystemTime)> {
    let now = SystemTime::now();
    let existing = secrets.get_opt(name).await?;
    let current = existing.as_ref().and_then(bundle_of);
    let plan = match &current {
        Some(bundle) => certs::plan(bundle, names, lifetimes, now),
        None => Plan::RenewCa,
    };
    if let (Some(bundle), Plan::Keep { renew_at }) = (&current, &plan) {
        return Ok((bundle.clone(), *renew_at));
    }
    tracing::info!(secret = name, ?plan, "renewing the webhook certificates");
    let next = certs::renew(current.as_ref(), &plan, names, lifetimes, now)?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            resource_version: existing
                .as_ref()
                .and_then(|s| s.metadata.resource_version.clone()),
            labels: Some([("app.kubernetes.io/name".to_owned(), "ferrolb".to_owned())].into()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(data_of(&next)),
        ..Default::default()
    };
    let written = match existing {
        None => secrets.create(&PostParams::default(), &secret).await,
        Some(_) => secrets.replace(name, &PostParams::default(), &secret).await,
    };
    match written {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            return Err(Error::SecretConflict(name.to_owned()));
        }
        Err(e) => return Err(e.into()),
    }
    let renew_at = match certs::plan(&next, names, lifetimes, now) {
        Plan::Keep { renew_at } => renew_at,
        _ => now + RECHECK,
    };
    Ok((next, renew_at))
}

fn bundle_of(secret: &Secret) -> Option<Bundle> {
    let data = secret.data.as_ref()?;
    let text = |key: &str| {
        data.get(key)
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
    };
    Some(Bundle {
        ca_cert: text(certs::CA_CERT_KEY)?,
        ca_key: text(certs::CA_KEY_KEY)?,
        cert: text(certs::TLS_CERT_KEY)?,
        key: text(certs::TLS_KEY_KEY)?,
    })
}

fn data_of(bundle: &Bundle) -> BTreeMap<String, ByteString> {
    [
        (certs::CA_CERT_KEY, &bundle.ca_cert),
        (certs::CA_KEY_KEY, &bundle.ca_key),
        (certs::TLS_CERT_KEY, &bundle.cert),
        (certs::TLS_KEY_KEY, &bundle.key),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect()
}

/// The file loop: reloads `tls.crt`/`tls.key` from `dir` when they change, and injects
/// `ca.crt` when present and `injection` is given; runs forever.
pub async fn from_files(
    dir: PathBuf,
    certificate: Arc<ServingCertificate>,
    injection: Option<Injection>,
) {
    let mut last: Option<(String, String, Option<String>)> = None;
    let mut last_injection: Option<std::time::Instant> = None;
    loop {
        let read = |name: &str| std::fs::read_to_string(dir.join(name));
        match (read(certs::TLS_CERT_KEY), read(certs::TLS_KEY_KEY)) {
            (Ok(cert), Ok(key)) => {
                let ca = read(certs::CA_CERT_KEY).ok();
                let current = (cert, key, ca);
                let changed = last.as_ref() != Some(&current);
                if changed {
                    match certificate.load(&current.0, &current.1, &dir.display().to_string()) {
                        Ok(()) => {
                            tracing::info!(dir = %dir.display(), "serving certificate loaded from files");
                            last = Some(current.clone());
                        }
                        Err(e) => {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot load the certificate files")
                        }
                    }
                }
                let due = changed || last_injection.is_none_or(|t| t.elapsed() >= RECHECK);
                if let (Some(injection), Some(ca), true) = (&injection, &current.2, due) {
                    injection.inject(ca).await;
                    last_injection = Some(std::time::Instant::now());
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read the certificate files");
            }
        }
        tokio::time::sleep(FILE_RECHECK).await;
    }
}
