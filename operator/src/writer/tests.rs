use std::sync::Mutex;

use kube::client::Body;

use super::*;
use crate::term::{Fence, TermId};

/// A client whose API server records each request's path and answers with an empty Service.
fn recording_client() -> (kube::Client, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let service = tower::service_fn(move |request: http::Request<Body>| {
        log.lock().unwrap().push(request.uri().path().to_owned());
        async move {
            let body = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}"#.to_vec();
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(body))
        }
    });
    (kube::Client::new(service, "default"), seen)
}

fn write(name: &str) -> ServiceWrite {
    ServiceWrite {
        namespace: "shop".to_owned(),
        name: name.to_owned(),
        status: Some((vec!["192.0.2.1".parse().unwrap()], Vec::new())),
        pool_annotation: None,
    }
}

/// Runs `writes` through a queue of `term` until it is empty; returns what reached the API
/// server and the retries asked for.
async fn drain(term: Term, writes: Vec<ServiceWrite>) -> (Vec<String>, Vec<Trigger>) {
    let (client, seen) = recording_client();
    let (retries_tx, mut retries) = mpsc::unbounded_channel();
    let metrics = Metrics::new();
    let (queue, task) = WriteQueue::start(client, term, 1, metrics, retries_tx);
    for w in writes {
        queue.push(w);
    }
    drop(queue);
    task.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut asked = Vec::new();
    while let Ok(t) = retries.try_recv() {
        asked.push(t);
    }
    let seen = seen.lock().unwrap().clone();
    (seen, asked)
}

#[tokio::test(start_paused = true)]
async fn writes_of_the_current_term_land() {
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    let (seen, retries) = drain(term, vec![write("a"), write("b")]).await;
    assert_eq!(
        seen,
        [
            "/api/v1/namespaces/shop/services/a/status",
            "/api/v1/namespaces/shop/services/b/status"
        ]
    );
    assert_eq!(retries, []);
}

#[tokio::test(start_paused = true)]
async fn writes_queued_under_a_term_that_was_superseded_never_reach_the_api_server() {
    let fence = Fence::new(Duration::from_secs(3));
    let old = Term::new(fence.renewed(tokio::time::Instant::now()), fence.clone());
    fence.end();
    let new = fence.renewed(tokio::time::Instant::now());
    assert_eq!(new, TermId(2));
    let (seen, retries) = drain(old, vec![write("a"), write("b")]).await;
    assert_eq!(seen, Vec::<String>::new());
    assert_eq!(retries, [], "a refused write is dropped, not retried");
}

#[tokio::test(start_paused = true)]
async fn writes_of_a_term_whose_renewal_is_too_old_never_reach_the_api_server() {
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    // Paused (or starved) past the window, as a stopped process would be.
    tokio::time::advance(Duration::from_secs(5)).await;
    let (seen, retries) = drain(term, vec![write("a")]).await;
    assert_eq!(seen, Vec::<String>::new());
    assert_eq!(retries, []);
}
