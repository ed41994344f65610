//! The operator's view of the cluster: reflector caches of Services, IPAddressPools (in its
//! namespace) and Namespaces, kept current by watches that also emit a [`Trigger`] for each
//! change, so the reconciler knows what to look at again. A pool read with an unknown
//! `ferrolb.io/sharing-scope` is logged here, naming the pool and the value.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc::UnboundedSender;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::cached::trim_for_cache;
use ferrolb_crds::sharing_scope::{SharingScope, UnknownScope};

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    /// A Service changed or was deleted (`namespace/name`).
    Service(String),
    /// A Service's writes failed and should be tried again.
    Retry(String),
    /// Pools changed.
    Pools,
    /// Namespace labels changed, or the Service cache was relisted: look at everything.
    Everything,
}

/// The caches the reconciler reads.
#[derive(Clone)]
pub struct Caches {
    pub services: Store<Service>,
    pub pools: Store<IPAddressPool>,
    pub namespaces: Store<Namespace>,
}

impl Caches {
    /// Waits until every cache holds its first full list.
    pub async fn ready(&self) {
        let _ = self.services.wait_until_ready().await;
        let _ = self.pools.wait_until_ready().await;
        let _ = self.namespaces.wait_until_ready().await;
    }
}

fn service_key(svc: &Service) -> String {
    crate::service::key(svc)
}

/// Starts the watches; they run until the process ends, retrying with backoff.
pub fn start(client: kube::Client, namespace: &str, triggers: UnboundedSender<Trigger>) -> Caches {
    let (services, services_writer) = reflector::store();
    let (pools, pools_writer) = reflector::store();
    let (namespaces, namespaces_writer) = reflector::store();

    let tx = triggers.clone();
    let stream = watcher(Api::<Service>::all(client.clone()))
        .backoff(ferrolb_crds::watch_backoff::watch_backoff())
        .modify(trim_for_cache)
        .reflect(services_writer);
    tokio::spawn(forward(
        "Services",
        stream,
        tx,
        |event: &Event<Service>| match event {
            Event::Apply(s) | Event::Delete(s) => Some(Trigger::Service(service_key(s))),
            Event::InitDone => Some(Trigger::Everything),
            Event::Init | Event::InitApply(_) => None,
        },
    ));

    let tx = triggers.clone();
    let stream = watcher(Api::<IPAddressPool>::namespaced(client.clone(), namespace))
        .backoff(ferrolb_crds::watch_backoff::watch_backoff())
        .reflect(pools_writer);
    tokio::spawn(forward(
        "IPAddressPools",
        stream,
        tx,
        |event: &Event<IPAddressPool>| match event {
            Event::Init => None,
            Event::InitApply(pool) => {
                warn_unknown_scope(pool);
                None
            }
            Event::Apply(pool) => {
                warn_unknown_scope(pool);
                Some(Trigger::Pools)
            }
            _ => Some(Trigger::Pools),
        },
    ));

    let stream = watcher(Api::<Namespace>::all(client))
        .backoff(ferrolb_crds::watch_backoff::watch_backoff())
        .reflect(namespaces_writer);
    tokio::spawn(forward(
        "Namespaces",
        stream,
        triggers,
        |event: &Event<Namespace>| match event {
            Event::Apply(_) | Event::Delete(_) => Some(Trigger::Everything),
            _ => None,
        },
    ));

    Caches {
        services,
        pools,
        namespaces,
    }
}

/// Logs a pool whose sharing scope is unknown, and what the allocator makes of it.
fn warn_unknown_scope(pool: &IPAddressPool) {
    if let Err(unknown) = SharingScope::of_pool(pool) {
        tracing::warn!("{}", unknown_scope_warning(&unknown));
    }
}

fn unknown_scope_warning(unknown: &UnknownScope) -> String {
    format!(
        "{unknown}; until then its IPs are shared as with {:?}: only between Services of one namespace",
        SharingScope::FOR_UNKNOWN.as_str()
    )
}

fn watcher<K>(api: Api<K>) -> impl futures::Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher::watcher(api, watcher::Config::default())
}

/// Forwards the triggers of the watch of `kind`.
async fn forward<K, S>(
    kind: &'static str,
    stream: S,
    tx: UnboundedSender<Trigger>,
    classify: impl Fn(&Event<K>) -> Option<Trigger>,
) where
    S: futures::Stream<Item = watcher::Result<Event<K>>>,
{
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => {
                if let Some(trigger) = classify(&event)
                    && tx.send(trigger).is_err()
                {
                    return;
                }
            }
            Err(e) => tracing::warn!("the watch of {kind} failed, retrying: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_scope_is_logged_with_the_pool_the_value_and_the_restriction() {
        let unknown = UnknownScope {
            pool: "shared".into(),
            value: "tenant".into(),
        };
        let warning = unknown_scope_warning(&unknown);
        assert!(
            warning.starts_with(
                r#"IPAddressPool "shared": annotation ferrolb.io/sharing-scope is "tenant"; "#
            ),
            "{warning}"
        );
        assert!(
            warning.ends_with(
                r#"until then its IPs are shared as with "namespace": only between Services of one namespace"#
            ),
            "{warning}"
        );
    }
}
