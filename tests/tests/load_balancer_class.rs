//! `spec.loadBalancerClass` end to end: the operator, the webhook and one speaker per node of a
//! namespace lab, all started with the same `--lb-class`, and two Services side by side, one of
//! the class they serve and one of another. Ours is judged by the webhook, allocated by the
//! operator and announced by a speaker. The other is admitted unexamined although it asks for
//! an IP in no pool, gets no IP, and when its own controller (the test, standing in) writes an
//! IP of our pool into its status, no speaker answers ARP for it or writes its
//! ServiceL2Status.
//!
//! The webhook judges Services cluster-wide and registers a ValidatingWebhookConfiguration that
//! outlives it, so the tests run one at a time and delete their configuration when done.

use std::time::Duration;

use ferrolb_tests::infra::netlab::arping;
use ferrolb_tests::infra::process::{Daemon, binary};
use ferrolb_tests::objects::endpoint_slices::{Backend, CONTROLLER_MAX_PER_SLICE};
use ferrolb_tests::wait::{PATIENCE, eventually, until_explained};
use ferrolb_tests::worlds::layer2::{Options, World};
use ferrolb_tests::worlds::operator::ingress;
use ferrolb_tests::worlds::webhook::{WebhookProcess, free_port};
use ferrolb_tests::{ControlPlane, Kubectl};
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{Patch, PatchParams};

/// One webhook at a time: each judges every Service of the control plane.
static ONE_WORLD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An IP no pool of the lab holds: the webhook denies asking for it.
const OUTSIDE_EVERY_POOL: &str = "203.0.113.7";
/// An IP of the lab's pool (`198.51.100.128/25`) that the other class's controller writes;
/// the operator allocates the lowest free IP, from `192.0.2.128/25`.
const OTHER_CLASS_IP: &str = "198.51.100.200";

/// The lab's speakers with the operator and the webhook, all serving `lb_class`.
struct Components {
    world: World,
    kubectl: Kubectl,
    configuration: String,
    _operator: Daemon,
    _webhook: WebhookProcess,
}

impl Components {
    async fn start(lb_class: Option<&str>) -> Components {
        let class_args: Vec<String> = lb_class
            .map(|class| vec!["--lb-class".to_owned(), class.to_owned()])
            .unwrap_or_default();
        let world = World::start(Options {
            nodes: 2,
            speaker_args: class_args.clone(),
            ..Options::default()
        })
        .await;
        let control_plane = ControlPlane::shared();
        let kubeconfig = control_plane.kubeconfig.to_string_lossy().into_owned();
        let metrics = format!("127.0.0.1:{}", free_port().unwrap());
        let identity = format!("operator-{}", world.lab.id);
        let mut operator_args = vec![
            "--namespace",
            &world.namespace,
            "--metrics-address",
            &metrics,
            "--health-address",
            "127.0.0.1:0",
            "--identity",
            &identity,
            "--lease-duration",
            "4",
            "--renew-deadline",
            "3",
            "--retry-period",
            "1",
        ];
        operator_args.extend(class_args.iter().map(String::as_str));
        let operator = Daemon::spawn(
            &identity,
            &binary("ferrolb-operator", "ferrolb-operator"),
            &operator_args,
            &[("KUBECONFIG", &kubeconfig), ("RUST_LOG", "info")],
        )
        .unwrap();
        let configuration = format!("ferrolb-{}", world.namespace);
        let mut webhook_args = vec![
            "--namespace",
            &world.namespace,
            "--configuration-name",
            &configuration,
        ];
        webhook_args.extend(class_args.iter().map(String::as_str));
        let webhook = WebhookProcess::start(&control_plane.kubeconfig, &webhook_args).unwrap();
        Components {
            world,
            kubectl: control_plane.kubectl(),
            configuration,
            _operator: operator,
            _webhook: webhook,
        }
    }

    /// A LoadBalancer Service of `class` in the lab, selected by its L2Advertisement.
    fn service_yaml(
        &self,
        name: &str,
        class: Option<&str>,
        annotations: &[(&str, &str)],
    ) -> String {
        let class = class
            .map(|c| format!("  loadBalancerClass: {c}\n"))
            .unwrap_or_default();
        let annotations: Vec<String> = annotations
            .iter()
            .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
            .collect();
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {}\n  labels:\n    ferrolb.io/lab: \"{}\"\n  annotations:\n{}spec:\n  type: LoadBalancer\n{class}  ports: [{{port: 80, protocol: TCP}}]\n",
            self.world.namespace,
            self.world.lab.id,
            annotations.concat()
        )
    }

    /// `kubectl apply` of a Service, failing the test if it is refused; what kubectl printed on
    /// stderr (the webhook's warnings).
    fn create(&self, yaml: &str) -> String {
        let out = self.kubectl.run(&["apply", "-f", "-"], Some(yaml)).unwrap();
        assert!(out.success, "the Service was refused: {}", out.stderr);
        out.stderr
    }

    /// Waits until the webhook answers for Services of our class: until asking for an IP in no
    /// pool is denied (a dry run, so nothing is created while the webhook is not yet there).
    fn wait_until_judging(&self, class: Option<&str>) {
        let probe = self.service_yaml(
            "probe",
            class,
            &[("metallb.io/loadBalancerIPs", OUTSIDE_EVERY_POOL)],
        );
        let last_error = std::cell::RefCell::new(String::new());
        until_explained(
            PATIENCE,
            "the webhook to deny an IP in no pool",
            || {
                let out = self
                    .kubectl
                    .run(&["apply", "--dry-run=server", "-f", "-"], Some(&probe))
                    .unwrap();
                let denied = out.stderr.contains("which is in no IPAddressPool");
                *last_error.borrow_mut() = out.stderr;
                denied.then_some(())
            },
            || last_error.borrow().clone(),
        );
    }

    async fn get(&self, name: &str) -> Service {
        Api::<Service>::namespaced(self.world.client.clone(), &self.world.namespace)
            .get(name)
            .await
            .unwrap()
    }

    /// Writes `ip` into the Service's status, as the controller of its class would.
    async fn write_ingress(&self, name: &str, ip: &str) {
        Api::<Service>::namespaced(self.world.client.clone(), &self.world.namespace)
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({
                    "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}
                })),
            )
            .await
            .unwrap();
    }

    /// A ready endpoint of `name` on every node of the lab.
    async fn ready_everywhere(&self, name: &str) {
        let nodes = self.world.lab.node_names();
        self.world
            .backends(name, &Backend::ready_on(&nodes), CONTROLLER_MAX_PER_SLICE)
            .await;
    }
}

