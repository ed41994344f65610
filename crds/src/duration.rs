//! Durations written the way MetalLB's Go API takes them (`90s`, `1m30s`, `500ms`, `0`), as in
//! BGPPeer `holdTime`, `keepaliveTime` and `connectTime`. The webhook validates them; the BGP
//! speaker uses the parsed values. Values are computed as Go's `time.ParseDuration` computes
//! them, so the CRDs' CEL `duration()` and this parser agree to the nanosecond, and [`show`]
//! prints a duration as CEL's `string(duration)` does.

use std::time::Duration;

use crate::rules::peer::{
    DURATION_EMPTY, DURATION_INVALID, DURATION_NEGATIVE, DURATION_NO_NUMBER, DURATION_NO_UNIT,
    DURATION_NOT_A_NUMBER, DURATION_TOO_LONG, DURATION_UNKNOWN_UNIT,
};

/// The longest duration Go (and so CEL) represents: 2^63 - 1 nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a Go duration: a sequence of decimal numbers with units `h`, `m`, `s`, `ms`, `us`
/// (or `µs`) and `ns`, or a bare `0`. Negative durations are refused.
///
/// A malformed text is judged by checks over the whole text, in this order, so the CRDs' CEL
/// rule (which cannot walk the text) finds the same reason: empty; negative; no number first;
/// the first number part with two dots or more; a number part that is a dot alone; the first
/// unknown unit; a last number without unit.
pub fn parse(text: &str) -> Result<Duration, String> {
    let fail = |why: String| DURATION_INVALID.fill(&[&text, &why]);
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(fail(DURATION_EMPTY.fill(&[])));
    }
    if text.starts_with('-') {
        return Err(fail(DURATION_NEGATIVE.fill(&[])));
    }
    let rest = text.strip_prefix('+').unwrap_or(text);
    if !rest.starts_with(is_number_char) {
        return Err(fail(DURATION_NO_NUMBER.fill(&[])));
    }
    let runs = runs(rest);
    let numbers = || runs.iter().step_by(2).copied();
    let units = || runs.iter().skip(1).step_by(2).copied();
    if let Some(bad) = numbers().find(|n| n.matches('.').count() >= 2) {
        return Err(fail(DURATION_NOT_A_NUMBER.fill(&[&bad])));
    }
    if let Some(dot) = numbers().find(|n| *n == ".") {
        return Err(fail(DURATION_NOT_A_NUMBER.fill(&[&dot])));
    }
    if let Some(unit) = units().find(|u| nanos_per_unit(u).is_none()) {
        return Err(fail(DURATION_UNKNOWN_UNIT.fill(&[&unit])));
    }
    if runs.len() % 2 == 1 {
        return Err(fail(DURATION_NO_UNIT.fill(&[])));
    }
    let mut total: u128 = 0;
    for (number, unit) in numbers().zip(units()) {
        let number = Number::read(number).expect("number parts were checked above");
        let per_unit = nanos_per_unit(unit).expect("units were checked above");
        total += number
            .nanos(per_unit)
            .ok_or_else(|| fail(DURATION_TOO_LONG.fill(&[])))?;
        if total > MAX_NANOS {
            return Err(fail(DURATION_TOO_LONG.fill(&[])));
        }
    }
    Ok(Duration::from_nanos(total as u64))
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.'
}

/// `text` cut into its maximal runs of number characters and of other characters, starting
/// with a number run.
fn runs(text: &str) -> Vec<&str> {
    let mut runs = Vec::new();
    let mut rest = text;
    let mut number = true;
    while !rest.is_empty() {
        let len = rest
            .find(|c: char| is_number_char(c) != number)
            .unwrap_or(rest.len());
        runs.push(&rest[..len]);
        rest = &rest[len..];
        number = !number;
    }
    runs
}

fn nanos_per_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "h" => 3_600_000_000_000,
        "m" => 60_000_000_000,
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" | "µs" => 1_000,
        "ns" => 1,
        _ => return None,
    })
}

