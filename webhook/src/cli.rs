//! The command line: `ferrolb-webhook serve` runs the webhook, `ferrolb-webhook manifest`
//! prints its ValidatingWebhookConfiguration. Flags are parsed here and turned into the
//! [`Endpoint`] the API server dials and the [`Names`] the certificate must carry.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::certs::Names;
use crate::registration::Endpoint;

#[derive(Debug, Parser)]
#[command(
    name = "ferrolb-webhook",
    about = "ferrolb's admission webhook for the metallb.io API and LoadBalancer Services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the webhook over HTTPS.
    Serve(Box<Serve>),
    /// Print the ValidatingWebhookConfiguration as YAML (without caBundle, which `serve`
    /// injects).
    Manifest(Registration),
}

/// Where the API server reaches the webhook and under which names.
#[derive(Clone, Debug, Args)]
pub struct Registration {
    /// ferrolb's namespace: metallb.io objects elsewhere are refused.
    #[arg(long, default_value = ferrolb_crds::DEFAULT_NAMESPACE, env = "FERROLB_NAMESPACE")]
    pub namespace: String,
    /// The Service in front of the webhook.
    #[arg(long, default_value = "ferrolb-webhook-service")]
    pub service_name: String,
    /// The port of that Service.
    #[arg(long, default_value_t = 443)]
    pub service_port: i32,
    /// Register with a URL (`https://HOST:PORT`) instead of the Service, for a webhook outside
    /// the cluster; an IP host is added to the certificate as an IP SAN.
    #[arg(long)]
    pub url: Option<String>,
    /// Name of the ValidatingWebhookConfiguration.
    #[arg(long, default_value = "ferrolb-validating-webhook-configuration")]
    pub configuration_name: String,
}

#[derive(Clone, Debug, Args)]
pub struct Serve {
    #[command(flatten)]
    pub registration: Registration,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:9443")]
    pub listen: SocketAddr,
    /// Address of the plain HTTP port serving /healthz and /readyz to probes
    /// (`--health-listen` is the same flag).
    #[arg(long, alias = "health-listen", default_value = "0.0.0.0:8081")]
    pub health_address: SocketAddr,
    /// Address of /metrics.
    #[arg(long, default_value = "0.0.0.0:7472")]
    pub metrics_address: SocketAddr,
    #[command(flatten)]
    pub metrics: ferrolb_endpoint::metrics::MetricsFlags,
    /// Read tls.crt, tls.key (and ca.crt, if present) from this folder, reloaded on change,
    /// instead of managing certificates (for cert-manager or your own).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// The Secret holding the self-managed CA and serving certificate.
    #[arg(long, default_value = "ferrolb-webhook-cert")]
    pub secret_name: String,
    /// Lifetime of the self-managed serving certificate, as a duration such as 8760h; it is
    /// renewed after two thirds of its life.
    #[arg(long, default_value = "8760h", value_parser = ferrolb_crds::duration::parse)]
    pub cert_lifetime: std::time::Duration,
    /// Lifetime of the self-managed CA; renewed after two thirds of its life, the previous CA
    /// staying trusted until it expires.
    #[arg(long, default_value = "87600h", value_parser = ferrolb_crds::duration::parse)]
    pub ca_lifetime: std::time::Duration,
    /// Judge only LoadBalancer Services with this spec.loadBalancerClass; empty judges those
    /// without one. Services of another class belong to another load balancer and are admitted
    /// unexamined, as the operator and the speaker leave them alone.
    #[arg(long, env = "FERROLB_LB_CLASS")]
    pub lb_class: Option<String>,
    /// Write the whole ValidatingWebhookConfiguration at start, rather than only injecting the
    /// CA into the one a chart installed.
    #[arg(long)]
    pub register: bool,
}

impl Registration {
    pub fn endpoint(&self) -> Endpoint {
        match &self.url {
            Some(url) => Endpoint::Url(url.clone()),
            None => Endpoint::Service {
                namespace: self.namespace.clone(),
                name: self.service_name.clone(),
                port: self.service_port,
            },
        }
    }

    /// The Service's DNS names, plus the URL's host.
    pub fn names(&self) -> Names {
        let mut names = Names::for_service(&self.service_name, &self.namespace, Vec::new());
        match self.url.as_deref().and_then(url_host) {
            Some(UrlHost::Ip(ip)) => names.ips.push(ip),
            Some(UrlHost::Dns(host)) if !names.dns.contains(&host) => names.dns.push(host),
            _ => {}
        }
        names
    }
}

#[derive(Debug, PartialEq, Eq)]
enum UrlHost {
    Ip(IpAddr),
    Dns(String),
}

/// The host of `https://host[:port][/path]`, brackets removed from IPv6 literals.
fn url_host(url: &str) -> Option<UrlHost> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.is_empty() {
        return None;
    }
    Some(match host.parse::<IpAddr>() {
        Ok(ip) => UrlHost::Ip(ip),
        Err(_) => UrlHost::Dns(host.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts_are_read_as_ips_or_names() {
        assert_eq!(
            url_host("https://127.0.0.1:9443"),
            Some(UrlHost::Ip("127.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            url_host("https://[::1]:9443/x"),
            Some(UrlHost::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            url_host("https://webhook.example:9443"),
            Some(UrlHost::Dns("webhook.example".into()))
        );
        assert_eq!(url_host("https://:9443"), None);
    }

    #[test]
    fn a_loopback_url_puts_an_ip_san_in_the_certificate() {
        let cli = Cli::parse_from([
            "ferrolb-webhook",
            "serve",
            "--url",
            "https://127.0.0.1:18443",
            "--listen",
            "127.0.0.1:18443",
        ]);
        let Command::Serve(serve) = cli.command else {
            panic!("serve")
        };
        assert_eq!(
            serve.registration.names().ips,
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            serve.registration.endpoint(),
            Endpoint::Url("https://127.0.0.1:18443".into())
        );
        assert_eq!(
            serve.cert_lifetime,
            std::time::Duration::from_secs(8760 * 3600)
        );
    }

    #[test]
    fn the_load_balancer_class_is_read_from_the_flag_and_absent_by_default() {
        let serve = |args: &[&str]| match Cli::parse_from(args).command {
            Command::Serve(serve) => serve,
            Command::Manifest(_) => panic!("serve"),
        };
        assert_eq!(serve(&["ferrolb-webhook", "serve"]).lb_class, None);
        assert_eq!(
            serve(&["ferrolb-webhook", "serve", "--lb-class", "ferrolb.io/lb"])
                .lb_class
                .as_deref(),
            Some("ferrolb.io/lb")
        );
    }

    #[test]
    fn by_default_the_service_in_metallb_system_is_registered() {
        let cli = Cli::parse_from(["ferrolb-webhook", "manifest"]);
        let Command::Manifest(registration) = cli.command else {
            panic!("manifest")
        };
        assert_eq!(
            registration.endpoint(),
            Endpoint::Service {
                namespace: "metallb-system".into(),
                name: "ferrolb-webhook-service".into(),
                port: 443
            }
        );
        assert!(
            registration
                .names()
                .dns
                .contains(&"ferrolb-webhook-service.metallb-system.svc".to_owned())
        );
    }
}
