//! Capabilities advertised in OPEN (RFC 5492) and the ones this crate understands.

use crate::prefix::Family;

/// One capability of an OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// RFC 4760: the sender carries this family.
    Multiprotocol(Family),
    /// RFC 2918.
    RouteRefresh,
    /// RFC 6793: the sender's real AS number.
    FourOctetAs(u32),
    /// RFC 4724: restart time in seconds, the restart-state flag, and per family whether
    /// forwarding state was preserved.
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
