//! The webhook's certificates against a real kube-apiserver: self-managed ones rotate (the
//! serving certificate, then the CA) while the API server keeps calling, and user-supplied
//! files (as cert-manager writes them) are served, their CA injected, and reloaded when they
//! change. Each test runs its own webhook; they run one at a time, sharing one registration.

use std::time::Duration;

use ferrolb_tests::ControlPlane;
use ferrolb_tests::wait::{PATIENCE, until_explained, until_within};
use ferrolb_tests::worlds::webhook::{
    CONFIGURATION, NS, WebhookProcess, base64_decode, json, running, wait_until_answering,
    webhook_verdict,
};

#[test]
fn certificates_rotate_while_the_api_server_keeps_calling_the_webhook() {
    let (kubectl, _serial) = running(false);
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
    // The CA must rotate before the first one expires.
    let rotated_ca = until_within(Duration::from_secs(45), "the CA to rotate", || {
        // Every call in between must reach the webhook and get its verdict.
        let out = webhook_verdict(&kubectl);
        assert!(
            out.stderr.contains("overlaps with already defined CIDR"),
            "a call failed during rotation: {}\nwebhook log:\n{}",
            out.stderr,
            process.output()
        );
        let (ca, cert) = read();
        serving_renewed |= ca == first_ca && cert != first_cert;
        (ca != first_ca).then_some(ca)
    });
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
            "-noservername",
        ],
    );
    std::fs::write(dir.join("served.pem"), chain).unwrap();
    openssl(dir, &["x509", "-in", "served.pem", "-noout", "-serial"])
}

#[test]
fn certificate_files_are_served_injected_and_reloaded_when_they_change() {
    let (kubectl, _serial) = running(false);
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
    until_explained(
        Duration::from_secs(20),
        "the new certificate to be served",
        || (served_serial(&dir, process.port) == second).then_some(()),
        || process.output(),
    );
    let out = webhook_verdict(&kubectl);
    assert!(
        out.stderr.contains("overlaps with already defined CIDR"),
        "{}",
        out.stderr
    );
    drop(process);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replicas_started_together_serve_the_same_certificate_from_one_secret() {
    let (kubectl, _serial) = running(false);
    let kubeconfig = &ControlPlane::shared().kubeconfig;
    let flags = ["--secret-name", "replica-cert"];
    let (first, second) = (
        WebhookProcess::start(kubeconfig, &flags).unwrap(),
        WebhookProcess::start(kubeconfig, &flags).unwrap(),
    );
    for replica in [&first, &second] {
        until_explained(
            PATIENCE,
            &format!("the replica on port {} to be ready", replica.port),
            || (replica.probe("/readyz").ok().as_deref() == Some("HTTP/1.1 200 OK")).then_some(()),
            || replica.output(),
        );
    }
    let dir = std::env::temp_dir().join(format!("ferrolb-webhook-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = json(&kubectl, &["get", "secret", "-n", NS, "replica-cert"]);
    let stored = base64_decode(secret["data"]["tls.crt"].as_str().unwrap());
    std::fs::write(dir.join("stored.pem"), stored).unwrap();
    let stored = openssl(&dir, &["x509", "-in", "stored.pem", "-noout", "-serial"]);
    // The loser of the race to create the Secret adopts the winner's bundle within a round.
    for replica in [&first, &second] {
        until_explained(
            Duration::from_secs(10),
            &format!(
                "the replica on port {} to serve the Secret's certificate",
                replica.port
            ),
            || (served_serial(&dir, replica.port) == stored).then_some(()),
            || replica.output(),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
