//! ferrolb's own binaries run as child processes of a suite: built on first use with the same
//! cargo and target folder as the suite, logged to a file, and stopped (SIGTERM, SIGKILL, or
//! on drop) so no process outlives its test.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::{Error, repo_root};

/// The path of a workspace binary, built once per test process (a no-op when fresh).
pub fn binary(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    // Suites run from <target>/<profile>/deps/, the demo from <target>/<profile>/; binaries sit
    // in <target>/<profile>/, built with the caller's own profile (benchmarks measure release
    // binaries).
    let exe = std::env::current_exe().expect("the running binary has a path");
    let dir = exe.parent().expect("a binary sits in a folder");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("deps sits in <target>/<profile>")
    } else {
        dir
    }
    .to_path_buf();
    let mut args = vec!["build", "--quiet", "-p", package, "--bin", name];
    if profile_dir.ends_with("release") {
        args.push("--release");
    }
    let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args(&args)
        .current_dir(repo_root())
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {name}: {e}"));
    assert!(status.success(), "building {name} failed");
    let path = profile_dir.join(name);
    built.insert(name.to_owned(), path.clone());
    path
}

/// A running ferrolb process; killed when dropped.
pub struct Daemon {
    pub name: String,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `program args` with `env`, its output going to a log file.
    pub fn spawn(
        name: &str,
        program: &PathBuf,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self, Error> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log =
            std::env::temp_dir().join(format!("ferrolb-{name}-{}-{n}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self {
            name: name.to_owned(),
            log,
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits up to `grace` for the process to exit, then kills it.
    pub fn terminate(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- {} output ({}):\n{}",
                self.name,
                self.log.display(),
                self.output()
            );
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A `ferrolb-operator` process against `kubeconfig`, its metrics on `metrics` (HTTPS), its
/// probes on a free port, `RUST_LOG` at `log`, and `extra` flags.
pub fn operator(
    name: &str,
    kubeconfig: &std::path::Path,
    metrics: &str,
    log: &str,
    extra: &[&str],
) -> Result<Daemon, Error> {
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let mut args = vec![
        "--metrics-address",
        metrics,
        "--health-address",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    Daemon::spawn(
        name,
        &binary("ferrolb-operator", "ferrolb-operator"),
        &args,
        &[("KUBECONFIG", &kubeconfig), ("RUST_LOG", log)],
    )
}

/// The flags that make an operator's leader election take seconds instead of a minute.
pub const QUICK_ELECTION: [&str; 6] = [
    "--lease-duration",
    "4",
    "--renew-deadline",
    "3",
    "--retry-period",
    "1",
];
