//! `Community` (metallb.io/v1beta1): names for BGP community values, usable in
//! BGPAdvertisements instead of the raw values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::metallb_kind;

metallb_kind! {
    /// Community is a collection of aliases for BGP communities.
    pub struct Community {
        version: "v1beta1",
        plural: "communities",
        #[serde(default)]
        spec: CommunitySpec,
        status: CommunityStatus,
        columns: [],
    }
}

/// CommunitySpec lists the aliases.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = crate::rules::community::community_spec)]
pub struct CommunitySpec {
    /// The aliases defined by this object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<CommunityAlias>,
}

/// CommunityAlias gives a name to a BGP community value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommunityAlias {
    /// The name of the alias, used in BGPAdvertisement `communities`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The BGP community value: a standard community `1234:1234` or a large community
    /// `large:1234:1234:1234`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// CommunityStatus is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommunityStatus {}
