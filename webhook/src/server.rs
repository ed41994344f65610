//! The HTTPS endpoints: one `/validate-…` path per kind (AdmissionReview in, AdmissionReview
//! out), `/convert` for BGPPeer versions, and the probes `/healthz` (the process answers) and
//! `/readyz` (the API server trusts the served certificate, see [`crate::trust`]). The probes
//! are also served on a plain HTTP port, since before a certificate is loaded no TLS handshake
//! can succeed. Handlers read the current cluster snapshot, call the pure code in
//! [`admission`] and [`conversion`], and record each review in [`WebhookMetrics`]; the
//! accept loop is `ferrolb-endpoint`'s, presenting the swappable certificate of [`crate::tls`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ferrolb_endpoint::metrics::{Readiness, health_router};
use kube::core::conversion::ConversionReview;
use tokio::sync::watch;

use crate::admission::{self, Kind};
use crate::conversion;
use crate::metrics::WebhookMetrics;
use crate::snapshot::Cluster;

/// How long a request waits for the first read of the existing objects before the webhook
/// answers 503 (the API server then applies the webhook's failurePolicy).
const SYNC_WAIT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct Shared {
    /// The latest snapshot, and whether every kind has been read once.
    pub cluster: watch::Receiver<Arc<Cluster>>,
    pub synced: watch::Receiver<bool>,
    pub readiness: Readiness,
    pub metrics: Arc<WebhookMetrics>,
}

/// The routes of the webhook, probes included.
pub fn router(shared: Shared) -> Router {
    let probes = health_router(shared.readiness.clone());
    let mut router = Router::new().route("/convert", post(convert));
    for kind in Kind::ALL {
        router = router.route(
            kind.path(),
            post(move |state: State<Shared>, body: Bytes| validate(kind, state, body)),
        );
    }
    router.with_state(shared).merge(probes)
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
    let started = std::time::Instant::now();
    let cluster = shared.cluster.borrow().clone();
    let review = admission::review(kind, &body, &cluster);
    let allowed = review.response.as_ref().is_none_or(|r| r.allowed);
    shared.metrics.review(kind, allowed, started.elapsed());
    tracing::debug!(kind = kind.name(), allowed, "admission reviewed");
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_denied_review_is_answered_and_counted_as_a_denial_of_its_kind() {
        let (_cluster_tx, cluster) = watch::channel(Arc::new(Cluster::empty("metallb-system")));
        let (_synced_tx, synced) = watch::channel(true);
        let metrics = WebhookMetrics::new();
        let app = router(Shared {
            cluster,
            synced,
            readiness: Readiness::new("not yet"),
            metrics: metrics.clone(),
        });
        let review = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u-1", "operation": "CREATE",
                "kind": {"group": "metallb.io", "version": "v1beta1", "kind": "IPAddressPool"},
                "resource": {"group": "metallb.io", "version": "v1beta1", "resource": "ipaddresspools"},
                "name": "bad", "namespace": "metallb-system",
                "userInfo": {"username": "someone"},
                "object": {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                           "metadata": {"name": "bad", "namespace": "metallb-system"},
                           "spec": {"addresses": ["192.0.2.0/33"]}}
            }
        });
        let response = app
            .oneshot(
                Request::post(Kind::IPAddressPool.path())
                    .header("content-type", "application/json")
                    .body(Body::from(review.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["response"]["allowed"], false, "{answer}");
        let text = metrics.render();
        assert!(
            text.contains("ferrolb_webhook_denials_total{kind=\"IPAddressPool\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ferrolb_webhook_requests_total{kind=\"IPAddressPool\"} 1"),
            "{text}"
        );
    }
}