impl Drop for Components {
    fn drop(&mut self) {
        // With its webhook gone, the configuration's failurePolicy Fail would refuse every
        // metallb.io object of the next test.
        let _ = self.kubectl.run(
            &[
                "delete",
                "validatingwebhookconfiguration",
                &self.configuration,
                "--ignore-not-found",
            ],
            None,
        );
    }
}

/// Whether the operator has written anything to the Service: its pool annotation or its
/// condition.
fn marked_by_the_operator(service: &Service) -> bool {
    let annotated = service
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("metallb.io/ip-allocated-from-pool"));
    let conditioned = service
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "metallb.io/IPAllocated"));
    annotated || conditioned
}

/// The components serve `served` (their `--lb-class`), `ours` is of that class and `theirs`
/// of another.
async fn only_the_served_class_is_judged_allocated_and_announced(
    served: Option<&str>,
    theirs: Option<&str>,
) {
    let _one = ONE_WORLD_AT_A_TIME.lock().await;
    let lab = Components::start(served).await;
    lab.wait_until_judging(served);

    // Theirs asks for an IP in no pool, with a legacy annotation: both would be reported if it
    // were ours, as the same request of our class shows.
    let request = [
        ("metallb.io/loadBalancerIPs", OUTSIDE_EVERY_POOL),
        ("metallb.universe.tf/allow-shared-ip", "shared"),
    ];
    let warnings = lab.create(&lab.service_yaml("theirs", theirs, &request));
    assert!(
        !warnings.contains("Warning"),
        "a Service of another class was warned about: {warnings}"
    );
    let same_request_of_ours = lab
        .kubectl
        .run(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&lab.service_yaml("theirs-as-ours", served, &request)),
        )
        .unwrap();
    assert!(
        !same_request_of_ours.success
            && same_request_of_ours
                .stderr
                .contains("which is in no IPAddressPool")
            && same_request_of_ours.stderr.contains("deprecated"),
        "the same request of our class: {}",
        same_request_of_ours.stderr
    );

    // Ours is judged (warned about its legacy annotation) and allocated from the pool.
    let warnings = lab.create(&lab.service_yaml(
        "ours",
        served,
        &[("metallb.universe.tf/allow-shared-ip", "shared")],
    ));
    assert!(
        warnings.contains("annotation metallb.universe.tf/allow-shared-ip is deprecated"),
        "our Service was not judged: {warnings}"
    );
    let ours_ip = eventually("an IP for ours from the operator", || async {
        ingress(&lab.get("ours").await).into_iter().next()
    })
    .await;
    assert_ne!(ours_ip, OTHER_CLASS_IP);
    let theirs_now = lab.get("theirs").await;
    assert_eq!(
        ingress(&theirs_now),
        Vec::<String>::new(),
        "theirs got an IP"
    );
    assert!(!marked_by_the_operator(&theirs_now), "{theirs_now:?}");

    // Theirs gets an IP of our pool from its own controller, and endpoints, before ours gets
    // endpoints: once ours is announced, the speakers have seen theirs too.
    lab.write_ingress("theirs", OTHER_CLASS_IP).await;
    lab.ready_everywhere("theirs").await;
    lab.ready_everywhere("ours").await;
    let mac = eventually(&format!("an ARP reply for {ours_ip}"), || async {
        arping(&lab.world.lab.client, "eth0", &ours_ip, 1)
            .into_iter()
            .next()
    })
    .await;
    let owner = lab
        .world
        .lab
        .node_by_mac(&mac)
        .expect("the reply comes from a lab node")
        .name
        .clone();
    let status = eventually("a ServiceL2Status for ours", || {
        lab.world.status_node("ours")
    })
    .await;
    assert_eq!(status, owner);

    // A moment more for any speaker that would announce theirs to do it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        arping(&lab.world.lab.client, "eth0", OTHER_CLASS_IP, 2),
        Vec::<String>::new(),
        "a speaker answers for the other class's IP"
    );
    assert_eq!(lab.world.status_node("theirs").await, None);
    assert_eq!(lab.world.holder(OTHER_CLASS_IP).await, None);
    let theirs_now = lab.get("theirs").await;
    assert_eq!(ingress(&theirs_now), [OTHER_CLASS_IP]);
    assert!(!marked_by_the_operator(&theirs_now), "{theirs_now:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_lb_class_a_service_of_another_class_is_left_alone_and_one_without_is_served() {
    only_the_served_class_is_judged_allocated_and_announced(None, Some("example.com/other")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_lb_class_only_services_of_that_class_are_served() {
    only_the_served_class_is_judged_allocated_and_announced(Some("ferrolb.io/lb"), None).await;
}
