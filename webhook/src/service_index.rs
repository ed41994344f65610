//! Who holds which IP with which sharing key, so the Service rules can tell whom a requested
//! IP would be shared with. Only LoadBalancer Services of the class this webhook serves that
//! set `allow-shared-ip` and have IPs in their status are kept, and of them only the key and
//! the IPs: a handful of entries even in a cluster of thousands of Services. [`crate::stores`]
//! updates it one Service at a time from a watch of all Services; nothing here does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_crds::annotations::ServiceRequest;
use ferrolb_crds::service_class;
use ferrolb_crds::service_ingress::ingress_ips;
use k8s_openapi::api::core::v1::Service;

/// What the index keeps of one Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub sharing_key: String,
    /// The IPs in its `status.loadBalancer.ingress`.
    pub ips: Vec<IpAddr>,
}

impl Holding {
    /// The sharing key and IPs of a LoadBalancer Service of class `lb_class` (as
    /// [`service_class::serves`] reads it), when it has both. A Service whose request does not
    /// parse has none: the operator takes its IPs away.
    pub fn of(service: &Service, lb_class: Option<&str>) -> Option<Self> {
        if !service_class::serves_service(lb_class, service) {
            return None;
        }
        let empty = BTreeMap::new();
        let annotations = service.metadata.annotations.as_ref().unwrap_or(&empty);
        let spec_ip = service.spec.as_ref()?.load_balancer_ip.as_deref();
        let sharing_key = ServiceRequest::parse(annotations, spec_ip)
            .ok()?
            .sharing_key?;
        let ips = ingress_ips(service);
        (!ips.is_empty()).then_some(Self { sharing_key, ips })
    }
}

/// The Services holding IPs with a sharing key, by `namespace/name` and by IP.
#[derive(Clone, Debug, Default)]
pub struct ServiceIndex {
    by_service: BTreeMap<String, Holding>,
    by_ip: BTreeMap<IpAddr, BTreeSet<String>>,
}

/// `namespace/name` of a Service.
pub fn key(service: &Service) -> String {
    format!(
        "{}/{}",
        service.metadata.namespace.as_deref().unwrap_or_default(),
        service.metadata.name.as_deref().unwrap_or_default()
    )
}

impl ServiceIndex {
    /// The index of `services`, for a webhook judging Services of class `lb_class`.
    pub fn new<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        lb_class: Option<&str>,
    ) -> Self {
        let mut index = Self::default();
        for service in services {
            index.update(&key(service), Holding::of(service, lb_class));
        }
        index
    }

    /// Records what Service `key` (`namespace/name`) holds now (`None`: nothing, or it is
    /// gone); returns whether that changed the index.
    pub fn update(&mut self, key: &str, holding: Option<Holding>) -> bool {
        if self.by_service.get(key) == holding.as_ref() {
            return false;
        }
        if let Some(old) = self.by_service.remove(key) {
            for ip in old.ips {
                if let Some(holders) = self.by_ip.get_mut(&ip) {
                    holders.remove(key);
                    if holders.is_empty() {
                        self.by_ip.remove(&ip);
                    }
                }
            }
        }
        if let Some(new) = holding {
            for ip in &new.ips {
                self.by_ip.entry(*ip).or_default().insert(key.to_owned());
            }
            self.by_service.insert(key.to_owned(), new);
        }
        true
    }

    /// The Services holding `ip`, as `(namespace/name, sharing key)`, by name.
    pub fn holders(&self, ip: IpAddr) -> impl Iterator<Item = (&str, &str)> {
        self.by_ip.get(&ip).into_iter().flatten().map(|key| {
            let holding = &self.by_service[key];
            (key.as_str(), holding.sharing_key.as_str())
        })
    }

    /// How many Services the index keeps.
    pub fn len(&self) -> usize {
        self.by_service.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_service.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        LoadBalancerIngress, LoadBalancerStatus, ServiceSpec, ServiceStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// A LoadBalancer Service `namespace/name` with these annotations and ingress IPs.
    pub(crate) fn holder(key: &str, annotations: &[(&str, &str)], ips: &[&str]) -> Service {
        let (namespace, name) = key.split_once('/').unwrap();
        Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                ..Default::default()
            }),
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(
                        ips.iter()
                            .map(|ip| LoadBalancerIngress {
                                ip: Some((*ip).into()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                }),
                ..Default::default()
            }),
        }
    }

    fn holders(index: &ServiceIndex, ip: &str) -> Vec<(String, String)> {
        index
            .holders(ip.parse().unwrap())
            .map(|(s, k)| (s.to_owned(), k.to_owned()))
            .collect()
    }

    const KEY: (&str, &str) = ("metallb.io/allow-shared-ip", "k");

    #[test]
    fn services_sharing_an_ip_are_found_by_it_with_their_key() {
        let index = ServiceIndex::new(
            &[
                holder("team-a/web", &[KEY], &["192.0.2.1", "2001:db8::1"]),
                holder(
                    "team-b/web",
                    &[("metallb.universe.tf/allow-shared-ip", "other")],
                    &["192.0.2.1"],
                ),
            ],
            None,
        );
        assert_eq!(
            holders(&index, "192.0.2.1"),
            [
                ("team-a/web".into(), "k".into()),
                ("team-b/web".into(), "other".into())
            ]
        );
        assert_eq!(
            holders(&index, "2001:db8::1"),
            [("team-a/web".into(), "k".into())]
        );
        assert!(holders(&index, "192.0.2.2").is_empty());
    }

    #[test]
    fn only_load_balancers_of_the_class_with_a_key_and_an_ip_are_kept() {
        let mut node_port = holder("a/node-port", &[KEY], &["192.0.2.1"]);
        node_port.spec.as_mut().unwrap().type_ = Some("NodePort".into());
        let mut other_class = holder("a/other", &[KEY], &["192.0.2.1"]);
        other_class.spec.as_mut().unwrap().load_balancer_class = Some("example.com/lb".into());
        let services = [
            node_port,
            other_class,
            holder("a/no-key", &[], &["192.0.2.1"]),
            holder(
                "a/empty-key",
                &[("metallb.io/allow-shared-ip", " ")],
                &["192.0.2.1"],
            ),
            holder("a/pending", &[KEY], &[]),
            holder(
                "a/invalid",
                &[KEY, ("metallb.io/loadBalancerIPs", "nonsense")],
                &["192.0.2.1"],
            ),
        ];
        assert!(ServiceIndex::new(&services, None).is_empty());
        assert_eq!(
            holders(
                &ServiceIndex::new(&services, Some("example.com/lb")),
                "192.0.2.1"
            ),
            [("a/other".into(), "k".into())]
        );
    }

    #[test]
    fn an_update_moves_a_service_and_a_removal_forgets_it() {
        let mut index = ServiceIndex::default();
        let first = holder("a/web", &[KEY], &["192.0.2.1"]);
        assert!(index.update("a/web", Holding::of(&first, None)));
        assert!(!index.update("a/web", Holding::of(&first, None)));
        let moved = holder("a/web", &[KEY], &["192.0.2.2"]);
        assert!(index.update("a/web", Holding::of(&moved, None)));
        assert!(holders(&index, "192.0.2.1").is_empty());
        assert_eq!(holders(&index, "192.0.2.2").len(), 1);
        assert!(index.update("a/web", None));
        assert!(index.is_empty());
        assert!(holders(&index, "192.0.2.2").is_empty());
        assert!(!index.update("a/web", None));
    }
}
