//! BGP community values as written in BGPAdvertisements and Community aliases: a standard
//! community `65000:100` (two 16-bit numbers) or a large community `large:65000:1:2` (three
//! 32-bit numbers). The webhook validates them; the BGP speaker will encode them.

use std::fmt;
use std::str::FromStr;

use crate::rules::community::{
    COMMUNITY_INVALID, LARGE_NEEDS_THREE_NUMBERS, NOT_A_16_BIT_NUMBER, NOT_A_32_BIT_NUMBER,
    STANDARD_NEEDS_TWO_NUMBERS,
};

/// One BGP community value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommunityValue {
    /// RFC 1997: two 16-bit halves.
    Standard(u16, u16),
    /// RFC 8092: global administrator and two local data parts, 32 bits each.
    Large(u32, u32, u32),
}

/// Whether a string is meant as a value rather than as the name of an alias: values always
/// contain a colon, alias names never do.
pub fn looks_like_value(text: &str) -> bool {
    text.contains(':')
}

impl FromStr for CommunityValue {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let fail = |why: String| COMMUNITY_INVALID.fill(&[&text, &why]);
        if let Some(rest) = text.strip_prefix("large:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let [a, b, c] = parts[..] else {
                return Err(fail(LARGE_NEEDS_THREE_NUMBERS.fill(&[])));
            };
            let n = |s: &str| {
                s.parse::<u32>()
                    .map_err(|_| fail(NOT_A_32_BIT_NUMBER.fill(&[&s])))
            };
            return Ok(CommunityValue::Large(n(a)?, n(b)?, n(c)?));
        }
        let parts: Vec<&str> = text.split(':').collect();
        let [a, b] = parts[..] else {
            return Err(fail(STANDARD_NEEDS_TWO_NUMBERS.fill(&[])));
        };
        let n = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| fail(NOT_A_16_BIT_NUMBER.fill(&[&s])))
        };
        Ok(CommunityValue::Standard(n(a)?, n(b)?))
    }
}

impl fmt::Display for CommunityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommunityValue::Standard(a, b) => write!(f, "{a}:{b}"),
            CommunityValue::Large(a, b, c) => write!(f, "large:{a}:{b}:{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_large_communities_parse_and_print_back() {
        for text in ["65000:100", "0:0", "65535:65535", "large:4294967295:1:2"] {
            let value: CommunityValue = text.parse().unwrap();
            assert_eq!(value.to_string(), text);
        }
    }

    #[test]
    fn a_standard_half_above_16_bits_is_refused() {
        assert_eq!(
            "65536:1".parse::<CommunityValue>(),
            Err(
                "community \"65536:1\" is invalid: \"65536\" is not a number from 0 to 65535; \
                 expected a standard community such as 65000:100 or a large community such as \
                 large:65000:1:2"
                    .into()
            )
        );
    }

    #[test]
    fn a_large_community_needs_three_numbers() {
        let err = "large:1:2".parse::<CommunityValue>().unwrap_err();
        assert!(err.contains("a large community has three numbers"), "{err}");
        let err = "large:1:2:4294967296"
            .parse::<CommunityValue>()
            .unwrap_err();
        assert!(err.contains("\"4294967296\" is not a number"), "{err}");
    }

    #[test]
    fn three_standard_parts_are_refused() {
        let err = "1:2:3".parse::<CommunityValue>().unwrap_err();
        assert!(err.contains("two numbers separated by ':'"), "{err}");
    }

    #[test]
    fn alias_names_are_told_apart_from_values() {
        assert!(looks_like_value("65000:1"));
        assert!(!looks_like_value("no-export"));
    }
}
