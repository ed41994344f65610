//! TCP MD5 passwords of BGPPeers that keep theirs in a Secret: read with one GET per Secret,
//! kept for [`REFRESH`] so a changed password reaches the session within that time without
//! a watch on every Secret of the namespace.
//!
//! As in MetalLB, the Secret should be of type `kubernetes.io/basic-auth` and holds the
//! password under the `password` key; anything else is an error naming the peer and the
//! Secret.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::peers::{Password, PeerSession};

/// How long a password read from a Secret is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(15);

/// The password cache.
pub struct Passwords {
    client: Client,
    namespace: String,
    timeout: Duration,
    read: HashMap<(String, String), (Result<String, String>, Instant)>,
}

impl Passwords {
    pub fn new(client: Client, namespace: &str, timeout: Duration) -> Passwords {
        Passwords {
            client,
            namespace: namespace.into(),
            timeout,
            read: HashMap::new(),
        }
    }

    /// The password of `peer`'s session, if it has one.
    pub async fn resolve(&mut self, peer: &PeerSession) -> Result<Option<String>, String> {
        let (namespace, name) = match &peer.password {
            Password::None => return Ok(None),
            Password::Inline(password) => return Ok(Some(password.clone())),
            Password::Secret { namespace, name } => {
                let namespace = if namespace.is_empty() {
                    self.namespace.clone()
                } else {
                    namespace.clone()
                };
                (namespace, name.clone())
            }
        };
        let key = (namespace.clone(), name.clone());
        if let Some((result, at)) = self.read.get(&key)
            && at.elapsed() < REFRESH
        {
            return result.clone().map(Some);
        }
        let result = self.fetch(&peer.name, &namespace, &name).await;
        self.read.insert(key, (result.clone(), Instant::now()));
        result.map(Some)
    }

    async fn fetch(&self, peer: &str, namespace: &str, name: &str) -> Result<String, String> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let fail =
            |why: String| format!("BGPPeer {peer:?}: passwordSecret \"{namespace}/{name}\" {why}");
        let secret = match tokio::time::timeout(self.timeout, api.get_opt(name)).await {
            Err(_) => return Err(fail(format!("could not be read within {:?}", self.timeout))),
            Ok(Err(e)) => return Err(fail(format!("could not be read: {e}"))),
            Ok(Ok(None)) => return Err(fail("does not exist".into())),
            Ok(Ok(Some(secret))) => secret,
        };
        if let Some(type_) = secret.type_.as_deref()
            && type_ != "kubernetes.io/basic-auth"
        {
            return Err(fail(format!(
                "is of type {type_:?}; it must be \"kubernetes.io/basic-auth\""
            )));
        }
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get("password"))
            .map(|b| b.0.clone())
            .ok_or_else(|| fail("has no \"password\" key".into()))?;
        String::from_utf8(bytes).map_err(|_| fail("holds a password that is not UTF-8".into()))
    }
}
