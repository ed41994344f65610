//! The admission webhook run as a child of a suite: `ferrolb-webhook serve` built on first
//! use, registered by URL on a free loopback port (the local control plane has no Service
//! network), its output in a log file in the control plane's folder.
//!
//! The process is started under a small shell that holds a pipe from the suite: when the
//! suite's process ends, however it ends, the pipe closes and the shell kills the webhook.
//! [`WebhookProcess::stop`] and `Drop` close the pipe and wait, so a test can stop it too.
//!
//! The webhook suites share the helpers below: [`running`] prepares the control plane and
//! keeps one webhook running for the suite (holding its lock serializes the tests, since
//! they share one ValidatingWebhookConfiguration), [`wait_until_answering`] waits for the API
//! server to relay the webhook's own verdicts.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::infra::kubectl::Outcome;
use crate::wait::{self, PATIENCE};
use crate::{ControlPlane, Error, Kubectl};

/// ferrolb's namespace in the suites.
pub const NS: &str = "metallb-system";
/// The configuration `serve --register` writes.
pub const CONFIGURATION: &str = "ferrolb-validating-webhook-configuration";

/// The `ferrolb-webhook` binary, built once per process with the caller's cargo, target dir
/// and profile.
pub fn webhook_binary() -> PathBuf {
    crate::infra::process::binary("ferrolb-webhook", "ferrolb-webhook")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `ferrolb-webhook serve`; stopped when dropped.
pub struct WebhookProcess {
    /// The loopback port it listens on, and the URL it registered.
    pub port: u16,
    /// The plain HTTP port of /healthz and /readyz.
    pub health_port: u16,
    pub log: PathBuf,
    shell: Child,
    pipe: Option<ChildStdin>,
}

impl WebhookProcess {
    /// Starts the webhook against `kubeconfig` on a free loopback port, registering itself
    /// (`--register --url https://127.0.0.1:PORT`), with `extra` flags appended.
    pub fn start(kubeconfig: &Path, extra: &[&str]) -> Result<Self, Error> {
        let port = free_port()?;
        // Beside the kubeconfig, in the control plane's folder: removed when the suite ends.
        let log = kubeconfig
            .parent()
            .map_or_else(std::env::temp_dir, Path::to_path_buf)
            .join(format!("ferrolb-webhook-{port}.log"));
        let health_port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let health = format!("127.0.0.1:{health_port}");
        let url = format!("https://{address}");
        let mut args = vec![
            "serve",
            "--listen",
            &address,
            "--health-address",
            &health,
            "--metrics-address",
            "127.0.0.1:0",
            "--url",
            &url,
            "--register",
        ];
        args.extend_from_slice(extra);
        let out = std::fs::File::create(&log)?;
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(r#"bin=$1; shift; "$bin" "$@" </dev/null & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid"#)
            .arg("ferrolb-webhook-holder")
            .arg(webhook_binary())
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,ferrolb_webhook=debug")
            .stdin(Stdio::piped())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let pipe = shell.stdin.take();
        Ok(Self {
            port,
            health_port,
            log,
            shell,
            pipe,
        })
    }

    /// Stops the webhook and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.flush();
        }
        let _ = self.shell.wait();
    }

    /// Kills the webhook with SIGKILL, as a crash would, then lets its shell end.
    pub fn kill(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.shell.id().to_string()])
            .status();
        self.stop();
    }

    /// The status line of `GET path` on the health port, e.g. `HTTP/1.1 200 OK`.
    pub fn probe(&self, path: &str) -> Result<String, Error> {
        use std::io::Read;
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", self.health_port))?;
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        let mut answer = String::new();
        tcp.read_to_string(&mut answer)?;
        Ok(answer.lines().next().unwrap_or_default().to_owned())
    }

    /// What the webhook logged so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WebhookProcess {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- ferrolb-webhook log ({}):\n{}",
                self.log.display(),
                self.output()
            );
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The suite's webhook process, if one runs; its lock serializes the tests of a suite.
static RUNNING: Mutex<Option<WebhookProcess>> = Mutex::new(None);

