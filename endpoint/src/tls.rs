//! The certificate a server presents, and its rustls configuration.
//!
//! A [`ServingCertificate`] is read by every handshake and can be replaced while serving (the
//! webhook rotates its own; the metrics endpoint loads mounted files or a certificate generated
//! at start by [`self_signed`]). A certificate whose key does not match is refused, never
//! served, so files caught half-written keep the previous pair in place.

use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::{Error, Result};

/// The certificate and key handshakes are answered with; empty until the first load.
#[derive(Default)]
pub struct ServingCertificate {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for ServingCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCertificate")
            .field("loaded", &self.is_loaded())
            .finish()
    }
}

impl ServingCertificate {
    /// Serves `cert_pem` (leaf first, then any chain) with `key_pem` from now on; `source_name`
    /// names where they came from in errors.
    pub fn load(&self, cert_pem: &str, key_pem: &str, source_name: &str) -> Result<()> {
        let certificate_error = |reason: String| Error::Certificate {
            source_name: source_name.to_string(),
            reason,
        };
        let key_error = |reason: String| Error::Key {
            source_name: source_name.to_string(),
            reason,
        };
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| certificate_error(e.to_string()))?;
        if chain.is_empty() {
            return Err(certificate_error("no CERTIFICATE block".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| key_error(e.to_string()))?;
        let signing_key = any_supported_type(&key).map_err(|e| key_error(e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing_key);
        certified
            .keys_match()
            .map_err(|e| key_error(format!("it does not match the certificate: {e}")))?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(certified));
        Ok(())
    }

    /// Loads a PEM certificate and key from two files.
    pub fn load_files(&self, cert_path: &str, key_path: &str) -> Result<()> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|error| Error::Read {
                path: path.to_string(),
                error,
            })
        };
        self.load(&read(cert_path)?, &read(key_path)?, cert_path)
    }

    /// The served leaf certificate (DER), if one is loaded.
    pub fn leaf(&self) -> Option<Vec<u8>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|certified| certified.cert.first())
            .map(|leaf| leaf.to_vec())
    }

    /// Whether a certificate is in place.
    pub fn is_loaded(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

impl ResolvesServerCert for ServingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A self-signed certificate and its key (PEM) for `names` (DNS names or IP addresses), for a
/// server whose clients do not verify it against a CA but still want the traffic encrypted.
pub fn self_signed(names: &[String]) -> Result<(String, String)> {
    let failed = |e: rcgen::Error| Error::SelfSigned {
        names: names.to_vec(),
        reason: e.to_string(),
    };
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let params = rcgen::CertificateParams::new(names.to_vec()).map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1) presenting whatever
/// `certificate` holds at each handshake.
pub fn server_config(certificate: Arc<ServingCertificate>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_pair_loads_and_is_then_served() {
        let (cert, key) = self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        let serving = ServingCertificate::default();
        assert!(!serving.is_loaded());
        serving.load(&cert, &key, "generated").unwrap();
        assert!(serving.is_loaded());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_and_the_previous_pair_stays() {
        let (cert, key) = self_signed(&["one".into()]).unwrap();
        let (_, other_key) = self_signed(&["two".into()]).unwrap();
        let serving = ServingCertificate::default();
        let error = serving.load(&cert, &other_key, "/tls/tls.crt").unwrap_err();
        assert!(
            error.to_string().contains("/tls/tls.crt") && error.to_string().contains("match"),
            "{error}"
        );
        assert!(!serving.is_loaded());
        serving.load(&cert, &key, "/tls/tls.crt").unwrap();
        assert!(serving.load(&cert, &other_key, "/tls/tls.crt").is_err());
        assert!(serving.is_loaded());
    }

    #[test]
    fn a_file_without_a_certificate_is_refused_naming_it() {
        let (_, key) = self_signed(&["one".into()]).unwrap();
        let error = ServingCertificate::default()
            .load("not a certificate", &key, "/tls/tls.crt")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the certificate in /tls/tls.crt is unusable: no CERTIFICATE block"
        );
    }
}