/// A duration as CEL's `string(duration)` prints it: seconds, with as many decimals as needed
/// (`90s`, `1.5s`, `0.0005s`).
pub fn show(duration: Duration) -> String {
    // Exact: a float would round a long duration's nanoseconds away, and the text would no
    // longer parse back to the duration a user wrote.
    let (seconds, nanos) = (duration.as_secs(), duration.subsec_nanos());
    if nanos == 0 {
        return format!("{seconds}s");
    }
    let fraction = format!("{nanos:09}");
    format!("{seconds}.{}s", fraction.trim_end_matches('0'))
}

/// A number part of a duration: whole part and fraction, as Go reads them.
struct Number {
    whole: u64,
    /// The fraction's digits as an integer, and ten to the number of digits kept.
    fraction: u64,
    scale: f64,
}

impl Number {
    /// `digits[.digits]`, `digits.` or `.digits`; `None` for anything else. Fraction digits past
    /// 63 bits of precision are dropped, as Go drops them.
    fn read(text: &str) -> Option<Number> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole = if whole.is_empty() {
            0
        } else {
            // Too many digits for 64 bits is a duration too long, not a malformed number.
            whole.parse::<u64>().unwrap_or(u64::MAX)
        };
        let (mut value, mut scale, mut overflow) = (0u64, 1f64, false);
        for digit in fraction.bytes().map(|b| u64::from(b - b'0')) {
            if overflow {
                continue;
            }
            match value.checked_mul(10).and_then(|v| v.checked_add(digit)) {
                Some(next) if next <= 1 << 63 => {
                    value = next;
                    scale *= 10.0;
                }
                _ => overflow = true,
            }
        }
        Some(Number {
            whole,
            fraction: value,
            scale,
        })
    }

    /// The number times a unit, in nanoseconds, or `None` past Go's range.
    fn nanos(&self, per_unit: u64) -> Option<u128> {
        let whole = u128::from(self.whole) * u128::from(per_unit);
        if whole > MAX_NANOS + 1 {
            return None;
        }
        // Go adds the fraction in floating point, truncated to whole nanoseconds.
        let fraction = (self.fraction as f64 * (per_unit as f64 / self.scale)) as u128;
        Some(whole + fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_to_their_length() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn a_number_without_unit_is_refused_with_the_reason() {
        assert_eq!(
            parse("90"),
            Err(r#"duration "90" is invalid: a unit is missing (h, m, s, ms, us or ns)"#.into())
        );
    }

    #[test]
    fn unknown_units_and_negatives_are_refused() {
        assert_eq!(
            parse("3d"),
            Err(r#"duration "3d" is invalid: unit "d" is not one of h, m, s, ms, us, ns"#.into())
        );
        assert_eq!(
            parse("-3s"),
            Err(r#"duration "-3s" is invalid: it is negative"#.into())
        );
        assert!(parse("s").is_err());
    }

    #[test]
    fn fractions_are_truncated_to_nanoseconds_as_go_does() {
        assert_eq!(parse("1.1s"), Ok(Duration::from_millis(1100)));
        assert_eq!(
            parse("2.9999999999s"),
            Ok(Duration::from_nanos(2_999_999_999))
        );
        assert_eq!(parse(".5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn a_lone_sign_a_bad_number_and_more_than_go_holds_are_refused() {
        assert_eq!(
            parse("+"),
            Err(r#"duration "+" is invalid: expected a number such as 90s or 1m30s"#.into())
        );
        assert_eq!(
            parse("1.2.3s"),
            Err(r#"duration "1.2.3s" is invalid: "1.2.3" is not a number"#.into())
        );
        assert_eq!(
            parse("3000000h"),
            Err(r#"duration "3000000h" is invalid: it is too long"#.into())
        );
        assert!(parse("2562047h").is_ok());
    }

    #[test]
    fn durations_show_as_cel_prints_them() {
        assert_eq!(show(Duration::from_secs(90)), "90s");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_millis(500)), "0.5s");
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(show(Duration::from_nanos(1)), "0.000000001s");
        let long = Duration::new(2_607_803_783, 777_720_026);
        assert_eq!(show(long), "2607803783.777720026s");
        assert_eq!(
            parse(&show(long)),
            Ok(long),
            "what is shown parses back exactly"
        );
    }
}
