//! Durations written the way MetalLB's Go API takes them (`90s`, `1m30s`, `500ms`, `0`), as in
//! BGPPeer `holdTime`, `keepaliveTime` and `connectTime`. The webhook validates them; the BGP
//! speaker will use the parsed values.

use std::time::Duration;

/// Parses a Go duration: a sequence of decimal numbers with units `h`, `m`, `s`, `ms`, `us`
/// (or `µs`) and `ns`, or a bare `0`. Negative durations are refused.
pub fn parse(text: &str) -> Result<Duration, String> {
    let fail = |why: &str| format!("duration {text:?} is invalid: {why}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    if text.starts_with('-') {
        return Err(fail("it is negative"));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(fail("expected a number such as 90s or 1m30s"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| fail(&format!("{:?} is not a number", &rest[..number_len])))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            "" => return Err(fail("a unit is missing (h, m, s, ms, us or ns)")),
            other => {
                return Err(fail(&format!(
                    "unit {other:?} is not one of h, m, s, ms, us, ns"
                )));
            }
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| fail("it is too long"))
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
}
