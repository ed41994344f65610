//! The CRDs' own validation rules (CEL, `x-kubernetes-validations`) against a real
//! kube-apiserver with no admission webhook at all: each malformed object is refused by the API
//! server itself, in the webhook's words naming the value, and good objects, MetalLB's
//! examples among them, are admitted.
//!
//! The expected words are not written here: each case runs the webhook's own validator
//! (`ferrolb_webhook::validate`) on the same object and expects every one of its denials, less
//! the object name the API server prints itself, in the API server's answer.

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::AddressRange;
use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_tests::infra::kubectl::Outcome;
use ferrolb_tests::{ControlPlane, Kubectl};
use ferrolb_webhook::snapshot::Cluster;
use ferrolb_webhook::validate::{self, Verdict};
use serde::de::DeserializeOwned;

const NS: &str = "metallb-system";

/// The shared control plane with the CRDs and ferrolb's namespace, and no webhook registered.
fn kubectl() -> Kubectl {
    let control_plane = ControlPlane::shared();
    control_plane.install_crds().unwrap();
    let kubectl = control_plane.kubectl();
    kubectl.ensure_namespace(NS).unwrap();
    kubectl
}

/// `kubectl apply --dry-run=server` of `yaml`: the API server validates it fully, stores
/// nothing, so the cases do not depend on each other.
fn dry_run(kubectl: &Kubectl, yaml: &str) -> Outcome {
    kubectl
        .run(&["apply", "--dry-run=server", "-f", "-"], Some(yaml))
        .unwrap()
}

fn assert_refused_with(kubectl: &Kubectl, yaml: &str, expected: &[String]) {
    assert!(!expected.is_empty(), "a refusal names its reasons:\n{yaml}");
    let out = dry_run(kubectl, yaml);
    assert!(!out.success, "admitted without a webhook:\n{yaml}");
    for words in expected {
        assert!(
            out.stderr.contains(words.as_str()),
            "the API server's answer lacks {words:?}:\n{}\nfor:\n{yaml}",
            out.stderr
        );
    }
}

fn assert_admitted(kubectl: &Kubectl, yaml: &str) {
    let out = dry_run(kubectl, yaml);
    assert!(out.success, "refused: {}\nfor:\n{yaml}", out.stderr);
}

/// The webhook's denials without their `Kind "name": ` and `field[i] is invalid: ` prefixes,
/// which the API server says its own way (object name and field path).
fn webhook_words(kind: &str, name: &str, verdict: &Verdict) -> Vec<String> {
    let object = format!("{kind} {name:?}: ");
    verdict
        .denials
        .iter()
        .map(|denial| {
            let reason = denial.strip_prefix(&object).unwrap_or(denial);
            match reason.split_once("] is invalid: ") {
                Some((field, why)) if !field.contains(' ') => why.to_owned(),
                _ => reason.to_owned(),
            }
        })
        .collect()
}

fn cluster() -> Cluster {
    Cluster::empty(NS)
}

/// The object `kind` `name` (at `version`) with `spec`, and the webhook's reasons for refusing
/// it, from its own `validate`, as the API server words them.
fn webhook_refusal<K: DeserializeOwned>(
    kind: &str,
    version: &str,
    name: &str,
    spec: &str,
    validate: impl Fn(&K, &Cluster) -> Verdict,
) -> (String, Vec<String>) {
    let yaml = yaml_of(kind, version, name, spec);
    let object: K = serde_yaml::from_str(&yaml).unwrap();
    let expected = webhook_words(kind, name, &validate(&object, &cluster()));
    (yaml, expected)
}

/// The API server alone refuses the object with every reason the webhook gives.
fn assert_refused_as_the_webhook_refuses<K: DeserializeOwned>(
    kubectl: &Kubectl,
    kind: &str,
    version: &str,
    name: &str,
    spec: &str,
    validate: impl Fn(&K, &Cluster) -> Verdict,
) {
    let (yaml, expected) = webhook_refusal(kind, version, name, spec, validate);
    assert_refused_with(kubectl, &yaml, &expected);
}

fn yaml_of(kind: &str, version: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/{version}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {NS}\nspec:\n{spec}"
    )
}

