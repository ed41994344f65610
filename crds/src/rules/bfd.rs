//! BFDProfile rules: each timer and count within the range BFD implementations accept. The
//! schema's minimum and maximum say so too, in the API server's words; these rules add the
//! webhook's.

use schemars::Schema;

use super::cel::{self, Rule};
use super::wording::{Wording, cel_string};

/// Field with its value, lowest, highest (each with its unit).
pub const OUT_OF_RANGE: Wording = Wording("{} {} is out of range: it must be from {} to {}");

/// Each bounded field: name, lowest, highest, unit.
pub const RANGES: [(&str, u32, u32, &str); 5] = [
    ("receiveInterval", 10, 60000, "ms"),
    ("transmitInterval", 10, 60000, "ms"),
    ("echoInterval", 10, 60000, "ms"),
    ("detectMultiplier", 2, 255, ""),
    ("minimumTtl", 1, 254, ""),
];

/// The transform of `BFDProfile.spec`.
pub fn spec(schema: &mut Schema) {
    for (field, min, max, unit) in RANGES {
        let value = format!("{}.format([self])", cel_string(&format!("%d{unit}")));
        cel::add(
            cel::property(schema, field),
            vec![Rule::new(
                format!("self >= {min} && self <= {max}"),
                OUT_OF_RANGE,
                OUT_OF_RANGE.cel(&[
                    &cel_string(field),
                    &value,
                    &cel_string(&format!("{min}{unit}")),
                    &cel_string(&format!("{max}{unit}")),
                ]),
            )],
        );
    }
}
