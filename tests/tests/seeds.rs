//! Users' own MetalLB YAML (the seed documents) applies unchanged to a real kube-apiserver
//! with ferrolb's CRDs, and reads back with the same field values, through `kubectl` and
//! through ferrolb's Rust types.

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{
    BFDProfile, BGPAdvertisement, Community, ConfigurationState, IPAddressPool, L2Advertisement,
    ServiceBGPStatus, ServiceL2Status,
};
use ferrolb_tests::seeds::{seed_dir, yaml_documents};
use ferrolb_tests::{ControlPlane, Kubectl};
use serde_json::Value;

/// The shared control plane with ferrolb's CRDs, a stand-in PrometheusRule CRD and the
/// metallb-system namespace, prepared once for all tests of this suite.
fn prepared() -> Kubectl {
    static PREPARED: std::sync::OnceLock<Kubectl> = std::sync::OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let control_plane = ControlPlane::shared();
            control_plane.install_crds().unwrap();
            let kubectl = control_plane.kubectl();
            kubectl
                .install_crd_files(&["tests/fixtures/prometheusrule-crd.yaml"])
                .unwrap();
            kubectl.ensure_namespace("metallb-system").unwrap();
            kubectl
        })
        .clone()
}

fn seed_documents() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(seed_dir())
        .unwrap_or_else(|e| panic!("cannot read the seeds in {}: {e}", seed_dir().display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no seed documents in {}",
        seed_dir().display()
    );
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let found = yaml_documents(&text);
        assert!(!found.is_empty(), "no YAML found in {}", file.display());
        for doc in found {
            let value: Value = serde_yaml::from_str(&doc).unwrap_or_else(|e| {
                panic!("seed YAML in {} does not parse: {e}\n{doc}", file.display())
            });
            docs.push((doc, value));
        }
    }
    docs
}

/// `kubectl get` resource name for a document: `kind.group`, or just `kind` for core kinds.
fn resource_of(doc: &Value) -> String {
    let kind = doc["kind"].as_str().unwrap().to_ascii_lowercase();
    match doc["apiVersion"].as_str().unwrap().split_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind,
    }
}