fn pool_yaml(name: &str, entries: &[&str]) -> String {
    let list: Vec<String> = entries.iter().map(|e| format!("    - {e:?}\n")).collect();
    yaml_of(
        "IPAddressPool",
        "v1beta1",
        name,
        &format!("  addresses:\n{}", list.concat()),
    )
}

#[test]
fn each_malformed_pool_entry_is_refused_with_the_parser_words_for_it() {
    let kubectl = kubectl();
    for entry in [
        "192.0.2.0/33",
        "2001:db8::/129",
        "192.0.2.0/x",
        "192.0.2.0/300",
        "198.51.100.300/24",
        "/24",
        "192.0.2.9-192.0.2.1",
        "2001:db8::9-2001:db8::1",
        "2001:db8::ffff:0-2001:db8::1:0",
        "2001:DB8::a-2001:db8:0:0:0:0:0:9",
        "192.0.2.1-2001:db8::1",
        "192.0.2.1 - ",
        "192.0.2.1",
        "gateway",
        " ",
        "::ffff:192.0.2.1/128",
    ] {
        let reason = entry
            .parse::<AddressRange>()
            .expect_err("a malformed entry")
            .to_string();
        let yaml = pool_yaml("malformed", &["203.0.113.0/24", entry]);
        let pool: IPAddressPool = serde_yaml::from_str(&yaml).unwrap();
        let verdict = validate::pool::validate(&pool, &cluster());
        assert_eq!(
            verdict.denials,
            [ferrolb_crds::rules::pool::ADDRESS_IN_POOL_INVALID.fill(&[
                &entry,
                &"malformed",
                &reason.split_once(" is invalid: ").unwrap().1
            ])],
            "the webhook says the same reason"
        );
        assert_refused_with(
            &kubectl,
            &yaml,
            &[
                r#"The IPAddressPool "malformed" is invalid"#.to_owned(),
                format!("spec.addresses[1]: Invalid value: {entry:?}: {reason}"),
            ],
        );
    }
}

#[test]
fn well_formed_entries_of_both_families_are_admitted() {
    let kubectl = kubectl();
    let entries = [
        "192.0.2.0/24",
        "192.0.2.5/32",
        " 198.51.100.10 - 198.51.100.20 ",
        "203.0.113.7-203.0.113.7",
        "203.0.113.255-203.0.113.255",
        "2001:db8::/120",
        "2001:db8:1::1-2001:db8:1::ff",
        "2001:db8:2::1:0-2001:db8:2::ffff:1",
        "2001:DB8:3::A-2001:db8:3:0:0:0:0:b",
        "2001:db8:4::192.0.2.1-2001:db8:4::192.0.2.9",
    ];
    for entry in entries {
        entry.parse::<AddressRange>().expect("the parser agrees");
    }
    assert_admitted(&kubectl, &pool_yaml("well-formed", &entries));
}

#[test]
fn a_pool_without_addresses_is_refused() {
    let kubectl = kubectl();
    let (yaml, expected) = webhook_refusal(
        "IPAddressPool",
        "v1beta1",
        "empty",
        "  addresses: []\n",
        validate::pool::validate,
    );
    assert_eq!(
        expected,
        ["addresses is empty; list at least one CIDR or range"]
    );
    assert_refused_with(&kubectl, &yaml, &expected);
}

/// A BGPPeer spec with the fields every case needs, plus `extra` lines.
fn peer_spec(extra: &str) -> String {
    format!("  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n{extra}")
}

fn assert_peer_refused_as_the_webhook_refuses(kubectl: &Kubectl, spec: &str) {
    assert_refused_as_the_webhook_refuses::<BGPPeer>(
        kubectl,
        "BGPPeer",
        "v1beta2",
        "faulty",
        spec,
        validate::peer::validate,
    );
}

#[test]
fn bgppeer_timers_out_of_their_rules_are_refused_in_the_webhook_words() {
    let kubectl = kubectl();
    for timers in [
        "  holdTime: 2s\n  keepaliveTime: 1s\n",
        "  holdTime: 500ms\n",
        "  holdTime: 30s\n  keepaliveTime: 1m\n",
        "  keepaliveTime: 100s\n",
        "  holdTime: \"0\"\n  keepaliveTime: 1s\n",
        "  connectTime: 1500ms\n",
        "  connectTime: 65536s\n",
        "  connectTime: 0s\n",
    ] {
        assert_peer_refused_as_the_webhook_refuses(&kubectl, &peer_spec(timers));
    }
}

