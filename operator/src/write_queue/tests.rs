use http::Method;
use serde_json::json;

use super::*;
use crate::fake_api::{self, Seen};
use crate::term::{Fence, TermId};

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
async fn drain(term: Term, writes: Vec<ServiceWrite>) -> (Seen, Vec<Trigger>) {
    let (client, seen) = fake_api::client(fake_api::accept);
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
    (seen, asked)
}

fn paths(seen: &Seen) -> Vec<String> {
    seen.all().into_iter().map(|r| r.path).collect()
}

#[tokio::test(start_paused = true)]
async fn writes_of_the_current_term_land_as_status_patches() {
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    let (seen, retries) = drain(term, vec![write("a"), write("b")]).await;
    assert_eq!(
        paths(&seen),
        [
            "/api/v1/namespaces/shop/services/a/status",
            "/api/v1/namespaces/shop/services/b/status"
        ]
    );
    let first = &seen.all()[0];
    assert_eq!(first.method, Method::PATCH);
    assert_eq!(
        first.body,
        json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}, "conditions": null}})
    );
    assert_eq!(retries, []);
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_comes_back_as_a_retry_of_its_service() {
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    let (client, _) = fake_api::client(|_| {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "etcd is unavailable", "reason": "InternalError", "code": 500});
        (http::StatusCode::INTERNAL_SERVER_ERROR, status)
    });
    let (retries_tx, mut retries) = mpsc::unbounded_channel();
    let metrics = Metrics::new();
    let (queue, task) = WriteQueue::start(client, term, 1, metrics.clone(), retries_tx);
    queue.push(write("a"));
    drop(queue);
    task.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(retries.try_recv(), Ok(Trigger::Retry("shop/a".to_owned())));
    assert_eq!(metrics.write_errors.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn writes_queued_under_a_term_that_was_superseded_never_reach_the_api_server() {
    let fence = Fence::new(Duration::from_secs(3));
    let old = Term::new(fence.renewed(tokio::time::Instant::now()), fence.clone());
    fence.end();
    let new = fence.renewed(tokio::time::Instant::now());
    assert_eq!(new, TermId(2));
    let (seen, retries) = drain(old, vec![write("a"), write("b")]).await;
    assert_eq!(paths(&seen), Vec::<String>::new());
    assert_eq!(retries, [], "a refused write is dropped, not retried");
}

#[tokio::test(start_paused = true)]
async fn writes_of_a_term_whose_renewal_is_too_old_never_reach_the_api_server() {
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    // Paused (or starved) past the window, as a stopped process would be.
    tokio::time::advance(Duration::from_secs(5)).await;
    let (seen, retries) = drain(term, vec![write("a")]).await;
    assert_eq!(paths(&seen), Vec::<String>::new());
    assert_eq!(retries, []);
}
