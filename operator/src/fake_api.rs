//! A fake API server for the tests of the I/O modules: a kube [`Client`](kube::Client) over a
//! `tower-test` mock, where the test plays the API server. Every request is recorded (method,
//! path, query and JSON body) and answered by a function of the test, so a test asserts on
//! what reached the API server and decides what the server says back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

/// One request as it reached the API server.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

/// The requests seen so far.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    pub fn all(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (on tokio's clock) until a request satisfies `found`, for at most `limit`.
    pub async fn wait_for(&self, limit: Duration, found: impl Fn(&Request) -> bool) -> Request {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if let Some(r) = self.all().into_iter().find(|r| found(r)) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "no such request within {limit:?}; seen: {:#?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A client whose API server answers every request with `answer`, in a task of its own.
pub fn client(
    answer: impl Fn(&Request) -> (StatusCode, Value) + Send + 'static,
) -> (kube::Client, Seen) {
    let (mock, mut handle) = tower_test::mock::pair::<http::Request<Body>, http::Response<Body>>();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let request = Request {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (status, reply) = answer(&request);
            log.0.lock().unwrap().push(request);
            let response = http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                .unwrap();
            respond.send_response(response);
        }
    });
    (kube::Client::new(mock, "default"), seen)
}

/// The answer of an API server that accepts a write: the body sent, as a merge patch of an
/// empty object leaves it (no nulls), with the name of the object from the path and an
/// `apiVersion` and `kind`.
pub fn accept(request: &Request) -> (StatusCode, Value) {
    let mut object = without_nulls(request.body.clone());
    if !object.is_object() {
        object = json!({});
    }
    let name = request
        .path
        .trim_end_matches("/status")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if object
        .get("metadata")
        .is_none_or(|m| m.get("name").is_none())
    {
        object["metadata"]["name"] = json!(name);
    }
    if request.path.contains("/ipaddresspools/") && object.get("spec").is_none() {
        object["spec"] = json!({ "addresses": [] });
    }
    if request.path.starts_with("/api/v1/") && request.path.contains("/services/") {
        object["apiVersion"] = json!("v1");
        object["kind"] = json!("Service");
    }
    let status = if request.method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, object)
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}
