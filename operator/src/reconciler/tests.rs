use std::time::Duration;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;
use http::Method;
use kube::runtime::events::Reporter;
use kube::runtime::reflector;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::*;
use crate::fake_api::{self, Request, Seen};
use crate::term::Fence;

const NAMESPACE: &str = "ferrolb-system";
const PATIENCE: Duration = Duration::from_secs(5);

fn store<K>(objects: Vec<K>) -> reflector::Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let (store, mut writer) = reflector::store();
    for object in objects {
        writer.apply_watcher_event(&Event::Apply(object));
    }
    store
}

fn pool(name: &str, addresses: &[&str]) -> IPAddressPool {
    let spec = IPAddressPoolSpec {
        addresses: addresses.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    let mut pool = IPAddressPool::new(name, spec);
    pool.metadata.namespace = Some(NAMESPACE.to_owned());
    pool
}

fn service(name: &str, annotations: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop", "uid": "5d1e-7", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "ipFamilies": ["IPv4"],
            "ports": [{"port": 80, "protocol": "TCP"}]},
    }))
    .unwrap()
}

/// A reconciler of a leading term over these caches, its API server accepting every write.
fn reconciler(services: Vec<Service>, pools: Vec<IPAddressPool>) -> (Reconciler, Seen) {
    let (client, seen) = fake_api::client(fake_api::accept);
    let (retries, _) = mpsc::unbounded_channel();
    let reporter = Reporter {
        controller: "ferrolb-operator".to_owned(),
        instance: Some("op-0".to_owned()),
    };
    let ctx = Context {
        client: client.clone(),
        namespace: NAMESPACE.to_owned(),
        lb_class: None,
        caches: Caches {
            services: store(services),
            pools: store(pools),
            namespaces: store(Vec::new()),
        },
        metrics: Metrics::new(),
        recorder: Recorder::new(client, reporter),
        retries,
        write_concurrency: 4,
    };
    let fence = Fence::new(Duration::from_secs(60));
    let term = Term::new(fence.renewed(tokio::time::Instant::now()), fence);
    (Reconciler::new(Arc::new(ctx), term), seen)
}

fn status_patch_of(name: &str) -> impl Fn(&Request) -> bool {
    let path = format!("/api/v1/namespaces/shop/services/{name}/status");
    move |r| r.method == Method::PATCH && r.path == path
}

fn event(reason: &'static str) -> impl Fn(&Request) -> bool {
    move |r| {
        r.method == Method::POST
            && r.path == "/apis/events.k8s.io/v1/namespaces/shop/events"
            && r.body["reason"] == reason
    }
}

#[tokio::test]
async fn a_new_service_gets_its_ip_patched_into_its_status() {
    let (mut reconciler, seen) = reconciler(
        vec![service("web", json!({}))],
        vec![pool("prod", &["192.0.2.10/32"])],
    );
    reconciler.full_pass().await;
    let patch = seen.wait_for(PATIENCE, status_patch_of("web")).await;
    assert_eq!(
        patch.body["status"]["loadBalancer"]["ingress"],
        json!([{"ip": "192.0.2.10"}])
    );
    assert_eq!(
        patch.body["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"],
        "prod"
    );
    let allocated = seen.wait_for(PATIENCE, event("IPAllocated")).await;
    assert_eq!(allocated.body["type"], "Normal");
    assert_eq!(allocated.body["note"], "Assigned IP [192.0.2.10]");
    assert_eq!(allocated.body["regarding"]["name"], "web");
}

#[tokio::test]
async fn an_unsatisfiable_service_gets_a_warning_event_and_no_ip() {
    let (mut reconciler, seen) = reconciler(
        vec![service(
            "web",
            json!({"metallb.io/loadBalancerIPs": "198.51.100.1"}),
        )],
        vec![pool("prod", &["192.0.2.10/32"])],
    );
    reconciler.full_pass().await;
    let failed = seen.wait_for(PATIENCE, event("AllocationFailed")).await;
    assert_eq!(failed.body["type"], "Warning");
    assert_eq!(
        failed.body["note"],
        r#"Failed to allocate IP for "shop/web": requested IP 198.51.100.1 is not in any IPAddressPool"#
    );
    let patch = seen.wait_for(PATIENCE, status_patch_of("web")).await;
    assert_eq!(patch.body["status"]["loadBalancer"]["ingress"], Value::Null);
    assert_eq!(patch.body["status"]["conditions"][0]["status"], "False");
    assert_eq!(
        patch.body["status"]["conditions"][0]["reason"],
        "NotInAnyPool"
    );
}

#[tokio::test]
async fn a_full_pass_reports_the_configuration_and_the_pool_usage() {
    let (mut reconciler, seen) = reconciler(
        vec![service("web", json!({}))],
        vec![pool("prod", &["192.0.2.10-192.0.2.13"])],
    );
    reconciler.full_pass().await;
    let state = seen
        .wait_for(PATIENCE, |r| {
            r.path.ends_with("/configurationstates/controller/status")
        })
        .await;
    assert_eq!(state.body["status"]["result"], "Valid");
    let usage = seen
        .wait_for(PATIENCE, |r| {
            r.path.ends_with("/ipaddresspools/prod/status")
        })
        .await;
    assert_eq!(usage.body["status"]["assignedIPv4"], 1);
    assert_eq!(usage.body["status"]["availableIPv4"], 3);
}
