//! The admission webhook against a real kube-apiserver, called over TLS with the CA the
//! webhook generated and registered itself: `kubectl apply` of wrong objects fails with the
//! webhook's message, good ones pass, warnings reach kubectl's output, and with the webhook
//! stopped metallb.io changes are refused while Services are still admitted.
//!
//! The tests share one webhook process and run one at a time (one of them stops it); the next
//! test starts it again, reusing the certificates kept in the Secret. Certificate rotation and
//! user-supplied certificates are in `webhook_certificates.rs`.

use std::sync::MutexGuard;

use ferrolb_tests::Kubectl;
use ferrolb_tests::infra::kubectl::Outcome;
use ferrolb_tests::wait::{PATIENCE, until, until_explained};
use ferrolb_tests::worlds::webhook::{
    CONFIGURATION, NS, WebhookProcess, apply, json, pool_yaml as pool, running, webhook_verdict,
};

/// The control plane and the suite's webhook, running and answering.
fn webhook() -> (Kubectl, MutexGuard<'static, Option<WebhookProcess>>) {
    running(true)
}

/// Applies `yaml` until kubectl's error contains `expected` (the webhook sees new objects
/// through a watch, a moment after they are written), or panics with the last outcome.
fn apply_until_denied(kubectl: &Kubectl, yaml: &str, expected: &str) -> Outcome {
    let last = std::cell::RefCell::new(None);
    until_explained(
        PATIENCE,
        &format!("kubectl apply to be denied with {expected:?}"),
        || {
            let out = apply(kubectl, yaml);
            if !out.success && out.stderr.contains(expected) {
                return Some(out);
            }
            if out.success {
                // Admitted before the webhook saw the conflicting object: undo and retry.
                let _ = kubectl.run(&["delete", "-f", "-"], Some(yaml));
            }
            *last.borrow_mut() = Some(out);
            None
        },
        || {
            let out = last.borrow_mut().take().expect("at least one apply");
            format!(
                "success {}, stdout {:?}, stderr {:?}",
                out.success, out.stdout, out.stderr
            )
        },
    )
}

fn load_balancer(name: &str, annotations: &[(&str, &str)]) -> String {
    let annotations: Vec<String> = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n{}spec:\n  type: LoadBalancer\n  ports:\n    - port: 80\n",
        annotations.concat()
    )
}

