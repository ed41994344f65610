//! The Helm chart and the plain manifest: `helm lint`, bad values refused by the schema, every
//! rendering accepted by a real kube-apiserver, a real `helm install`, `upgrade` and
//! `uninstall` (helm 4, server-side apply) on a cluster without ferrolb's CRDs, the checked-in
//! manifest in step with the chart, the webhook configuration in step with the webhook binary,
//! and least-privilege RBAC proven with `kubectl auth can-i` as each component's ServiceAccount.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use ferrolb_tests::infra::process::binary;
use ferrolb_tests::wait::until;
use ferrolb_tests::{ControlPlane, Kubectl, repo_root};
use serde::Deserialize;

const NAMESPACE: &str = "metallb-system";

fn helm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(repo_root().join("dev/helm"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("dev/helm runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn render(sets: &[&str]) -> String {
    let mut args = vec![
        "template",
        "ferrolb",
        "helm/ferrolb",
        "--namespace",
        NAMESPACE,
    ];
    for set in sets {
        args.extend(["--set", set]);
    }
    let (ok, out, err) = helm(&args);
    assert!(ok, "helm template {sets:?} failed: {err}");
    out
}

/// The shared control plane with ferrolb's CRDs, stand-in CRDs for the optional objects, and
/// the namespace.
fn prepared() -> Kubectl {
    static PREPARED: OnceLock<Kubectl> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let control_plane = ControlPlane::shared();
            control_plane.install_crds().unwrap();
            let kubectl = control_plane.kubectl();
            kubectl
                .install_crd_files(&[
                    "tests/fixtures/monitoring-and-cert-manager-crds.yaml",
                    "tests/fixtures/prometheusrule-crd.yaml",
                ])
                .unwrap();
            kubectl.ensure_namespace(NAMESPACE).unwrap();
            kubectl
        })
        .clone()
}

#[test]
fn helm_lint_passes() {
    let (ok, out, err) = helm(&["lint", "helm/ferrolb"]);
    assert!(ok && out.contains("0 chart(s) failed"), "{out}{err}");
}

#[test]
fn bad_values_are_refused_naming_the_field() {
    let cases = [
        ("webhook.certificates=bogus", "/webhook/certificates"),
        ("operator.replicas=0", "/operator/replicas"),
        (
            "operater.replicas=2",
            "additional properties 'operater' not allowed",
        ),
        (
            "speaker.gratuitousInterval=soon",
            "/speaker/gratuitousInterval",
        ),
        (
            "speaker.gracefulRestart.time=forever",
            "/speaker/gracefulRestart/time",
        ),
        (
            "prometheus.prometheusRule.poolUsageThreshold=2",
            "/prometheus/prometheusRule/poolUsageThreshold",
        ),
    ];
    for (set, want) in cases {
        let (ok, _, err) = helm(&["template", "x", "helm/ferrolb", "--set", set]);
        assert!(!ok, "{set} was accepted");
        assert!(err.contains(want), "{set}: {err}");
    }
}

#[test]
fn every_rendering_is_accepted_by_the_api_server() {
    let kubectl = prepared();
    let value_sets: [&[&str]; 4] = [
        &[],
        &[
            "prometheus.serviceMonitor.enabled=true",
            "prometheus.prometheusRule.enabled=true",
            "networkPolicy.enabled=true",
        ],
        &[
            "webhook.certificates=cert-manager",
            "loadBalancerClass=example.com/lb",
        ],
        &[
            "webhook.enabled=false",
            "speaker.tolerateControlPlane=false",
            "operator.replicas=1",
        ],
    ];
    for sets in value_sets {
        let rendered = render(sets);
        let out = kubectl
            .run(&["apply", "--dry-run=server", "-f", "-"], Some(&rendered))
            .unwrap();
        assert!(
            out.success,
            "the API server refused the rendering with {sets:?}: {}",
            out.stderr
        );
        assert!(
            out.stdout
                .contains("deployment.apps/ferrolb-operator created (server dry run)"),
            "{}",
            out.stdout
        );
    }
}

