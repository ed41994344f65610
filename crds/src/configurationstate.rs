//! `ConfigurationState` (metallb.io/v1beta1): each component reports whether the metallb.io
//! configuration it loaded is valid, and if not, why. It has no spec.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind};

metallb_kind! {
    /// ConfigurationState reports the result of loading the configuration in one component.
    pub struct ConfigurationState {
        version: "v1beta1",
        plural: "configurationstates",
        #[serde(default, skip_serializing)]
        #[schemars(skip)]
        spec: NoSpec,
        status: ConfigurationStateStatus,
        columns: [
            column("Result", "string", ".status.result"),
            column("ErrorSummary", "string", ".status.errorSummary"),
            column("Age", "date", ".metadata.creationTimestamp"),
        ],
    }
}

/// ConfigurationState has no spec; this placeholder keeps the root shape of every kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoSpec {}

/// The outcome of loading the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConfigurationResult {
    /// The configuration loaded without errors.
    Valid,
    /// The configuration has errors, summed up in errorSummary.
    Invalid,
    /// The component has not reported yet.
    Unknown,
}

/// ConfigurationStateStatus is the result of the last configuration load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStateStatus {
    /// Valid, Invalid or Unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ConfigurationResult>,
    /// The errors found, one per line; empty when the result is Valid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_summary: String,
    /// The conditions reported by the component's reconcilers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
