//! `ferrolb-webhook`: the admission webhook process. Parses flags, starts the watches, the
//! certificate loop and the HTTPS server, and stops on SIGTERM or Ctrl-C. Everything it
//! decides lives in the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use ferrolb_webhook::cert_manager::{self, Injection};
use ferrolb_webhook::certs::Lifetimes;
use ferrolb_webhook::cli::{Cli, Command, Serve};
use ferrolb_webhook::tls::{self, ServingCertificate};
use ferrolb_webhook::{Error, registration, server, stores};

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
        Command::Serve(serve) => match run(serve).await {
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
    let snapshots = stores::start(client, &registration.namespace, serve.lb_class.as_deref());
    let app = server::router(server::Shared {
        cluster: snapshots.cluster,
        synced: snapshots.synced,
        certificate: certificate.clone(),
    });
    let health = tokio::net::TcpListener::bind(serve.health_listen)
        .await
        .map_err(|source| Error::Listen {
            address: serve.health_listen,
            source,
        })?;
    let probes = server::health_router(certificate.clone());
    tokio::spawn(async move { axum::serve(health, probes).await });
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
    let server = tokio::spawn(server::serve(
        listener,
        tls::server_config(certificate),
        app,
    ));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        result = server => {
            result.map_err(|e| Error::Server(e.to_string()))??;
        }
    }
    tracing::info!("stopping");
    Ok(())
}