#[test]
fn malformed_durations_are_refused_with_the_reason_the_parser_gives() {
    let kubectl = kubectl();
    for text in [
        "90",
        "3d",
        "-3s",
        "1.2.3s",
        "+",
        "5x3s",
        "1s2",
        "s",
        ".s",
        "1mss",
        "1h30",
        "1µs2us3q",
    ] {
        let spec = peer_spec(&format!("  holdTime: {text:?}\n"));
        assert_peer_refused_as_the_webhook_refuses(&kubectl, &spec);
    }
}

#[test]
fn bgppeer_asn_address_and_password_rules_are_refused_in_the_webhook_words() {
    let kubectl = kubectl();
    for spec in [
        "  myASN: 0\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n".to_owned(),
        peer_spec("  dynamicASN: external\n"),
        "  myASN: 64500\n  peerAddress: 192.0.2.1\n".to_owned(),
        peer_spec("  interface: eth0\n"),
        "  myASN: 64500\n  peerASN: 64501\n".to_owned(),
        "  myASN: 64500\n  peerASN: 64501\n  peerAddress: router.example\n  sourceAddress: 198.51.100.300\n  routerID: \"2001:db8::1\"\n"
            .to_owned(),
        "  myASN: 64500\n  peerASN: 64500\n  peerAddress: 192.0.2.1\n  ebgpMultiHop: true\n".to_owned(),
        "  myASN: 64500\n  dynamicASN: internal\n  peerAddress: 192.0.2.1\n  ebgpMultiHop: true\n"
            .to_owned(),
        peer_spec("  password: secret\n  passwordSecret:\n    name: bgp-password\n"),
    ] {
        assert_peer_refused_as_the_webhook_refuses(&kubectl, &spec);
    }
}

/// Selector lists of each kind, with one bad match expression each: an unknown operator,
/// In without values, Exists with values.
const BAD_SELECTORS: [&str; 3] = [
    "    - matchExpressions:\n        - {key: zone, operator: Equals, values: [a]}\n",
    "    - matchExpressions:\n        - {key: zone, operator: In}\n",
    "    - matchExpressions:\n        - {key: zone, operator: Exists, values: [a, b]}\n",
];

