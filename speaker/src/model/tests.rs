use super::*;
use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};

fn address(node: &str) -> EndpointAddress {
    EndpointAddress {
        ip: "192.0.2.200".into(),
        node_name: Some(node.into()),
        ..Default::default()
    }
}

#[test]
fn core_endpoints_count_only_ready_addresses_by_node() {
    let endpoints = CoreEndpoints {
        subsets: Some(vec![EndpointSubset {
            addresses: Some(vec![address("node-a")]),
            not_ready_addresses: Some(vec![address("node-b")]),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let ready = endpoints_from_core(&endpoints);
    assert!(ready.any_ready);
    assert_eq!(ready.ready_nodes, BTreeSet::from(["node-a".to_owned()]));
}

#[test]
fn core_endpoints_with_only_unready_addresses_have_no_ready_endpoint() {
    let endpoints = CoreEndpoints {
        subsets: Some(vec![EndpointSubset {
            not_ready_addresses: Some(vec![address("node-b")]),
            ..Default::default()
        }]),
        ..Default::default()
    };
    assert_eq!(endpoints_from_core(&endpoints), Endpoints::default());
}

fn endpoint(node: &str, ready: Option<bool>) -> Endpoint {
    Endpoint {
        addresses: vec!["192.0.2.200".into()],
        node_name: Some(node.into()),
        conditions: Some(EndpointConditions {
            ready,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn endpoint_slices_treat_a_missing_ready_condition_as_ready() {
    let slice = EndpointSlice {
        address_type: "IPv4".into(),
        endpoints: vec![
            endpoint("node-a", None),
            endpoint("node-b", Some(false)),
            endpoint("node-c", Some(true)),
        ],
        ..Default::default()
    };
    let ready = endpoints_from_slices([&slice]);
    assert!(ready.any_ready);
    assert_eq!(
        ready.ready_nodes,
        BTreeSet::from(["node-a".to_owned(), "node-c".to_owned()])
    );
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
