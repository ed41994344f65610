//! TCP MD5 passwords of BGPPeers that keep theirs in a Secret: read with one GET per Secret,
//! kept for [`REFRESH`] so a changed password reaches the session within that time without
//! a watch on every Secret of the namespace.
//!
//! As in MetalLB, the Secret should be of type `kubernetes.io/basic-auth` and holds the
//! password under the `password` key; anything else is an error naming the peer and the
//! Secret. So is a password, from a Secret or inline, longer than the kernel takes as a TCP
//! MD5 key (80 bytes): the peer gets no session (nothing is dialled and retried), and the error
//! names the length.
//!
//! A read that fails (API server unreachable, timeout, any error but NotFound) says nothing
//! about the Secret: [`PasswordCache`] keeps the last password read, so an API outage never
//! changes or closes a session. Only a Secret that is gone or changed changes the session.
//! The cache is pure (time is an input); [`Passwords`] is the edge that reads Secrets.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use ferrolb_crds::bgppeer::md5_password_problem;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::peers::{Password, PeerSession};

/// How long a password read from a Secret is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(15);

/// What one read of a password Secret found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRead {
    /// The Secret holds this password.
    Password(String),
    /// The Secret exists but holds no usable password; why.
    Unusable(String),
    /// The Secret does not exist.
    Gone,
    /// The Secret could not be read; why. Says nothing about the Secret.
    Failed(String),
}

/// Reads password Secrets: the API server, or a fake in tests.
pub trait SecretReader {
    fn read(&self, namespace: &str, name: &str) -> impl Future<Output = SecretRead> + Send;
}

/// A Secret as namespace and name.
type SecretKey = (String, String);

#[derive(Clone, Debug)]
struct Known {
    /// The password the Secret last decided: one, or why there is none.
    decided: Result<String, String>,
    /// Why the latest read failed, while the decision above is kept.
    failing: Option<String>,
    /// When the Secret was last read.
    read_at: Instant,
}

/// What the cache says of a peer's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The password to use, or why the peer has no usable session.
    pub password: Result<String, String>,
    /// A problem worth reporting that does not change the session (a failed read while the
    /// last password is kept).
    pub warning: Option<String>,
}

/// The passwords read from Secrets, and the rule for what a new read changes.
#[derive(Clone, Debug, Default)]
pub struct PasswordCache {
    known: HashMap<SecretKey, Known>,
}

impl PasswordCache {
    /// Whether the Secret should be read (again) at `now`.
    pub fn due(&self, key: &SecretKey, now: Instant) -> bool {
        self.known
            .get(key)
            .is_none_or(|k| now.saturating_duration_since(k.read_at) >= REFRESH)
    }

    /// Records what a read of the Secret at `now` found, for `peer`'s messages.
    pub fn record(&mut self, peer: &str, key: &SecretKey, read: SecretRead, now: Instant) {
        let (namespace, name) = key;
        let fail =
            |why: String| format!("BGPPeer {peer:?}: passwordSecret \"{namespace}/{name}\" {why}");
        let decided = match read {
            SecretRead::Password(password) => Ok(password),
            SecretRead::Unusable(why) => Err(fail(why)),
            SecretRead::Gone => Err(fail("does not exist".into())),
            SecretRead::Failed(why) => {
                let failing = fail(why);
                match self.known.get_mut(key) {
                    Some(known) => {
                        known.failing =
                            Some(format!("{failing}; the password read before is kept"));
                        known.read_at = now;
                    }
                    None => {
                        self.known.insert(
                            key.clone(),
                            Known {
                                decided: Err(failing),
                                failing: None,
                                read_at: now,
                            },
                        );
                    }
                }
                return;
            }
        };
        self.known.insert(
            key.clone(),
            Known {
                decided,
                failing: None,
                read_at: now,
            },
        );
    }

    /// What the cache holds for the Secret, if it was ever read.
    pub fn get(&self, key: &SecretKey) -> Option<Resolved> {
        self.known.get(key).map(|k| Resolved {
            password: k.decided.clone(),
            warning: k.failing.clone(),
        })
    }
}

/// The password of a peer's session, as resolved for planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerPassword {
    /// The password (`None` for a session without one), or why the session is unusable.
    pub password: Result<Option<String>, String>,
    /// A problem to report that leaves the session as it is.
    pub warning: Option<String>,
}

/// Reads password Secrets through `reader`, cached by [`PasswordCache`].
pub struct Passwords<R> {
    reader: R,
    namespace: String,
    cache: PasswordCache,
}

impl<R: SecretReader> Passwords<R> {
    pub fn new(reader: R, namespace: &str) -> Passwords<R> {
        Passwords {
            reader,
            namespace: namespace.into(),
            cache: PasswordCache::default(),
        }
    }

    /// The password of `peer`'s session, if it has one.
    pub async fn resolve(&mut self, peer: &PeerSession) -> PeerPassword {
        let key = match &peer.password {
            Password::None => {
                return PeerPassword {
                    password: Ok(None),
                    warning: None,
                };
            }
            Password::Inline(password) => {
                let password = match md5_password_problem(password) {
                    None => Ok(Some(password.clone())),
                    Some(why) => Err(format!(
                        "BGPPeer {:?}: password {why}; no session is opened",
                        peer.name
                    )),
                };
                return PeerPassword {
                    password,
                    warning: None,
                };
            }
            Password::Secret { namespace, name } => {
                let namespace = if namespace.is_empty() {
                    self.namespace.clone()
                } else {
                    namespace.clone()
                };
                (namespace, name.clone())
            }
        };
        if self.cache.due(&key, Instant::now()) {
            let read = self.reader.read(&key.0, &key.1).await;
            self.cache.record(&peer.name, &key, read, Instant::now());
        }
        let resolved = self
            .cache
            .get(&key)
            .expect("a Secret just read is in the cache");
        PeerPassword {
            password: resolved.password.map(Some),
            warning: resolved.warning,
        }
    }
}

/// Reads Secrets from the API server, each call bounded by `timeout`.
#[derive(Clone)]
pub struct ApiSecrets {
    pub client: Client,
    pub timeout: Duration,
}

impl SecretReader for ApiSecrets {
    async fn read(&self, namespace: &str, name: &str) -> SecretRead {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = match tokio::time::timeout(self.timeout, api.get_opt(name)).await {
            Err(_) => {
                return SecretRead::Failed(format!("could not be read within {:?}", self.timeout));
            }
            Ok(Err(e)) => return SecretRead::Failed(format!("could not be read: {e}")),
            Ok(Ok(None)) => return SecretRead::Gone,
            Ok(Ok(Some(secret))) => secret,
        };
        password_of(&secret)
    }
}

/// The password a Secret holds, or why it holds none.
fn password_of(secret: &Secret) -> SecretRead {
    if let Some(type_) = secret.type_.as_deref()
        && type_ != "kubernetes.io/basic-auth"
    {
        return SecretRead::Unusable(format!(
            "is of type {type_:?}; it must be \"kubernetes.io/basic-auth\""
        ));
    }
    let Some(bytes) = secret.data.as_ref().and_then(|d| d.get("password")) else {
        return SecretRead::Unusable("has no \"password\" key".into());
    };
    match String::from_utf8(bytes.0.clone()) {
        Ok(password) => match md5_password_problem(&password) {
            None => SecretRead::Password(password),
            Some(why) => {
                SecretRead::Unusable(format!("holds a password that {why}; no session is opened"))
            }
        },
        Err(_) => SecretRead::Unusable("holds a password that is not UTF-8".into()),
    }
}

#[cfg(test)]
mod tests;
