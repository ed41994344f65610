use k8s_openapi::api::core::v1::{NodeSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;

fn schedulable() -> NodeFacts {
    NodeFacts::default()
}

fn withdraws(stop: &Stop, because: &str) -> bool {
    matches!(stop, Stop::Withdraw { why } if why.contains(because))
}

#[test]
fn a_schedulable_node_restarts_gracefully() {
    assert_eq!(stop_for(Ok(Some(schedulable()))), Stop::Restart);
}

#[test]
fn a_drained_leaving_or_unknown_node_withdraws() {
    let cordoned = NodeFacts {
        unschedulable: true,
        ..schedulable()
    };
    assert!(withdraws(&stop_for(Ok(Some(cordoned))), "cordoned"));
    let excluded = NodeFacts {
        excluded: true,
        ..schedulable()
    };
    assert!(withdraws(
        &stop_for(Ok(Some(excluded))),
        "exclude-from-external-load-balancers"
    ));
    let deleting = NodeFacts {
        deleting: true,
        unschedulable: true,
        ..schedulable()
    };
    assert!(withdraws(&stop_for(Ok(Some(deleting))), "being deleted"));
    let scaled_down = NodeFacts {
        leaving_taint: Some("ToBeDeletedByClusterAutoscaler".into()),
        ..schedulable()
    };
    assert!(withdraws(
        &stop_for(Ok(Some(scaled_down))),
        "ToBeDeletedByClusterAutoscaler"
    ));
    assert!(withdraws(&stop_for(Ok(None)), "gone"));
    assert!(withdraws(
        &stop_for(Err("timed out".into())),
        "cannot be read (timed out)"
    ));
}

#[test]
fn node_facts_come_from_the_spec_labels_taints_and_deletion() {
    let plain = KubeNode::default();
    assert_eq!(NodeFacts::from_kube(&plain), schedulable());
    let node = KubeNode {
        metadata: ObjectMeta {
            labels: Some([(EXCLUDE_LABEL.to_string(), String::new())].into()),
            deletion_timestamp: Some(Time(Default::default())),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            unschedulable: Some(true),
            taints: Some(vec![
                Taint {
                    key: "node.kubernetes.io/unschedulable".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                },
                Taint {
                    key: "node.kubernetes.io/out-of-service".into(),
                    effect: "NoExecute".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        NodeFacts::from_kube(&node),
        NodeFacts {
            unschedulable: true,
            excluded: true,
            deleting: true,
            leaving_taint: Some("node.kubernetes.io/out-of-service".into()),
        }
    );
}

#[test]
fn the_marker_records_the_stop_in_seconds() {
    let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
    assert_eq!(marker_text(at), "1700000000\n");
    assert_eq!(
        parse_marker("1700000000\n"),
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    assert_eq!(parse_marker(""), None);
    assert_eq!(parse_marker("yesterday"), None);
}

#[test]
fn a_start_within_the_restart_time_of_a_graceful_stop_is_a_restart() {
    let stop = UNIX_EPOCH + Duration::from_secs(1_000);
    let time = Duration::from_secs(120);
    let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
    assert!(restarting(Some(stop), at(1_000), time));
    assert!(restarting(Some(stop), at(1_119), time));
    assert!(!restarting(Some(stop), at(1_120), time));
    assert!(!restarting(None, at(1_000), time));
    // The marker drops the fraction of a second: a stop recorded "later" than now by less
    // than a second is this second's; one much later is a clock gone wrong.
    let fraction = UNIX_EPOCH + Duration::from_millis(999_500);
    assert!(restarting(Some(stop), fraction, time));
    assert!(!restarting(Some(stop), at(900), time));
}

#[test]
fn the_marker_counts_for_one_start() {
    let dir = std::env::temp_dir().join(format!("ferrolb-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = Marker::in_dir(&dir);
    assert_eq!(marker.take(), None);
    let at = UNIX_EPOCH + Duration::from_secs(1_234);
    marker.write(at).unwrap();
    assert_eq!(marker.take(), Some(at));
    assert_eq!(marker.take(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