#[test]
fn registration_with_the_generated_ca_is_accepted_by_the_api_server() {
    let (kubectl, webhook) = webhook();
    let process = webhook.as_ref().expect("the webhook runs");
    // Ready once the API server trusts its certificate: the CA injected into the configuration.
    until("the webhook ready", || {
        (process.probe("/readyz").ok().as_deref() == Some("HTTP/1.1 200 OK")).then_some(())
    });
    assert_eq!(process.probe("/healthz").unwrap(), "HTTP/1.1 200 OK");
    let secret = json(
        &kubectl,
        &["get", "secret", "-n", NS, "ferrolb-webhook-cert"],
    );
    let ca = secret["data"]["ca.crt"].as_str().unwrap().to_owned();
    assert!(!ca.is_empty());
    let configuration = json(
        &kubectl,
        &["get", "validatingwebhookconfiguration", CONFIGURATION],
    );
    for webhook in configuration["webhooks"].as_array().unwrap() {
        assert_eq!(
            webhook["clientConfig"]["caBundle"], ca,
            "{}",
            webhook["name"]
        );
    }
    let crd = json(&kubectl, &["get", "crd", "bgppeers.metallb.io"]);
    assert_eq!(
        crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
        ca
    );
    // The API server reached the webhook over TLS and relayed its message: the CA is trusted.
    let out = webhook_verdict(&kubectl);
    assert!(!out.success);
    assert!(
        out.stderr.contains(r#"admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: CIDR "2001:db8:ffff:fffe::1/128" in IPAddressPool "webhook-probe" overlaps with already defined CIDR"#),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pool_overlapping_another_is_refused_at_apply_naming_both_cidrs() {
    let (kubectl, _webhook) = webhook();
    let first = apply(&kubectl, &pool("overlap-first", &["192.0.2.0/24"]));
    assert!(first.success, "{}", first.stderr);
    let out = apply_until_denied(
        &kubectl,
        &pool("overlap-second", &["192.0.2.128/25"]),
        "overlaps with already defined CIDR",
    );
    assert!(
        out.stderr.contains(r#"CIDR "192.0.2.128/25" in IPAddressPool "overlap-second" overlaps with already defined CIDR "192.0.2.0/24" in IPAddressPool "overlap-first""#),
        "{}",
        out.stderr
    );
}

#[test]
fn a_good_pool_is_admitted_and_stored() {
    let (kubectl, _webhook) = webhook();
    let out = apply(
        &kubectl,
        &pool(
            "good",
            &["198.51.100.0/25", "198.51.100.201-198.51.100.209"],
        ),
    );
    assert!(out.success, "{}", out.stderr);
    let stored = json(&kubectl, &["get", "ipaddresspool", "-n", NS, "good"]);
    assert_eq!(
        stored["spec"]["addresses"][1],
        "198.51.100.201-198.51.100.209"
    );
}

#[test]
fn a_reference_to_a_missing_pool_is_admitted_with_a_warning_in_kubectl_output() {
    let (kubectl, _webhook) = webhook();
    let yaml = format!(
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: warned\n  namespace: {NS}\nspec:\n  ipAddressPools:\n    - not-there\n"
    );
    let out = apply(&kubectl, &yaml);
    assert!(out.success, "{}", out.stderr);
    assert!(
        out.stderr.contains(r#"Warning: L2Advertisement "warned": IPAddressPool "not-there" does not exist in namespace metallb-system"#),
        "stderr: {}",
        out.stderr
    );
}

#[test]
fn a_bad_load_balancer_ips_annotation_is_denied() {
    let (kubectl, _webhook) = webhook();
    let out = apply(
        &kubectl,
        &load_balancer(
            "two-v4",
            &[("metallb.io/loadBalancerIPs", "198.51.100.1,198.51.100.2")],
        ),
    );
    assert!(!out.success);
    assert!(
        out.stderr.contains(r#"denied the request: Service "default/two-v4": metallb.io/loadBalancerIPs "198.51.100.1,198.51.100.2" lists two IPv4 addresses; two addresses must be one IPv4 and one IPv6"#),
        "{}",
        out.stderr
    );
}

#[test]
fn a_v1beta2_peer_reads_back_as_v1beta1_through_the_conversion_webhook() {
    let (kubectl, _webhook) = webhook();
    let yaml = format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: router\n  namespace: {NS}\nspec:\n  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n  vrf: red\n"
    );
    let out = apply(&kubectl, &yaml);
    assert!(out.success, "{}", out.stderr);
    let old = json(
        &kubectl,
        &["get", "bgppeers.v1beta1.metallb.io", "-n", NS, "router"],
    );
    assert_eq!(old["apiVersion"], "metallb.io/v1beta1");
    assert_eq!(old["spec"]["peerASN"], 64501);
    assert_eq!(old["spec"].get("vrf"), None);
}

#[test]
fn with_the_webhook_stopped_metallb_changes_are_refused_and_services_admitted() {
    let (kubectl, mut webhook) = webhook();
    webhook.take().expect("the webhook runs").stop();
    let out = apply(&kubectl, &pool("while-down", &["203.0.113.0/25"]));
    assert!(!out.success, "a pool was admitted without the webhook");
    assert!(
        out.stderr
            .contains(r#"failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io""#),
        "{}",
        out.stderr
    );
    let out = apply(
        &kubectl,
        &load_balancer(
            "while-down",
            &[("metallb.io/loadBalancerIPs", "203.0.113.1,203.0.113.2")],
        ),
    );
    assert!(
        out.success,
        "Services must not depend on the webhook: {}",
        out.stderr
    );
}

#[test]
fn a_v1beta1_peer_is_checked_with_the_v1beta2_rules() {
    let (kubectl, _webhook) = webhook();
    let yaml = format!(
        "apiVersion: metallb.io/v1beta1\nkind: BGPPeer\nmetadata:\n  name: ibgp-multihop\n  namespace: {NS}\nspec:\n  myASN: 64500\n  peerASN: 64500\n  peerAddress: 192.0.2.9\n  ebgpMultiHop: true\n"
    );
    let out = apply(&kubectl, &yaml);
    assert!(!out.success);
    // The rule needs only the object, so the CRD's validation rule may refuse it before the
    // webhook is asked; either names the peer and the rule in the same words.
    assert!(
        out.stderr.contains("ibgp-multihop")
            && out
                .stderr
                .contains("ebgpMultiHop cannot be set on an iBGP session (peerASN equals myASN)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bfd_profile_in_use_cannot_be_deleted() {
    let (kubectl, _webhook) = webhook();
    let profile = format!(
        "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata:\n  name: in-use\n  namespace: {NS}\nspec:\n  receiveInterval: 300\n"
    );
    let peer = format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: with-bfd\n  namespace: {NS}\nspec:\n  myASN: 64500\n  peerASN: 64502\n  peerAddress: 192.0.2.10\n  bfdProfile: in-use\n"
    );
    for yaml in [&profile, &peer] {
        let out = apply(&kubectl, yaml);
        assert!(out.success, "{}", out.stderr);
    }
    // The webhook sees the peer through its watch a moment after it is written.
    let refusal = until("the deletion of the profile in use to be refused", || {
        let out = kubectl
            .run(&["delete", "bfdprofile", "-n", NS, "in-use"], None)
            .unwrap();
        if out.success {
            let recreated = apply(&kubectl, &profile);
            assert!(recreated.success, "{}", recreated.stderr);
            return None;
        }
        Some(out.stderr)
    });
    assert!(
        refusal.contains(
            r#"BFDProfile "in-use" cannot be deleted: it is still used by BGPPeer "with-bfd""#
        ),
        "{refusal}"
    );
}

#[test]
fn a_legacy_annotation_is_admitted_with_a_warning_naming_its_replacement() {
    let (kubectl, _webhook) = webhook();
    let out = apply(&kubectl, &pool("legacy-target", &["203.0.113.128/25"]));
    assert!(out.success, "{}", out.stderr);
    let service = load_balancer(
        "legacy",
        &[("metallb.universe.tf/address-pool", "legacy-target")],
    );
    // Until the webhook's watch has seen the pool, the Service is refused as naming an
    // unknown pool; then it is admitted with the warning.
    let out = until("the Service to be admitted", || {
        Some(apply(&kubectl, &service)).filter(|out| out.success)
    });
    assert!(
        out.stderr.contains(r#"Warning: Service "default/legacy": annotation metallb.universe.tf/address-pool is deprecated; use metallb.io/address-pool instead"#),
        "stderr: {}",
        out.stderr
    );
}

/// Applies `yaml` until it is admitted (the webhook sees new pools through a watch).
fn apply_until_admitted(kubectl: &Kubectl, yaml: &str) {
    until("the object to be admitted", || {
        apply(kubectl, yaml).success.then_some(())
    });
}

#[test]
fn an_ip_shared_in_another_namespace_of_a_namespace_scoped_pool_is_refused_naming_both() {
    let (kubectl, _webhook) = webhook();
    let scoped = |value: &str| {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: team-scoped\n  namespace: {NS}\n  annotations: {{ferrolb.io/sharing-scope: {value}}}\nspec:\n  addresses: [198.51.100.160/28]\n"
        )
    };
    let out = apply(&kubectl, &scoped("tenant"));
    assert!(!out.success);
    assert!(
        out.stderr.contains(r#"denied the request: IPAddressPool "team-scoped": annotation ferrolb.io/sharing-scope is "tenant"; use "namespace""#),
        "{}",
        out.stderr
    );
    let out = apply(&kubectl, &scoped("namespace"));
    assert!(out.success, "{}", out.stderr);
    let shared = |namespace: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: {namespace}\n  annotations: {{metallb.io/allow-shared-ip: k, metallb.io/loadBalancerIPs: 198.51.100.161}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\n"
        )
    };
    for namespace in ["team-a", "team-b"] {
        kubectl.ensure_namespace(namespace).unwrap();
    }
    apply_until_admitted(&kubectl, &shared("team-a"));
    // As the operator would: team-a/web holds the IP.
    kubectl
        .ok(
            &[
                "patch",
                "service",
                "web",
                "-n",
                "team-a",
                "--subresource=status",
                "--type=merge",
                "-p",
                r#"{"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.161"}]}}}"#,
            ],
            None,
        )
        .unwrap();
    let out = apply_until_denied(&kubectl, &shared("team-b"), "sharing-scope");
    assert!(
        out.stderr.contains(r#"denied the request: Service "team-b/web": metallb.io/loadBalancerIPs asks for 198.51.100.161, which Service "team-a/web" holds with the same allow-shared-ip key, but IPAddressPool "team-scoped" has ferrolb.io/sharing-scope: namespace, so only Services of namespace "team-a" may share it"#),
        "{}",
        out.stderr
    );
}
