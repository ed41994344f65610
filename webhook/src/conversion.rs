//! BGPPeer conversion between v1beta1 (deprecated, served) and v1beta2 (stored), for the
//! API server's conversion webhook and for validating v1beta1 objects with the v1beta2 rules.
//!
//! Conversion works on the JSON object so metadata and fields ferrolb does not know pass
//! through untouched. v1beta1's node selectors already have the shape of a label selector, so
//! up-conversion only changes `apiVersion`. v1beta1 cannot express some v1beta2 fields
//! (dynamicASN, interface, passwordSecret, ...): down-conversion keeps them in the annotation
//! [`KEPT_FIELDS_ANNOTATION`] and up-conversion restores them, so a client that reads and
//! writes v1beta1 does not erase them.

use serde_json::{Map, Value};

use kube::core::Status;
use kube::core::conversion::{ConversionRequest, ConversionResponse, ConversionReview};

pub const V1BETA1: &str = "metallb.io/v1beta1";
pub const V1BETA2: &str = "metallb.io/v1beta2";

/// Where down-conversion keeps the v1beta2-only spec fields, as a JSON object.
pub const KEPT_FIELDS_ANNOTATION: &str = "metallb.io/v1beta2-only-fields";

/// Spec fields v1beta2 has and v1beta1 lacks.
const V1BETA2_ONLY: [&str; 9] = [
    "localASN",
    "dynamicASN",
    "interface",
    "connectTime",
    "passwordSecret",
    "enableGracefulRestart",
    "vrf",
    "disableMP",
    "dualStackAddressFamily",
];

/// Converts one BGPPeer object to `desired` (`metallb.io/v1beta1` or `metallb.io/v1beta2`).
pub fn convert(object: &Value, desired: &str) -> Result<Value, String> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let from = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = object.clone();
    match (from, desired) {
        (a, b) if a == b => {}
        (V1BETA1, V1BETA2) => restore_kept_fields(&mut out),
        (V1BETA2, V1BETA1) => keep_v1beta2_fields(&mut out)?,
        _ => {
            return Err(format!(
                "BGPPeer {name:?}: cannot convert from {from:?} to {desired:?}; only {V1BETA1} and {V1BETA2} are served"
            ));
        }
    }
    out["apiVersion"] = Value::String(desired.to_owned());
    Ok(out)
}

fn keep_v1beta2_fields(object: &mut Value) -> Result<(), String> {
    let mut kept = Map::new();
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        for field in V1BETA2_ONLY {
            if let Some(value) = spec.remove(field) {
                kept.insert(field.to_owned(), value);
            }
        }
    }
    if kept.is_empty() {
        return Ok(());
    }
    let text = serde_json::to_string(&kept).map_err(|e| e.to_string())?;
    annotations_mut(object).insert(KEPT_FIELDS_ANNOTATION.to_owned(), Value::String(text));
    Ok(())
}

fn restore_kept_fields(object: &mut Value) {
    if object
        .pointer(&format!(
            "/metadata/annotations/{}",
            KEPT_FIELDS_ANNOTATION.replace('/', "~1")
        ))
        .is_none()
    {
        return;
    }
    let Some(text) = annotations_mut(object).remove(KEPT_FIELDS_ANNOTATION) else {
        return;
    };
    if annotations_mut(object).is_empty()
        && let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut)
    {
        metadata.remove("annotations");
    }
    let Some(Ok(Value::Object(kept))) = text.as_str().map(serde_json::from_str::<Value>) else {
        return;
    };
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        for (field, value) in kept {
            if V1BETA2_ONLY.contains(&field.as_str()) {
                spec.entry(field).or_insert(value);
            }
        }
    }
}

fn annotations_mut(object: &mut Value) -> &mut Map<String, Value> {
    let metadata = object
        .as_object_mut()
        .expect("a Kubernetes object is a JSON object")
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let annotations = metadata
        .as_object_mut()
        .expect("metadata is a JSON object")
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    annotations
        .as_object_mut()
        .expect("annotations is a JSON object")
}

