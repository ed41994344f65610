//! The speaker as a whole: starts the cluster watches ([`crate::watches`]) and Layer 2 mode's
//! reporting tasks, waits until every watch holds its first listing, then runs Layer 2 mode
//! ([`crate::layer2`]) and BGP mode ([`crate::bgp`]) side by side. On shutdown both hand back
//! what they announce: Layer 2 releases its Leases, BGP withdraws its routes.

use std::sync::Arc;

use ferrolb_endpoint::metrics::Readiness;
use kube::Client;
use tokio::sync::{Notify, oneshot};

use crate::Error;
use crate::config::Config;
use crate::layer2::Layer2;
use crate::metrics::Metrics;
use crate::watches::{ClusterWatch, Wake};

/// Runs the speaker until `shutdown` completes, then hands every IP back. `readiness` turns
/// ready once every watch holds its first listing.
pub async fn run(
    client: Client,
    config: Config,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    tracing::info!(node = %config.node_name, namespace = %config.namespace, "starting");
    let layer2_wake = Arc::new(Notify::new());
    let bgp_wake = Arc::new(Notify::new());
    let watches = Arc::new(ClusterWatch::start(
        &client,
        &config.namespace,
        config.lb_class.as_deref(),
        Wake::new(&[layer2_wake.clone(), bgp_wake.clone()]),
    ));
    let layer2 = Layer2::start(&client, &config, &metrics, watches.services_store());
    tokio::pin!(shutdown);
    // Nothing is decided before every watch holds its first listing: an empty view would
    // release the IPs an earlier run of this node still holds.
    tokio::select! {
        _ = &mut shutdown => return Ok(()),
        _ = watches.ready() => {}
    }
    tracing::debug!("every watch holds its first listing");
    readiness.set(Ok(()));
    let (bgp_stop, bgp_stopped) = oneshot::channel();
    let bgp = tokio::spawn(crate::bgp::run(
        client,
        config,
        watches.clone(),
        bgp_wake,
        metrics,
        bgp_stopped,
    ));
    let stopping = async {
        shutdown.await;
        let _ = bgp_stop.send(());
    };
    layer2.run(&watches, &layer2_wake, stopping).await;
    let _ = bgp.await;
    watches.abort();
    Ok(())
}
