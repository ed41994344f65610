//! One real control plane (etcd and kube-apiserver, at the versions `dev/kubernetes/go.mod`
//! names) per test process, started by `dev/control-plane run` on free loopback ports in a
//! fresh directory.
//!
//! The script watches its standard input, which only this process holds: when the process
//! exits (a passing run, a panic, a Ctrl-C or a SIGKILL alike) the pipe closes and the script
//! stops etcd and the API server and removes the directory. Nothing is left behind.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::{Error, Kubectl, repo_root};

/// A running control plane; dropping it stops it.
pub struct ControlPlane {
    /// The kubeconfig of its admin user.
    pub kubeconfig: PathBuf,
    /// The directory holding its data, certificates and logs.
    pub dir: PathBuf,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    crds_installed: Mutex<bool>,
}

/// The Kubernetes and etcd versions `dev/control-plane` runs.
fn versions() -> String {
    Command::new(repo_root().join("dev/control-plane"))
        .arg("versions")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|e| format!("unknown versions ({e})"))
}

/// How long a start may take: the first start on a machine builds kube-apiserver.
const START_TIMEOUT: Duration = Duration::from_secs(1200);

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ControlPlane {
    /// Starts a new control plane and waits until the API server is ready.
    pub fn start() -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!(
            "ferrolb-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let started = Instant::now();
        let mut child = Command::new(repo_root().join("dev/control-plane"))
            .arg("run")
            .arg(&dir)
            .env("ETCD_PORT", free_port()?.to_string())
            .env("ETCD_PEER_PORT", free_port()?.to_string())
            .env("APISERVER_PORT", free_port()?.to_string())
            .env("REMOVE_ON_EXIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Start(format!("dev/control-plane: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(path) = line.strip_prefix("ready ") {
                    let _ = tx.send(PathBuf::from(path));
                }
            }
        });
        let kubeconfig = match rx.recv_timeout(START_TIMEOUT) {
            Ok(path) => path,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                return Err(Error::Start(format!(
                    "not ready after {:?} (script status {status:?}); logs in {}",
                    started.elapsed(),
                    dir.display()
                )));
            }
        };
        eprintln!(
            "control plane ({}) ready in {:.1}s at {}",
            versions(),
            started.elapsed().as_secs_f64(),
            dir.display()
        );
        Ok(Self {
            kubeconfig,
            dir,
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            crds_installed: Mutex::new(false),
        })
    }

    /// The Kubernetes and etcd versions the control plane runs, as `dev/control-plane
    /// versions` prints them.
    pub fn versions(&self) -> String {
        versions()
    }

    /// The control plane of this test process, started on first use.
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<ControlPlane> = OnceLock::new();
        SHARED.get_or_init(|| ControlPlane::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// `kubectl` pointed at this control plane.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(self.kubeconfig.clone())
    }

    /// Installs the checked-in CRDs, once however many tests ask at the same time.
    pub fn install_crds(&self) -> Result<(), Error> {
        let mut installed = self
            .crds_installed
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !*installed {
            self.kubectl().install_crds()?;
            *installed = true;
        }
        Ok(())
    }

    /// A kube client for this control plane's admin user.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| Error::Kubeconfig(e.to_string()))
    }

    /// Restarts the API server as a crash would (`dev/control-plane run` kills it with SIGKILL
    /// on SIGUSR1 and starts it again on the same port and data); returns at once, before the
    /// new process answers.
    pub fn restart_api_server(&self) {
        if let Ok(child) = self.child.lock() {
            let _ = Command::new("kill")
                .args(["-USR1", &child.id().to_string()])
                .status();
        }
    }

    /// Stops etcd and the API server and waits for the script to finish.
    pub fn stop(&self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
        if let Ok(mut child) = self.child.lock() {
            let _ = child.wait();
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}
