//! `kubectl` run against a test control plane: the same client users run, so the suites see
//! what a user would see (printer columns, warnings, admission messages).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::Error;

/// The kubectl built with the control plane (`$FERROLB_CACHE/bin/kubectl`, see
/// `dev/control-plane install`), else whichever `kubectl` is on the PATH.
pub fn program() -> PathBuf {
    let cache = std::env::var_os("FERROLB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferrolb")));
    cache
        .map(|c| c.join("bin/kubectl"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

/// `kubectl` with a fixed kubeconfig.
#[derive(Clone, Debug)]
pub struct Kubectl {
    kubeconfig: PathBuf,
}

/// What one `kubectl` call printed.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(o: Output) -> Self {
        Outcome {
            success: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Kubectl {
    pub fn new(kubeconfig: PathBuf) -> Self {
        Self { kubeconfig }
    }

    /// Runs `kubectl ARGS` with `input` on stdin, whatever its outcome.
    pub fn run(&self, args: &[&str], input: Option<&str>) -> Result<Outcome, Error> {
        let mut child = Command::new(program())
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(text) = input {
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(text.as_bytes())?;
        }
        Ok(child.wait_with_output()?.into())
    }

    /// Runs `kubectl ARGS` and returns its stdout, or an error quoting its stderr.
    pub fn ok(&self, args: &[&str], input: Option<&str>) -> Result<String, Error> {
        let out = self.run(args, input)?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(Error::Command {
                command: format!("kubectl {}", args.join(" ")),
                stderr: out.stderr,
            })
        }
    }

    /// Applies the checked-in CRDs and waits until the API serves them.
    pub fn install_crds(&self) -> Result<(), Error> {
        self.install_crd_files(&[ferrolb_crds::manifest::CRD_PATH])
    }

    /// Applies CRD files (paths relative to the repository) and waits until the API serves
    /// every CRD.
    pub fn install_crd_files(&self, files: &[&str]) -> Result<(), Error> {
        for file in files {
            let path = crate::repo_root().join(file);
            self.ok(&["apply", "-f", &path.to_string_lossy()], None)?;
        }
        let wait = [
            "wait",
            "--for",
            "condition=established",
            "--timeout",
            "60s",
            "crd",
            "--all",
        ];
        self.ok(&wait, None).map(drop)
    }

    /// Creates a namespace unless it exists.
    pub fn ensure_namespace(&self, name: &str) -> Result<(), Error> {
        let out = self.run(&["create", "namespace", name], None)?;
        if out.success || out.stderr.contains("AlreadyExists") {
            return Ok(());
        }
        Err(Error::Command {
            command: format!("kubectl create namespace {name}"),
            stderr: out.stderr,
        })
    }
}
