//! L2Advertisement and BGPAdvertisement rules that need only the advertisement: aggregation
//! lengths within the address width, serviceSelectors only with the default lengths, community
//! values that parse, and valid selectors. Which pools, peers and aliases exist, and how the
//! aggregation lengths fit the selected pools, are the webhook's to judge.

use schemars::Schema;
use serde_json::json;

use super::cel::{self, Rule, or_default};
use super::wording::{Wording, cel_string};
use super::{community, selector};

/// Field, length, the largest length allowed.
pub const AGGREGATION_LENGTH_OUT_OF_RANGE: Wording =
    Wording("{} {} is invalid: it must be from 0 to {}");
/// The IPv4 and the IPv6 aggregation length in effect.
pub const SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS: Wording = Wording(
    "serviceSelectors can only be used with the default aggregation lengths (aggregationLength \
     32, aggregationLengthV6 128), not {} and {}",
);

/// The aggregation length fields, each with its largest (and default) length.
pub const AGGREGATION_LENGTHS: [(&str, i32); 2] =
    [("aggregationLength", 32), ("aggregationLengthV6", 128)];

/// The transform of `BGPAdvertisement.spec`.
pub fn bgp_spec(schema: &mut Schema) {
    for (field, max) in AGGREGATION_LENGTHS {
        cel::add(
            cel::property(schema, field),
            vec![Rule::new(
                format!("self >= 0 && self <= {max}"),
                AGGREGATION_LENGTH_OUT_OF_RANGE,
                AGGREGATION_LENGTH_OUT_OF_RANGE.cel(&[
                    &cel_string(field),
                    "string(self)",
                    &cel_string(&max.to_string()),
                ]),
            )],
        );
    }
    let v4 = or_default("self", "aggregationLength", "32");
    let v6 = or_default("self", "aggregationLengthV6", "128");
    cel::add(
        schema,
        vec![
            Rule::new(
                format!(
                    "!has(self.serviceSelectors) || size(self.serviceSelectors) == 0 || ({v4} == 32 && {v6} == 128)"
                ),
                SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS,
                SERVICE_SELECTORS_NEED_DEFAULT_LENGTHS
                    .cel(&[&format!("string({v4})"), &format!("string({v6})")]),
            )
            .blaming(".serviceSelectors"),
        ],
    );
    community::advertised(cel::property(schema, "communities"));
    for field in [
        "ipAddressPoolSelectors",
        "nodeSelectors",
        "serviceSelectors",
    ] {
        selector::selector_list(cel::property(schema, field));
    }
}

/// The transform of `L2Advertisement.spec`.
pub fn l2_spec(schema: &mut Schema) {
    for field in [
        "ipAddressPoolSelectors",
        "nodeSelectors",
        "serviceSelectors",
    ] {
        selector::selector_list(cel::property(schema, field));
    }
    let preferred = cel::property(schema, "preferredNodeSelectors");
    cel::set(preferred, "maxItems", json!(selector::MAX_SELECTORS));
    selector::selector(cel::property(cel::items(preferred), "preference"));
}