/// Answers a ConversionReview: every object converted, or a failure naming the first that
/// could not be.
pub fn review(review: ConversionReview) -> ConversionReview {
    let request = match ConversionRequest::from_review(review) {
        Ok(request) => request,
        Err(e) => {
            return ConversionResponse::invalid(Status::failure(&e.to_string(), "BadRequest"))
                .into_review();
        }
    };
    let desired = request.desired_api_version.clone();
    let converted: Result<Vec<Value>, String> = request
        .objects
        .iter()
        .map(|o| {
            if !o.is_object() {
                return Err("an object to convert is not a JSON object".to_owned());
            }
            convert(o, &desired)
        })
        .collect();
    let response = ConversionResponse::for_request(request);
    match converted {
        Ok(objects) => response.success(objects),
        Err(why) => response.failure(Status::failure(&why, "ConversionFailed")),
    }
    .into_review()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v1beta2_peer() -> Value {
        json!({
            "apiVersion": V1BETA2,
            "kind": "BGPPeer",
            "metadata": {"name": "router", "namespace": "metallb-system", "resourceVersion": "7"},
            "spec": {
                "myASN": 64500,
                "dynamicASN": "external",
                "peerAddress": "192.0.2.1",
                "nodeSelectors": [{"matchLabels": {"zone": "a"}}],
                "vrf": "red"
            }
        })
    }

    #[test]
    fn down_conversion_keeps_v1beta2_only_fields_in_an_annotation() {
        let down = convert(&v1beta2_peer(), V1BETA1).unwrap();
        assert_eq!(down["apiVersion"], V1BETA1);
        assert_eq!(down["spec"].get("dynamicASN"), None);
        assert_eq!(down["spec"].get("vrf"), None);
        assert_eq!(
            down["spec"]["nodeSelectors"],
            json!([{"matchLabels": {"zone": "a"}}])
        );
        let kept: Value = serde_json::from_str(
            down["metadata"]["annotations"][KEPT_FIELDS_ANNOTATION]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(kept, json!({"dynamicASN": "external", "vrf": "red"}));
        assert_eq!(down["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn a_round_trip_through_v1beta1_gives_back_the_same_object() {
        let down = convert(&v1beta2_peer(), V1BETA1).unwrap();
        assert_eq!(convert(&down, V1BETA2).unwrap(), v1beta2_peer());
    }

    #[test]
    fn a_v1beta1_object_converts_up_with_its_node_selectors() {
        let old = json!({
            "apiVersion": V1BETA1, "kind": "BGPPeer",
            "metadata": {"name": "r"},
            "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1",
                     "nodeSelectors": [{"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}]}
        });
        let up = convert(&old, V1BETA2).unwrap();
        let peer: ferrolb_crds::bgppeer::v1beta2::BGPPeer = serde_json::from_value(up).unwrap();
        assert_eq!(
            peer.spec.node_selectors[0]
                .match_expressions
                .as_ref()
                .unwrap()[0]
                .key,
            "k"
        );
        assert_eq!(peer.spec.peer_asn, 2);
    }

    #[test]
    fn an_unknown_version_is_refused_by_name() {
        assert_eq!(
            convert(&v1beta2_peer(), "metallb.io/v2"),
            Err(r#"BGPPeer "router": cannot convert from "metallb.io/v1beta2" to "metallb.io/v2"; only metallb.io/v1beta1 and metallb.io/v1beta2 are served"#.into())
        );
    }

    #[test]
    fn a_review_converts_every_object_in_order() {
        let review: ConversionReview = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "u1", "desiredAPIVersion": V1BETA1, "objects": [v1beta2_peer(), v1beta2_peer()]}
        }))
        .unwrap();
        let answer = serde_json::to_value(super::review(review)).unwrap();
        assert_eq!(answer["response"]["uid"], "u1");
        assert_eq!(answer["response"]["result"]["status"], "Success");
        assert_eq!(
            answer["response"]["convertedObjects"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            answer["response"]["convertedObjects"][1]["apiVersion"],
            V1BETA1
        );
    }
}
