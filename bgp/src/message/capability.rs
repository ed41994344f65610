//! Capabilities advertised in OPEN (RFC 5492) and the ones this crate understands.
//!
//! A capability whose value does not have the shape its RFC gives (or names a family this
//! crate does not carry) decodes as [`Capability::Unknown`] rather than failing the OPEN: a
//! capability we cannot use is one we simply do not negotiate.

use super::reader::Reader;
use crate::prefix::Family;

const MULTIPROTOCOL: u8 = 1;
const ROUTE_REFRESH: u8 = 2;
const GRACEFUL_RESTART: u8 = 64;
const FOUR_OCTET_AS: u8 = 65;

const RESTART_STATE: u16 = 0x8000;
const RESTART_TIME_MASK: u16 = 0x0FFF;
const FORWARDING_PRESERVED: u8 = 0x80;

/// One capability of an OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// RFC 4760: the sender carries this family.
    Multiprotocol(Family),
    /// RFC 2918.
    RouteRefresh,
    /// RFC 6793: the sender's real AS number.
    FourOctetAs(u32),
    /// RFC 4724: restart time in seconds (at most 4095), the restart-state flag, and per family
    /// whether forwarding state was preserved.
    GracefulRestart {
        restart_time: u16,
        restarting: bool,
        families: Vec<(Family, bool)>,
    },
    Unknown {
        code: u8,
        data: Vec<u8>,
    },
}

impl Capability {
    /// The capability code of RFC 5492's registry.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => MULTIPROTOCOL,
            Capability::RouteRefresh => ROUTE_REFRESH,
            Capability::FourOctetAs(_) => FOUR_OCTET_AS,
            Capability::GracefulRestart { .. } => GRACEFUL_RESTART,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Appends code, length and value.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut value = Vec::new();
        match self {
            Capability::Multiprotocol(family) => write_family(*family, &mut value),
            Capability::RouteRefresh => {}
            Capability::FourOctetAs(asn) => value.extend_from_slice(&asn.to_be_bytes()),
            Capability::GracefulRestart {
                restart_time,
                restarting,
                families,
            } => {
                let mut header = restart_time & RESTART_TIME_MASK;
                if *restarting {
                    header |= RESTART_STATE;
                }
                value.extend_from_slice(&header.to_be_bytes());
                for (family, preserved) in families {
                    value.extend_from_slice(&family.afi().to_be_bytes());
                    value.push(family.safi());
                    value.push(if *preserved { FORWARDING_PRESERVED } else { 0 });
                }
            }
            Capability::Unknown { data, .. } => value.extend_from_slice(data),
        }
        value.truncate(usize::from(u8::MAX));
        out.push(self.code());
        out.push(value.len() as u8);
        out.extend_from_slice(&value);
    }

    /// The capability with `code` and `value`.
    pub(crate) fn read(code: u8, value: &[u8]) -> Capability {
        read_known(code, value).unwrap_or_else(|| Capability::Unknown {
            code,
            data: value.to_vec(),
        })
    }
}

/// AFI, a reserved byte and SAFI: the layout of RFC 4760's capability value.
fn write_family(family: Family, out: &mut Vec<u8>) {
    out.extend_from_slice(&family.afi().to_be_bytes());
    out.push(0);
    out.push(family.safi());
}

fn read_known(code: u8, value: &[u8]) -> Option<Capability> {
    let mut reader = Reader::new(value);
    let capability = match code {
        MULTIPROTOCOL => {
            let afi = reader.u16()?;
            let _reserved = reader.u8()?;
            Capability::Multiprotocol(Family::from_afi_safi(afi, reader.u8()?)?)
        }
        ROUTE_REFRESH => Capability::RouteRefresh,
        FOUR_OCTET_AS => Capability::FourOctetAs(reader.u32()?),
        GRACEFUL_RESTART => {
            let header = reader.u16()?;
            if !reader.remaining().is_multiple_of(4) {
                return None;
            }
            let mut families = Vec::new();
            while !reader.is_empty() {
                let (afi, safi, flags) = (reader.u16()?, reader.u8()?, reader.u8()?);
                // A family we do not carry cannot be negotiated; it is dropped, not an error.
                if let Some(family) = Family::from_afi_safi(afi, safi) {
                    families.push((family, flags & FORWARDING_PRESERVED != 0));
                }
            }
            Capability::GracefulRestart {
                restart_time: header & RESTART_TIME_MASK,
                restarting: header & RESTART_STATE != 0,
                families,
            }
        }
        _ => return None,
    };
    reader.is_empty().then_some(capability)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(capability: &Capability) -> Vec<u8> {
        let mut out = Vec::new();
        capability.write(&mut out);
        out
    }

    #[test]
    fn multiprotocol_carries_afi_reserved_and_safi() {
        let ipv6 = Capability::Multiprotocol(Family::Ipv6Unicast);
        assert_eq!(bytes(&ipv6), [1, 4, 0, 2, 0, 1]);
        assert_eq!(Capability::read(1, &[0, 2, 0, 1]), ipv6);
    }

    #[test]
    fn four_octet_as_carries_the_real_as_number() {
        let capability = Capability::FourOctetAs(4_200_000_001);
        assert_eq!(bytes(&capability), [65, 4, 0xFA, 0x56, 0xEA, 0x01]);
        assert_eq!(Capability::read(65, &[0xFA, 0x56, 0xEA, 0x01]), capability);
    }

    #[test]
    fn graceful_restart_packs_flags_time_and_families() {
        let capability = Capability::GracefulRestart {
            restart_time: 120,
            restarting: true,
            families: vec![(Family::Ipv4Unicast, false), (Family::Ipv6Unicast, true)],
        };
        let wire = [64, 10, 0x80, 120, 0, 1, 1, 0, 0, 2, 1, 0x80];
        assert_eq!(bytes(&capability), wire);
        assert_eq!(Capability::read(64, &wire[2..]), capability);
    }

    #[test]
    fn malformed_or_foreign_capabilities_decode_as_unknown() {
        assert_eq!(
            Capability::read(65, &[0, 1]),
            Capability::Unknown {
                code: 65,
                data: vec![0, 1]
            }
        );
        // IPv4 multicast is not a family this crate carries.
        assert_eq!(
            Capability::read(1, &[0, 1, 0, 2]),
            Capability::Unknown {
                code: 1,
                data: vec![0, 1, 0, 2]
            }
        );
        assert_eq!(
            Capability::read(2, &[9]),
            Capability::Unknown {
                code: 2,
                data: vec![9]
            }
        );
    }
}
