//! A fake API server for the tests of the speaker's API writers: a kube [`Client`] over a
//! `tower-test` mock, where the test plays the API server. Every request is recorded (method,
//! path and JSON body) and answered by a function of the test, so a test asserts on what
//! reached the API server and decides what the server says back.

use std::sync::{Arc, Mutex};

use http::{Method, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as it reached the API server.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// The query string, empty when there is none.
    pub query: String,
    pub body: Value,
}

/// The requests seen so far, in order.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    pub fn all(&self) -> Vec<Request> {
        self.0.lock().expect("not poisoned").clone()
    }
}

/// A client whose API server answers every request with `answer`, in a task of its own.
pub fn client(answer: impl Fn(&Request) -> (StatusCode, Value) + Send + 'static) -> (Client, Seen) {
    let (mock, mut handle) = tower_test::mock::pair::<http::Request<Body>, http::Response<Body>>();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("a readable body");
            let request = Request {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (status, reply) = answer(&request);
            log.0.lock().expect("not poisoned").push(request);
            let response = http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&reply).expect("JSON")))
                .expect("a valid response");
            respond.send_response(response);
        }
    });
    (Client::new(mock, "default"), seen)
}

/// A Kubernetes `Status` error with `code` and `reason`.
pub fn failure(code: StatusCode, reason: &str) -> (StatusCode, Value) {
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "reason": reason,
        "message": format!("the fake API server says {reason}"),
        "code": code.as_u16(),
    });
    (code, status)
}

/// The answer of an API server that accepts a write: the body sent back, with a
/// resourceVersion.
pub fn accept(request: &Request, version: &str) -> (StatusCode, Value) {
    let mut object = request.body.clone();
    if !object.is_object() {
        object = json!({});
    }
    object["metadata"]["resourceVersion"] = json!(version);
    (StatusCode::OK, object)
}
