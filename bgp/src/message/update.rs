//! UPDATE messages (RFC 4271 §4.3).
//!
//! The body is the withdrawn IPv4 prefixes, the path attributes and the announced IPv4
//! prefixes, each of the first two preceded by its length. Decoding checks the lengths against
//! each other (RFC 4271 §6.3) and that an announcement carries the well-known attributes every
//! route needs.

use super::attribute::{self, Attribute};
use super::nlri;
use super::reader::Reader;
use super::{DecodeError, DecodeErrorKind};
use crate::prefix::{Family, Prefix};

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// IPv4 prefixes withdrawn; IPv6 ones travel in [`Attribute::MpUnreach`].
    pub withdrawn: Vec<Prefix>,
    pub attributes: Vec<Attribute>,
    /// IPv4 prefixes announced; IPv6 ones travel in [`Attribute::MpReach`].
    pub nlri: Vec<Prefix>,
}

impl Update {
    /// The End-of-RIB marker of RFC 4724 §2: sent once the initial routes of `family` are out.
    pub fn end_of_rib(family: Family) -> Update {
        match family {
            Family::Ipv4Unicast => Update::default(),
            other => Update {
                attributes: vec![Attribute::MpUnreach {
                    family: other,
                    withdrawn: Vec::new(),
                }],
                ..Update::default()
            },
        }
    }

    /// The family whose End-of-RIB marker this is, if it is one.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::Ipv4Unicast),
            [Attribute::MpUnreach { family, withdrawn }] if withdrawn.is_empty() => Some(*family),
            _ => None,
        }
    }

    /// Every prefix this UPDATE announces, IPv4 and multiprotocol alike.
    pub fn announced(&self) -> impl Iterator<Item = &Prefix> {
        self.nlri
            .iter()
            .chain(self.attributes.iter().flat_map(|a| match a {
                Attribute::MpReach { nlri, .. } => nlri.as_slice(),
                _ => &[],
            }))
    }

    /// Every prefix this UPDATE withdraws, IPv4 and multiprotocol alike.
    pub fn withdrawals(&self) -> impl Iterator<Item = &Prefix> {
        self.withdrawn
            .iter()
            .chain(self.attributes.iter().flat_map(|a| match a {
                Attribute::MpUnreach { withdrawn, .. } => withdrawn.as_slice(),
                _ => &[],
            }))
    }

    /// Withdrawn and announced fields hold IPv4 prefixes only; others are not written.
    pub(crate) fn write(&self, four_octet_as: bool, out: &mut Vec<u8>) {
        write_with_length(out, |out| {
            nlri::write_all(Family::Ipv4Unicast, &self.withdrawn, out)
        });
        write_with_length(out, |out| {
            for attribute in &self.attributes {
                attribute.write(four_octet_as, out);
            }
        });
        nlri::write_all(Family::Ipv4Unicast, &self.nlri, out);
    }

    pub(crate) fn read(body: &[u8], four_octet_as: bool) -> Result<Update, DecodeError> {
        let mut reader = Reader::new(body);
        let withdrawn = read_field(&mut reader, "withdrawn routes")?;
        let attributes = read_field(&mut reader, "path attributes")?;
        let network = |fault: nlri::NlriFault| -> DecodeError {
            DecodeErrorKind::InvalidNetworkField {
                reason: fault.reason(Family::Ipv4Unicast),
            }
            .into()
        };
        let update = Update {
            withdrawn: nlri::read_all(Family::Ipv4Unicast, withdrawn).map_err(network)?,
            attributes: attribute::read_all(attributes, four_octet_as)?,
            nlri: nlri::read_all(Family::Ipv4Unicast, reader.rest()).map_err(network)?,
        };
        update.check_well_known()?;
        Ok(update)
    }

    /// RFC 4271 §5: ORIGIN, AS_PATH and (for IPv4 prefixes) NEXT_HOP come with every route.
    fn check_well_known(&self) -> Result<(), DecodeError> {
        let has = |code: u8| self.attributes.iter().any(|a| a.code() == code);
        let mut required = Vec::new();
        if !self.nlri.is_empty() || has(attribute::MP_REACH) {
            required.extend([attribute::ORIGIN, attribute::AS_PATH]);
        }
        if !self.nlri.is_empty() {
            required.push(attribute::NEXT_HOP);
        }
        match required.into_iter().find(|&code| !has(code)) {
            Some(code) => Err(DecodeErrorKind::MissingWellKnown { code }.into()),
            None => Ok(()),
        }
    }
}

fn write_with_length(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    write(out);
    let length = (out.len() - at - 2) as u16;
    out[at..at + 2].copy_from_slice(&length.to_be_bytes());
}

fn read_field<'a>(reader: &mut Reader<'a>, field: &str) -> Result<&'a [u8], DecodeError> {
    let length = reader.u16().ok_or_else(|| {
        DecodeError::new(DecodeErrorKind::MalformedAttributeList {
            reason: format!("{field} length is missing"),
        })
    })?;
    let available = reader.remaining();
    reader.take(length.into()).ok_or_else(|| {
        DecodeErrorKind::MalformedAttributeList {
            reason: format!("{field} length {length} exceeds the {available} bytes left"),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_rib_markers_are_recognized_per_family() {
        for family in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
            assert_eq!(Update::end_of_rib(family).end_of_rib_family(), Some(family));
        }
        let withdrawal = Update {
            withdrawn: vec!["10.0.0.0/8".parse().unwrap()],
            ..Update::default()
        };
        assert_eq!(withdrawal.end_of_rib_family(), None);
    }

    #[test]
    fn an_ipv4_announcement_without_next_hop_is_missing_a_well_known_attribute() {
        let update = Update {
            attributes: vec![
                Attribute::Origin(attribute::Origin::Igp),
                Attribute::AsPath(vec![]),
            ],
            nlri: vec!["10.0.0.0/8".parse().unwrap()],
            ..Update::default()
        };
        let mut body = Vec::new();
        update.write(true, &mut body);
        assert_eq!(
            Update::read(&body, true).unwrap_err().kind(),
            &DecodeErrorKind::MissingWellKnown { code: 3 }
        );
    }

    #[test]
    fn field_lengths_beyond_the_message_are_a_malformed_attribute_list() {
        let error = Update::read(&[0, 9, 0, 0], false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "malformed attribute list: withdrawn routes length 9 exceeds the 2 bytes left"
        );
        assert_eq!(error.notification().subcode, 1);
    }
}
