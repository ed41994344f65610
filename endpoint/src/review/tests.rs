//! The guard against a mocked API server: the test plays the API, checks each review it is
//! sent and answers it.

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{Handle, pair};

use super::*;

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn mocked() -> (kube::Client, ApiHandle) {
    let (service, handle) = pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), handle)
}

/// Takes the next request, checks it is a POST to `path`, and answers `status` with the
/// request's own object and `answer` as its status.
async fn answer(handle: &mut ApiHandle, path: &str, answer: Value) -> Value {
    let (request, send) = handle
        .next_request()
        .await
        .expect("a request reaches the API");
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri().path(), path);
    let body = request.into_body().collect_bytes().await.unwrap();
    let mut object: Value = serde_json::from_slice(&body).unwrap();
    object["status"] = answer;
    send.send_response(
        Response::builder()
            .status(201)
            .body(Body::from(serde_json::to_vec(&object).unwrap()))
            .unwrap(),
    );
    object
}

/// Whether the API is sent nothing more (the client may also be gone).
async fn no_more_requests(handle: &mut ApiHandle) -> bool {
    !matches!(
        tokio::time::timeout(Duration::from_millis(200), handle.next_request()).await,
        Ok(Some(_))
    )
}

const TOKEN_REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const ACCESS_REVIEWS: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

fn prometheus_user() -> Value {
    json!({
        "authenticated": true,
        "user": {"username": "system:serviceaccount:monitoring:prometheus", "uid": "u-1",
                 "groups": ["system:serviceaccounts", "system:serviceaccounts:monitoring"]}
    })
}

#[tokio::test]
async fn an_allowed_token_is_reviewed_once_and_then_served_from_the_verdicts() {
    let (client, mut api) = mocked();
    let guard = std::sync::Arc::new(ScrapeGuard::new(client));
    let checking = {
        let guard = guard.clone();
        tokio::spawn(async move { guard.check(Some("Bearer good-token")).await })
    };
    let token_review = answer(&mut api, TOKEN_REVIEWS, prometheus_user()).await;
    assert_eq!(token_review["spec"]["token"], "good-token");
    let access_review = answer(&mut api, ACCESS_REVIEWS, json!({"allowed": true})).await;
    assert_eq!(
        access_review["spec"]["user"],
        "system:serviceaccount:monitoring:prometheus"
    );
    assert_eq!(
        access_review["spec"]["nonResourceAttributes"],
        json!({"path": "/metrics", "verb": "get"})
    );
    assert_eq!(checking.await.unwrap(), Ok(()));

    // The mock answers nothing more: a second review would hang the check.
    let again = tokio::time::timeout(
        Duration::from_secs(1),
        guard.check(Some("Bearer good-token")),
    )
    .await;
    assert_eq!(again.expect("no API call for a fresh verdict"), Ok(()));
}

#[tokio::test]
async fn a_user_without_the_verb_is_refused_with_403_naming_the_user() {
    let (client, mut api) = mocked();
    let guard = ScrapeGuard::new(client);
    let checking = tokio::spawn(async move { guard.check(Some("Bearer other")).await });
    answer(&mut api, TOKEN_REVIEWS, prometheus_user()).await;
    answer(&mut api, ACCESS_REVIEWS, json!({"allowed": false})).await;
    let refusal = checking.await.unwrap().unwrap_err();
    assert_eq!(refusal.status(), 403);
    assert!(
        refusal
            .to_string()
            .contains("system:serviceaccount:monitoring:prometheus"),
        "{refusal}"
    );
}

#[tokio::test]
async fn an_unknown_token_is_refused_with_401_without_an_access_review() {
    let (client, mut api) = mocked();
    let guard = ScrapeGuard::new(client);
    let checking = tokio::spawn(async move { guard.check(Some("Bearer forged")).await });
    answer(
        &mut api,
        TOKEN_REVIEWS,
        json!({"authenticated": false, "error": "invalid bearer token"}),
    )
    .await;
    let refusal = checking.await.unwrap().unwrap_err();
    assert_eq!(refusal.status(), 401);
    assert!(refusal.to_string().contains("invalid bearer token"));
    assert!(
        no_more_requests(&mut api).await,
        "no SubjectAccessReview for an unauthenticated token"
    );
}

#[tokio::test]
async fn an_anonymous_scrape_is_refused_without_any_api_call() {
    let (client, mut api) = mocked();
    let refusal = ScrapeGuard::new(client).check(None).await.unwrap_err();
    assert_eq!(refusal, Refusal::NoToken);
    assert_eq!(refusal.status(), 401);
    assert!(no_more_requests(&mut api).await);
}

#[tokio::test]
async fn an_api_error_answers_503_and_is_asked_again_next_time() {
    let (client, mut api) = mocked();
    let guard = std::sync::Arc::new(ScrapeGuard::new(client));
    for _ in 0..2 {
        let checking = {
            let guard = guard.clone();
            tokio::spawn(async move { guard.check(Some("Bearer t")).await })
        };
        let (_, send) = api.next_request().await.unwrap();
        send.send_response(
            Response::builder()
                .status(500)
                .body(Body::from(
                    serde_json::to_vec(&json!({"kind": "Status", "apiVersion": "v1",
                        "status": "Failure", "message": "etcd is down", "code": 500}))
                    .unwrap(),
                ))
                .unwrap(),
        );
        let refusal = checking.await.unwrap().unwrap_err();
        assert_eq!(refusal.status(), 503);
        assert!(refusal.to_string().contains("TokenReview"), "{refusal}");
    }
}
