//! TLS for the webhook: a rustls server (TLS 1.2 and 1.3 only) whose certificate is looked up
//! per handshake in a [`ServingCertificate`] that can be replaced at any time. Rotating the
//! certificate therefore never restarts the listener or drops a connection: sessions already
//! established keep the certificate they started with; the next handshake gets the new one.

use std::fmt;
use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The certificate currently served; empty until the first one is loaded.
#[derive(Default)]
pub struct ServingCertificate {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl fmt::Debug for ServingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServingCertificate")
            .field("loaded", &self.is_loaded())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("serving certificate PEM holds no certificate: {0}")]
    NoCertificate(String),
    #[error("serving key PEM holds no usable private key: {0}")]
    BadKey(String),
}

impl ServingCertificate {
    /// Replaces the served certificate with `cert_pem` (leaf first, then any chain) and its key.
    pub fn load(&self, cert_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::NoCertificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate("no CERTIFICATE block".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsError::BadKey(e.to_string()))?;
        let signing_key = any_supported_type(&key).map_err(|e| TlsError::BadKey(e.to_string()))?;
        let certified = Arc::new(CertifiedKey::new(chain, signing_key));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(certified);
        Ok(())
    }

    /// Whether a certificate is in place (the webhook is ready only then).
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

/// A rustls server configuration serving whatever `certificate` holds, over HTTP/1.1.
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