/// The port entries (`port` or `containerPort`) under a `ports` key anywhere in `value` that
/// name no `protocol`, as paths.
fn ports_without_protocol(value: &serde_yaml::Value, path: &str, found: &mut Vec<String>) {
    match value {
        serde_yaml::Value::Mapping(map) => {
            for (key, inner) in map {
                let key = key.as_str().unwrap_or_default();
                let here = format!("{path}.{key}");
                if let ("ports", Some(ports)) = (key, inner.as_sequence()) {
                    for (i, port) in ports.iter().enumerate() {
                        let is_port =
                            port.get("port").is_some() || port.get("containerPort").is_some();
                        if is_port && port.get("protocol").is_none() {
                            found.push(format!("{here}[{i}]"));
                        }
                    }
                }
                ports_without_protocol(inner, &here, found);
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                ports_without_protocol(item, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_port_names_its_protocol_for_server_side_apply() {
    // Servers before v1.21 do not default list-map keys, so server-side apply (helm 4's
    // default) refuses a Service or container port without `protocol`.
    let value_sets: [&[&str]; 2] = [
        &[],
        &[
            "prometheus.serviceMonitor.enabled=true",
            "networkPolicy.enabled=true",
            "webhook.certificates=cert-manager",
        ],
    ];
    for sets in value_sets {
        let mut found = Vec::new();
        for doc in render(sets).split("\n---\n") {
            let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(doc) else {
                continue;
            };
            let name = format!(
                "{} {}",
                doc["kind"].as_str().unwrap_or("?"),
                doc["metadata"]["name"].as_str().unwrap_or("?")
            );
            ports_without_protocol(&doc, &name, &mut found);
        }
        assert!(
            found.is_empty(),
            "ports without protocol with {sets:?}: {found:?}"
        );
    }
}

/// The speaker DaemonSet's container arguments and volumes as `helm template` renders them.
fn speaker_args_and_volumes(sets: &[&str]) -> (Vec<String>, serde_yaml::Value) {
    let rendered = render(sets);
    let daemonset = rendered
        .split("\n---\n")
        .filter_map(|doc| serde_yaml::from_str::<serde_yaml::Value>(doc).ok())
        .find(|doc| doc["kind"] == "DaemonSet")
        .expect("the chart renders the speaker's DaemonSet");
    let spec = &daemonset["spec"]["template"]["spec"];
    let args = spec["containers"][0]["args"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|arg| arg.as_str().map(str::to_owned))
        .collect();
    (args, spec["volumes"].clone())
}

#[test]
fn the_speaker_keeps_its_graceful_restart_marker_in_a_host_path() {
    let (args, volumes) = speaker_args_and_volumes(&[]);
    assert!(
        args.contains(&"--graceful-restart-dir=/var/lib/ferrolb/speaker".to_owned())
            && args.contains(&"--graceful-restart-time=120s".to_owned()),
        "{args:?}"
    );
    assert_eq!(
        volumes[0]["hostPath"]["path"], "/var/lib/ferrolb/speaker",
        "{volumes:?}"
    );
    let (args, volumes) = speaker_args_and_volumes(&[
        "speaker.gracefulRestart.stateDir=",
        "speaker.gracefulRestart.time=30s",
    ]);
    assert!(
        !args.iter().any(|a| a.starts_with("--graceful-restart-dir"))
            && args.contains(&"--graceful-restart-time=30s".to_owned()),
        "{args:?}"
    );
    assert!(volumes.is_null(), "{volumes:?}");
}

/// `helm ACTION ferrolb helm/ferrolb` into the namespace of the control plane behind
/// `kubeconfig`, with default values but for `sets`. Helm 4 applies server-side by default.
fn helm_release(kubeconfig: &Path, action: &str, sets: &[&str]) {
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let mut args = vec![
        action,
        "ferrolb",
        "helm/ferrolb",
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        kubeconfig.as_str(),
    ];
    if action == "install" {
        args.push("--create-namespace");
    }
    for set in sets {
        args.extend(["--set", set]);
    }
    let (ok, out, err) = helm(&args);
    assert!(ok, "helm {action} with {sets:?} failed: {err}{out}");
}

/// The release's status and revision, from `helm status -o json`.
fn release_status(kubeconfig: &Path) -> (String, u64) {
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let (ok, out, err) = helm(&[
        "status",
        "ferrolb",
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        kubeconfig.as_str(),
        "-o",
        "json",
    ]);
    assert!(ok, "helm status failed: {err}");
    let release: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        release["info"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        release["version"].as_u64().unwrap_or_default(),
    )
}

/// The objects of one resource in the namespace (or cluster-wide for `""`), by name.
fn objects(
    kubectl: &Kubectl,
    resource: &str,
    namespace: &str,
) -> BTreeMap<String, serde_json::Value> {
    let scope = if namespace.is_empty() {
        vec![]
    } else {
        vec!["-n", namespace]
    };
    let mut args = vec!["get", resource, "-o", "json"];
    args.extend(scope);
    let list: serde_json::Value = serde_json::from_str(&kubectl.ok(&args, None).unwrap()).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["metadata"]["name"].as_str().unwrap().to_owned(),
                item.clone(),
            )
        })
        .collect()
}

/// The replicas and the first container's arguments of a Deployment.
fn replicas_and_args(deployment: &serde_json::Value) -> (u64, Vec<String>) {
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (
        deployment["spec"]["replicas"].as_u64().unwrap_or_default(),
        args,
    )
}

/// The names of the CRDs the chart ships in `crds/`.
fn chart_crd_names() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("helm/ferrolb/crds/metallb.io.yaml")).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|doc| {
            let doc = serde_yaml::Value::deserialize(doc).ok()?;
            doc["metadata"]["name"].as_str().map(str::to_owned)
        })
        .collect()
}

