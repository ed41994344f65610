//! The HTTPS endpoints: one `/validate-…` path per kind (AdmissionReview in, AdmissionReview
//! out), `/convert` for BGPPeer versions, `/healthz` (the process answers) and `/readyz` (a
//! certificate is in place). Handlers read the current cluster snapshot and call the pure
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
use crate::cluster::Cluster;
use crate::conversion;
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

/// The routes of the webhook.
pub fn router(shared: Shared) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/convert", post(convert));
    for kind in Kind::ALL {
        router = router.route(
            kind.path(),
            post(move |state: State<Shared>, body: Bytes| validate(kind, state, body)),
        );
    }
    router.with_state(shared)
}

async fn readyz(State(shared): State<Shared>) -> Response {
    if shared.certificate.is_loaded() {
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
