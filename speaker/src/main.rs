//! `ferrolb-speaker`: parses the flags, connects to the API server, serves metrics, and runs
//! the election loop until SIGTERM or Ctrl-C, after which it hands every IP back.

use clap::Parser;
use ferrolb_endpoint::MetricsEndpoint;
use ferrolb_endpoint::metrics::{Readiness, spawn_health};
use ferrolb_speaker::config::Config;
use ferrolb_speaker::{Error, metrics, speaker};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("ferrolb-speaker: {e}");
        std::process::exit(2);
    }
    if let Err(e) = run(config).await {
        eprintln!("ferrolb-speaker: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), Error> {
    let kube_config = kube::Config::infer()
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    let client = kube::Client::try_from(kube_config).map_err(|e| Error::Config(e.to_string()))?;
    let metrics = metrics::Metrics::new();
    let endpoint = MetricsEndpoint {
        address: config.metrics_address,
        scheme: config
            .metrics
            .scheme(vec![config.node_name.clone(), "localhost".to_string()]),
    };
    let served = metrics.clone();
    endpoint.spawn(client.clone(), std::sync::Arc::new(move || served.render()));
    let readiness = Readiness::new("the watches have not listed every kind yet");
    spawn_health(config.health_address, readiness.clone());
    let mut terminate = signal(SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    speaker::run(client, config, metrics, readiness, shutdown).await
}
