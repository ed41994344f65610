//! The admission webhook against a real kube-apiserver, called over TLS with the CA the
//! webhook generated and registered itself: `kubectl apply` of wrong objects fails with the
//! webhook's message, good ones pass, warnings reach kubectl's output, and with the webhook
//! stopped metallb.io changes are refused while Services are still admitted.
//!
//! The tests share one webhook process and run one at a time (one of them stops it); the next
//! test starts it again, reusing the certificates kept in the Secret.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferrolb_tests::kubectl::Outcome;
use ferrolb_tests::webhook::WebhookProcess;
use ferrolb_tests::{ControlPlane, Kubectl};
use serde_json::Value;

const NS: &str = "metallb-system";
const CONFIGURATION: &str = "ferrolb-validating-webhook-configuration";

/// The running webhook, if any; holding the lock serializes the tests.
static WEBHOOK: Mutex<Option<WebhookProcess>> = Mutex::new(None);

/// The control plane prepared for the suite, and the webhook running and answering.
fn webhook() -> (Kubectl, MutexGuard<'static, Option<WebhookProcess>>) {
    let mut guard = WEBHOOK.lock().unwrap_or_else(|e| e.into_inner());
    let control_plane = ControlPlane::shared();
    control_plane.install_crds().unwrap();
    let kubectl = control_plane.kubectl();
    kubectl.ensure_namespace(NS).unwrap();
    if guard.is_none() {
        let process = WebhookProcess::start(&control_plane.kubeconfig, &[]).unwrap();
        *guard = Some(process);
        wait_until_answering(&kubectl, guard.as_ref().unwrap());
    }
    (kubectl, guard)
}

/// Waits until the API server gets the webhook's own denial for a pool with a bad entry.
fn wait_until_answering(kubectl: &Kubectl, process: &WebhookProcess) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = apply(kubectl, &pool("probe", &["10.255.0.0/33"]));
        if out.stderr.contains("prefix length 33 exceeds 32") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook did not answer within 60s; last kubectl error: {}\nwebhook log:\n{}",
            out.stderr,
            process.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn apply(kubectl: &Kubectl, yaml: &str) -> Outcome {
    kubectl.run(&["apply", "-f", "-"], Some(yaml)).unwrap()
}

