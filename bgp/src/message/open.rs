//! OPEN messages (RFC 4271 §4.2) with their capabilities (RFC 5492).
//!
//! Decoding only checks the layout; whether the version, AS, hold time and identifier are
//! acceptable is the session's decision, since it depends on the configuration.

use std::net::Ipv4Addr;

use super::capability::Capability;
use super::reader::Reader;
use super::{DecodeError, DecodeErrorKind, HEADER_LEN};

const CAPABILITIES_PARAMETER: u8 = 2;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    /// The two-octet AS, or AS_TRANS when the sender's AS needs four octets.
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The real AS of the sender: from the four-octet AS capability when present.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        // Capabilities share one optional parameter while they fit its one-byte length.
        let mut parameters = Vec::new();
        let mut parameter = Vec::new();
        for capability in &self.capabilities {
            let mut encoded = Vec::new();
            capability.write(&mut encoded);
            if parameter.len() + encoded.len() > usize::from(u8::MAX) {
                push_parameter(&mut parameters, &parameter);
                parameter.clear();
            }
            parameter.extend_from_slice(&encoded);
        }
        if !parameter.is_empty() {
            push_parameter(&mut parameters, &parameter);
        }
        parameters.truncate(usize::from(u8::MAX));
        out.push(parameters.len() as u8);
        out.extend_from_slice(&parameters);
    }

    pub(crate) fn read(body: &[u8]) -> Result<Open, DecodeError> {
        let mut reader = Reader::new(body);
        let (Some(version), Some(my_as), Some(hold_time), Some(bgp_id), Some(length)) = (
            reader.u8(),
            reader.u16(),
            reader.u16(),
            reader.ipv4(),
            reader.u8(),
        ) else {
            return Err(DecodeErrorKind::BadLength {
                length: (HEADER_LEN + body.len()) as u16,
                message: "open",
            }
            .into());
        };
        if usize::from(length) != reader.remaining() {
            return Err(malformed(format!(
                "optional parameters length {length} does not match the {} bytes that follow",
                reader.remaining()
            )));
        }
        let mut capabilities = Vec::new();
        while !reader.is_empty() {
            let (Some(kind), Some(value)) =
                (reader.u8(), reader.u8().and_then(|l| reader.take(l.into())))
            else {
                return Err(malformed("optional parameter overruns the message".into()));
            };
            if kind != CAPABILITIES_PARAMETER {
                return Err(
                    DecodeErrorKind::UnsupportedOptionalParameter { parameter: kind }.into(),
                );
            }
            let mut value = Reader::new(value);
            while !value.is_empty() {
                let (Some(code), Some(data)) =
                    (value.u8(), value.u8().and_then(|l| value.take(l.into())))
                else {
                    return Err(malformed("capability overruns its parameter".into()));
                };
                capabilities.push(Capability::read(code, data));
            }
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }
}

fn push_parameter(out: &mut Vec<u8>, value: &[u8]) {
    out.push(CAPABILITIES_PARAMETER);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

fn malformed(reason: String) -> DecodeError {
    DecodeErrorKind::MalformedOpen { reason }.into()
}
