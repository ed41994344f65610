//! The speaker's command line: who it is, where it works, and its timings. The API server is
//! found from `KUBECONFIG` or, inside a Pod, the in-cluster configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

fn duration(text: &str) -> Result<Duration, String> {
    ferrolb_crds::duration::parse(text)
}

/// ferrolb's Layer 2 speaker: answers ARP and NDP for the LoadBalancer IPs this node holds.
#[derive(Clone, Debug, Parser)]
#[command(name = "ferrolb-speaker", version)]
pub struct Config {
    /// The name of this node (a Node object), as the downward API gives it.
    #[arg(long, env = "NODE_NAME")]
    pub node_name: String,

    /// The namespace of the pools, advertisements, Leases and status objects.
    #[arg(long, env = "FERROLB_NAMESPACE", default_value = ferrolb_crds::DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// Announce only Services with this spec.loadBalancerClass; empty announces those without
    /// one (the operator's rule, so a Service another load balancer serves is never announced).
    #[arg(long, env = "FERROLB_LB_CLASS")]
    pub lb_class: Option<String>,

    /// How often this node renews its heartbeat Lease (one API write per interval per node).
    #[arg(long, default_value = "400ms", value_parser = duration)]
    pub heartbeat_interval: Duration,

    /// How long without a heartbeat change before a node counts as dead and its IPs are taken
    /// over. With the defaults a failover after a crash takes about 1.3 s.
    #[arg(long, default_value = "1200ms", value_parser = duration)]
    pub heartbeat_timeout: Duration,

    /// Timeout of every API call.
    #[arg(long, default_value = "1s", value_parser = duration)]
    pub api_timeout: Duration,

    /// How long a more preferred node must have been live before a holder hands it an IP
    /// (rebalancing after a node joins or returns).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub rebalance_after: Duration,

    /// How often the ownership decision is re-evaluated besides on every change.
    #[arg(long, default_value = "100ms", value_parser = duration)]
    pub evaluate_every: Duration,

    /// How many gratuitous ARP / unsolicited NA rounds a node sends on taking an IP.
    #[arg(long, default_value_t = 3)]
    pub gratuitous_count: u32,

    /// The interval between those rounds.
    #[arg(long, default_value = "250ms", value_parser = duration)]
    pub gratuitous_interval: Duration,

    /// Where Prometheus metrics are served.
    #[arg(long, default_value = "0.0.0.0:7472")]
    pub metrics_address: SocketAddr,

    #[command(flatten)]
    pub metrics: ferrolb_endpoint::metrics::MetricsFlags,

    /// The restart time announced to BGPPeers with `enableGracefulRestart` (RFC 4724, at most
    /// 4095 s): how long their routers keep this node's routes while its speaker restarts.
    #[arg(long, default_value = "120s", value_parser = duration)]
    pub graceful_restart_time: Duration,

    /// A directory that outlives the speaker's Pod (a hostPath), where a speaker stopping for
    /// a graceful restart leaves a marker so the next one sets the Restart State bit. Without
    /// it the Restart State bit is never set; the routes are kept all the same.
    #[arg(long, env = "FERROLB_GRACEFUL_RESTART_DIR")]
    pub graceful_restart_dir: Option<PathBuf>,

    /// Address of the plain HTTP probes /healthz and /readyz (ready once every watch holds
    /// its first listing).
    #[arg(long, default_value = "0.0.0.0:7473")]
    pub health_address: SocketAddr,
}

impl Config {
    /// The flags that contradict each other, named.
    pub fn validate(&self) -> Result<(), String> {
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err(format!(
                "--heartbeat-timeout {:?} must exceed --heartbeat-interval {:?}",
                self.heartbeat_timeout, self.heartbeat_interval
            ));
        }
        let restart = self.graceful_restart_time;
        if restart < Duration::from_secs(1) || restart > Duration::from_secs(4095) {
            return Err(format!(
                "--graceful-restart-time {restart:?} must be between 1s and 4095s, what BGP can carry"
            ));
        }
        if self.gratuitous_count == 0 {
            return Err("--gratuitous-count 0 would never announce a takeover".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_consistent() {
        let config = Config::parse_from(["ferrolb-speaker", "--node-name", "node-a"]);
        assert_eq!(config.namespace, "metallb-system");
        assert_eq!(config.lb_class, None);
        assert_eq!(config.heartbeat_interval, Duration::from_millis(400));
        assert_eq!(config.graceful_restart_time, Duration::from_secs(120));
        assert_eq!(config.graceful_restart_dir, None);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_charts_empty_lb_class_serves_services_without_a_class() {
        let config =
            Config::parse_from(["ferrolb-speaker", "--node-name", "node-a", "--lb-class="]);
        let class = config.lb_class.as_deref();
        assert!(ferrolb_crds::service_class::serves(class, None));
        assert!(!ferrolb_crds::service_class::serves(
            class,
            Some("example.com/other")
        ));
    }

    #[test]
    fn a_timeout_shorter_than_the_interval_is_refused() {
        let config = Config::parse_from([
            "ferrolb-speaker",
            "--node-name",
            "node-a",
            "--heartbeat-interval",
            "2s",
            "--heartbeat-timeout",
            "1s",
        ]);
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("--heartbeat-timeout")
        );
    }

    #[test]
    fn a_restart_time_bgp_cannot_carry_is_refused() {
        for time in ["0s", "4096s"] {
            let config = Config::parse_from([
                "ferrolb-speaker",
                "--node-name",
                "node-a",
                "--graceful-restart-time",
                time,
            ]);
            assert!(
                config
                    .validate()
                    .unwrap_err()
                    .contains("--graceful-restart-time")
            );
        }
    }
}
