//! The Lease client of ferrolb: reads, creates and updates `coordination.k8s.io/v1` Leases for
//! the operator's leader election and the speaker's heartbeat and per-IP ownership Leases.
//!
//! A caller reads a Lease, decides on its own what to write, and hands the new Lease back
//! together with the copy it read: [`LeaseClient::write`] creates it when none was read and
//! otherwise replaces it carrying the resourceVersion of that copy, so the API server refuses
//! the update if anyone wrote in between, which comes back as [`Written::Lost`], never as a
//! blind overwrite. resourceVersions are passed through untouched and never compared here,
//! let alone ordered. Every API call ends within the client's timeout, and every failure is an
//! [`Error`] naming the Lease and what was being done to it. [`LeaseClient::vacate`] clears the
//! holder of a Lease, as both components do when they stop, so others take over at once.
//!
//! Nothing here decides who should hold a Lease: that stays with each component.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{Api, PostParams};

#[cfg(test)]
mod tests;

/// What was being done to a Lease when a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Update,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Read => "reading",
            Operation::Create => "creating",
            Operation::Update => "updating",
        })
    }
}

/// A Lease by namespace and name, as errors name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRef {
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for LeaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{namespace}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A call on a Lease that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{operation} Lease {lease} timed out after {after:?}")]
    Timeout {
        lease: LeaseRef,
        operation: Operation,
        after: Duration,
    },
    #[error("{operation} Lease {lease} failed: {source}")]
    Api {
        lease: LeaseRef,
        operation: Operation,
        #[source]
        source: kube::Error,
    },
    #[error(
        "updating Lease {lease} refused: the copy read has no resourceVersion to guard the update"
    )]
    Unversioned { lease: LeaseRef },
}

impl Error {
    /// The Lease the failed call was about.
    pub fn lease(&self) -> &LeaseRef {
        match self {
            Error::Timeout { lease, .. }
            | Error::Api { lease, .. }
            | Error::Unversioned { lease } => lease,
        }
    }

    /// What was being done to the Lease.
    pub fn operation(&self) -> Operation {
        match self {
            Error::Timeout { operation, .. } | Error::Api { operation, .. } => *operation,
            Error::Unversioned { .. } => Operation::Update,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The outcome of a guarded write.
#[derive(Debug)]
pub enum Written {
    /// The write went through; the Lease as stored.
    Won(Box<Lease>),
    /// Another writer created or changed the Lease since it was read.
    Lost,
}

/// The holder a Lease names, if any (an empty holder is none).
pub fn holder(lease: &Lease) -> Option<String> {
    lease
        .spec
        .as_ref()?
        .holder_identity
        .clone()
        .filter(|h| !h.is_empty())
}

/// Leases of one namespace, each call limited to `timeout`.
#[derive(Clone)]
pub struct LeaseClient {
    api: Api<Lease>,
    timeout: Duration,
}

impl LeaseClient {
    pub fn new(api: Api<Lease>, timeout: Duration) -> Self {
        Self { api, timeout }
    }

    /// The timeout of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn lease_ref(&self, name: &str) -> LeaseRef {
        LeaseRef {
            namespace: self.api.namespace().map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// Runs one call on Lease `name` within the timeout.
    async fn call<T>(
        &self,
        name: &str,
        operation: Operation,
        call: impl Future<Output = kube::Result<T>>,
    ) -> Result<kube::Result<T>> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| Error::Timeout {
                lease: self.lease_ref(name),
                operation,
                after: self.timeout,
            })
    }

    /// Reads Lease `name`; `None` when there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Lease>> {
        self.call(name, Operation::Read, self.api.get_opt(name))
            .await?
            .map_err(|source| Error::Api {
                lease: self.lease_ref(name),
                operation: Operation::Read,
                source,
            })
    }

    /// Creates `lease`; [`Written::Lost`] when another writer created it first.
    pub async fn create(&self, lease: &Lease) -> Result<Written> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        let result = self
            .call(
                &name,
                Operation::Create,
                self.api.create(&PostParams::default(), lease),
            )
            .await?;
        self.outcome(&name, Operation::Create, result)
    }

    /// Replaces the Lease with `lease`, guarded by the resourceVersion of `read`, the copy the
    /// new one was decided from; [`Written::Lost`] when it changed since.
    pub async fn replace(&self, mut lease: Lease, read: &Lease) -> Result<Written> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        let Some(version) = read.metadata.resource_version.clone() else {
            return Err(Error::Unversioned {
                lease: self.lease_ref(&name),
            });
        };
        lease.metadata.resource_version = Some(version);
        let result = self
            .call(
                &name,
                Operation::Update,
                self.api.replace(&name, &PostParams::default(), &lease),
            )
            .await?;
        self.outcome(&name, Operation::Update, result)
    }

    /// Creates `lease` when `read` is `None` (none was found), else replaces the Lease guarded
    /// by the resourceVersion of `read`.
    pub async fn write(&self, lease: Lease, read: Option<&Lease>) -> Result<Written> {
        match read {
            None => self.create(&lease).await,
            Some(read) => self.replace(lease, read).await,
        }
    }

    /// Clears the holder of `read`, with `mark` setting whatever else the caller records on
    /// release, guarded by its resourceVersion.
    pub async fn vacate(&self, read: &Lease, mark: impl FnOnce(&mut LeaseSpec)) -> Result<Written> {
        let mut lease = read.clone();
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            mark(spec);
        }
        self.replace(lease, read).await
    }

    fn outcome(
        &self,
        name: &str,
        operation: Operation,
        result: kube::Result<Lease>,
    ) -> Result<Written> {
        match result {
            Ok(stored) => Ok(Written::Won(Box::new(stored))),
            // 409 is AlreadyExists for a create and Conflict for an update: someone else wrote.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Written::Lost),
            Err(source) => Err(Error::Api {
                lease: self.lease_ref(name),
                operation,
                source,
            }),
        }
    }
}
