//! What the operator configured for one peering, and the OPEN it makes us send.
//!
//! The speaker validates user input; this module only clamps values to what the wire can carry
//! so that a session never sends an OPEN its peer must reject.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::message::{AS_TRANS, Capability, Open};
use crate::prefix::Family;

/// The AS the peer must be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAs {
    Fixed(u32),
    /// Any peer in our own AS (MetalLB `dynamicASN: internal`).
    Internal,
    /// Any peer in another AS (MetalLB `dynamicASN: external`).
    External,
}

/// The parameters of one peering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_as: u32,
    pub peer_as: PeerAs,
    pub router_id: Ipv4Addr,
    /// Proposed hold time; zero disables keepalives and the hold timer. Non-zero values below
    /// 3 s are raised to 3 s, values beyond 65535 s lowered to it.
    pub hold_time: Duration,
    /// `None` sends keepalives at a third of the negotiated hold time; so does a value of zero
    /// or one longer than the negotiated hold time.
    pub keepalive_time: Option<Duration>,
    /// The delay before the first reconnection; doubles per consecutive failure.
    pub connect_retry: Duration,
    pub max_connect_retry: Duration,
    /// Families offered with Multiprotocol capabilities; none offers IPv4 unicast implicitly.
    pub families: Vec<Family>,
    /// Advertise the graceful restart capability (RFC 4724) with this restart time (at most
    /// 4095 s), claiming forwarding state preserved for every offered family: the host keeps
    /// forwarding to the advertised destinations while the speaker process is away.
    pub graceful_restart: Option<Duration>,
    /// Set the Restart State bit in OPEN: this speaker restarted after a graceful stop. Only
    /// with `graceful_restart`; cleared once a session was established.
    pub restarting: bool,
}

impl SessionConfig {
    /// A configuration with MetalLB's defaults: 90 s hold time, keepalives at a third of it,
    /// IPv4 unicast, no graceful restart, reconnecting after 1 s and backing off to 2 min.
    pub fn new(local_as: u32, peer_as: PeerAs, router_id: Ipv4Addr) -> SessionConfig {
        SessionConfig {
            local_as,
            peer_as,
            router_id,
            hold_time: Duration::from_secs(90),
            keepalive_time: None,
            connect_retry: Duration::from_secs(1),
            max_connect_retry: Duration::from_secs(120),
            families: vec![Family::Ipv4Unicast],
            graceful_restart: None,
            restarting: false,
        }
    }

    /// The hold time proposed in OPEN, in seconds.
    pub fn proposed_hold_time(&self) -> u16 {
        if self.hold_time.is_zero() {
            return 0;
        }
        let seconds = self.hold_time.as_secs().max(3);
        u16::try_from(seconds).unwrap_or(u16::MAX)
    }

    /// The families this side offers: those configured, or IPv4 unicast when none are.
    pub fn offered_families(&self) -> Vec<Family> {
        if self.families.is_empty() {
            vec![Family::Ipv4Unicast]
        } else {
            let mut families = self.families.clone();
            families.sort();
            families.dedup();
            families
        }
    }

    /// The delay before reconnecting after `failures` consecutive failures (at least one).
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.connect_retry
            .checked_mul(1 << doublings)
            .unwrap_or(Duration::MAX)
            .min(self.max_connect_retry.max(self.connect_retry))
    }

    /// The OPEN this side sends.
    pub fn open(&self) -> Open {
        let mut capabilities: Vec<Capability> = self
            .families
            .iter()
            .map(|&family| Capability::Multiprotocol(family))
            .collect();
        capabilities.dedup();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs(self.local_as));
        if let Some(restart) = self.graceful_restart {
            capabilities.push(Capability::GracefulRestart {
                restart_time: restart.as_secs().min(0x0FFF) as u16,
                restarting: self.restarting,
                families: self
                    .offered_families()
                    .into_iter()
                    .map(|family| (family, true))
                    .collect(),
            });
        }
        Open {
            version: 4,
            my_as: u16::try_from(self.local_as).unwrap_or(AS_TRANS),
            hold_time: self.proposed_hold_time(),
            bgp_id: self.router_id,
            capabilities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SessionConfig {
        SessionConfig::new(65001, PeerAs::Fixed(65002), Ipv4Addr::new(10, 0, 0, 1))
    }

    #[test]
    fn hold_times_are_clamped_to_what_open_can_carry() {
        let with = |seconds: f64| SessionConfig {
            hold_time: Duration::from_secs_f64(seconds),
            ..config()
        };
        assert_eq!(with(0.0).proposed_hold_time(), 0);
        assert_eq!(with(0.5).proposed_hold_time(), 3);
        assert_eq!(with(1.0).proposed_hold_time(), 3);
        assert_eq!(with(90.0).proposed_hold_time(), 90);
        assert_eq!(with(100_000.0).proposed_hold_time(), 65535);
    }

    #[test]
    fn retry_delays_double_and_stop_at_the_maximum() {
        let config = SessionConfig {
            connect_retry: Duration::from_secs(2),
            max_connect_retry: Duration::from_secs(30),
            ..config()
        };
        let delays: Vec<u64> = (1..=7).map(|n| config.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(config.retry_delay(u32::MAX).as_secs(), 30);
    }

    #[test]
    fn the_open_offers_families_route_refresh_four_octet_as_and_graceful_restart() {
        let config = SessionConfig {
            local_as: 4_200_000_000,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            graceful_restart: Some(Duration::from_secs(5000)),
            ..config()
        };
        let open = config.open();
        assert_eq!(open.my_as, AS_TRANS);
        assert_eq!(open.asn(), 4_200_000_000);
        assert_eq!(
            open.capabilities,
            [
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::Multiprotocol(Family::Ipv6Unicast),
                Capability::RouteRefresh,
                Capability::FourOctetAs(4_200_000_000),
                Capability::GracefulRestart {
                    restart_time: 4095,
                    restarting: false,
                    families: vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)]
                }
            ]
        );
    }

    #[test]
    fn a_restarting_speaker_sets_the_restart_state_bit() {
        let restarted = SessionConfig {
            graceful_restart: Some(Duration::from_secs(120)),
            restarting: true,
            ..config()
        };
        let restart = restarted.open().capabilities.into_iter().last();
        assert_eq!(
            restart,
            Some(Capability::GracefulRestart {
                restart_time: 120,
                restarting: true,
                families: vec![(Family::Ipv4Unicast, true)]
            })
        );
        // Without the capability there is no bit to set.
        let without = SessionConfig {
            restarting: true,
            ..config()
        };
        assert!(without.open().capabilities.iter().all(|c| c.code() != 64));
    }
}
