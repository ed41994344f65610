//! From an AdmissionReview (admission.k8s.io/v1) to its answer: decode the object as the kind
//! the endpoint serves, run the kind's rules against the cluster snapshot, and turn the
//! [`Verdict`] into an allowed or denied response carrying the warnings. Pure: bytes and a
//! snapshot in, a review out.

use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde::de::DeserializeOwned;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::sharing_scope;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement};
use k8s_openapi::api::core::v1::Service;

use crate::conversion;
use crate::snapshot::Cluster;
use crate::validate::{self, Verdict};

/// The kinds the webhook validates, one endpoint each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    IPAddressPool,
    L2Advertisement,
    BGPAdvertisement,
    BGPPeer,
    Community,
    BFDProfile,
    Service,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::IPAddressPool,
        Kind::L2Advertisement,
        Kind::BGPAdvertisement,
        Kind::BGPPeer,
        Kind::Community,
        Kind::BFDProfile,
        Kind::Service,
    ];

    /// The HTTP path the API server posts reviews of this kind to.
    pub fn path(self) -> &'static str {
        match self {
            Kind::IPAddressPool => "/validate-metallb-io-v1beta1-ipaddresspool",
            Kind::L2Advertisement => "/validate-metallb-io-v1beta1-l2advertisement",
            Kind::BGPAdvertisement => "/validate-metallb-io-v1beta1-bgpadvertisement",
            Kind::BGPPeer => "/validate-metallb-io-v1beta2-bgppeer",
            Kind::Community => "/validate-metallb-io-v1beta1-community",
            Kind::BFDProfile => "/validate-metallb-io-v1beta1-bfdprofile",
            Kind::Service => "/validate-v1-service",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::IPAddressPool => "IPAddressPool",
            Kind::L2Advertisement => "L2Advertisement",
            Kind::BGPAdvertisement => "BGPAdvertisement",
            Kind::BGPPeer => "BGPPeer",
            Kind::Community => "Community",
            Kind::BFDProfile => "BFDProfile",
            Kind::Service => "Service",
        }
    }
}

/// Answers one AdmissionReview body for `kind`.
pub fn review(kind: Kind, body: &[u8], cluster: &Cluster) -> AdmissionReview<DynamicObject> {
    let request: AdmissionRequest<DynamicObject> = match serde_json::from_slice::<
        AdmissionReview<DynamicObject>,
    >(body)
    .map_err(|e| e.to_string())
    .and_then(|r| {
        r.try_into()
            .map_err(|e: kube::core::admission::ConvertAdmissionReviewError| e.to_string())
    }) {
        Ok(request) => request,
        Err(why) => {
            return AdmissionResponse::invalid(format!("cannot read the AdmissionReview: {why}"))
                .into_review();
        }
    };
    let verdict = match decide(kind, &request, cluster) {
        Ok(verdict) => verdict,
        Err(why) => {
            let mut verdict = Verdict::default();
            verdict.deny(why);
            verdict
        }
    };
    let mut response = AdmissionResponse::from(&request);
    if !verdict.warnings.is_empty() {
        response.warnings = Some(verdict.warnings.clone());
    }
    if !verdict.allowed() {
        response = response.deny(verdict.message());
        response.result.code = 422;
        response.result.reason = "Invalid".into();
    }
    response.into_review()
}

/// The verdict on one request, or why its object could not be read.
fn decide(
    kind: Kind,
    request: &AdmissionRequest<DynamicObject>,
    cluster: &Cluster,
) -> Result<Verdict, String> {
    match request.operation {
        Operation::Create | Operation::Update => {}
        Operation::Delete if kind == Kind::BFDProfile => {
            let profile: BFDProfile = typed(request.old_object.as_ref(), kind, &request.name)?;
            return Ok(validate::bfdprofile::validate_deletion(&profile, cluster));
        }
        _ => return Ok(Verdict::default()),
    }
    if kind != Kind::Service && request.operation == Operation::Update && unchanged(request) {
        return Ok(Verdict::default());
    }
    let object = request.object.as_ref();
    Ok(match kind {
        Kind::IPAddressPool => validate::pool::validate(
            &typed::<IPAddressPool>(object, kind, &request.name)?,
            cluster,
        ),
        Kind::L2Advertisement => validate::advertisement::validate_l2(
            &typed::<L2Advertisement>(object, kind, &request.name)?,
            cluster,
        ),
        Kind::BGPAdvertisement => validate::advertisement::validate_bgp(
            &typed::<BGPAdvertisement>(object, kind, &request.name)?,
            cluster,
        ),
        Kind::BGPPeer => {
            let value = json(object, kind, &request.name)?;
            let value = conversion::convert(&value, conversion::V1BETA2)?;
            let peer: BGPPeer = serde_json::from_value(value)
                .map_err(|e| format!("BGPPeer {:?} cannot be read: {e}", request.name))?;
            validate::peer::validate(&peer, cluster)
        }
        Kind::Community => validate::community::validate(
            &typed::<Community>(object, kind, &request.name)?,
            cluster,
        ),
        Kind::BFDProfile => validate::bfdprofile::validate(
            &typed::<BFDProfile>(object, kind, &request.name)?,
            cluster,
        ),
        Kind::Service => {
            let old = match request.operation {
                Operation::Update => request
                    .old_object
                    .as_ref()
                    .map(|o| typed::<Service>(Some(o), kind, &request.name))
                    .transpose()?,
                _ => None,
            };
            let service = typed::<Service>(object, kind, &request.name)?;
            validate::service::validate(&service, old.as_ref(), cluster)
        }
    })
}