/// The shared control plane with the CRDs and ferrolb's namespace, and the lock on the suite's
/// webhook; with `start`, a webhook with default flags runs and answers.
pub fn running(start: bool) -> (Kubectl, MutexGuard<'static, Option<WebhookProcess>>) {
    let mut guard = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let control_plane = ControlPlane::shared();
    control_plane.install_crds().unwrap();
    let kubectl = control_plane.kubectl();
    kubectl.ensure_namespace(NS).unwrap();
    if start && guard.is_none() {
        let process = WebhookProcess::start(&control_plane.kubeconfig, &[]).unwrap();
        wait_until_answering(&kubectl, &process);
        *guard = Some(process);
    }
    (kubectl, guard)
}

/// The pools of [`webhook_verdict`]: an anchor, and a probe inside it.
const PROBE_ANCHOR: (&str, &str) = ("webhook-probe-anchor", "2001:db8:ffff:fffe::/64");
const PROBE: (&str, &str) = ("webhook-probe", "2001:db8:ffff:fffe::1/128");

/// What the webhook says of a pool overlapping another: the anchor pool is applied (an
/// unchanged update once it exists), then the probe inside it, which only the webhook can
/// refuse, overlap being a cross-object rule (malformed entries are refused by the CRD's own
/// validation rules before any webhook is asked). A reachable webhook denies the probe with
/// `overlaps with already defined CIDR`; the outcome of the probe's apply is returned.
pub fn webhook_verdict(kubectl: &Kubectl) -> Outcome {
    let anchored = apply(kubectl, &pool_yaml(PROBE_ANCHOR.0, &[PROBE_ANCHOR.1]));
    let mut out = apply(kubectl, &pool_yaml(PROBE.0, &[PROBE.1]));
    if out.success {
        // Admitted, so the webhook was not asked: remove it, or its next apply is an
        // unchanged update, which the webhook admits.
        delete_pool(kubectl, PROBE.0);
    }
    if !anchored.success {
        out.stderr = format!("{}{}", anchored.stderr, out.stderr);
    }
    out
}

/// Deletes an IPAddressPool of ferrolb's namespace if it exists.
pub fn delete_pool(kubectl: &Kubectl, name: &str) {
    let args = [
        "delete",
        "ipaddresspool",
        "-n",
        NS,
        name,
        "--ignore-not-found",
    ];
    let _ = kubectl.run(&args, None);
}

/// Waits until the API server relays the webhook's own denial (see [`webhook_verdict`]), so
/// the registration is in place and its CA trusted, or panics after [`PATIENCE`]. The anchor
/// pool is removed again, so the world holds only the pools its test writes.
pub fn wait_until_answering(kubectl: &Kubectl, process: &WebhookProcess) {
    let last_error = std::cell::RefCell::new(String::new());
    wait::until_explained(
        PATIENCE,
        "the webhook to answer through the API server",
        || {
            let out = webhook_verdict(kubectl);
            let answered = out.stderr.contains("overlaps with already defined CIDR");
            *last_error.borrow_mut() = out.stderr;
            answered.then_some(())
        },
        || {
            format!(
                "last kubectl error: {}\nwebhook log:\n{}",
                last_error.borrow(),
                process.output()
            )
        },
    );
    delete_pool(kubectl, PROBE_ANCHOR.0);
}

/// `kubectl apply -f -` of `yaml`, whatever its outcome.
pub fn apply(kubectl: &Kubectl, yaml: &str) -> Outcome {
    kubectl.run(&["apply", "-f", "-"], Some(yaml)).unwrap()
}

/// An IPAddressPool in ferrolb's namespace.
pub fn pool_yaml(name: &str, addresses: &[&str]) -> String {
    let list: Vec<String> = addresses.iter().map(|a| format!("    - {a}\n")).collect();
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: {NS}\nspec:\n  addresses:\n{}",
        list.concat()
    )
}

/// `kubectl ARGS -o json`, parsed.
pub fn json(kubectl: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl.ok(&all, None).unwrap()).unwrap()
}

/// Standard base64, as Secret data and caBundle are written.
pub fn base64_decode(text: &str) -> Vec<u8> {
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
            n.to_be_bytes()[1..chunk.len()].to_vec()
        })
        .collect()
}
