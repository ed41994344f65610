//! The control plane, reachable from inside lab namespaces. Each namespace has its own
//! loopback, so the API server's `127.0.0.1:PORT` is relayed: inside each namespace `socat`
//! listens on `127.0.0.1:PORT` and forwards to a Unix socket in the shared filesystem, where a
//! host-side `socat` forwards to the real API server. The kubeconfig works unchanged, and the
//! TLS certificate (issued for 127.0.0.1) still matches.
//!
//! [`ApiRelay::cut`] kills the host side with every open connection, so speakers see an API
//! server that is gone, and [`ApiRelay::restore`] brings it back.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The relay of one lab.
pub struct ApiRelay {
    socket: PathBuf,
    port: u16,
    host: Option<Child>,
    inside: Vec<Child>,
}

/// The API server port a kubeconfig points at (`server: https://127.0.0.1:PORT`).
pub fn api_port(kubeconfig: &Path) -> u16 {
    let text = std::fs::read_to_string(kubeconfig).expect("the kubeconfig is readable");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("the kubeconfig names a loopback API server")
}

impl ApiRelay {
    /// Relays the API server of `kubeconfig` into each of `namespaces`.
    pub fn start(kubeconfig: &Path, lab_id: &str, namespaces: &[&str]) -> ApiRelay {
        let port = api_port(kubeconfig);
        let socket = std::env::temp_dir().join(format!("ferrolb-lab-{lab_id}-api.sock"));
        let mut relay = ApiRelay {
            socket,
            port,
            host: None,
            inside: Vec::new(),
        };
        relay.restore();
        for netns in namespaces {
            let child = Command::new("ip")
                .args(["netns", "exec", netns, "socat"])
                .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
                .arg(format!("UNIX-CONNECT:{}", relay.socket.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("socat runs");
            relay.inside.push(child);
        }
        for netns in namespaces {
            wait_listening(netns, port);
        }
        relay
    }

    /// Makes the API server unreachable from the lab, dropping every open connection.
    pub fn cut(&mut self) {
        if let Some(mut child) = self.host.take() {
            kill_group(&child);
            let _ = child.wait();
        }
    }

    /// Makes the API server reachable again.
    pub fn restore(&mut self) {
        if self.host.is_some() {
            return;
        }
        let _ = std::fs::remove_file(&self.socket);
        let child = Command::new("socat")
            .arg(format!("UNIX-LISTEN:{},fork", self.socket.display()))
            .arg(format!("TCP:127.0.0.1:{}", self.port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("socat runs");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.host = Some(child);
    }
}

fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
}

fn wait_listening(netns: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let out = Command::new("ip")
            .args(["netns", "exec", netns, "ss", "-Htln"])
            .output()
            .expect("ss runs");
        if String::from_utf8_lossy(&out.stdout).contains(&format!("127.0.0.1:{port}")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the API relay in {netns} does not listen on port {port}");
}

impl Drop for ApiRelay {
    fn drop(&mut self) {
        self.cut();
        for child in &mut self.inside {
            kill_group(child);
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}
