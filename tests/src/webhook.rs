//! The admission webhook run as a child of a suite: `ferrolb-webhook serve` built on first
//! use, registered by URL on a free loopback port (the local control plane has no Service
//! network), its output in a log file.
//!
//! The process is started under a small shell that holds a pipe from the suite: when the
//! suite's process ends, however it ends, the pipe closes and the shell kills the webhook.
//! [`WebhookProcess::stop`] and `Drop` close the pipe and wait, so a test can stop it too.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use crate::{Error, repo_root};

/// The `ferrolb-webhook` binary, built once per suite with the suite's cargo and target dir.
pub fn webhook_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "ferrolb-webhook",
                    "--bin",
                    "ferrolb-webhook",
                ])
                .current_dir(repo_root())
                .status()
                .unwrap_or_else(|e| panic!("cannot run cargo to build ferrolb-webhook: {e}"));
            assert!(status.success(), "building ferrolb-webhook failed");
            // The suite runs from <target>/<profile>/deps/; binaries sit in <target>/<profile>/.
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.join("ferrolb-webhook")))
                .expect("the suite binary sits in <target>/<profile>/deps")
        })
        .clone()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `ferrolb-webhook serve`; stopped when dropped.
pub struct WebhookProcess {
    /// The loopback port it listens on, and the URL it registered.
    pub port: u16,
    pub log: PathBuf,
    shell: Child,
    pipe: Option<ChildStdin>,
}

impl WebhookProcess {
    /// Starts the webhook against `kubeconfig` on a free loopback port, registering itself
    /// (`--register --url https://127.0.0.1:PORT`), with `extra` flags appended.
    pub fn start(kubeconfig: &Path, extra: &[&str]) -> Result<Self, Error> {
        let port = free_port()?;
        let log =
            std::env::temp_dir().join(format!("ferrolb-webhook-{}-{port}.log", std::process::id()));
        let address = format!("127.0.0.1:{port}");
        let url = format!("https://{address}");
        let mut args = vec!["serve", "--listen", &address, "--url", &url, "--register"];
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
        }
    }
}
