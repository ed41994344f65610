use std::time::Duration;

use http::{Method, StatusCode};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::fake_api::{self, Request};
use crate::term::Fence;

fn leading() -> Term {
    let fence = Fence::new(Duration::from_secs(3));
    Term::new(fence.renewed(tokio::time::Instant::now()), fence)
}

fn condition() -> Condition {
    Condition {
        type_: crate::service::CONDITION_TYPE.to_owned(),
        status: "True".to_owned(),
        reason: "IPAllocated".to_owned(),
        message: r#"assigned 192.0.2.10 from pool "prod""#.to_owned(),
        observed_generation: None,
        last_transition_time: Time(Timestamp::from_second(1_700_000_000).unwrap()),
    }
}

fn assigned() -> ServiceWrite {
    ServiceWrite {
        namespace: "shop".to_owned(),
        name: "web".to_owned(),
        status: Some((vec!["192.0.2.10".parse().unwrap()], vec![condition()])),
        pool_annotation: Some(Some("prod".to_owned())),
    }
}

fn writes(seen: &[Request]) -> Vec<(Method, &str)> {
    seen.iter()
        .map(|r| (r.method.clone(), r.path.as_str()))
        .collect()
}

#[tokio::test]
async fn an_assignment_is_one_merge_patch_of_the_status_with_ip_condition_and_pool() {
    let (client, seen) = fake_api::client(fake_api::accept);
    assigned().apply(&client, &leading()).await.unwrap();
    let seen = seen.all();
    assert_eq!(
        writes(&seen),
        [(Method::PATCH, "/api/v1/namespaces/shop/services/web/status")]
    );
    assert_eq!(seen[0].content_type, "application/merge-patch+json");
    assert_eq!(
        seen[0].body,
        json!({
            "metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": "prod"}},
            "status": {
                "loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]},
                "conditions": [{
                    "type": "metallb.io/IPAllocated", "status": "True", "reason": "IPAllocated",
                    "message": "assigned 192.0.2.10 from pool \"prod\"",
                    "lastTransitionTime": "2023-11-14T22:13:20Z",
                }],
            },
        })
    );
}

#[tokio::test]
async fn a_cleared_service_gets_null_ingress_conditions_and_annotation() {
    let (client, seen) = fake_api::client(fake_api::accept);
    let cleared = ServiceWrite {
        status: Some((Vec::new(), Vec::new())),
        pool_annotation: Some(None),
        ..assigned()
    };
    cleared.apply(&client, &leading()).await.unwrap();
    assert_eq!(
        seen.all()[0].body,
        json!({
            "metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": null}},
            "status": {"loadBalancer": {"ingress": null}, "conditions": null},
        })
    );
}

#[tokio::test]
async fn an_api_server_dropping_metadata_sent_to_status_gets_the_annotation_in_a_second_patch() {
    // Answers the status PATCH without the annotation, as servers that ignore metadata
    // changes through /status do.
    let (client, seen) = fake_api::client(|request| {
        let (status, mut object) = fake_api::accept(request);
        if request.path.ends_with("/status") {
            object["metadata"] = json!({"name": "web"});
        }
        (status, object)
    });
    assigned().apply(&client, &leading()).await.unwrap();
    let seen = seen.all();
    assert_eq!(
        writes(&seen),
        [
            (Method::PATCH, "/api/v1/namespaces/shop/services/web/status"),
            (Method::PATCH, "/api/v1/namespaces/shop/services/web"),
        ]
    );
    assert_eq!(
        seen[1].body,
        json!({"metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": "prod"}}})
    );
}

#[tokio::test]
async fn a_failed_write_names_the_service() {
    let (client, _) = fake_api::client(|_| {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "services \"web\" not found", "reason": "NotFound", "code": 404});
        (StatusCode::NOT_FOUND, status)
    });
    let error = assigned().apply(&client, &leading()).await.unwrap_err();
    assert!(error.refusal().is_none(), "a failure may be retried");
    assert!(
        error.to_string().starts_with("writing Service shop/web: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_pool_status_is_applied_by_the_operator_as_field_manager() {
    let (client, seen) = fake_api::client(fake_api::accept);
    let status = IPAddressPoolStatus {
        assigned_ipv4: 1,
        available_ipv4: 3,
        ..Default::default()
    };
    write_pool_status(&client, &leading(), "ferrolb-system", "prod", status)
        .await
        .unwrap();
    let seen = seen.all();
    assert_eq!(
        writes(&seen),
        [(
            Method::PATCH,
            "/apis/metallb.io/v1beta1/namespaces/ferrolb-system/ipaddresspools/prod/status"
        )]
    );
    assert_eq!(seen[0].content_type, "application/apply-patch+yaml");
    assert!(
        seen[0].query.contains("fieldManager=ferrolb-operator")
            && seen[0].query.contains("force=true"),
        "{}",
        seen[0].query
    );
    assert_eq!(seen[0].body["status"]["assignedIPv4"], 1);
    assert_eq!(seen[0].body["status"]["availableIPv4"], 3);
}

#[tokio::test]
async fn an_invalid_configuration_is_reported_with_every_error_on_its_own_line() {
    let (client, seen) = fake_api::client(fake_api::accept);
    let errors = ["first".to_owned(), "second".to_owned()];
    write_configuration_state(&client, &leading(), "ferrolb-system", &errors)
        .await
        .unwrap();
    let seen = seen.all();
    let path = "/apis/metallb.io/v1beta1/namespaces/ferrolb-system/configurationstates/controller";
    assert_eq!(
        writes(&seen),
        [
            (Method::PATCH, path),
            (Method::PATCH, &*format!("{path}/status")),
        ]
    );
    assert_eq!(
        seen[1].body["status"],
        json!({"result": "Invalid", "errorSummary": "first\nsecond"})
    );
}

#[tokio::test]
async fn no_write_of_an_ended_term_reaches_the_api_server() {
    let (client, seen) = fake_api::client(fake_api::accept);
    let fence = Fence::new(Duration::from_secs(3));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence.clone());
    fence.end();
    let error = assigned().apply(&client, &term).await.unwrap_err();
    assert!(error.refusal().is_some(), "{error}");
    let error = write_configuration_state(&client, &term, "ferrolb-system", &[])
        .await
        .unwrap_err();
    assert!(error.refusal().is_some(), "{error}");
    assert_eq!(writes(&seen.all()), []);
}
