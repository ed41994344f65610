use k8s_openapi::api::authentication::v1::UserInfo;

use super::*;

fn authenticated(username: &str, groups: &[&str]) -> TokenReviewStatus {
    TokenReviewStatus {
        authenticated: Some(true),
        user: Some(UserInfo {
            username: Some(username.into()),
            uid: Some("uid-1".into()),
            groups: Some(groups.iter().map(|g| g.to_string()).collect()),
            extra: None,
        }),
        ..Default::default()
    }
}

fn prometheus() -> Identity {
    identity(Some(&authenticated(
        "system:serviceaccount:monitoring:prometheus",
        &["system:serviceaccounts"],
    )))
    .unwrap()
}

#[test]
fn only_a_bearer_header_with_a_token_gives_a_token() {
    assert_eq!(bearer_token(Some("Bearer abc.def")), Ok("abc.def"));
    assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(bearer_token(None), Err(Refusal::NoToken));
    assert_eq!(
        bearer_token(Some("Basic dXNlcjpwdw==")),
        Err(Refusal::NotBearer)
    );
    assert_eq!(bearer_token(Some("Bearer ")), Err(Refusal::NotBearer));
    assert_eq!(bearer_token(Some("abc")), Err(Refusal::NotBearer));
}

#[test]
fn a_token_the_api_server_does_not_authenticate_is_refused_with_its_reason() {
    let status = TokenReviewStatus {
        authenticated: Some(false),
        error: Some("token has expired".into()),
        ..Default::default()
    };
    let refusal = identity(Some(&status)).unwrap_err();
    assert_eq!(refusal.status(), 401);
    assert_eq!(
        refusal.to_string(),
        "unauthorized: the API server does not accept the token: token has expired"
    );
    assert_eq!(identity(None).unwrap_err().status(), 401);
    let nameless = TokenReviewStatus {
        authenticated: Some(true),
        ..Default::default()
    };
    assert!(identity(Some(&nameless)).is_err(), "no user, no identity");
}

#[test]
fn the_access_review_asks_for_get_on_metrics_as_the_tokens_user() {
    let review = metrics_access_review(&prometheus());
    assert_eq!(
        review.spec.user.as_deref(),
        Some("system:serviceaccount:monitoring:prometheus")
    );
    assert_eq!(
        review.spec.groups,
        Some(vec!["system:serviceaccounts".to_string()])
    );
    assert_eq!(review.spec.uid.as_deref(), Some("uid-1"));
    let attributes = review.spec.non_resource_attributes.unwrap();
    assert_eq!(attributes.path.as_deref(), Some("/metrics"));
    assert_eq!(attributes.verb.as_deref(), Some("get"));
    assert!(review.spec.resource_attributes.is_none());
}

#[test]
fn only_an_allowed_and_not_denied_review_lets_the_scrape_through() {
    let who = prometheus();
    let allowed = SubjectAccessReviewStatus {
        allowed: true,
        ..Default::default()
    };
    assert_eq!(verdict(Some(&allowed), &who), Ok(()));
    let denied = SubjectAccessReviewStatus {
        allowed: false,
        reason: Some("no RBAC policy matched".into()),
        ..Default::default()
    };
    let refusal = verdict(Some(&denied), &who).unwrap_err();
    assert_eq!(refusal.status(), 403);
    assert_eq!(
        refusal.to_string(),
        "forbidden: user \"system:serviceaccount:monitoring:prometheus\" may not get /metrics: no RBAC policy matched"
    );
    let contradictory = SubjectAccessReviewStatus {
        allowed: true,
        denied: Some(true),
        ..Default::default()
    };
    assert!(verdict(Some(&contradictory), &who).is_err());
    assert!(verdict(None, &who).is_err());
}

#[test]
fn verdicts_are_reused_until_they_expire_and_failed_reviews_are_not_kept() {
    let start = Instant::now();
    let mut verdicts = Verdicts::default();
    verdicts.put("good", Ok(()), start);
    let forbidden = Err(Refusal::Forbidden {
        username: "u".into(),
        reason: String::new(),
    });
    verdicts.put("bad", forbidden.clone(), start);
    verdicts.put(
        "unknown",
        Err(Refusal::ReviewFailed {
            review: "TokenReview",
            error: "timed out".into(),
        }),
        start,
    );
    let soon = start + Duration::from_secs(5);
    assert_eq!(verdicts.get("good", soon), Some(Ok(())));
    assert_eq!(verdicts.get("bad", soon), Some(forbidden));
    assert_eq!(verdicts.get("unknown", soon), None);
    assert_eq!(verdicts.get("bad", start + REFUSED_FOR), None);
    assert_eq!(verdicts.get("good", start + REFUSED_FOR), Some(Ok(())));
    assert_eq!(verdicts.get("good", start + ALLOWED_FOR), None);
}

#[test]
fn the_verdicts_stay_bounded_whatever_tokens_arrive() {
    let start = Instant::now();
    let mut verdicts = Verdicts::default();
    for i in 0..(3 * MAX_VERDICTS) {
        verdicts.put(&format!("token-{i}"), Ok(()), start);
        assert!(verdicts.entries.len() <= MAX_VERDICTS);
    }
    let last = format!("token-{}", 3 * MAX_VERDICTS - 1);
    assert_eq!(verdicts.get(&last, start), Some(Ok(())));
}
