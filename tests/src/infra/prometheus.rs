//! A real Prometheus server (Debian's `prometheus`) on this machine's loopback, scraping
//! targets given to it the way a Prometheus Operator would through the chart's
//! ServiceMonitors: over HTTPS without verifying the self-signed certificates, with a
//! ServiceAccount's bearer token. Queries go through `promtool query instant`. The server and
//! its data directory are removed when the value is dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// One scrape job: its name and the `host:port` of each target.
pub struct Job {
    pub name: String,
    pub targets: Vec<String>,
}

pub struct PrometheusServer {
    child: Child,
    dir: PathBuf,
    pub address: String,
}

impl PrometheusServer {
    /// Starts Prometheus on `127.0.0.1:port`, scraping `jobs` every 2 s with `token`.
    pub fn start(port: u16, token: &str, jobs: &[Job]) -> PrometheusServer {
        let dir = std::env::temp_dir().join(format!("ferrolb-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("token"), token).unwrap();
        let mut config = String::from(
            "global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s}\nscrape_configs:\n",
        );
        for job in jobs {
            let targets: Vec<String> = job.targets.iter().map(|t| format!("'{t}'")).collect();
            config.push_str(&format!(
                "  - job_name: {}\n    scheme: https\n    tls_config: {{insecure_skip_verify: true}}\n    authorization: {{type: Bearer, credentials_file: {}}}\n    static_configs:\n      - targets: [{}]\n        labels: {{namespace: metallb-system}}\n",
                job.name,
                dir.join("token").display(),
                targets.join(", ")
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), &config).unwrap();
        let address = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("prometheus cannot start ({e}): `dev/control-plane install` installs Debian's prometheus package")
            });
        PrometheusServer {
            child,
            dir,
            address,
        }
    }

    /// The series an instant query of `expr` returns (empty when the query fails).
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let out = Command::new("promtool")
            .args(["query", "-o", "json", "instant"])
            .arg(format!("http://{}", self.address))
            .arg(expr)
            .output()
            .expect("promtool runs");
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// The server's log, for a failure message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
