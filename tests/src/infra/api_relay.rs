//! The control plane, reachable from inside lab namespaces. Each namespace has its own
//! loopback, so the API server's `127.0.0.1:PORT` is relayed with `socat`: inside each
//! namespace one listens on `127.0.0.1:PORT` and forwards to a Unix socket of that namespace in
//! the shared filesystem, where a host-side `socat` forwards to the real API server. The
//! kubeconfig works unchanged, and the TLS certificate (issued for 127.0.0.1) still matches.
//!
//! [`ApiRelay::cut`] kills the host side of one namespace (or all) with every open connection,
//! so its speaker sees an API server that is gone; [`ApiRelay::restore`] brings it back.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::wait;

/// The relay of one namespace.
struct RelayPath {
    socket: PathBuf,
    host: Option<Child>,
    inside: Child,
}

/// The relays of one lab, by namespace.
pub struct ApiRelay {
    port: u16,
    paths: BTreeMap<String, RelayPath>,
}

/// The API server port a kubeconfig points at (`server: https://127.0.0.1:PORT`).
pub fn api_port(kubeconfig: &Path) -> u16 {
    let text = std::fs::read_to_string(kubeconfig).expect("the kubeconfig is readable");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("the kubeconfig names a loopback API server")
}

fn spawn_quiet(command: &mut Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("socat runs")
}

impl ApiRelay {
    /// Relays the API server of `kubeconfig` into each of `namespaces`.
    pub fn start(kubeconfig: &Path, lab_id: &str, namespaces: &[&str]) -> ApiRelay {
        let port = api_port(kubeconfig);
        let mut relay = ApiRelay {
            port,
            paths: BTreeMap::new(),
        };
        for netns in namespaces {
            let socket = std::env::temp_dir().join(format!("ferrolb-lab-{lab_id}-{netns}.sock"));
            let inside = spawn_quiet(
                Command::new("ip")
                    .args(["netns", "exec", netns, "socat"])
                    .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
                    .arg(format!("UNIX-CONNECT:{}", socket.display())),
            );
            relay.paths.insert(
                netns.to_string(),
                RelayPath {
                    socket,
                    host: None,
                    inside,
                },
            );
            relay.restore(netns);
        }
        for netns in namespaces {
            wait_listening(netns, port);
        }
        relay
    }

    /// Makes the API server unreachable from `netns`, dropping its open connections.
    pub fn cut(&mut self, netns: &str) {
        if let Some(mut child) = self.paths.get_mut(netns).and_then(|p| p.host.take()) {
            kill_group(&child);
            let _ = child.wait();
        }
    }

    /// Makes the API server reachable from `netns` again.
    pub fn restore(&mut self, netns: &str) {
        let port = self.port;
        let Some(path) = self.paths.get_mut(netns) else {
            return;
        };
        if path.host.is_some() {
            return;
        }
        let _ = std::fs::remove_file(&path.socket);
        let child = spawn_quiet(
            Command::new("socat")
                .arg(format!("UNIX-LISTEN:{},fork", path.socket.display()))
                .arg(format!("TCP:127.0.0.1:{port}")),
        );
        let socket = &path.socket;
        wait::until(
            &format!("the API relay's socket {}", socket.display()),
            || socket.exists().then_some(()),
        );
        path.host = Some(child);
    }

    /// Cuts every namespace off, as if the API server were down.
    pub fn cut_all(&mut self) {
        let all: Vec<String> = self.paths.keys().cloned().collect();
        for netns in all {
            self.cut(&netns);
        }
    }

    /// Restores every namespace.
    pub fn restore_all(&mut self) {
        let all: Vec<String> = self.paths.keys().cloned().collect();
        for netns in all {
            self.restore(&netns);
        }
    }
}

fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
}

fn wait_listening(netns: &str, port: u16) {
    let what = format!("the API relay in {netns} to listen on port {port}");
    wait::until(&what, || {
        let out = Command::new("ip")
            .args(["netns", "exec", netns, "ss", "-Htln"])
            .output()
            .expect("ss runs");
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("127.0.0.1:{port}"))
            .then_some(())
    });
}

impl Drop for ApiRelay {
    fn drop(&mut self) {
        self.cut_all();
        for path in self.paths.values_mut() {
            kill_group(&path.inside);
            let _ = path.inside.wait();
            let _ = std::fs::remove_file(&path.socket);
        }
    }
}
