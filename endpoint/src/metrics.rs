//! The `/metrics` endpoint of a component, and its health probes on a separate plain port.
//!
//! Over HTTPS (the default), each scrape goes through the [`ScrapeGuard`]: 401 without a token
//! the API server accepts, 403 for a user without `get` on `/metrics`, 503 when the API server
//! cannot be asked, the metrics otherwise. The certificate comes from mounted files or is
//! generated self-signed at start. Plain HTTP serves anyone and is only taken when asked for.
//! The probes (`/healthz`, `/readyz`) never need a token, so the kubelet reaches them on their
//! own port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::review::ScrapeGuard;
use crate::tls::{ServingCertificate, self_signed, server_config};
use crate::{Error, Result, https};

/// What `/metrics` answers with: the registry rendered in the OpenMetrics text format.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The command-line flags of the metrics endpoint, the same in every binary.
#[derive(Clone, Debug, clap::Args)]
pub struct MetricsFlags {
    /// Serve /metrics over plain HTTP to anyone, instead of HTTPS to scrapers whose
    /// ServiceAccount may get /metrics.
    #[arg(long)]
    pub metrics_plain_http: bool,
    /// PEM certificate for the HTTPS metrics endpoint; without it one is generated self-signed.
    #[arg(long, requires = "metrics_tls_key")]
    pub metrics_tls_cert: Option<PathBuf>,
    /// PEM private key of --metrics-tls-cert.
    #[arg(long, requires = "metrics_tls_cert")]
    pub metrics_tls_key: Option<PathBuf>,
}

/// How scrapes reach the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    PlainHttp,
    Https {
        /// A certificate and key file; `None` generates a self-signed one for `names`.
        files: Option<(PathBuf, PathBuf)>,
        names: Vec<String>,
    },
}

impl MetricsFlags {
    /// The scheme these flags choose; `names` go into a generated certificate.
    pub fn scheme(&self, names: Vec<String>) -> Scheme {
        if self.metrics_plain_http {
            return Scheme::PlainHttp;
        }
        let files = self
            .metrics_tls_cert
            .clone()
            .zip(self.metrics_tls_key.clone());
        Scheme::Https { files, names }
    }
}

/// A component's metrics endpoint.
#[derive(Clone, Debug)]
pub struct MetricsEndpoint {
    pub address: SocketAddr,
    pub scheme: Scheme,
}

impl MetricsEndpoint {
    /// Binds the address and serves until the task is dropped. `client` reviews the scrapers'
    /// tokens (unused over plain HTTP).
    pub async fn serve(self, client: kube::Client, render: Render) -> Result<()> {
        let listener = TcpListener::bind(self.address)
            .await
            .map_err(|error| Error::Listen {
                address: self.address,
                error,
            })?;
        match self.scheme {
            Scheme::PlainHttp => {
                tracing::warn!(address = %self.address, "serving /metrics over plain HTTP to anyone");
                let app = metrics_router(render, None);
                axum::serve(listener, app)
                    .await
                    .map_err(|error| Error::Listen {
                        address: self.address,
                        error,
                    })
            }
            Scheme::Https { files, names } => {
                let certificate = Arc::new(ServingCertificate::default());
                match files {
                    Some((cert, key)) => {
                        certificate.load_files(&cert.to_string_lossy(), &key.to_string_lossy())?
                    }
                    None => {
                        let (cert, key) = self_signed(&names)?;
                        certificate.load(&cert, &key, "the generated certificate")?;
                    }
                }
                tracing::info!(address = %self.address, "serving /metrics over HTTPS to authorized scrapers");
                let guard = Arc::new(ScrapeGuard::new(client));
                let app = metrics_router(render, Some(guard));
                https::serve(listener, server_config(certificate), app).await;
                Ok(())
            }
        }
    }
}

impl MetricsEndpoint {
    /// Serves in a task of its own; a port that cannot be bound is logged, and the component
    /// goes on without metrics.
    pub fn spawn(self, client: kube::Client, render: Render) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(e) = self.serve(client, render).await {
                tracing::error!("metrics endpoint: {e}");
            }
        })
    }
}