#[test]
fn helm_installs_upgrades_and_uninstalls_the_chart_with_server_side_apply() {
    // Its own control plane, without ferrolb's CRDs, as a user's cluster before the install.
    let control_plane = ControlPlane::start().unwrap();
    let kubectl = control_plane.kubectl();
    let kubeconfig = control_plane.kubeconfig.as_path();

    helm_release(kubeconfig, "install", &[]);
    assert_eq!(release_status(kubeconfig), ("deployed".to_owned(), 1));
    let crds = objects(&kubectl, "customresourcedefinitions", "");
    let shipped = chart_crd_names();
    assert!(!shipped.is_empty(), "helm/ferrolb/crds holds no CRD");
    for name in &shipped {
        assert!(
            crds.contains_key(name),
            "helm install left out the CRD {name}"
        );
    }
    let deployments = objects(&kubectl, "deployments", NAMESPACE);
    let (replicas, args) = replicas_and_args(&deployments["ferrolb-operator"]);
    assert_eq!(replicas, 2, "the operator's default replicas");
    assert!(args.contains(&"--lb-class=".to_owned()), "{args:?}");
    assert!(
        deployments.contains_key("ferrolb-webhook"),
        "{:?}",
        deployments.keys()
    );
    assert!(objects(&kubectl, "daemonsets", NAMESPACE).contains_key("ferrolb-speaker"));
    let operator = kubectl
        .ok(
            &[
                "get",
                "deployment",
                "ferrolb-operator",
                "-n",
                NAMESPACE,
                "-o",
                "json",
                "--show-managed-fields",
            ],
            None,
        )
        .unwrap();
    let operator: serde_json::Value = serde_json::from_str(&operator).unwrap();
    let managers = &operator["metadata"]["managedFields"];
    assert!(
        managers
            .as_array()
            .is_some_and(|fields| fields.iter().any(|m| m["operation"] == "Apply")),
        "helm did not apply the operator server-side: {managers}"
    );

    helm_release(
        kubeconfig,
        "upgrade",
        &["operator.replicas=1", "loadBalancerClass=example.com/lb"],
    );
    assert_eq!(release_status(kubeconfig), ("deployed".to_owned(), 2));
    let deployments = objects(&kubectl, "deployments", NAMESPACE);
    let (replicas, args) = replicas_and_args(&deployments["ferrolb-operator"]);
    assert_eq!(replicas, 1);
    assert!(
        args.contains(&"--lb-class=example.com/lb".to_owned()),
        "{args:?}"
    );

    helm_release(kubeconfig, "upgrade", &["webhook.enabled=false"]);
    assert_eq!(release_status(kubeconfig), ("deployed".to_owned(), 3));
    let deployments = objects(&kubectl, "deployments", NAMESPACE);
    assert!(
        !deployments.contains_key("ferrolb-webhook"),
        "the webhook stayed with webhook.enabled=false"
    );
    assert!(
        !objects(&kubectl, "validatingwebhookconfigurations", "")
            .contains_key("ferrolb-validating-webhook-configuration")
    );
    // Values not given again return to the chart's defaults.
    assert_eq!(replicas_and_args(&deployments["ferrolb-operator"]).0, 2);

    kubectl
        .install_crd_files(&["tests/fixtures/monitoring-and-cert-manager-crds.yaml"])
        .unwrap();
    helm_release(
        kubeconfig,
        "upgrade",
        &["prometheus.serviceMonitor.enabled=true"],
    );
    assert_eq!(release_status(kubeconfig), ("deployed".to_owned(), 4));
    let monitors = objects(&kubectl, "servicemonitors.monitoring.coreos.com", NAMESPACE);
    assert_eq!(
        monitors.keys().collect::<Vec<_>>(),
        ["ferrolb-operator", "ferrolb-speaker", "ferrolb-webhook"]
    );
    let endpoints = &monitors["ferrolb-speaker"]["spec"]["endpoints"][0];
    assert_eq!(
        endpoints["scheme"], "https",
        "metrics are scraped over HTTPS: {endpoints}"
    );
    assert_eq!(
        endpoints["bearerTokenFile"],
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    );
    assert!(objects(&kubectl, "deployments", NAMESPACE).contains_key("ferrolb-webhook"));

    let (ok, out, err) = helm(&[
        "uninstall",
        "ferrolb",
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        &kubeconfig.to_string_lossy(),
    ]);
    assert!(ok, "helm uninstall failed: {err}{out}");
    for resource in [
        "deployments",
        "daemonsets",
        "services",
        "servicemonitors.monitoring.coreos.com",
    ] {
        let left = objects(&kubectl, resource, NAMESPACE);
        assert!(
            left.is_empty(),
            "helm uninstall left {resource}: {:?}",
            left.keys()
        );
    }
    // Helm keeps the CRDs of crds/, and with them the users' pools.
    let crds = objects(&kubectl, "customresourcedefinitions", "");
    assert!(shipped.iter().all(|name| crds.contains_key(name)));
}

