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

use crate::{Error, Result};

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

impl ServingCertificate {
    /// Replaces the served certificate with `cert_pem` (leaf first, then any chain) and its key.
    pub fn load(&self, cert_pem: &str, key_pem: &str) -> Result<()> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::NoCertificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(Error::NoCertificate("no CERTIFICATE block".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| Error::BadKey(e.to_string()))?;
        let signing_key = any_supported_type(&key).map_err(|e| Error::BadKey(e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing_key);
        // Files are written one at a time: a key read before its certificate must not be served.
        certified
            .keys_match()
            .map_err(|e| Error::KeyMismatch(e.to_string()))?;
        let certified = Arc::new(certified);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(certified);
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::certs::{self, Bundle, Lifetimes, Names, Plan};

    fn bundle() -> Bundle {
        let names = Names {
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
        };
        certs::renew(
            None,
            &Plan::RenewCa,
            &names,
            Lifetimes::default(),
            SystemTime::now(),
        )
        .unwrap()
    }

    fn client(cas: &[&Bundle]) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for b in cas {
            for ca in CertificateDer::pem_slice_iter(b.ca_cert.as_bytes()) {
                roots.add(ca.unwrap()).unwrap();
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        // Resumed sessions carry no certificate; every handshake here must show the served one.
        config.resumption = rustls::client::Resumption::disabled();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// An echo server over TLS, serving whatever `certificate` holds.
    async fn echo_server(certificate: Arc<ServingCertificate>) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config(certificate));
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 64];
                    while let Ok(n) = tls.read(&mut buf).await {
                        if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    fn leaf(stream: &tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> Vec<u8> {
        stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    }

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .unwrap()
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn a_rotated_certificate_serves_new_handshakes_and_keeps_open_connections() {
        let (old, new) = (bundle(), bundle());
        let certificate = Arc::new(ServingCertificate::default());
        certificate.load(&old.cert, &old.key).unwrap();
        let address = echo_server(certificate.clone()).await;
        let connector = client(&[&old, &new]);
        let name = ServerName::IpAddress(address.ip().into());

        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut open = connector.connect(name.clone(), tcp).await.unwrap();
        assert_eq!(leaf(&open), der(&old.cert));

        certificate.load(&new.cert, &new.key).unwrap();

        open.write_all(b"still here").await.unwrap();
        let mut buf = [0u8; 10];
        open.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still here");

        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let fresh = connector.connect(name, tcp).await.unwrap();
        assert_eq!(leaf(&fresh), der(&new.cert));
    }

    #[test]
    fn nothing_is_served_before_a_certificate_is_loaded() {
        let certificate = ServingCertificate::default();
        assert!(!certificate.is_loaded());
        let b = bundle();
        certificate.load(&b.cert, &b.key).unwrap();
        assert!(certificate.is_loaded());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_and_the_old_pair_kept() {
        let (a, b) = (bundle(), bundle());
        let certificate = ServingCertificate::default();
        certificate.load(&a.cert, &a.key).unwrap();
        let err = certificate.load(&a.cert, &b.key).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("serving key does not match the certificate"),
            "{err}"
        );
        assert!(certificate.is_loaded());
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused() {
        let b = bundle();
        let err = ServingCertificate::default()
            .load(&b.cert, "garbage")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("serving key PEM holds no usable private key"),
            "{err}"
        );
    }
}
