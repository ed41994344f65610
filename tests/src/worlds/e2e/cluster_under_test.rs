//! The cluster an end-to-end suite runs against: by default a local control plane with
//! ferrolb's operator run as a process; with `FERROLB_E2E_KUBECONFIG` set, an existing cluster
//! where ferrolb is installed from its chart (the kind cluster of the CI workflow). Suites
//! written against [`ClusterUnderTest`] run unchanged on either.

use std::path::PathBuf;

use crate::infra::process::{self, Daemon};
use crate::{ControlPlane, Error, Kubectl};

/// A cluster with ferrolb running in it.
pub enum ClusterUnderTest {
    Local {
        control_plane: ControlPlane,
        _operator: Daemon,
    },
    External {
        kubeconfig: PathBuf,
    },
}

impl ClusterUnderTest {
    /// The cluster named by `FERROLB_E2E_KUBECONFIG`, or a new local one.
    pub fn acquire() -> Result<Self, Error> {
        if let Some(path) = std::env::var_os("FERROLB_E2E_KUBECONFIG") {
            return Ok(ClusterUnderTest::External {
                kubeconfig: PathBuf::from(path),
            });
        }
        let control_plane = ControlPlane::start()?;
        control_plane.install_crds()?;
        control_plane
            .kubectl()
            .ensure_namespace(ferrolb_crds::DEFAULT_NAMESPACE)?;
        let operator = process::operator(
            "operator",
            &control_plane.kubeconfig,
            "127.0.0.1:0",
            "info",
            &[],
        )?;
        Ok(ClusterUnderTest::Local {
            control_plane,
            _operator: operator,
        })
    }

    pub fn kubeconfig(&self) -> PathBuf {
        match self {
            ClusterUnderTest::Local { control_plane, .. } => control_plane.kubeconfig.clone(),
            ClusterUnderTest::External { kubeconfig } => kubeconfig.clone(),
        }
    }

    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(self.kubeconfig())
    }

    /// Whether ferrolb's admission webhook guards this cluster (installed by the chart).
    pub fn has_webhook(&self) -> bool {
        matches!(self, Self::External { .. })
    }
}
