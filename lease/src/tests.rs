//! The client against a mocked API server: each test plays the server for one scenario,
//! checking the request the client sends and answering it.

use http::{Method, Request, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

use super::*;

type Server = mock::Handle<Request<Body>, Response<Body>>;

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ferrolb/leases";

fn client() -> (LeaseClient, Server) {
    let (service, server) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "ferrolb");
    let leases = LeaseClient::new(Api::namespaced(client, "ferrolb"), Duration::from_secs(2));
    (leases, server)
}

fn lease(version: Option<&str>, holder: Option<&str>) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("leader".into()),
            namespace: Some("ferrolb".into()),
            resource_version: version.map(Into::into),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: holder.map(Into::into),
            lease_duration_seconds: Some(15),
            ..Default::default()
        }),
    }
}

fn respond(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("leases.coordination.k8s.io \"leader\": {reason}"),
        "reason": reason, "code": code,
    })
}

/// Takes the next request, checks its method and path, and returns its body as JSON.
async fn expect(
    server: &mut Server,
    method: Method,
    path: &str,
) -> (Value, mock::SendResponse<Response<Body>>) {
    let (request, send) = server
        .next_request()
        .await
        .expect("the client sent no request");
    assert_eq!(request.method(), method);
    assert_eq!(request.uri().path(), path);
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (body, send)
}

fn stored_version(written: &Written) -> Option<&str> {
    match written {
        Written::Won(lease) => lease.metadata.resource_version.as_deref(),
        Written::Lost => None,
    }
}

#[tokio::test]
async fn an_absent_lease_is_read_as_none_and_then_created() {
    let (leases, mut server) = client();
    let serve = async {
        let (_, send) = expect(&mut server, Method::GET, &format!("{LEASES}/leader")).await;
        send.send_response(respond(404, status(404, "NotFound")));
        let (body, send) = expect(&mut server, Method::POST, LEASES).await;
        assert_eq!(body["metadata"]["name"], "leader");
        assert_eq!(body["metadata"].get("resourceVersion"), None);
        assert_eq!(body["spec"]["holderIdentity"], "node-a");
        let mut stored = body.clone();
        stored["metadata"]["resourceVersion"] = json!("a1");
        send.send_response(respond(201, stored));
    };
    let write = async {
        let read = leases.get("leader").await.unwrap();
        assert!(read.is_none());
        leases
            .write(lease(None, Some("node-a")), read.as_ref())
            .await
    };
    let (written, ()) = tokio::join!(write, serve);
    assert_eq!(stored_version(&written.unwrap()), Some("a1"));
}

#[tokio::test]
async fn an_update_carries_the_resource_version_it_read() {
    let (leases, mut server) = client();
    let read = lease(Some("opaque-7"), Some("node-a"));
    // The caller's new Lease may carry any version; the one read is what guards the write.
    let new = lease(Some("stale"), Some("node-b"));
    let serve = async {
        let (body, send) = expect(&mut server, Method::PUT, &format!("{LEASES}/leader")).await;
        assert_eq!(body["metadata"]["resourceVersion"], "opaque-7");
        assert_eq!(body["spec"]["holderIdentity"], "node-b");
        let mut stored = body.clone();
        stored["metadata"]["resourceVersion"] = json!("opaque-8");
        send.send_response(respond(200, stored));
    };
    let (written, ()) = tokio::join!(leases.write(new, Some(&read)), serve);
    assert_eq!(stored_version(&written.unwrap()), Some("opaque-8"));
}

#[tokio::test]
async fn a_conflict_on_update_is_reported_as_lost() {
    let (leases, mut server) = client();
    let read = lease(Some("3"), Some("node-a"));
    let serve = async {
        let (_, send) = expect(&mut server, Method::PUT, &format!("{LEASES}/leader")).await;
        send.send_response(respond(409, status(409, "Conflict")));
    };
    let (written, ()) = tokio::join!(
        leases.write(lease(None, Some("node-b")), Some(&read)),
        serve
    );
    assert!(matches!(written.unwrap(), Written::Lost));
}

#[tokio::test]
async fn a_create_racing_another_is_reported_as_lost() {
    let (leases, mut server) = client();
    let serve = async {
        let (_, send) = expect(&mut server, Method::POST, LEASES).await;
        send.send_response(respond(409, status(409, "AlreadyExists")));
    };
    let (written, ()) = tokio::join!(leases.write(lease(None, Some("node-b")), None), serve);
    assert!(matches!(written.unwrap(), Written::Lost));
}

#[tokio::test(start_paused = true)]
async fn a_call_the_server_does_not_answer_times_out_naming_the_lease() {
    let (leases, mut server) = client();
    let serve = async {
        let (_, send) = expect(&mut server, Method::GET, &format!("{LEASES}/leader")).await;
        send
    };
    let (read, _unanswered) = tokio::join!(leases.get("leader"), serve);
    let error = read.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { operation: Operation::Read, after, .. } if after == Duration::from_secs(2)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "reading Lease ferrolb/leader timed out after 2s"
    );
}

#[tokio::test]
async fn a_refused_call_names_the_lease_and_the_operation() {
    let (leases, mut server) = client();
    let serve = async {
        let (_, send) = expect(&mut server, Method::POST, LEASES).await;
        send.send_response(respond(403, status(403, "Forbidden")));
    };
    let new = lease(None, Some("node-a"));
    let (written, ()) = tokio::join!(leases.create(&new), serve);
    let error = written.unwrap_err();
    assert_eq!(error.operation(), Operation::Create);
    assert_eq!(error.lease().to_string(), "ferrolb/leader");
    assert!(
        error
            .to_string()
            .starts_with("creating Lease ferrolb/leader failed: "),
        "{error}"
    );
}

#[tokio::test]
async fn vacating_clears_the_holder_under_the_version_read() {
    let (leases, mut server) = client();
    let read = lease(Some("41"), Some("node-a"));
    let serve = async {
        let (body, send) = expect(&mut server, Method::PUT, &format!("{LEASES}/leader")).await;
        assert_eq!(body["metadata"]["resourceVersion"], "41");
        assert_eq!(body["spec"].get("holderIdentity"), None);
        assert_eq!(body["spec"]["leaseDurationSeconds"], 1);
        send.send_response(respond(200, body));
    };
    let vacate = leases.vacate(&read, |spec| spec.lease_duration_seconds = Some(1));
    let (written, ()) = tokio::join!(vacate, serve);
    assert!(matches!(written.unwrap(), Written::Won(_)));
}

#[tokio::test]
async fn an_update_without_a_version_read_is_refused_before_any_call() {
    let (leases, mut server) = client();
    let read = lease(None, Some("node-a"));
    let error = leases
        .replace(lease(None, Some("node-b")), &read)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unversioned { .. }), "{error:?}");
    drop(leases);
    assert!(server.next_request().await.is_none(), "a request was sent");
}

#[test]
fn an_empty_holder_is_no_holder() {
    assert_eq!(holder(&lease(None, Some(""))), None);
    assert_eq!(holder(&lease(None, Some("node-a"))), Some("node-a".into()));
    assert_eq!(holder(&Lease::default()), None);
}
