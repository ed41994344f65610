use super::*;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};

fn endpoint(node: &str, ready: Option<bool>, serving: Option<bool>, terminating: bool) -> Endpoint {
    Endpoint {
        addresses: vec!["192.0.2.200".into()],
        node_name: Some(node.into()),
        conditions: Some(EndpointConditions {
            ready,
            serving,
            terminating: Some(terminating),
        }),
        ..Default::default()
    }
}

fn slice(endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        address_type: "IPv4".into(),
        endpoints,
        ..Default::default()
    }
}

fn nodes(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn endpoint_slices_treat_missing_conditions_as_serving() {
    let ready = endpoints_from_slices([&slice(vec![
        endpoint("node-a", None, None, false),
        endpoint("node-b", Some(false), None, false),
        endpoint("node-c", Some(true), None, false),
    ])]);
    assert!(ready.any_serving);
    assert_eq!(ready.serving_nodes, nodes(&["node-a", "node-c"]));
}

#[test]
fn a_terminating_endpoint_that_still_serves_counts_and_one_that_stopped_does_not() {
    let endpoints = endpoints_from_slices([&slice(vec![
        endpoint("node-a", Some(false), Some(true), true),
        endpoint("node-b", Some(false), Some(false), true),
    ])]);
    assert!(endpoints.any_serving);
    assert_eq!(endpoints.serving_nodes, nodes(&["node-a"]));
}

#[test]
fn serving_decides_over_ready_when_both_are_given() {
    let endpoints = endpoints_from_slices([&slice(vec![endpoint(
        "node-a",
        Some(true),
        Some(false),
        false,
    )])]);
    assert_eq!(endpoints, Endpoints::default());
}

#[test]
fn endpoints_of_every_slice_of_a_service_are_counted() {
    let first = slice(vec![endpoint("node-a", Some(false), Some(false), false)]);
    let second = slice(vec![endpoint("node-b", Some(true), Some(true), false)]);
    let endpoints = endpoints_from_slices([&first, &second]);
    assert!(endpoints.any_serving);
    assert_eq!(endpoints.serving_nodes, nodes(&["node-b"]));
}

#[test]
fn a_serving_endpoint_without_a_node_name_counts_for_the_service_but_no_node() {
    let mut unnamed = endpoint("node-a", Some(true), None, false);
    unnamed.node_name = None;
    let endpoints = endpoints_from_slices([&slice(vec![unnamed])]);
    assert!(endpoints.any_serving);
    assert!(endpoints.serving_nodes.is_empty());
}

#[test]
fn a_slice_belongs_to_the_service_named_by_its_label() {
    let mut slice = EndpointSlice::default();
    slice.metadata.namespace = Some("shop".into());
    slice.metadata.labels = Some(BTreeMap::from([(
        "kubernetes.io/service-name".into(),
        "web".into(),
    )]));
    assert_eq!(
        slice_service(&slice),
        Some(ServiceKey {
            namespace: "shop".into(),
            name: "web".into()
        })
    );
}

#[test]
fn a_node_with_network_unavailable_or_the_exclude_label_may_not_announce() {
    let mut node = Node {
        name: "node-a".into(),
        ..Default::default()
    };
    assert!(node.may_announce());
    node.network_unavailable = true;
    assert!(!node.may_announce());
    node.network_unavailable = false;
    node.labels.insert(EXCLUDE_LABEL.into(), String::new());
    assert!(!node.may_announce());
}

#[test]
fn an_invalid_selector_matches_nothing() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let selector = LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "zone".into(),
            operator: "Sideways".into(),
            values: None,
        }]),
        ..Default::default()
    };
    assert!(!selects(&selector, &BTreeMap::new()));
}

fn load_balancer(class: Option<&str>, ingress: &[&str]) -> KubeService {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "LoadBalancer", "loadBalancerClass": class},
        "status": {"loadBalancer": {"ingress": ingress.iter().map(|ip| serde_json::json!({"ip": ip})).collect::<Vec<_>>()}}
    }))
    .unwrap()
}

#[test]
fn a_service_of_our_class_with_status_ips_is_in_the_model() {
    let service = Service::from_kube(
        &load_balancer(None, &["192.0.2.10"]),
        None,
        Endpoints::default(),
    )
    .expect("a Service without a class is ours when no class is served");
    assert_eq!(service.key.name, "web");
    assert_eq!(service.ips, ["192.0.2.10".parse::<IpAddr>().unwrap()]);
    let classed = load_balancer(Some("ferrolb.io/lb"), &["192.0.2.10"]);
    assert!(Service::from_kube(&classed, Some("ferrolb.io/lb"), Endpoints::default()).is_some());
}

#[test]
fn a_service_of_another_class_is_not_in_the_model_even_with_status_ips() {
    let other = load_balancer(Some("example.com/other"), &["192.0.2.10"]);
    assert_eq!(Service::from_kube(&other, None, Endpoints::default()), None);
    assert_eq!(
        Service::from_kube(&other, Some("ferrolb.io/lb"), Endpoints::default()),
        None
    );
    let unclassed = load_balancer(None, &["192.0.2.10"]);
    assert_eq!(
        Service::from_kube(&unclassed, Some("ferrolb.io/lb"), Endpoints::default()),
        None
    );
}

#[test]
fn a_service_without_status_ips_or_of_another_type_is_not_in_the_model() {
    assert_eq!(
        Service::from_kube(&load_balancer(None, &[]), None, Endpoints::default()),
        None
    );
    let mut node_port = load_balancer(None, &["192.0.2.10"]);
    node_port.spec.as_mut().unwrap().type_ = Some("NodePort".into());
    assert_eq!(
        Service::from_kube(&node_port, None, Endpoints::default()),
        None
    );
}
