//! Who may scrape `/metrics`: the pure decisions of the guard.
//!
//! A scrape carries `Authorization: Bearer <token>`; the API server says who the token belongs
//! to (a TokenReview) and whether that user may `get` the non-resource URL `/metrics` (a
//! SubjectAccessReview). This module reads the header, turns the two review answers into an
//! [`Identity`] and a verdict, words every refusal, and remembers verdicts for a short while in
//! [`Verdicts`]. It makes no call itself.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::TokenReviewStatus;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};

/// The path and verb a scraper must be allowed, as kube-rbac-proxy checks them for MetalLB.
pub const METRICS_PATH: &str = "/metrics";
pub const METRICS_VERB: &str = "get";

/// How long an allowed and a refused verdict are reused before the API server is asked again.
pub const ALLOWED_FOR: Duration = Duration::from_secs(60);
pub const REFUSED_FOR: Duration = Duration::from_secs(10);
/// How many tokens' verdicts are kept; beyond that the expired go, then all.
pub const MAX_VERDICTS: usize = 1024;

/// The user a token belongs to, as the TokenReview names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub username: String,
    pub uid: Option<String>,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Why a scrape is not served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    NoToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    NotBearer,
    /// The API server does not know the token.
    Unauthenticated { reason: String },
    /// The user is known but lacks `get` on `/metrics`.
    Forbidden { username: String, reason: String },
    /// A review could not be made (the API server unreachable, say); not remembered.
    ReviewFailed { review: &'static str, error: String },
}

impl Refusal {
    /// The HTTP status of the refusal: 401 for who, 403 for what, 503 when nobody could say.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::NoToken | Refusal::NotBearer | Refusal::Unauthenticated { .. } => 401,
            Refusal::Forbidden { .. } => 403,
            Refusal::ReviewFailed { .. } => 503,
        }
    }

    /// Whether the verdict may be reused for the same token.
    pub fn is_lasting(&self) -> bool {
        !matches!(self, Refusal::ReviewFailed { .. })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NoToken => write!(
                f,
                "unauthorized: {METRICS_PATH} needs an Authorization: Bearer token of a ServiceAccount allowed to {METRICS_VERB} it"
            ),
            Refusal::NotBearer => write!(
                f,
                "unauthorized: the Authorization header is not of the form \"Bearer <token>\""
            ),
            Refusal::Unauthenticated { reason } if reason.is_empty() => {
                write!(f, "unauthorized: the API server does not accept the token")
            }
            Refusal::Unauthenticated { reason } => write!(
                f,
                "unauthorized: the API server does not accept the token: {reason}"
            ),
            Refusal::Forbidden { username, reason } => {
                write!(
                    f,
                    "forbidden: user {username:?} may not {METRICS_VERB} {METRICS_PATH}"
                )?;
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
            Refusal::ReviewFailed { review, error } => {
                write!(
                    f,
                    "cannot check the scrape's token: the {review} failed: {error}"
                )
            }
        }
    }
}

/// The token of an `Authorization` header value.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Refusal> {
    let value = authorization.ok_or(Refusal::NoToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Refusal::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Refusal::NotBearer);
    }
    Ok(token)
}

/// The identity a TokenReview's answer gives, or why there is none.
pub fn identity(status: Option<&TokenReviewStatus>) -> Result<Identity, Refusal> {
    let reason = status.and_then(|s| s.error.clone()).unwrap_or_default();
    let status =
        status
            .filter(|s| s.authenticated == Some(true))
            .ok_or(Refusal::Unauthenticated {
                reason: reason.clone(),
            })?;
    let user = status.user.as_ref();
    let username = user.and_then(|u| u.username.clone()).unwrap_or_default();
    if username.is_empty() {
        return Err(Refusal::Unauthenticated { reason });
    }
    Ok(Identity {
        username,
        uid: user.and_then(|u| u.uid.clone()),
        groups: user.and_then(|u| u.groups.clone()).unwrap_or_default(),
        extra: user.and_then(|u| u.extra.clone()).unwrap_or_default(),
    })
}

/// The SubjectAccessReview asking whether `identity` may `get /metrics`.
pub fn metrics_access_review(identity: &Identity) -> SubjectAccessReview {
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(identity.username.clone()),
            uid: identity.uid.clone(),
            groups: Some(identity.groups.clone()),
            extra: (!identity.extra.is_empty()).then(|| identity.extra.clone()),
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some(METRICS_PATH.to_string()),
                verb: Some(METRICS_VERB.to_string()),
            }),
            resource_attributes: None,
        },
        ..Default::default()
    }
}

/// The verdict of a SubjectAccessReview's answer for `identity`.
pub fn verdict(
    status: Option<&SubjectAccessReviewStatus>,
    identity: &Identity,
) -> Result<(), Refusal> {
    match status {
        Some(s) if s.allowed && s.denied != Some(true) => Ok(()),
        _ => Err(Refusal::Forbidden {
            username: identity.username.clone(),
            reason: status
                .and_then(|s| s.reason.clone().or_else(|| s.evaluation_error.clone()))
                .unwrap_or_default(),
        }),
    }
}

/// Verdicts per token, each until its expiry.
#[derive(Debug, Default)]
pub struct Verdicts {
    entries: HashMap<String, (Instant, Result<(), Refusal>)>,
}

impl Verdicts {
    /// The verdict remembered for `token`, if it has not expired at `now`.
    pub fn get(&self, token: &str, now: Instant) -> Option<Result<(), Refusal>> {
        self.entries
            .get(token)
            .filter(|(expiry, _)| *expiry > now)
            .map(|(_, verdict)| verdict.clone())
    }

    /// Remembers `verdict` for `token` from `now`, unless it may not last.
    pub fn put(&mut self, token: &str, verdict: Result<(), Refusal>, now: Instant) {
        let lifetime = match &verdict {
            Ok(()) => ALLOWED_FOR,
            Err(refusal) if refusal.is_lasting() => REFUSED_FOR,
            Err(_) => return,
        };
        if self.entries.len() >= MAX_VERDICTS {
            self.entries.retain(|_, (expiry, _)| *expiry > now);
            if self.entries.len() >= MAX_VERDICTS {
                self.entries.clear();
            }
        }
        self.entries
            .insert(token.to_string(), (now + lifetime, verdict));
    }
}

#[cfg(test)]
mod tests;
