//! The certificate the webhook presents: `ferrolb-endpoint`'s swappable
//! [`ServingCertificate`], which [`crate::cert_manager`] loads and rotates while connections
//! stay open, and its rustls configuration.

pub use ferrolb_endpoint::tls::{ServingCertificate, server_config};

#[cfg(test)]
mod tests {

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use std::sync::Arc;

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    use super::*;
    use crate::certs::Bundle;
    use crate::certs::tests::localhost_bundle as bundle;

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
        certificate.load(&old.cert, &old.key, "old").unwrap();
        let address = echo_server(certificate.clone()).await;
        let connector = client(&[&old, &new]);
        let name = ServerName::IpAddress(address.ip().into());

        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut open = connector.connect(name.clone(), tcp).await.unwrap();
        assert_eq!(leaf(&open), der(&old.cert));

        certificate.load(&new.cert, &new.key, "new").unwrap();

        open.write_all(b"still here").await.unwrap();
        let mut buf = [0u8; 10];
        open.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still here");

        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let fresh = connector.connect(name, tcp).await.unwrap();
        assert_eq!(leaf(&fresh), der(&new.cert));
    }
}
