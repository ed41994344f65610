//! What the ServiceL2Status objects of this node should say: every Service of every IP in
//! the announce table, with the interfaces of this node the IP goes out on. A pure function of
//! the table, the claims and the links the announcer last read.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::election::candidates::{Claim, Interfaces};
use crate::link::{Link, suitable_for};
use crate::responder::Table;
use crate::status::DesiredStatus;

/// The names of the interfaces among `links` an IP allowed on `allowed` goes out on.
fn interface_names(links: &[Link], allowed: &Interfaces) -> Vec<String> {
    links
        .iter()
        .filter(|l| suitable_for(l, allowed))
        .map(|l| l.name.clone())
        .collect()
}

/// The status of every Service announced in `announce`, over `links`.
pub fn desired_status(
    announce: &Table,
    claims: &BTreeMap<IpAddr, Claim>,
    links: &[Link],
) -> DesiredStatus {
    let mut desired = DesiredStatus::new();
    for (ip, allowed) in announce {
        let names = interface_names(links, allowed);
        for service in claims.get(ip).map(|c| &c.services).into_iter().flatten() {
            desired.insert(service.clone(), names.clone());
        }
    }
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceKey;
    use crate::packet::Mac;

    fn link(name: &str, index: u32) -> Link {
        Link {
            name: name.into(),
            index,
            mac: Mac([2, 0, 0, 0, 0, index as u8]),
            flags: 0x1003,
            enslaved: false,
        }
    }

    fn key(name: &str) -> ServiceKey {
        ServiceKey {
            namespace: "web".into(),
            name: name.into(),
        }
    }

    fn claim(services: &[&str]) -> Claim {
        Claim {
            services: services.iter().map(|s| key(s)).collect(),
            candidates: Default::default(),
        }
    }

    #[test]
    fn every_service_of_an_announced_ip_names_the_interfaces_it_goes_out_on() {
        let links = [link("eth0", 2), link("veth-lab", 3), link("eth1", 4)];
        let shared: IpAddr = "192.0.2.10".parse().unwrap();
        let named: IpAddr = "192.0.2.11".parse().unwrap();
        let not_announced: IpAddr = "192.0.2.12".parse().unwrap();
        let claims = BTreeMap::from([
            (shared, claim(&["front", "back"])),
            (named, claim(&["lab"])),
            (not_announced, claim(&["idle"])),
        ]);
        let announce = Table::from([
            (shared, Interfaces::Any),
            (named, Interfaces::Named(["veth-lab".to_owned()].into())),
        ]);
        let desired = desired_status(&announce, &claims, &links);
        let both = vec!["eth0".to_owned(), "eth1".to_owned()];
        assert_eq!(desired.get(&key("front")), Some(&both));
        assert_eq!(desired.get(&key("back")), Some(&both));
        assert_eq!(desired.get(&key("lab")), Some(&vec!["veth-lab".to_owned()]));
        assert_eq!(desired.get(&key("idle")), None);
    }
}