#[test]
fn checked_in_manifest_matches_the_chart() {
    let path = repo_root().join("manifests/ferrolb-native.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap();
    let (ok, out, err) = helm(&[
        "template",
        "ferrolb",
        "helm/ferrolb",
        "--namespace",
        NAMESPACE,
        "--include-crds",
        "--set",
        "namespace.create=true",
    ]);
    assert!(ok, "{err}");
    let body = checked_in
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert!(
        body == out,
        "manifests/ferrolb-native.yaml is out of date with helm/ferrolb; run dev/render-manifest"
    );
    // And it applies as a user would apply it.
    let kubectl = prepared();
    let applied = kubectl
        .run(
            &["apply", "--dry-run=server", "-f", &path.to_string_lossy()],
            None,
        )
        .unwrap();
    assert!(applied.success, "{}", applied.stderr);
}

#[test]
fn chart_webhook_configuration_matches_the_webhook_binary() {
    let webhook = binary("ferrolb-webhook", "ferrolb-webhook");
    let out = Command::new(webhook)
        .args(["manifest", "--namespace", NAMESPACE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_binary: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let rendered = render(&[]);
    let from_chart: serde_yaml::Value = rendered
        .split("\n---\n")
        .filter_map(|doc| serde_yaml::from_str::<serde_yaml::Value>(doc).ok())
        .find(|doc| doc["kind"] == "ValidatingWebhookConfiguration")
        .expect("the chart renders a ValidatingWebhookConfiguration");
    assert_eq!(
        from_chart["metadata"]["name"],
        from_binary["metadata"]["name"]
    );
    assert_eq!(
        from_chart["webhooks"], from_binary["webhooks"],
        "helm/ferrolb/templates/webhook-configuration.yaml and `ferrolb-webhook manifest` disagree"
    );
}

/// `kubectl auth can-i VERB RESOURCE[/NAME]` as a ferrolb ServiceAccount; a `#status` suffix
/// asks about the status subresource.
fn can(kubectl: &Kubectl, account: &str, verb: &str, resource: &str, namespace: &str) -> bool {
    let who = format!("system:serviceaccount:{NAMESPACE}:{account}");
    let (resource, subresource) = match resource.split_once('#') {
        Some((r, sub)) => (r, Some(format!("--subresource={sub}"))),
        None => (resource, None),
    };
    let mut args = vec![
        "auth", "can-i", verb, resource, "--as", &who, "-n", namespace,
    ];
    args.extend(subresource.as_deref());
    let out = kubectl.run(&args, None).unwrap();
    match out.stdout.trim() {
        "yes" => true,
        "no" => false,
        other => panic!(
            "kubectl auth can-i {verb} {resource} as {account}: {other} {}",
            out.stderr
        ),
    }
}

/// Waits until the API server's RBAC cache has caught up with freshly applied roles.
fn wait_for_rbac(kubectl: &Kubectl) {
    until("the applied roles to take effect", || {
        can(kubectl, "ferrolb-speaker", "watch", "nodes", "").then_some(())
    });
}

#[test]
fn each_component_gets_only_the_access_it_needs() {
    // Its own control plane: the chart is applied for real here, which the dry runs of the
    // other tests must not see.
    let control_plane = ControlPlane::start().unwrap();
    control_plane.install_crds().unwrap();
    let kubectl = control_plane.kubectl();
    kubectl.ensure_namespace(NAMESPACE).unwrap();
    let rendered = render(&[]);
    kubectl.ok(&["apply", "-f", "-"], Some(&rendered)).unwrap();
    wait_for_rbac(&kubectl);
    let allowed = [
        ("ferrolb-operator", "patch", "services#status", "default"),
        ("ferrolb-operator", "watch", "services", "default"),
        (
            "ferrolb-operator",
            "patch",
            "ipaddresspools.metallb.io#status",
            NAMESPACE,
        ),
        (
            "ferrolb-operator",
            "update",
            "leases.coordination.k8s.io/ferrolb-operator",
            NAMESPACE,
        ),
        (
            "ferrolb-speaker",
            "update",
            "leases.coordination.k8s.io/anything",
            NAMESPACE,
        ),
        (
            "ferrolb-speaker",
            "create",
            "servicel2statuses.metallb.io",
            NAMESPACE,
        ),
        ("ferrolb-speaker", "watch", "nodes", ""),
        ("ferrolb-speaker", "get", "secrets/bgp-password", NAMESPACE),
        (
            "ferrolb-webhook",
            "watch",
            "ipaddresspools.metallb.io",
            NAMESPACE,
        ),
        ("ferrolb-webhook", "watch", "services", "default"),
        (
            "ferrolb-webhook",
            "update",
            "secrets/ferrolb-webhook-cert",
            NAMESPACE,
        ),
        (
            "ferrolb-webhook",
            "patch",
            "validatingwebhookconfigurations.admissionregistration.k8s.io/ferrolb-validating-webhook-configuration",
            "",
        ),
    ];
    let denied = [
        ("ferrolb-speaker", "update", "services", "default"),
        ("ferrolb-speaker", "patch", "services#status", "default"),
        ("ferrolb-speaker", "list", "secrets", NAMESPACE),
        ("ferrolb-speaker", "get", "secrets/bgp-password", "default"),
        (
            "ferrolb-operator",
            "update",
            "leases.coordination.k8s.io/someone-else",
            NAMESPACE,
        ),
        ("ferrolb-operator", "delete", "services", "default"),
        (
            "ferrolb-operator",
            "update",
            "ipaddresspools.metallb.io",
            NAMESPACE,
        ),
        ("ferrolb-operator", "get", "secrets", NAMESPACE),
        ("ferrolb-webhook", "get", "secrets/other", NAMESPACE),
        ("ferrolb-webhook", "update", "services", "default"),
        (
            "ferrolb-webhook",
            "update",
            "ipaddresspools.metallb.io",
            NAMESPACE,
        ),
        (
            "ferrolb-webhook",
            "patch",
            "validatingwebhookconfigurations.admissionregistration.k8s.io/other",
            "",
        ),
        (
            "ferrolb-webhook",
            "update",
            "customresourcedefinitions.apiextensions.k8s.io/ipaddresspools.metallb.io",
            "",
        ),
    ];
    for (account, verb, resource, ns) in allowed {
        // Freshly applied bindings reach the authorizer's cache one by one.
        until(
            &format!("{account} to be allowed to {verb} {resource}"),
            || can(&kubectl, account, verb, resource, ns).then_some(()),
        );
    }
    for (account, verb, resource, ns) in denied {
        assert!(
            !can(&kubectl, account, verb, resource, ns),
            "{account} must not {verb} {resource}"
        );
    }
}