/// Whether an update leaves a metallb.io object's spec, labels and ferrolb's own annotations
/// (`ferrolb.io/sharing-scope`) as they were: then it cannot make the configuration worse, and
/// must pass even if the stored object predates a rule (a finalizer removed from an old
/// overlapping pool must not leave it stuck deleting).
fn unchanged(request: &AdmissionRequest<DynamicObject>) -> bool {
    let (Some(new), Some(old)) = (&request.object, &request.old_object) else {
        return false;
    };
    let scope = |o: &DynamicObject| {
        o.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(sharing_scope::ANNOTATION))
            .cloned()
    };
    new.data.get("spec") == old.data.get("spec")
        && new.metadata.labels == old.metadata.labels
        && scope(new) == scope(old)
}

fn json(
    object: Option<&DynamicObject>,
    kind: Kind,
    name: &str,
) -> Result<serde_json::Value, String> {
    let object = object
        .ok_or_else(|| format!("the review of {} {name:?} carries no object", kind.name()))?;
    serde_json::to_value(object)
        .map_err(|e| format!("{} {name:?} cannot be read: {e}", kind.name()))
}

fn typed<K: DeserializeOwned>(
    object: Option<&DynamicObject>,
    kind: Kind,
    name: &str,
) -> Result<K, String> {
    serde_json::from_value(json(object, kind, name)?)
        .map_err(|e| format!("{} {name:?} cannot be read: {e}", kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fixtures::{NS, pools};
    use serde_json::{Value, json};

    fn body(operation: &str, kind: &str, version: &str, object: Value, old: Value) -> Vec<u8> {
        let group = if kind == "Service" { "" } else { "metallb.io" };
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "0a1b",
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": "x"},
                "name": object["metadata"]["name"].as_str().or(old["metadata"]["name"].as_str()).unwrap_or(""),
                "namespace": NS,
                "operation": operation,
                "userInfo": {"username": "admin"},
                "object": object,
                "oldObject": old,
                "dryRun": false
            }
        }))
        .unwrap()
    }

    fn answer(kind: Kind, body: &[u8], cluster: &Cluster) -> Value {
        serde_json::to_value(review(kind, body, cluster)).unwrap()["response"].clone()
    }

    fn pool_json(name: &str, addresses: &[&str]) -> Value {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
               "metadata": {"name": name, "namespace": NS}, "spec": {"addresses": addresses}})
    }

    #[test]
    fn an_overlapping_pool_is_denied_with_uid_and_message() {
        let cluster = Cluster::empty(NS).with_pools(pools(&[("old", &["10.0.0.0/24"])]));
        let response = answer(
            Kind::IPAddressPool,
            &body(
                "CREATE",
                "IPAddressPool",
                "v1beta1",
                pool_json("new", &["10.0.0.0/25"]),
                Value::Null,
            ),
            &cluster,
        );
        assert_eq!(response["uid"], "0a1b");
        assert_eq!(response["allowed"], false);
        assert_eq!(
            response["status"]["message"],
            r#"CIDR "10.0.0.0/25" in IPAddressPool "new" overlaps with already defined CIDR "10.0.0.0/24" in IPAddressPool "old""#
        );
    }

    #[test]
    fn warnings_travel_with_an_allowed_response() {
        let ad = json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
                        "metadata": {"name": "l2", "namespace": NS}, "spec": {"ipAddressPools": ["gold"]}});
        let response = answer(
            Kind::L2Advertisement,
            &body("CREATE", "L2Advertisement", "v1beta1", ad, Value::Null),
            &Cluster::empty(NS),
        );
        assert_eq!(response["allowed"], true);
        assert!(
            response["warnings"][0]
                .as_str()
                .unwrap()
                .contains(r#"IPAddressPool "gold" does not exist"#),
            "{response}"
        );
    }

    #[test]
    fn a_v1beta1_peer_is_validated_with_the_v1beta2_rules() {
        let peer = json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer",
                          "metadata": {"name": "r", "namespace": NS},
                          "spec": {"myASN": 64500, "peerASN": 64500, "peerAddress": "192.0.2.1", "ebgpMultiHop": true}});
        let response = answer(
            Kind::BGPPeer,
            &body("CREATE", "BGPPeer", "v1beta1", peer, Value::Null),
            &Cluster::empty(NS),
        );
        assert_eq!(
            response["status"]["message"],
            r#"BGPPeer "r": ebgpMultiHop cannot be set on an iBGP session (peerASN equals myASN)"#
        );
    }

    #[test]
    fn an_update_keeping_spec_and_labels_passes_even_if_the_object_breaks_a_rule() {
        let cluster = Cluster::empty(NS).with_pools(pools(&[("old", &["10.0.0.0/24"])]));
        let stored = pool_json("clash", &["10.0.0.0/25"]);
        let mut finalized = stored.clone();
        finalized["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
        let update = |new: Value| {
            answer(
                Kind::IPAddressPool,
                &body("UPDATE", "IPAddressPool", "v1beta1", new, stored.clone()),
                &cluster,
            )
        };
        assert_eq!(update(finalized)["allowed"], true);
        let mut relabelled = stored.clone();
        relabelled["metadata"]["labels"] = json!({"tier": "gold"});
        assert_eq!(update(relabelled)["allowed"], false);
    }

    #[test]
    fn an_update_that_only_sets_the_sharing_scope_is_judged() {
        let stored = pool_json("shared", &["198.51.100.0/24"]);
        let update = |new: &Value, old: &Value| {
            answer(
                Kind::IPAddressPool,
                &body(
                    "UPDATE",
                    "IPAddressPool",
                    "v1beta1",
                    new.clone(),
                    old.clone(),
                ),
                &Cluster::empty(NS),
            )
        };
        let mut misspelt = stored.clone();
        misspelt["metadata"]["annotations"] = json!({"ferrolb.io/sharing-scope": "tenant"});
        let response = update(&misspelt, &stored);
        assert_eq!(response["allowed"], false);
        assert_eq!(
            response["status"]["message"],
            r#"IPAddressPool "shared": annotation ferrolb.io/sharing-scope is "tenant"; use "namespace" (Services share an IP only within one namespace) or "cluster" (any namespace, as MetalLB), or remove it"#
        );
        // A stored pool that predates the rule still takes unrelated edits.
        let mut finalized = misspelt.clone();
        finalized["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
        assert_eq!(update(&finalized, &misspelt)["allowed"], true);
    }

    #[test]
    fn deleting_a_used_bfd_profile_is_denied() {
        use ferrolb_crds::bgppeer::v1beta2::BGPPeerSpec;
        let cluster = Cluster::empty(NS).with_peers([BGPPeer {
            metadata: crate::validate::fixtures::meta("r"),
            spec: BGPPeerSpec {
                bfd_profile: "fast".into(),
                ..Default::default()
            },
            status: None,
        }]);
        let profile = json!({"apiVersion": "metallb.io/v1beta1", "kind": "BFDProfile",
                             "metadata": {"name": "fast", "namespace": NS}, "spec": {}});
        let response = answer(
            Kind::BFDProfile,
            &body("DELETE", "BFDProfile", "v1beta1", Value::Null, profile),
            &cluster,
        );
        assert_eq!(response["allowed"], false);
        assert_eq!(
            response["status"]["message"],
            r#"BFDProfile "fast" cannot be deleted: it is still used by BGPPeer "r""#
        );
    }

    #[test]
    fn an_object_of_the_wrong_shape_is_denied_with_the_decoding_error() {
        let bad = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                         "metadata": {"name": "p", "namespace": NS}, "spec": {"addresses": "10.0.0.0/24"}});
        let response = answer(
            Kind::IPAddressPool,
            &body("CREATE", "IPAddressPool", "v1beta1", bad, Value::Null),
            &Cluster::empty(NS),
        );
        assert_eq!(response["allowed"], false);
        assert!(
            response["status"]["message"]
                .as_str()
                .unwrap()
                .starts_with(r#"IPAddressPool "p" cannot be read: invalid type"#),
            "{response}"
        );
    }

    #[test]
    fn a_service_of_another_class_is_allowed_without_warnings() {
        let service = |class: Option<&str>| {
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "shop", "annotations": {
                       "metallb.io/loadBalancerIPs": "203.0.113.7",
                       "metallb.universe.tf/allow-shared-ip": "k"}},
                   "spec": {"type": "LoadBalancer", "loadBalancerClass": class, "ports": [{"port": 80}]}})
        };
        let cluster = Cluster::empty(NS).with_lb_class(Some("ferrolb.io/lb"));
        let create = |object: Value| {
            answer(
                Kind::Service,
                &body("CREATE", "Service", "v1", object, Value::Null),
                &cluster,
            )
        };
        let other = create(service(Some("example.com/other")));
        assert_eq!(other["allowed"], true, "{other}");
        assert_eq!(other.get("warnings"), None, "{other}");
        let ours = create(service(Some("ferrolb.io/lb")));
        assert_eq!(ours["allowed"], false, "{ours}");
        assert!(
            ours["warnings"][0].as_str().unwrap().contains("deprecated"),
            "{ours}"
        );
    }

    #[test]
    fn a_body_that_is_not_a_review_gets_an_invalid_response() {
        let response = answer(Kind::Service, b"{}", &Cluster::empty(NS));
        assert_eq!(response["allowed"], false);
        assert!(
            response["status"]["message"]
                .as_str()
                .unwrap()
                .starts_with("cannot read the AdmissionReview")
        );
    }
}
