//! `ferrolb-webhook`: the admission webhook process. Parses flags, starts the watches, the
//! certificate loop and the HTTPS server, and stops on SIGTERM or Ctrl-C. Everything it
//! decides lives in the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use ferrolb_endpoint::metrics::{Readiness, spawn_health};
use ferrolb_endpoint::{MetricsEndpoint, https};
use ferrolb_webhook::cert_manager::{self, Injection};
use ferrolb_webhook::certs::Lifetimes;
use ferrolb_webhook::cli::{Cli, Command, Serve};
use ferrolb_webhook::metrics::WebhookMetrics;
use ferrolb_webhook::tls::{self, ServingCertificate};
use ferrolb_webhook::{Error, certs, registration, server, stores, trust};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Manifest(registration) => {
            match registration::manifest_yaml(
                &registration.configuration_name,
                &registration.endpoint(),
            ) {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ferrolb-webhook: cannot render the configuration: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(serve) => match run(*serve).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferrolb-webhook: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(serve: Serve) -> Result<(), Error> {
    let client = Client::try_default().await?;
    let registration = serve.registration.clone();
    let certificate = Arc::new(ServingCertificate::default());
    keep_certificate(&serve, client.clone(), certificate.clone());
    let metrics = WebhookMetrics::new();
    tokio::spawn(record_certificate_expiry(
        certificate.clone(),
        metrics.clone(),
    ));
    let readiness = Readiness::new("no serving certificate yet");
    tokio::spawn(trust::watch(
        client.clone(),
        registration.configuration_name.clone(),
        certificate.clone(),
        readiness.clone(),
    ));
    serve_metrics(&serve, client.clone(), metrics.clone());
    let snapshots = stores::start(client, &registration.namespace, serve.lb_class.as_deref());
    let app = server::router(server::Shared {
        cluster: snapshots.cluster,
        synced: snapshots.synced,
        readiness: readiness.clone(),
        metrics,
    });
    spawn_health(serve.health_address, readiness);
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .map_err(|source| Error::Listen {
            address: serve.listen,
            source,
        })?;
    tracing::info!(
        listen = %serve.listen,
        namespace = %registration.namespace,
        lb_class = serve.lb_class.as_deref().unwrap_or_default(),
        "serving"
    );
    let server = tokio::spawn(https::serve(listener, tls::server_config(certificate), app));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        result = server => {
            result.map_err(|e| Error::Server(e.to_string()))?;
        }
    }
    tracing::info!("stopping");
    Ok(())
}

/// Keeps a valid certificate in `certificate` and its CA in the API server's configuration:
/// from files (`--cert-dir`) or self-managed in a Secret.
fn keep_certificate(serve: &Serve, client: Client, certificate: Arc<ServingCertificate>) {
    let registration = &serve.registration;
    let injection = Injection {
        client: client.clone(),
        configuration_name: registration.configuration_name.clone(),
        endpoint: registration.endpoint(),
        register: serve.register,
    };
    match &serve.cert_dir {
        Some(dir) => {
            let inject = Some(injection);
            tokio::spawn(cert_manager::from_files(
                dir.clone(),
                certificate.clone(),
                inject,
            ));
        }
        None => {
            let secrets: Api<Secret> = Api::namespaced(client.clone(), &registration.namespace);
            let lifetimes = Lifetimes {
                serving: serve.cert_lifetime,
                ca: serve.ca_lifetime,
            };
            tokio::spawn(cert_manager::self_managed(
                secrets,
                serve.secret_name.clone(),
                registration.names(),
                lifetimes,
                certificate.clone(),
                injection,
            ));
        }
    }
}

/// `/metrics` in its own task (HTTPS for authorized scrapers unless plain HTTP is asked for);
/// a port that cannot be bound is logged, and the webhook goes on.
fn serve_metrics(serve: &Serve, client: Client, metrics: Arc<WebhookMetrics>) {
    let endpoint = MetricsEndpoint {
        address: serve.metrics_address,
        scheme: serve.metrics.scheme(serve.registration.names().dns.clone()),
    };
    endpoint.spawn(client, Arc::new(move || metrics.render()));
}

/// Keeps the certificate-expiry metric on the certificate being served.
async fn record_certificate_expiry(
    certificate: Arc<ServingCertificate>,
    metrics: Arc<WebhookMetrics>,
) {
    loop {
        if let Some(expiry) = certificate
            .leaf()
            .and_then(|der| certs::not_after_der(&der).ok())
        {
            metrics.certificate_expires(expiry);
        }
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}