#[test]
fn malformed_selectors_are_refused_in_every_kind_that_has_them() {
    let kubectl = kubectl();
    for selector in BAD_SELECTORS {
        assert_peer_refused_as_the_webhook_refuses(
            &kubectl,
            &peer_spec(&format!("  nodeSelectors:\n{selector}")),
        );

        assert_refused_as_the_webhook_refuses(
            &kubectl,
            "IPAddressPool",
            "v1beta1",
            "selective",
            &format!(
                "  addresses: [192.0.2.0/24]\n  serviceAllocation:\n    serviceSelectors:\n{}",
                indent(selector)
            ),
            validate::pool::validate,
        );

        for field in [
            "nodeSelectors",
            "ipAddressPoolSelectors",
            "serviceSelectors",
        ] {
            let spec = format!("  {field}:\n{selector}");
            assert_refused_as_the_webhook_refuses(
                &kubectl,
                "L2Advertisement",
                "v1beta1",
                "l2",
                &spec,
                validate::advertisement::validate_l2,
            );
            assert_refused_as_the_webhook_refuses(
                &kubectl,
                "BGPAdvertisement",
                "v1beta1",
                "bgp",
                &spec,
                validate::advertisement::validate_bgp,
            );
        }
    }
    let preferred = "  preferredNodeSelectors:\n    - weight: 10\n      preference:\n        matchExpressions:\n          - {key: zone, operator: NotIn}\n";
    assert_refused_as_the_webhook_refuses(
        &kubectl,
        "L2Advertisement",
        "v1beta1",
        "preferring",
        preferred,
        validate::advertisement::validate_l2,
    );
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[test]
fn bgpadvertisement_lengths_and_community_values_are_refused_in_the_webhook_words() {
    let kubectl = kubectl();
    for spec in [
        "  aggregationLength: 33\n",
        "  aggregationLengthV6: 129\n",
        "  aggregationLength: 24\n  serviceSelectors:\n    - matchLabels: {app: web}\n",
        "  communities: [\"65536:1\", \"large:1:2\", \"1:2:3\", \"large:1:2:4294967296\", \"x:1\"]\n",
    ] {
        assert_refused_as_the_webhook_refuses(
            &kubectl,
            "BGPAdvertisement",
            "v1beta1",
            "bgp",
            spec,
            validate::advertisement::validate_bgp,
        );
    }
}

#[test]
fn community_aliases_are_refused_in_the_webhook_words() {
    let kubectl = kubectl();
    for spec in [
        "  communities:\n    - {name: \"1:2\", value: \"1:2\"}\n",
        "  communities:\n    - {name: ok, value: \"1:2\"}\n    - {value: \"1:3\"}\n",
        "  communities:\n    - {name: big, value: \"65536:1\"}\n",
        "  communities:\n    - {name: twice, value: \"1:1\"}\n    - {name: twice, value: \"1:2\"}\n",
    ] {
        assert_refused_as_the_webhook_refuses(
            &kubectl,
            "Community",
            "v1beta1",
            "aliases",
            spec,
            validate::community::validate,
        );
    }
}

#[test]
fn bfd_timers_out_of_range_are_refused_in_the_webhook_words() {
    let kubectl = kubectl();
    let (yaml, expected) = webhook_refusal(
        "BFDProfile",
        "v1beta1",
        "fast",
        "  receiveInterval: 5\n  transmitInterval: 70000\n  detectMultiplier: 1\n  minimumTtl: 255\n",
        validate::bfdprofile::validate,
    );
    assert_eq!(expected.len(), 4);
    assert_refused_with(&kubectl, &yaml, &expected);
}

#[test]
fn the_deprecated_bgppeer_version_is_held_to_the_rules_of_its_fields() {
    let kubectl = kubectl();
    let yaml = yaml_of(
        "BGPPeer",
        "v1beta1",
        "old",
        "  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n  holdTime: 1s\n  keepaliveTime: 2m\n",
    );
    assert_refused_with(
        &kubectl,
        &yaml,
        &[
            "holdTime 1s is invalid: it must be 0 or at least 3s".to_owned(),
            "keepaliveTime 120s is greater than holdTime 1s".to_owned(),
        ],
    );
    let good = yaml_of(
        "BGPPeer",
        "v1beta1",
        "old",
        "  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n  holdTime: 90s\n  nodeSelectors:\n    - matchExpressions:\n        - {key: kubernetes.io/hostname, operator: In, values: [node-a]}\n",
    );
    assert_admitted(&kubectl, &good);
}

/// MetalLB's documented examples of every kind, in documentation addresses, and the files of
/// `examples/`: all admitted with no webhook, and the webhook (on a cluster holding nothing
/// else) denies none of the former.
#[test]
fn metallb_style_examples_of_every_kind_are_admitted() {
    let kubectl = kubectl();
    let examples = [
        (
            "IPAddressPool",
            "  addresses:\n    - 192.0.2.0/24\n    - 198.51.100.10-198.51.100.20\n    - 2001:db8:cafe::/64\n  autoAssign: false\n  avoidBuggyIPs: true\n  serviceAllocation:\n    priority: 50\n    namespaces: [tenant-a]\n    namespaceSelectors:\n      - matchLabels: {foo: bar}\n    serviceSelectors:\n      - matchExpressions:\n          - {key: serviceType, operator: In, values: [database]}\n",
        ),
        (
            "L2Advertisement",
            "  ipAddressPools: [first-pool]\n  nodeSelectors:\n    - matchLabels: {kubernetes.io/hostname: node-a}\n  interfaces: [eth0]\n  preferredNodeSelectors:\n    - weight: 50\n      preference:\n        matchExpressions:\n          - {key: zone, operator: Exists}\n",
        ),
        (
            "BGPAdvertisement",
            "  ipAddressPools: [first-pool]\n  aggregationLength: 32\n  aggregationLengthV6: 128\n  localPref: 100\n  communities: [\"65535:65282\", \"large:65000:1:2\", no-advertise]\n  peers: [peer-a]\n  nodeSelectors:\n    - matchLabels: {kubernetes.io/hostname: node-a}\n",
        ),
        (
            "BGPPeer",
            "  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1\n  sourceAddress: 192.0.2.10\n  peerPort: 179\n  holdTime: 90s\n  keepaliveTime: 30s\n  connectTime: 10s\n  routerID: 192.0.2.10\n  ebgpMultiHop: true\n  bfdProfile: full\n  nodeSelectors:\n    - matchExpressions:\n        - {key: kubernetes.io/hostname, operator: In, values: [node-a, node-b]}\n",
        ),
        (
            "Community",
            "  communities:\n    - {name: no-advertise, value: \"65535:65282\"}\n    - {name: big, value: \"large:65000:1:2\"}\n",
        ),
        (
            "BFDProfile",
            "  receiveInterval: 380\n  transmitInterval: 270\n  detectMultiplier: 37\n  echoInterval: 62\n  echoMode: true\n  passiveMode: true\n  minimumTtl: 254\n",
        ),
    ];
    for (kind, spec) in examples {
        let version = if kind == "BGPPeer" {
            "v1beta2"
        } else {
            "v1beta1"
        };
        let yaml = yaml_of(kind, version, "example", spec);
        let verdict = match kind {
            "IPAddressPool" => {
                validate::pool::validate(&serde_yaml::from_str(&yaml).unwrap(), &cluster())
            }
            "L2Advertisement" => validate::advertisement::validate_l2(
                &serde_yaml::from_str(&yaml).unwrap(),
                &cluster(),
            ),
            "BGPAdvertisement" => validate::advertisement::validate_bgp(
                &serde_yaml::from_str(&yaml).unwrap(),
                &cluster(),
            ),
            "BGPPeer" => {
                validate::peer::validate(&serde_yaml::from_str(&yaml).unwrap(), &cluster())
            }
            "Community" => {
                validate::community::validate(&serde_yaml::from_str(&yaml).unwrap(), &cluster())
            }
            _ => validate::bfdprofile::validate(&serde_yaml::from_str(&yaml).unwrap(), &cluster()),
        };
        assert!(
            verdict.allowed(),
            "the webhook denies the {kind} example: {verdict:?}"
        );
        assert_admitted(&kubectl, &yaml);
    }
    let examples = ferrolb_tests::repo_root().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no example in {}", examples.display());
    for file in files {
        let out = kubectl
            .run(
                &["apply", "--dry-run=server", "-f", &file.to_string_lossy()],
                None,
            )
            .unwrap();
        assert!(out.success, "{}: {}", file.display(), out.stderr);
    }
}

/// While ferrolb installs, the CRDs exist before the webhook is registered and ready; this
/// suite never registers one, so it is that moment. (Once registered, the webhook's
/// failurePolicy is Fail for the metallb.io kinds, so a stopped webhook refuses good objects
/// too; a webhook that was never registered refuses nothing.) The API server alone refuses a
/// malformed pool, and stores a good one.
#[test]
fn with_no_webhook_registered_a_malformed_pool_is_refused_and_a_good_one_stored() {
    let kubectl = kubectl();
    let configurations = kubectl
        .ok(
            &["get", "validatingwebhookconfigurations", "-o", "name"],
            None,
        )
        .unwrap();
    assert_eq!(configurations.trim(), "", "no webhook is registered");
    let bad = kubectl
        .run(
            &["apply", "-f", "-"],
            Some(&pool_yaml("installing", &["192.0.2.0/33"])),
        )
        .unwrap();
    assert!(!bad.success);
    assert!(
        bad.stderr
            .contains(r#"address "192.0.2.0/33" is invalid: prefix length 33 exceeds 32"#),
        "{}",
        bad.stderr
    );
    let good = kubectl
        .run(
            &["apply", "-f", "-"],
            Some(&pool_yaml("installing", &["192.0.2.0/24"])),
        )
        .unwrap();
    assert!(good.success, "{}", good.stderr);
    let stored = kubectl
        .ok(
            &[
                "get",
                "ipaddresspool",
                "-n",
                NS,
                "installing",
                "-o",
                "jsonpath={.spec.addresses[0]}",
            ],
            None,
        )
        .unwrap();
    assert_eq!(stored, "192.0.2.0/24");
}
