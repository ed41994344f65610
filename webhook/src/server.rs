//! The HTTPS endpoints: one `/validate-…` path per kind (AdmissionReview in, AdmissionReview
//! out), `/convert` for BGPPeer versions, `/healthz` (the process answers) and `/readyz` (a
//! certificate is in place). The two probes are also served on a plain HTTP port
//! ([`health_router`]), since before a certificate is loaded no TLS handshake can succeed. Handlers read the current cluster snapshot and call the pure
//! code in [`admission`] and [`conversion`]; the accept loop terminates TLS with the
//! swappable certificate of [`crate::tls`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kube::core::conversion::ConversionReview;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::admission::{self, Kind};
use crate::conversion;
use crate::snapshot::Cluster;
use crate::tls::ServingCertificate;

/// How long a request waits for the first read of the existing objects before the webhook
/// answers 503 (the API server then applies the webhook's failurePolicy).
const SYNC_WAIT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct Shared {
    /// The latest snapshot, and whether every kind has been read once.
    pub cluster: watch::Receiver<Arc<Cluster>>,
    pub synced: watch::Receiver<bool>,
    pub certificate: Arc<ServingCertificate>,
}

/// The probes alone, for the plain HTTP health port.
pub fn health_router(certificate: Arc<ServingCertificate>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(certificate)
}

/// The routes of the webhook, probes included.
pub fn router(shared: Shared) -> Router {
    let probes = health_router(shared.certificate.clone());
    let mut router = Router::new().route("/convert", post(convert));
    for kind in Kind::ALL {
        router = router.route(
            kind.path(),
            post(move |state: State<Shared>, body: Bytes| validate(kind, state, body)),
        );
    }
    router.with_state(shared).merge(probes)
}

async fn readyz(State(certificate): State<Arc<ServingCertificate>>) -> Response {
    if certificate.is_loaded() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no serving certificate yet",
        )
            .into_response()
    }
}

async fn validate(kind: Kind, State(mut shared): State<Shared>, body: Bytes) -> Response {
    let synced = tokio::time::timeout(SYNC_WAIT, shared.synced.wait_for(|s| *s)).await;
    if !matches!(synced, Ok(Ok(_))) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "ferrolb-webhook has not read the existing metallb.io objects yet",
        )
            .into_response();
    }
    let cluster = shared.cluster.borrow().clone();
    let review = admission::review(kind, &body, &cluster);
    tracing::debug!(kind = kind.name(), "admission reviewed");
    axum::Json(review).into_response()
}

async fn convert(body: Bytes) -> Response {
    match serde_json::from_slice::<ConversionReview>(&body) {
        Ok(review) => axum::Json(conversion::review(review)).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!("cannot read the ConversionReview: {e}"),
        )
            .into_response(),
    }
}

/// Accepts TLS connections on `listener` and serves `app` over HTTP/1.1 on each, until the
/// task is dropped. A failed handshake only ends its own connection.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let service = TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::certs::{self, Lifetimes, Names, Plan};

    /// The status line of `GET path` on the plain HTTP port.
    async fn status(address: std::net::SocketAddr, path: &str) -> String {
        let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        answer.lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn readyz_turns_ready_once_a_certificate_is_loaded_and_healthz_always_answers() {
        let certificate = Arc::new(ServingCertificate::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(axum::serve(listener, health_router(certificate.clone())).into_future());

        assert_eq!(status(address, "/healthz").await, "HTTP/1.1 200 OK");
        assert_eq!(
            status(address, "/readyz").await,
            "HTTP/1.1 503 Service Unavailable"
        );

        let names = Names {
            dns: vec!["localhost".into()],
            ips: vec![],
        };
        let bundle = certs::renew(
            None,
            &Plan::RenewCa,
            &names,
            Lifetimes::default(),
            SystemTime::now(),
        )
        .unwrap();
        certificate.load(&bundle.cert, &bundle.key).unwrap();
        assert_eq!(status(address, "/readyz").await, "HTTP/1.1 200 OK");
    }
}