/// Applies `yaml` until kubectl's error contains `expected` (the webhook sees new objects
/// through a watch, a moment after they are written), or panics with the last outcome.
fn apply_until_denied(kubectl: &Kubectl, yaml: &str, expected: &str) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = apply(kubectl, yaml);
        if !out.success && out.stderr.contains(expected) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl apply was not denied with {expected:?}: success {}, stdout {:?}, stderr {:?}",
            out.success,
            out.stdout,
            out.stderr
        );
        if out.success {
            // Admitted before the webhook saw the conflicting object: undo and retry.
            let _ = kubectl.run(&["delete", "-f", "-"], Some(yaml));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pool(name: &str, addresses: &[&str]) -> String {
    let list: Vec<String> = addresses.iter().map(|a| format!("    - {a}\n")).collect();
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: {NS}\nspec:\n  addresses:\n{}",
        list.concat()
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

fn json(kubectl: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl.ok(&all, None).unwrap()).unwrap()
}

#[test]
fn registration_with_the_generated_ca_is_accepted_by_the_api_server() {
    let (kubectl, _webhook) = webhook();
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
    let out = apply(&kubectl, &pool("bad-prefix", &["10.255.0.0/33"]));
    assert!(!out.success);
    assert!(
        out.stderr.contains(r#"admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: address "10.255.0.0/33" in IPAddressPool "bad-prefix" is invalid: prefix length 33 exceeds 32"#),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pool_overlapping_another_is_refused_at_apply_naming_both_cidrs() {
    let (kubectl, _webhook) = webhook();
    let first = apply(&kubectl, &pool("overlap-first", &["10.20.0.0/24"]));
    assert!(first.success, "{}", first.stderr);
    let out = apply_until_denied(
        &kubectl,
        &pool("overlap-second", &["10.20.0.128/25"]),
        "overlaps with already defined CIDR",
    );
    assert!(
        out.stderr.contains(r#"CIDR "10.20.0.128/25" in IPAddressPool "overlap-second" overlaps with already defined CIDR "10.20.0.0/24" in IPAddressPool "overlap-first""#),
        "{}",
        out.stderr
    );
}

#[test]
fn a_good_pool_is_admitted_and_stored() {
    let (kubectl, _webhook) = webhook();
    let out = apply(
        &kubectl,
        &pool("good", &["10.30.0.0/24", "10.31.0.1-10.31.0.9"]),
    );
    assert!(out.success, "{}", out.stderr);
    let stored = json(&kubectl, &["get", "ipaddresspool", "-n", NS, "good"]);
    assert_eq!(stored["spec"]["addresses"][1], "10.31.0.1-10.31.0.9");
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
            &[("metallb.io/loadBalancerIPs", "10.30.0.1,10.30.0.2")],
        ),
    );
    assert!(!out.success);
    assert!(
        out.stderr.contains(r#"denied the request: Service "default/two-v4": metallb.io/loadBalancerIPs "10.30.0.1,10.30.0.2" lists two IPv4 addresses; two addresses must be one IPv4 and one IPv6"#),
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
    let out = apply(&kubectl, &pool("while-down", &["10.40.0.0/24"]));
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
            &[("metallb.io/loadBalancerIPs", "10.40.0.1,10.40.0.2")],
        ),
    );
    assert!(
        out.success,
        "Services must not depend on the webhook: {}",
        out.stderr
    );
}

#[test]
fn certificates_rotate_while_the_api_server_keeps_calling_the_webhook() {
    let (kubectl, mut webhook) = webhook();
    webhook.take().expect("the webhook runs").stop();
    // Short lives, in a Secret of their own: the serving certificate is renewed after 10s and
    // the CA after 20s.
    let process = WebhookProcess::start(
        &ControlPlane::shared().kubeconfig,
        &[
            "--secret-name",
            "rotation-cert",
            "--cert-lifetime",
            "15s",
            "--ca-lifetime",
            "30s",
        ],
    )
    .unwrap();
    wait_until_answering(&kubectl, &process);
    let read = || {
        let secret = json(&kubectl, &["get", "secret", "-n", NS, "rotation-cert"]);
        let field = |k: &str| secret["data"][k].as_str().unwrap().to_owned();
        (field("ca.crt"), field("tls.crt"))
    };
    let (first_ca, first_cert) = read();
    let mut serving_renewed = false;
    let deadline = Instant::now() + Duration::from_secs(45);
    let rotated_ca = loop {
        // Every call in between must reach the webhook and get its verdict.
        let out = apply(&kubectl, &pool("during-rotation", &["10.250.0.0/33"]));
        assert!(
            out.stderr.contains("prefix length 33 exceeds 32"),
            "a call failed during rotation: {}\nwebhook log:\n{}",
            out.stderr,
            process.output()
        );
        let (ca, cert) = read();
        serving_renewed |= ca == first_ca && cert != first_cert;
        if ca != first_ca {
            break ca;
        }
        assert!(
            Instant::now() < deadline,
            "the CA was not rotated within 45s"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        serving_renewed,
        "the serving certificate was not renewed under the first CA"
    );
    let bundle = String::from_utf8(base64_decode(&rotated_ca)).unwrap();
    assert_eq!(
        bundle.matches("BEGIN CERTIFICATE").count(),
        2,
        "the previous CA stays trusted"
    );
    let configuration = json(
        &kubectl,
        &["get", "validatingwebhookconfiguration", CONFIGURATION],
    );
    assert_eq!(
        configuration["webhooks"][0]["clientConfig"]["caBundle"],
        rotated_ca
    );
    drop(process);
}

/// Standard base64, as Secret data is written.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|c| *c != b'=').map(value).collect();
    digits
        .chunks(4)
        .flat_map(|chunk| {
            let n =
                chunk.iter().fold(0u32, |n, d| (n << 6) | u32::from(*d)) << (6 * (4 - chunk.len()));
            let bytes = n.to_be_bytes();
            bytes[1..chunk.len()].to_vec()
        })
        .collect()
}

/// Runs `openssl ARGS` in `dir`, panicking with its error output on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A key and a certificate for 127.0.0.1 signed by the CA in `dir`, written under `name`.
fn issue(dir: &std::path::Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=webhook",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// The serial of the certificate the server on `port` presents to a new connection.
fn served_serial(dir: &std::path::Path, port: u16) -> String {
    let chain = openssl(
        dir,
        &[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "127.0.0.1",
        ],
    );
    std::fs::write(dir.join("served.pem"), chain).unwrap();
    openssl(dir, &["x509", "-in", "served.pem", "-noout", "-serial"])
}

#[test]
fn certificate_files_are_served_injected_and_reloaded_when_they_change() {
    let (kubectl, mut webhook) = webhook();
    webhook.take().expect("the webhook runs").stop();
    let dir = std::env::temp_dir().join(format!("ferrolb-webhook-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=user-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    issue(&dir, "tls");
    let dir_arg = dir.to_string_lossy().into_owned();
    let process = WebhookProcess::start(
        &ControlPlane::shared().kubeconfig,
        &["--cert-dir", &dir_arg],
    )
    .unwrap();
    wait_until_answering(&kubectl, &process);
    let configuration = json(
        &kubectl,
        &["get", "validatingwebhookconfiguration", CONFIGURATION],
    );
    let injected = base64_decode(
        configuration["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        injected,
        std::fs::read(dir.join("ca.crt")).unwrap(),
        "the user's CA is injected"
    );
    let first = openssl(&dir, &["x509", "-in", "tls.crt", "-noout", "-serial"]);
    assert_eq!(served_serial(&dir, process.port), first);

    // Replace the pair the way a certificate manager does: new files renamed into place.
    issue(&dir, "next");
    std::fs::rename(dir.join("next.key"), dir.join("tls.key")).unwrap();
    std::fs::rename(dir.join("next.crt"), dir.join("tls.crt")).unwrap();
    let second = openssl(&dir, &["x509", "-in", "tls.crt", "-noout", "-serial"]);
    assert_ne!(first, second);
    let deadline = Instant::now() + Duration::from_secs(20);
    while served_serial(&dir, process.port) != second {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served within 20s\n{}",
            process.output()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = apply(&kubectl, &pool("after-reload", &["10.250.0.0/33"]));
    assert!(
        out.stderr.contains("prefix length 33 exceeds 32"),
        "{}",
        out.stderr
    );
    drop(process);
    let _ = std::fs::remove_dir_all(&dir);
}