/// Every field of `want` is in `got` with the same value (lists element by element); a null
/// or an empty list or map in `want` is a key the user left empty, which may be dropped.
fn assert_contained(want: &Value, got: &Value, path: &str) {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match (want, got) {
        (Value::Null, _) => {}
        (w, g) if empty(w) && empty(g) => {}
        (Value::Object(w), Value::Object(g)) => {
            for (key, value) in w {
                let inner = format!("{path}.{key}");
                let other = g.get(key).unwrap_or(&Value::Null);
                assert_contained(value, other, &inner);
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(
                w.len(),
                g.len(),
                "{path} has {} items after reading back, not {}",
                g.len(),
                w.len()
            );
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                assert_contained(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(want, got, "{path} is missing or changed after reading back"),
    }
}

/// Reads a metallb.io object into ferrolb's type for its kind and writes it out again.
fn through_rust_types(kind: &str, object: Value) -> Value {
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(object: Value) -> Value {
        let typed: T = serde_json::from_value(object)
            .unwrap_or_else(|e| panic!("ferrolb's type refuses it: {e}"));
        serde_json::to_value(typed).unwrap()
    }
    match kind {
        "IPAddressPool" => round_trip::<IPAddressPool>(object),
        "L2Advertisement" => round_trip::<L2Advertisement>(object),
        "BGPAdvertisement" => round_trip::<BGPAdvertisement>(object),
        "BGPPeer" => round_trip::<BGPPeer>(object),
        "Community" => round_trip::<Community>(object),
        "BFDProfile" => round_trip::<BFDProfile>(object),
        "ServiceL2Status" => round_trip::<ServiceL2Status>(object),
        "ServiceBGPStatus" => round_trip::<ServiceBGPStatus>(object),
        "ConfigurationState" => round_trip::<ConfigurationState>(object),
        other => panic!("metallb.io kind {other} has no ferrolb type"),
    }
}

#[test]
fn every_seed_document_applies_and_reads_back_unchanged() {
    let kubectl = prepared();
    let docs = seed_documents();
    let mut metallb_objects = 0;
    for (text, doc) in &docs {
        if let Some(ns) = doc["metadata"]["namespace"].as_str() {
            kubectl.ensure_namespace(ns).unwrap();
        }
        let applied = kubectl.run(&["apply", "-f", "-"], Some(text)).unwrap();
        assert!(
            applied.success,
            "kubectl apply refused a seed document: {}\n{text}",
            applied.stderr
        );

        let name = doc["metadata"]["name"].as_str().unwrap();
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        let json = kubectl
            .ok(
                &["get", &resource_of(doc), name, "-n", ns, "-o", "json"],
                None,
            )
            .unwrap();
        let stored: Value = serde_json::from_str(&json).unwrap();
        assert_contained(doc, &stored, &format!("{} {name}", doc["kind"]));

        if doc["apiVersion"]
            .as_str()
            .unwrap()
            .starts_with("metallb.io/")
        {
            metallb_objects += 1;
            let kind = doc["kind"].as_str().unwrap();
            let rewritten = through_rust_types(kind, stored);
            assert_contained(
                doc,
                &rewritten,
                &format!("{kind} {name} through ferrolb's type"),
            );
        }
    }
    eprintln!(
        "{} seed documents applied, {metallb_objects} of them metallb.io objects",
        docs.len()
    );
    assert!(
        metallb_objects > 0,
        "the seeds hold metallb.io objects, none was found"
    );
}

#[test]
fn ipaddresspool_listing_shows_metallb_columns_and_usage_counts() {
    let kubectl = prepared();
    let pool = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: columns-check\n  namespace: metallb-system\nspec:\n  addresses:\n  - 198.51.100.0/24\n  avoidBuggyIPs: true\n";
    kubectl.ok(&["apply", "-f", "-"], Some(pool)).unwrap();
    let status =
        r#"{"status":{"assignedIPv4":3,"assignedIPv6":0,"availableIPv4":251,"availableIPv6":0}}"#;
    kubectl
        .ok(
            &["patch", "ipaddresspool", "columns-check", "-n", "metallb-system", "--subresource=status", "--type=merge", "-p", status],
            None,
        )
        .or_else(|_| {
            // kubectl may be newer than --subresource support on a v1.20 server: write status
            // through the raw API instead.
            kubectl.ok(
                &["replace", "--raw", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/columns-check/status", "-f", "-"],
                Some(&status_body(&kubectl, status)),
            )
        })
        .unwrap();
    let table = kubectl
        .ok(&["get", "ipaddresspools", "-n", "metallb-system"], None)
        .unwrap();
    let header = table.lines().next().unwrap();
    for column in [
        "AUTO ASSIGN",
        "AVOID BUGGY IPS",
        "ADDRESSES",
        "ASSIGNED IPV4",
        "AVAILABLE IPV4",
    ] {
        assert!(
            header.contains(column),
            "column {column} missing from:\n{table}"
        );
    }
    let row = table
        .lines()
        .find(|l| l.starts_with("columns-check"))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "columns-check",
            "true",
            "true",
            r#"["198.51.100.0/24"]"#,
            "3",
            "251"
        ]
    );
}

/// The full object with `status` replaced, for a raw PUT to the status subresource.
fn status_body(kubectl: &Kubectl, status: &str) -> String {
    let json = kubectl
        .ok(
            &[
                "get",
                "ipaddresspool",
                "columns-check",
                "-n",
                "metallb-system",
                "-o",
                "json",
            ],
            None,
        )
        .unwrap();
    let mut object: Value = serde_json::from_str(&json).unwrap();
    let patch: Value = serde_json::from_str(status).unwrap();
    object["status"] = patch["status"].clone();
    object.to_string()
}

#[test]
fn kubectl_explain_describes_service_allocation() {
    let kubectl = prepared();
    let out = kubectl
        .ok(&["explain", "ipaddresspool.spec.serviceAllocation"], None)
        .unwrap();
    assert!(out.contains("lowest priority value"), "{out}");
    assert!(out.contains("namespaceSelectors"), "{out}");
}
