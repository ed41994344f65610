//! The IPs a Service has been given: those of `status.loadBalancer.ingress` that parse as
//! addresses. The operator compares them with what it allocated, the speaker announces them
//! and the webhook indexes them, all read by this one rule.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

/// The IPs in a Service's `status.loadBalancer.ingress`, in order; entries without an IP
/// (hostnames) or with one that does not parse are skipped.
pub fn ingress_ips(service: &Service) -> Vec<IpAddr> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse().ok())
        .collect()
}
