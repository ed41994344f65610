//! The Helm chart and the plain manifest: `helm lint`, bad values refused by the schema, every
//! rendering accepted by a real kube-apiserver, the checked-in manifest in step with the chart,
//! the webhook configuration in step with the webhook binary, and least-privilege RBAC proven
//! with `kubectl auth can-i` as each component's ServiceAccount.

use std::process::Command;
use std::sync::OnceLock;

use ferrolb_tests::process::binary;
use ferrolb_tests::{ControlPlane, Kubectl, repo_root};

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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !can(kubectl, "ferrolb-speaker", "watch", "nodes", "") {
        assert!(
            std::time::Instant::now() < deadline,
            "the applied roles never took effect"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
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
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !can(&kubectl, account, verb, resource, ns) {
            assert!(
                std::time::Instant::now() < deadline,
                "{account} should be allowed to {verb} {resource}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    for (account, verb, resource, ns) in denied {
        assert!(
            !can(&kubectl, account, verb, resource, ns),
            "{account} must not {verb} {resource}"
        );
    }
}
