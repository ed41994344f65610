//! AS_PATH and AS4_PATH segments on the wire (RFC 4271 §4.3, RFC 6793).
//!
//! The same layout serves both attributes; only the width of each AS number differs: two
//! octets in AS_PATH until both speakers announce four-octet support, four octets otherwise.

use super::AS_TRANS;
use super::attribute::AsSegment;
use super::reader::Reader;

const SET: u8 = 1;
const SEQUENCE: u8 = 2;

/// Appends `segments`, splitting any longer than the 255 AS numbers one segment can hold.
/// With two-octet width an AS number beyond 65535 is written as AS_TRANS (RFC 6793 §4.2.2).
pub(crate) fn write(segments: &[AsSegment], four_octet: bool, out: &mut Vec<u8>) {
    for segment in segments {
        let (kind, numbers) = match segment {
            AsSegment::Set(numbers) => (SET, numbers),
            AsSegment::Sequence(numbers) => (SEQUENCE, numbers),
        };
        for chunk in numbers.chunks(usize::from(u8::MAX)) {
            out.push(kind);
            out.push(chunk.len() as u8);
            for &asn in chunk {
                if four_octet {
                    out.extend_from_slice(&asn.to_be_bytes());
                } else {
                    let asn = u16::try_from(asn).unwrap_or(AS_TRANS);
                    out.extend_from_slice(&asn.to_be_bytes());
                }
            }
        }
    }
}

/// The segments in `bytes`, or why they are malformed.
pub(crate) fn read(bytes: &[u8], four_octet: bool) -> Result<Vec<AsSegment>, String> {
    let mut reader = Reader::new(bytes);
    let mut segments = Vec::new();
    while !reader.is_empty() {
        let (Some(kind), Some(count)) = (reader.u8(), reader.u8()) else {
            return Err("segment header is truncated".into());
        };
        if count == 0 {
            return Err("segment is empty".into());
        }
        let mut numbers = Vec::with_capacity(count.into());
        for _ in 0..count {
            let asn = if four_octet {
                reader.u32()
            } else {
                reader.u16().map(u32::from)
            };
            numbers.push(asn.ok_or("segment is longer than the attribute")?);
        }
        segments.push(match kind {
            SET => AsSegment::Set(numbers),
            SEQUENCE => AsSegment::Sequence(numbers),
            other => return Err(format!("segment type {other} is not a set or a sequence")),
        });
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_octet_paths_write_as_trans_for_large_as_numbers() {
        let path = [AsSegment::Sequence(vec![65001, 4_200_000_000])];
        let mut out = Vec::new();
        write(&path, false, &mut out);
        assert_eq!(out, [2, 2, 0xFD, 0xE9, 0x5B, 0xA0]);
        assert_eq!(
            read(&out, false).unwrap(),
            [AsSegment::Sequence(vec![65001, 23456])]
        );
    }

    #[test]
    fn four_octet_paths_round_trip_sets_and_sequences() {
        let path = [
            AsSegment::Sequence(vec![4_200_000_000, 65001]),
            AsSegment::Set(vec![1, 2, 3]),
        ];
        let mut out = Vec::new();
        write(&path, true, &mut out);
        assert_eq!(out.len(), 2 + 8 + 2 + 12);
        assert_eq!(read(&out, true).unwrap(), path);
    }

    #[test]
    fn segments_longer_than_255_numbers_are_split() {
        let path = [AsSegment::Sequence((0..300).collect())];
        let mut out = Vec::new();
        write(&path, true, &mut out);
        assert_eq!(
            read(&out, true).unwrap(),
            [
                AsSegment::Sequence((0..255).collect()),
                AsSegment::Sequence((255..300).collect())
            ]
        );
    }

    #[test]
    fn truncated_empty_or_unknown_segments_are_malformed() {
        assert_eq!(
            read(&[2, 2, 0, 1], false).unwrap_err(),
            "segment is longer than the attribute"
        );
        assert_eq!(read(&[2, 0], false).unwrap_err(), "segment is empty");
        assert_eq!(
            read(&[3, 1, 0, 1], false).unwrap_err(),
            "segment type 3 is not a set or a sequence"
        );
        assert!(read(&[2], true).is_err());
    }
}
