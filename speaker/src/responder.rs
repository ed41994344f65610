//! What to do with one ARP or NDP frame received on one interface: answer it, note that
//! another node announces an IP this node holds, or ignore it. Pure, so every case is a
//! plain test; the interface tasks in [`crate::announcer`] only move bytes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::election::candidates::Interfaces;
use crate::link::{Link, suitable_for};
use crate::packet::{Mac, arp, ndp};

/// The IPs this node announces, with the interfaces each may be announced on.
pub type Table = BTreeMap<IpAddr, Interfaces>;

/// Whether `ip` is announced on `link`.
pub fn announced_on(table: &Table, ip: IpAddr, link: &Link) -> bool {
    table
        .get(&ip)
        .is_some_and(|allowed| suitable_for(link, allowed))
}

/// The outcome of one received frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not for us.
    Ignore,
    /// A request for an announced IP, and the frame answering it.
    Reply { ip: IpAddr, frame: Vec<u8> },
    /// Another MAC announces an IP this node announces: a new owner took it over.
    Conflict { ip: IpAddr, mac: Mac },
}

/// Decides on one frame received on `link`.
pub fn respond(frame: &[u8], link: &Link, table: &Table) -> Outcome {
    if let Some(request) = arp::parse(frame) {
        return respond_arp(&request, link, table);
    }
    if let Some(message) = ndp::parse(frame) {
        return respond_ndp(&message, link, table);
    }
    Outcome::Ignore
}

fn respond_arp(packet: &arp::Arp, link: &Link, table: &Table) -> Outcome {
    if packet.sender_mac == link.mac || packet.ethernet_source == link.mac {
        return Outcome::Ignore;
    }
    let sender = IpAddr::V4(packet.sender_ip);
    if table.contains_key(&sender) {
        return Outcome::Conflict {
            ip: sender,
            mac: packet.sender_mac,
        };
    }
    let target = IpAddr::V4(packet.target_ip);
    if packet.operation == arp::Operation::Request
        && !packet.is_gratuitous()
        && announced_on(table, target, link)
    {
        return Outcome::Reply {
            ip: target,
            frame: arp::reply(packet, link.mac),
        };
    }
    Outcome::Ignore
}

fn respond_ndp(message: &ndp::Message, link: &Link, table: &Table) -> Outcome {
    match *message {
        ndp::Message::Solicitation {
            ethernet_source,
            target,
            ..
        } => {
            let ip = IpAddr::V6(target);
            if ethernet_source == link.mac || !announced_on(table, ip, link) {
                return Outcome::Ignore;
            }
            match ndp::reply(message, link.mac) {
                Some(frame) => Outcome::Reply { ip, frame },
                None => Outcome::Ignore,
            }
        }
        ndp::Message::Advertisement {
            target,
            target_link_address: Some(mac),
            ..
        } if mac != link.mac && table.contains_key(&IpAddr::V6(target)) => Outcome::Conflict {
            ip: IpAddr::V6(target),
            mac,
        },
        ndp::Message::Advertisement { .. } => Outcome::Ignore,
    }
}

/// The frames announcing `ip` at `mac` when this node takes it: gratuitous ARP request and
/// reply for IPv4, an unsolicited Neighbor Advertisement for IPv6.
pub fn announcement(ip: IpAddr, mac: Mac) -> Vec<Vec<u8>> {
    match ip {
        IpAddr::V4(v4) => arp::gratuitous(v4, mac).into(),
        IpAddr::V6(v6) => vec![ndp::unsolicited(v6, mac)],
    }
}

#[cfg(test)]
mod tests;