/// `GET /metrics`, behind `guard` when there is one.
pub fn metrics_router(render: Render, guard: Option<Arc<ScrapeGuard>>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((render, guard))
}

async fn scrape(
    State((render, guard)): State<(Render, Option<Arc<ScrapeGuard>>)>,
    headers: HeaderMap,
) -> Response {
    if let Some(guard) = guard {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(refusal) = guard.check(authorization).await {
            tracing::debug!(%refusal, "scrape refused");
            let status =
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, format!("{refusal}\n")).into_response();
        }
    }
    ([(header::CONTENT_TYPE, OPENMETRICS)], render()).into_response()
}

/// Whether a component can do its job, and if not, why; read by `/readyz`.
#[derive(Clone, Debug)]
pub struct Readiness {
    state: watch::Sender<Result<(), String>>,
}

impl Readiness {
    /// Not ready, for `reason`, until [`Readiness::set`] says otherwise.
    pub fn new(reason: &str) -> Self {
        Readiness {
            state: watch::Sender::new(Err(reason.to_string())),
        }
    }

    /// Ready (`Ok`), or not ready for the given reason.
    pub fn set(&self, state: Result<(), String>) {
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    pub fn is_ready(&self) -> bool {
        self.state.borrow().is_ok()
    }
}

impl Default for Readiness {
    /// Not ready: the component is starting.
    fn default() -> Self {
        Readiness::new("starting")
    }
}

/// `/healthz` (the process answers) and `/readyz` (200, or 503 with the reason).
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    match readiness.state.borrow().clone() {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

/// Serves the probes in a task of its own; a port that cannot be bound is logged.
pub fn spawn_health(address: SocketAddr, readiness: Readiness) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = serve_health(address, readiness).await {
            tracing::error!("health endpoint: {e}");
        }
    })
}

/// Serves the probes on `address` over plain HTTP until the task is dropped.
pub async fn serve_health(address: SocketAddr, readiness: Readiness) -> Result<()> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| Error::Listen { address, error })?;
    axum::serve(listener, health_router(readiness))
        .await
        .map_err(|error| Error::Listen { address, error })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    fn render() -> Render {
        Arc::new(|| "metallb_bgp_session_up{peer=\"x\"} 1\n# EOF\n".to_string())
    }

    async fn get_status(app: Router, path: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn plain_http_serves_the_metrics_to_anyone_in_openmetrics_format() {
        let response = metrics_router(render(), None)
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], OPENMETRICS);
    }

    #[tokio::test]
    async fn behind_the_guard_an_anonymous_scrape_gets_401_and_no_metrics() {
        let (service, _api) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let guard = Arc::new(ScrapeGuard::new(kube::Client::new(service, "default")));
        let (status, body) = get_status(metrics_router(render(), Some(guard)), "/metrics").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!body.contains("metallb_bgp_session_up"), "{body}");
        assert!(body.contains("Bearer"), "{body}");
    }

    #[tokio::test]
    async fn readyz_says_why_until_ready_and_healthz_always_answers() {
        let readiness = Readiness::new("the watches have not listed every kind yet");
        let app = health_router(readiness.clone());
        assert_eq!(
            get_status(app.clone(), "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the watches have not listed every kind yet".to_string()
            )
        );
        assert_eq!(get_status(app.clone(), "/healthz").await.0, StatusCode::OK);
        readiness.set(Ok(()));
        assert!(readiness.is_ready());
        assert_eq!(get_status(app.clone(), "/readyz").await.0, StatusCode::OK);
        readiness.set(Err("lost the API server".into()));
        assert_eq!(
            get_status(app, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn the_flags_choose_https_unless_plain_http_is_asked_for() {
        let flags = MetricsFlags {
            metrics_plain_http: false,
            metrics_tls_cert: None,
            metrics_tls_key: None,
        };
        assert_eq!(
            flags.scheme(vec!["n".into()]),
            Scheme::Https {
                files: None,
                names: vec!["n".into()]
            }
        );
        let plain = MetricsFlags {
            metrics_plain_http: true,
            ..flags
        };
        assert_eq!(plain.scheme(vec![]), Scheme::PlainHttp);
    }
}
