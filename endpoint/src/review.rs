//! The guard's two API calls, a TokenReview and a SubjectAccessReview, each bounded in time,
//! and the [`ScrapeGuard`] that asks them only for a token it has no fresh verdict for.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use kube::Api;
use kube::api::PostParams;

use crate::access::{self, Identity, Refusal, Verdicts};

/// How long each review may take before the scrape is answered 503.
pub const REVIEW_TIMEOUT: Duration = Duration::from_secs(5);

/// Who `token` belongs to, as the API server says.
pub async fn authenticate(client: &kube::Client, token: &str) -> Result<Identity, Refusal> {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            audiences: None,
        },
        ..Default::default()
    };
    let api: Api<TokenReview> = Api::all(client.clone());
    let answer = bounded("TokenReview", api.create(&PostParams::default(), &review)).await?;
    access::identity(answer.status.as_ref())
}

/// Whether `identity` may `get /metrics`, as the API server says.
pub async fn authorize(client: &kube::Client, identity: &Identity) -> Result<(), Refusal> {
    let review = access::metrics_access_review(identity);
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = bounded(
        "SubjectAccessReview",
        api.create(&PostParams::default(), &review),
    )
    .await?;
    access::verdict(answer.status.as_ref(), identity)
}

async fn bounded<T>(
    review: &'static str,
    call: impl Future<Output = kube::Result<T>>,
) -> Result<T, Refusal> {
    match tokio::time::timeout(REVIEW_TIMEOUT, call).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(Refusal::ReviewFailed {
            review,
            error: e.to_string(),
        }),
        Err(_) => Err(Refusal::ReviewFailed {
            review,
            error: format!("no answer within {REVIEW_TIMEOUT:?}"),
        }),
    }
}

/// Lets a scrape through when its token's user may `get /metrics`.
pub struct ScrapeGuard {
    client: kube::Client,
    verdicts: Mutex<Verdicts>,
}

impl std::fmt::Debug for ScrapeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeGuard").finish_non_exhaustive()
    }
}

impl ScrapeGuard {
    pub fn new(client: kube::Client) -> Self {
        ScrapeGuard {
            client,
            verdicts: Mutex::default(),
        }
    }

    /// The verdict for a scrape whose `Authorization` header is `authorization`.
    pub async fn check(&self, authorization: Option<&str>) -> Result<(), Refusal> {
        let token = access::bearer_token(authorization)?;
        if let Some(verdict) = self.lock().get(token, Instant::now()) {
            return verdict;
        }
        let verdict = match authenticate(&self.client, token).await {
            Ok(identity) => authorize(&self.client, &identity).await,
            Err(refusal) => Err(refusal),
        };
        self.lock().put(token, verdict.clone(), Instant::now());
        verdict
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Verdicts> {
        self.verdicts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests;
