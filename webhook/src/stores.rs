//! Keeps the [`Cluster`] snapshot current: one kube-runtime reflector per metallb.io kind in
//! ferrolb's namespace, and after every change of a kind, that kind's part of the snapshot is
//! rebuilt from its store and the new snapshot published. The pool index is rebuilt only when
//! pools change (n log n per change), so an admission request never pays for it. Services of
//! every namespace are watched without a store: each change updates the [`ServiceIndex`] of
//! sharing holders, and only a change to it publishes a snapshot. Carries no decisions: what
//! the objects mean is for [`crate::validate`].

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement};
use k8s_openapi::api::core::v1::Service;

use crate::pool_index::PoolIndex;
use crate::service_index::{self, Holding, ServiceIndex};
use crate::snapshot::{ByName, Cluster};

/// The published snapshot and whether every kind has been listed once.
pub struct Snapshots {
    pub cluster: watch::Receiver<Arc<Cluster>>,
    pub synced: watch::Receiver<bool>,
}

/// Starts watching every kind in `namespace`, and Services in every namespace, for a webhook
/// judging Services of `lb_class`; the tasks run until the runtime stops.
pub fn start(client: Client, namespace: &str, lb_class: Option<&str>) -> Snapshots {
    let (cluster_tx, cluster) =
        watch::channel(Arc::new(Cluster::empty(namespace).with_lb_class(lb_class)));
    let (synced_tx, synced) = watch::channel(false);
    let cluster_tx = Arc::new(cluster_tx);
    let kinds_synced = Arc::new(watch::Sender::new(0usize));
    const KINDS: usize = 7;
    {
        let mut counted = kinds_synced.subscribe();
        tokio::spawn(async move {
            if counted.wait_for(|n| *n >= KINDS).await.is_ok() {
                let _ = synced_tx.send(true);
                tracing::info!("read every metallb.io kind and the Services; validating");
            }
        });
    }
    let api = |c: &Client| (c.clone(), namespace.to_owned());
    spawn::<IPAddressPool>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.pools = Arc::new(PoolIndex::new(store.state()));
        },
    );
    spawn::<L2Advertisement>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.l2_advertisements = by_name(store);
        },
    );
    spawn::<BGPAdvertisement>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.bgp_advertisements = by_name(store);
        },
    );
    spawn::<BGPPeer>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.peers = by_name(store);
        },
    );
    spawn::<Community>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.communities = by_name(store);
        },
    );
    spawn::<BFDProfile>(
        api(&client),
        cluster_tx.clone(),
        kinds_synced.clone(),
        |c, store| {
            c.bfd_profiles = by_name(store);
        },
    );
    spawn_services(client, lb_class, cluster_tx, kinds_synced);
    Snapshots { cluster, synced }
}

/// Watches Services of every namespace into the snapshot's [`ServiceIndex`]. A relist builds
/// a fresh index and swaps it in when complete, so Services deleted while the watch was down
/// are forgotten.
fn spawn_services(
    client: Client,
    lb_class: Option<&str>,
    cluster: Arc<watch::Sender<Arc<Cluster>>>,
    kinds_synced: Arc<watch::Sender<usize>>,
) {
    let lb_class = lb_class.map(str::to_owned);
    let stream = watcher(Api::<Service>::all(client), watcher::Config::default())
        .backoff(ferrolb_crds::watch_backoff::watch_backoff());
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut index = ServiceIndex::default();
        let mut relisted = ServiceIndex::default();
        let mut counted = false;
        let holding = |s: &Service| Holding::of(s, lb_class.as_deref());
        while let Some(event) = stream.next().await {
            let changed = match event {
                Ok(watcher::Event::Apply(s)) => index.update(&service_index::key(&s), holding(&s)),
                Ok(watcher::Event::Delete(s)) => index.update(&service_index::key(&s), None),
                Ok(watcher::Event::Init) => {
                    relisted = ServiceIndex::default();
                    false
                }
                Ok(watcher::Event::InitApply(s)) => {
                    relisted.update(&service_index::key(&s), holding(&s));
                    false
                }
                Ok(watcher::Event::InitDone) => {
                    index = std::mem::take(&mut relisted);
                    if !counted {
                        counted = true;
                        kinds_synced.send_modify(|n| *n += 1);
                    }
                    true
                }
                Err(e) => {
                    tracing::warn!(kind = "Service", error = %e, "watch failed; retrying");
                    false
                }
            };
            if changed {
                let next = Arc::new(index.clone());
                cluster.send_modify(|snapshot| {
                    let mut with = Cluster::clone(snapshot);
                    with.services = next;
                    *snapshot = Arc::new(with);
                });
            }
        }
    });
}

fn by_name<K: Resource + Clone>(store: &Store<K>) -> ByName<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    Arc::new(
        store
            .state()
            .into_iter()
            .filter_map(|o| o.meta().name.clone().map(|n| (n, o)))
            .collect(),
    )
}

/// Reflects one kind and republishes its part of the snapshot after each change.
fn spawn<K>(
    (client, namespace): (Client, String),
    cluster: Arc<watch::Sender<Arc<Cluster>>>,
    kinds_synced: Arc<watch::Sender<usize>>,
    update: impl Fn(&mut Cluster, &Store<K>) + Send + 'static,
) where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::namespaced(client, &namespace);
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default())
            .backoff(ferrolb_crds::watch_backoff::watch_backoff()),
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut counted = false;
        while let Some(event) = stream.next().await {
            let publish = match event {
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => true,
                Ok(watcher::Event::InitDone) => {
                    if !counted {
                        counted = true;
                        kinds_synced.send_modify(|n| *n += 1);
                    }
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying");
                    false
                }
            };
            if publish {
                cluster.send_modify(|snapshot| {
                    let mut next = Cluster::clone(snapshot);
                    update(&mut next, &store);
                    *snapshot = Arc::new(next);
                });
            }
        }
    });
}
