//! The elector against a mocked API server, one scenario per test, and its timings.

use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

use super::*;

type Server = mock::Handle<Request<Body>, Response<Body>>;

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ferrolb/leases/ferrolb-operator";

fn elector(identity: &str) -> (Elector, Server) {
    let (service, server) = mock::pair::<Request<Body>, Response<Body>>();
    let api = Api::namespaced(kube::Client::new(service, "ferrolb"), "ferrolb");
    let elector = Elector::new(api, "ferrolb-operator", identity, Timings::default());
    (elector, server)
}

fn respond(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn held_by(holder: &str, version: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "ferrolb-operator", "namespace": "ferrolb", "resourceVersion": version},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15},
    })
}

/// Answers the next request, checking its method and path; returns its body.
async fn answer(
    server: &mut Server,
    method: Method,
    path: &str,
    reply: impl FnOnce(&Value) -> Response<Body>,
) -> Value {
    let (request, send) = server.next_request().await.expect("no request");
    assert_eq!((request.method(), request.uri().path()), (&method, path));
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    send.send_response(reply(&body));
    body
}

#[tokio::test]
async fn a_replica_finding_no_lease_creates_it_and_leads() {
    let (mut elector, mut server) = elector("replica-a");
    let serve = async {
        answer(&mut server, Method::GET, LEASE, |_| {
            respond(404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}))
        })
        .await;
        let created = answer(
            &mut server,
            Method::POST,
            "/apis/coordination.k8s.io/v1/namespaces/ferrolb/leases",
            |body| {
                let mut stored = body.clone();
                stored["metadata"]["resourceVersion"] = json!("1");
                respond(201, stored)
            },
        )
        .await;
        assert_eq!(created["spec"]["holderIdentity"], "replica-a");
        assert_eq!(created["spec"]["leaseDurationSeconds"], 15);
    };
    let (attempt, ()) = tokio::join!(elector.attempt(), serve);
    assert!(matches!(attempt, Attempt::Leading(_)));
}

#[tokio::test]
async fn a_lease_another_replica_renews_is_left_alone() {
    let (mut elector, mut server) = elector("replica-b");
    let serve = answer(&mut server, Method::GET, LEASE, |_| {
        respond(200, held_by("replica-a", "7"))
    });
    let (attempt, _) = tokio::join!(elector.attempt(), serve);
    assert!(matches!(attempt, Attempt::Following));
    drop(elector);
    assert!(
        server.next_request().await.is_none(),
        "a standby wrote a held Lease"
    );
}

#[tokio::test]
async fn renewing_carries_the_version_read_and_a_conflict_means_following() {
    let (mut elector, mut server) = elector("replica-a");
    let serve = async {
        answer(&mut server, Method::GET, LEASE, |_| {
            respond(200, held_by("replica-a", "opaque-9"))
        })
        .await;
        let renewal = answer(&mut server, Method::PUT, LEASE, |_| {
            respond(409, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409}))
        })
        .await;
        assert_eq!(renewal["metadata"]["resourceVersion"], "opaque-9");
    };
    let (attempt, ()) = tokio::join!(elector.attempt(), serve);
    assert!(matches!(attempt, Attempt::Following));
}

#[tokio::test]
async fn vacating_clears_only_a_lease_this_replica_holds() {
    let (elector, mut server) = elector("replica-a");
    let serve = async {
        answer(&mut server, Method::GET, LEASE, |_| {
            respond(200, held_by("replica-a", "3"))
        })
        .await;
        let vacated = answer(&mut server, Method::PUT, LEASE, |body| {
            respond(200, body.clone())
        })
        .await;
        assert_eq!(vacated["metadata"]["resourceVersion"], "3");
        assert_eq!(vacated["spec"].get("holderIdentity"), None);
        assert_eq!(vacated["spec"]["leaseDurationSeconds"], 1);
    };
    let (vacated, ()) = tokio::join!(elector.vacate(), serve);
    assert_eq!(vacated, Ok(()));

    let (elector, mut server) = self::elector("replica-a");
    let serve = answer(&mut server, Method::GET, LEASE, |_| {
        respond(200, held_by("replica-b", "4"))
    });
    let (vacated, _) = tokio::join!(elector.vacate(), serve);
    assert_eq!(vacated, Ok(()));
    drop(elector);
    assert!(
        server.next_request().await.is_none(),
        "another replica's Lease was written"
    );
}

#[tokio::test(start_paused = true)]
async fn the_leader_is_known_while_the_lease_answers_and_unknown_a_lease_duration_after_it_stopped()
{
    let (elector, mut server) = elector("replica-b");
    let reports = Arc::new(std::sync::Mutex::new(Vec::<(Instant, bool)>::new()));
    let elector = elector.reporting_leader_known({
        let reports = reports.clone();
        move |known| reports.lock().unwrap().push((Instant::now(), known))
    });
    let (stop_tx, stop) = watch::channel(false);
    let (leading_tx, _leading) = watch::channel(None);
    let run = tokio::spawn(elector.run(leading_tx, stop));

    answer(&mut server, Method::GET, LEASE, |_| {
        respond(200, held_by("replica-a", "7"))
    })
    .await;
    let failing = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd is down", "code": 500});
    while !reports.lock().unwrap().iter().any(|(_, known)| !known) {
        answer(&mut server, Method::GET, LEASE, |_| {
            respond(500, failing.clone())
        })
        .await;
        tokio::task::yield_now().await;
    }
    let reports = reports.lock().unwrap().clone();
    assert!(reports[0].1, "a Lease read tells who leads");
    let first_unknown = reports.iter().find(|(_, known)| !known).unwrap().0;
    let unknown_after = first_unknown - reports[0].0;
    assert!(
        unknown_after >= Timings::default().lease_duration,
        "unknown after only {unknown_after:?}"
    );
    assert!(
        reports.iter().take_while(|(_, known)| *known).count() > 1,
        "failed reads within the lease duration keep the leader known"
    );

    let _ = stop_tx.send(true);
    answer(&mut server, Method::GET, LEASE, |_| {
        respond(200, held_by("replica-a", "8"))
    })
    .await;
    run.await.unwrap();
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn each_call_takes_at_most_half_the_renew_deadline() {
    let t = Timings::new(secs(15), secs(10), secs(2)).unwrap();
    assert_eq!(t.call_timeout, secs(5));
    let t = Timings::new(secs(4), secs(3), secs(1)).unwrap();
    assert_eq!(t.call_timeout, Duration::from_millis(1500));
    assert!(t.call_timeout * 2 <= t.renew_deadline);
    let t = Timings::new(secs(60), secs(40), secs(5)).unwrap();
    assert_eq!(t.call_timeout, secs(5));
}

#[test]
fn a_renew_deadline_not_shorter_than_the_lease_is_refused() {
    assert_eq!(
        Timings::new(secs(10), secs(10), secs(2)).unwrap_err(),
        "the renew deadline (10s) must be longer than zero and shorter than the lease duration (10s)"
    );
    assert!(Timings::new(secs(10), secs(0), secs(2)).is_err());
    assert_eq!(
        Timings::new(secs(15), secs(10), secs(10)).unwrap_err(),
        "the retry period (10s) must be longer than zero and shorter than the renew deadline (10s)"
    );
}
