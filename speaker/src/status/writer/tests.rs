use std::time::Duration;

use ferrolb_crds::{ServiceBGPStatus, ServiceL2Status};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::fake_api::{self, Request, accept, failure};

const L2_STATUSES: &str = "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicel2statuses";
const BGP_STATUSES: &str = "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicebgpstatuses";

fn front() -> ServiceKey {
    ServiceKey {
        namespace: "web".into(),
        name: "front".into(),
    }
}

fn writer<K: StatusKind>(client: Client) -> StatusWriter<K> {
    StatusWriter::new(client, "metallb-system", "node-a", Duration::from_secs(2))
}

/// An API server that accepts every write at resourceVersion "7" and every deletion.
fn accepting(request: &Request) -> (StatusCode, Value) {
    if request.method == Method::DELETE {
        return (
            StatusCode::OK,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        );
    }
    accept(request, "7")
}

#[tokio::test]
async fn publishing_applies_the_labels_then_the_status_naming_node_service_and_interfaces() {
    let (client, seen) = fake_api::client(accepting);
    let mut writer = writer::<ServiceL2Status>(client);
    writer.publish(&front(), vec!["eth0".into()]).await.unwrap();
    let requests = seen.all();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let name = format!("{L2_STATUSES}/l2-web.front");
    assert_eq!(requests[0].method, Method::PATCH);
    assert_eq!(requests[0].path, name);
    let labels = &requests[0].body["metadata"]["labels"];
    assert_eq!(labels[NODE_LABEL], "node-a");
    assert_eq!(labels[SERVICE_NAME_LABEL], "front");
    assert_eq!(labels[SERVICE_NAMESPACE_LABEL], "web");
    assert_eq!(requests[1].method, Method::PATCH);
    assert_eq!(requests[1].path, format!("{name}/status"));
    let status = &requests[1].body["status"];
    assert_eq!(status["node"], "node-a");
    assert_eq!(status["serviceName"], "front");
    assert_eq!(status["serviceNamespace"], "web");
    assert_eq!(status["interfaces"], json!([{"name": "eth0"}]));
}

#[tokio::test]
async fn publishing_what_was_already_published_sends_nothing_and_a_change_is_written() {
    let (client, seen) = fake_api::client(accepting);
    let mut writer = writer::<ServiceL2Status>(client);
    writer.publish(&front(), vec!["eth0".into()]).await.unwrap();
    writer.publish(&front(), vec!["eth0".into()]).await.unwrap();
    assert_eq!(seen.all().len(), 2);
    writer.publish(&front(), vec!["eth1".into()]).await.unwrap();
    let requests = seen.all();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[3].body["status"]["interfaces"],
        json!([{"name": "eth1"}])
    );
}

#[tokio::test]
async fn withdrawing_deletes_only_the_version_this_node_wrote() {
    let (client, seen) = fake_api::client(accepting);
    let mut writer = writer::<ServiceL2Status>(client);
    writer.publish(&front(), vec!["eth0".into()]).await.unwrap();
    writer.withdraw(&front()).await.unwrap();
    let requests = seen.all();
    let delete = requests.last().unwrap();
    assert_eq!(delete.method, Method::DELETE);
    assert_eq!(delete.path, format!("{L2_STATUSES}/l2-web.front"));
    assert_eq!(delete.body["preconditions"]["resourceVersion"], "7");
    assert_eq!(writer.published().count(), 0);
    // Nothing published any more: a second withdrawal makes no call.
    writer.withdraw(&front()).await.unwrap();
    assert_eq!(seen.all().len(), requests.len());
}

#[tokio::test]
async fn a_status_another_node_rewrote_or_that_is_gone_is_withdrawn_without_error() {
    for (code, reason) in [
        (StatusCode::CONFLICT, "Conflict"),
        (StatusCode::NOT_FOUND, "NotFound"),
    ] {
        let (client, _) = fake_api::client(move |request| {
            if request.method == Method::DELETE {
                failure(code, reason)
            } else {
                accept(request, "7")
            }
        });
        let mut writer = writer::<ServiceL2Status>(client);
        writer.publish(&front(), vec!["eth0".into()]).await.unwrap();
        assert!(writer.withdraw(&front()).await.is_ok(), "{reason}");
    }
}

#[tokio::test]
async fn a_failed_write_is_an_error_naming_the_object_and_is_not_taken_as_published() {
    let (client, seen) =
        fake_api::client(|_| failure(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"));
    let mut writer = writer::<ServiceL2Status>(client);
    let error = writer
        .publish(&front(), vec!["eth0".into()])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"l2-web.front\""), "{error}");
    assert_eq!(writer.published().count(), 0);
    // Not published, so it is tried again rather than skipped as unchanged.
    let _ = writer.publish(&front(), vec!["eth0".into()]).await;
    assert_eq!(seen.all().len(), 2);
}

#[tokio::test]
async fn a_bgp_status_is_named_after_service_and_node_and_lists_the_peers() {
    let (client, seen) = fake_api::client(accepting);
    let mut writer = writer::<ServiceBGPStatus>(client);
    writer
        .publish(&front(), vec!["router-a".into(), "router-b".into()])
        .await
        .unwrap();
    let requests = seen.all();
    assert_eq!(
        requests[1].path,
        format!("{BGP_STATUSES}/bgp-web.front.node-a/status")
    );
    assert_eq!(requests[1].body["status"]["node"], "node-a");
    assert_eq!(
        requests[1].body["status"]["peers"],
        json!(["router-a", "router-b"])
    );
}

#[tokio::test]
async fn leftovers_naming_this_node_are_deleted_and_others_kept() {
    let (client, seen) = fake_api::client(|request| {
        if request.method == Method::GET {
            let item = |name: &str, node: &str| {
                json!({
                    "apiVersion": "metallb.io/v1beta1",
                    "kind": "ServiceL2Status",
                    "metadata": {"name": name, "resourceVersion": "3"},
                    "status": {"node": node, "serviceName": "s", "serviceNamespace": "web"},
                })
            };
            return (
                StatusCode::OK,
                json!({
                    "apiVersion": "metallb.io/v1beta1",
                    "kind": "ServiceL2StatusList",
                    "metadata": {},
                    "items": [item("l2-web.mine", "node-a"), item("l2-web.taken", "node-b")],
                }),
            );
        }
        accepting(request)
    });
    let mut writer = writer::<ServiceL2Status>(client);
    writer.remove_leftovers().await.unwrap();
    let deleted: Vec<String> = seen
        .all()
        .into_iter()
        .filter(|r| r.method == Method::DELETE)
        .map(|r| r.path)
        .collect();
    assert_eq!(deleted, vec![format!("{L2_STATUSES}/l2-web.mine")]);
}
