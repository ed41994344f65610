//! Users' own MetalLB YAML applies unchanged to a real kube-apiserver with ferrolb's CRDs, and
//! reads back with the same field values, through `kubectl` and through ferrolb's Rust types:
//! the checked-in examples (`examples/metallb/`, taken from the seed documents with their
//! private addresses moved to the documentation ranges) always, and the seed documents
//! themselves when a folder of them sits beside the repository (or `$FERROLB_SEEDS` names one).

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Mutex;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{
    BFDProfile, BGPAdvertisement, Community, ConfigurationState, IPAddressPool, L2Advertisement,
    ServiceBGPStatus, ServiceL2Status,
};
use ferrolb_tests::objects::seeds::{example_files, seed_dir, split_documents, yaml_documents};
use ferrolb_tests::{ControlPlane, Kubectl};
use serde_json::Value;

/// The metallb.io documents the examples held when they were taken from the seeds: 12 in the
/// Layer 2 guide, 2 in the quick start.
const EXAMPLE_METALLB_DOCUMENTS: usize = 14;

/// The examples and the seeds share object names (`production-pool`), so the suites that apply
/// them take turns: each reads back what it applied itself.
static APPLYING: Mutex<()> = Mutex::new(());

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

/// Each document of `text` (found by `find`) with its parsed value; `file` names it in errors.
fn parsed(file: &Path, text: &str, find: fn(&str) -> Vec<String>) -> Vec<(String, Value)> {
    let found = find(text);
    assert!(!found.is_empty(), "no YAML document in {}", file.display());
    found
        .into_iter()
        .map(|doc| {
            let value: Value = serde_yaml::from_str(&doc).unwrap_or_else(|e| {
                panic!("YAML in {} does not parse: {e}\n{doc}", file.display())
            });
            (doc, value)
        })
        .collect()
}

fn example_documents() -> Vec<(String, Value)> {
    let files = example_files().unwrap_or_else(|e| panic!("cannot read examples/metallb: {e}"));
    assert!(!files.is_empty(), "no YAML file in examples/metallb");
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            parsed(file, &text, split_documents)
        })
        .collect()
}

fn seed_documents(dir: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the seeds in {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed documents in {}", dir.display());
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            parsed(file, &text, yaml_documents)
        })
        .collect()
}

fn is_metallb(doc: &Value) -> bool {
    doc["apiVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("metallb.io/"))
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

/// Applies each document, reads it back through `kubectl` and, for metallb.io objects, through
/// ferrolb's type for its kind, and asserts every field the user wrote is there unchanged.
/// Returns how many metallb.io objects there were.
fn apply_and_read_back(kubectl: &Kubectl, source: &str, docs: &[(String, Value)]) -> usize {
    let _turn = APPLYING.lock().unwrap_or_else(|e| e.into_inner());
    let mut metallb_objects = 0;
    for (text, doc) in docs {
        if let Some(ns) = doc["metadata"]["namespace"].as_str() {
            kubectl.ensure_namespace(ns).unwrap();
        }
        let applied = kubectl.run(&["apply", "-f", "-"], Some(text)).unwrap();
        assert!(
            applied.success,
            "kubectl apply refused a document of {source}: {}\n{text}",
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
        assert_contained(doc, &stored, &format!("{} {name} of {source}", doc["kind"]));

        if is_metallb(doc) {
            metallb_objects += 1;
            let kind = doc["kind"].as_str().unwrap();
            let rewritten = through_rust_types(kind, stored);
            assert_contained(
                doc,
                &rewritten,
                &format!("{kind} {name} of {source} through ferrolb's type"),
            );
        }
    }
    eprintln!(
        "{} documents of {source} applied, {metallb_objects} of them metallb.io objects",
        docs.len()
    );
    metallb_objects
}

#[test]
fn every_example_document_applies_and_reads_back_unchanged() {
    let kubectl = prepared();
    apply_and_read_back(&kubectl, "examples/metallb", &example_documents());
}

#[test]
fn every_seed_document_beside_the_repository_applies_and_reads_back_unchanged() {
    let Some(dir) = seed_dir() else {
        eprintln!(
            "no folder of seed documents beside the repository: only the examples are checked"
        );
        return;
    };
    let kubectl = prepared();
    let source = dir.display().to_string();
    let metallb_objects = apply_and_read_back(&kubectl, &source, &seed_documents(&dir));
    assert!(
        metallb_objects > 0,
        "the seeds hold metallb.io objects, none was found in {source}"
    );
}

#[test]
fn examples_hold_every_metallb_document_taken_from_the_seeds() {
    let docs = example_documents();
    let metallb: Vec<String> = docs
        .iter()
        .filter(|(_, doc)| is_metallb(doc))
        .map(|(_, doc)| format!("{} {}", doc["kind"], doc["metadata"]["name"]))
        .collect();
    assert!(
        metallb.len() >= EXAMPLE_METALLB_DOCUMENTS,
        "examples/metallb holds {} metallb.io documents, not at least {EXAMPLE_METALLB_DOCUMENTS}: {metallb:?}",
        metallb.len()
    );
}

/// Whether an IPv4 address is in one of the documentation ranges (RFC 5737).
fn is_documentation(address: Ipv4Addr) -> bool {
    matches!(
        address.octets(),
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
    )
}

#[test]
fn example_addresses_come_from_the_documentation_ranges() {
    let mut seen = 0;
    for file in example_files().unwrap() {
        let text = std::fs::read_to_string(&file).unwrap();
        let addresses = text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|token| token.trim_matches('.').parse::<Ipv4Addr>().ok());
        for address in addresses {
            seen += 1;
            assert!(
                is_documentation(address),
                "{} uses {address}, outside 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24",
                file.display()
            );
        }
    }
    assert!(seen > 0, "examples/metallb holds no IPv4 address");
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
            &[
                "patch",
                "ipaddresspool",
                "columns-check",
                "-n",
                "metallb-system",
                "--subresource=status",
                "--type=merge",
                "-p",
                status,
            ],
            None,
        )
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

#[test]
fn kubectl_explain_describes_service_allocation() {
    let kubectl = prepared();
    let out = kubectl
        .ok(&["explain", "ipaddresspool.spec.serviceAllocation"], None)
        .unwrap();
    assert!(out.contains("lowest priority value"), "{out}");
    assert!(out.contains("namespaceSelectors"), "{out}");
}
