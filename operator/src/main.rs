//! `ferrolb-operator`: allocates LoadBalancer IPs from IPAddressPools and writes them into
//! Service status, while it holds the leader Lease. `ferrolb-operator crds` prints the
//! CustomResourceDefinitions of the metallb.io API instead.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ferrolb_endpoint::MetricsEndpoint;
use ferrolb_endpoint::metrics::{MetricsFlags, spawn_health};
use ferrolb_operator::controller::{self, Settings};
use ferrolb_operator::election::{Elector, Timings};
use ferrolb_operator::metrics::Metrics;
use ferrolb_operator::{Error, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::sync::watch;

#[derive(Parser, Debug)]
#[command(
    name = "ferrolb-operator",
    version,
    about = "Allocates LoadBalancer IPs from metallb.io IPAddressPools"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Namespace of the IPAddressPools and of the leader Lease.
    #[arg(long, env = "FERROLB_NAMESPACE", default_value = ferrolb_crds::DEFAULT_NAMESPACE)]
    namespace: String,
    /// Serve only Services with this spec.loadBalancerClass; empty serves those without one.
    #[arg(long, env = "FERROLB_LB_CLASS", default_value = "")]
    lb_class: String,
    /// Address of /metrics (`--metrics-addr` is the same flag).
    #[arg(long, alias = "metrics-addr", default_value = "0.0.0.0:7472")]
    metrics_address: SocketAddr,
    #[command(flatten)]
    metrics: MetricsFlags,
    /// Address of the plain HTTP probes /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:7473")]
    health_address: SocketAddr,
    /// Name of the leader election Lease.
    #[arg(long, default_value = "ferrolb-operator")]
    lease_name: String,
    /// This replica's identity in the Lease (defaults to POD_NAME, else the host name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// How long a leader Lease stays valid without renewal (`15s`; a bare number is seconds).
    #[arg(long, default_value = "15s", value_parser = seconds_or_duration)]
    lease_duration: Duration,
    /// How long after a renewal is sent the leader stops writing unless it renewed again;
    /// shorter than --lease-duration.
    #[arg(long, default_value = "10s", value_parser = seconds_or_duration)]
    renew_deadline: Duration,
    /// The time between renewals, and between a standby's attempts.
    #[arg(long, default_value = "2s", value_parser = seconds_or_duration)]
    retry_period: Duration,
    /// Concurrent writes to the API server.
    #[arg(long, default_value_t = 32)]
    write_concurrency: usize,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the metallb.io CustomResourceDefinitions as YAML.
    Crds,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Crds) = args.command {
        return match ferrolb_crds::manifest::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ferrolb-operator: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    match runtime
        .map_err(Error::Runtime)
        .and_then(|rt| rt.block_on(operate(args)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn operate(args: Args) -> Result<()> {
    let timings = Timings::new(args.lease_duration, args.renew_deadline, args.retry_period)
        .map_err(|e| Error::Election(e.to_string()))?;
    let client = kube::Client::try_default().await.map_err(Error::Connect)?;
    let identity = args.identity.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| format!("ferrolb-operator-{}", std::process::id()))
    });
    let metrics = Metrics::new();
    serve_endpoints(&args, &identity, client.clone(), metrics.clone());

    let (stop_tx, stop) = watch::channel(false);
    let (leading_tx, leading) = watch::channel(None);
    let elector = Elector::new(
        Api::<Lease>::namespaced(client.clone(), &args.namespace),
        &args.lease_name,
        &identity,
        timings,
    )
    .reporting_leader_known({
        let metrics = metrics.clone();
        move |known| metrics.set_leader_known(known)
    });
    let election = tokio::spawn(elector.run(leading_tx, stop.clone()));
    let settings = Settings {
        namespace: args.namespace.clone(),
        lb_class: (!args.lb_class.is_empty()).then(|| args.lb_class.clone()),
        identity,
        write_concurrency: args.write_concurrency.max(1),
    };
    let work = tokio::spawn(controller::run(
        client,
        settings,
        metrics,
        leading,
        stop.clone(),
    ));
    shutdown_signal().await;
    tracing::info!("shutting down: releasing the leader Lease");
    let _ = stop_tx.send(true);
    let _ = work.await;
    let _ = election.await;
    Ok(())
}

/// `/metrics` (HTTPS for authorized scrapers unless plain HTTP is asked for) and the probes,
/// each in its own task; a port that cannot be bound is logged, and the operator goes on.
fn serve_endpoints(
    args: &Args,
    identity: &str,
    client: kube::Client,
    metrics: std::sync::Arc<Metrics>,
) {
    let endpoint = MetricsEndpoint {
        address: args.metrics_address,
        scheme: args
            .metrics
            .scheme(vec![identity.to_string(), "localhost".to_string()]),
    };
    spawn_health(args.health_address, metrics.readiness());
    endpoint.spawn(client, std::sync::Arc::new(move || metrics.render()));
}

/// A duration as the speaker's flags take it (`400ms`, `15s`), or a bare number of seconds as
/// these flags took before.
fn seconds_or_duration(text: &str) -> std::result::Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => ferrolb_crds::duration::parse(text),
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_timings_take_durations_and_bare_seconds_alike() {
        let args = Args::parse_from([
            "ferrolb-operator",
            "--lease-duration",
            "4",
            "--renew-deadline",
            "2500ms",
            "--retry-period",
            "1s",
        ]);
        assert_eq!(args.lease_duration, Duration::from_secs(4));
        assert_eq!(args.renew_deadline, Duration::from_millis(2500));
        assert_eq!(args.retry_period, Duration::from_secs(1));
        let defaults = Args::parse_from(["ferrolb-operator"]);
        assert_eq!(defaults.lease_duration, Duration::from_secs(15));
        assert!(Args::try_parse_from(["ferrolb-operator", "--retry-period", "soon"]).is_err());
    }
}
