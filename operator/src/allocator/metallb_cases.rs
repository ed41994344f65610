//! MetalLB's allocator expectations (`internal/allocator/allocator_test.go`), as tables of steps
//! run in order against one [`Allocator`], as MetalLB runs them: each step names MetalLB's row,
//! what the Service asks for, and whether MetalLB grants it.
//!
//! MetalLB's `Assign(service, ips)` is a Service asking for those IPs (`demand.ips`), its
//! `Unassign` is [`Allocator::release`], its `Allocate(family)` a Service asking for nothing
//! but a family; its sharing key and backend key are `allow-shared-ip` and the pod selector of
//! an `externalTrafficPolicy: Local` Service. Where MetalLB's `Assign` fails and leaves the
//! old IP in place, its controller clears the Service's IPs right after (`convergeBalancer`),
//! so a refused step leaves the Service without IPs here, and the next steps of MetalLB's
//! table do not depend on the difference. Addresses are MetalLB's rewritten into the
//! documentation ranges.

use std::collections::BTreeMap;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::Family;
use ferrolb_crds::ipaddresspool::{IPAddressPoolSpec, ServiceAllocation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::*;

/// One step of a table.
enum Step {
    /// A Service asks for these IPs; `granted` says whether MetalLB grants them.
    Assign {
        metallb: &'static str,
        service: Service,
        ips: &'static [&'static str],
        granted: bool,
    },
    /// A Service lets its IPs go.
    Unassign { service: &'static str },
    /// A Service asks for an IP of `families` from any pool; when granted, every IP is one of
    /// `within`.
    Allocate {
        metallb: &'static str,
        service: &'static str,
        families: &'static [Family],
        granted: bool,
        within: &'static [&'static str],
    },
}

/// The Service of a step: `namespace/name`, labels, and what it shares.
#[derive(Clone, Copy)]
struct Service {
    key: &'static str,
    labels: &'static [(&'static str, &'static str)],
    sharing_key: Option<&'static str>,
    ports: &'static [(&'static str, i32)],
    /// The pod selector's `app` when externalTrafficPolicy is Local (MetalLB's backend key).
    backend: Option<&'static str>,
}

const fn plain(key: &'static str) -> Service {
    Service {
        key,
        labels: &[],
        sharing_key: None,
        ports: &[("TCP", 8080)],
        backend: None,
    }
}

const fn shared(
    key: &'static str,
    sharing_key: &'static str,
    ports: &'static [(&'static str, i32)],
    backend: &'static str,
) -> Service {
    Service {
        key,
        labels: &[],
        sharing_key: Some(sharing_key),
        ports,
        backend: Some(backend),
    }
}

const fn labelled(key: &'static str, labels: &'static [(&'static str, &'static str)]) -> Service {
    Service {
        key,
        labels,
        sharing_key: None,
        ports: &[("TCP", 8080)],
        backend: None,
    }
}

const fn assign(
    metallb: &'static str,
    service: Service,
    ips: &'static [&'static str],
    granted: bool,
) -> Step {
    Step::Assign {
        metallb,
        service,
        ips,
        granted,
    }
}

fn demand_of(service: &Service, ips: &[&str]) -> Demand {
    let (namespace, _) = service.key.split_once('/').expect("namespace/name");
    let families: Vec<Family> = ips
        .iter()
        .map(|ip| Family::of(ip.parse().unwrap()))
        .collect();
    let dual = families.len() == 2;
    Demand {
        key: service.key.to_owned(),
        namespace: namespace.to_owned(),
        namespace_labels: BTreeMap::new(),
        service_labels: service
            .labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        policy: if dual {
            FamilyPolicy::RequireDualStack
        } else {
            FamilyPolicy::SingleStack
        },
        families: if families.is_empty() {
            vec![Family::V4]
        } else {
            families
        },
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        pool: None,
        sharing: Sharing {
            key: service.sharing_key.map(str::to_owned),
            ports: service
                .ports
                .iter()
                .map(|(protocol, port)| ((*protocol).to_owned(), *port))
                .collect(),
            local_selector: service
                .backend
                .map(|app| [("app".to_owned(), app.to_owned())].into()),
        },
    }
}

fn pool(name: &str, addresses: &[&str], edit: impl FnOnce(&mut IPAddressPoolSpec)) -> Pool {
    let mut spec = IPAddressPoolSpec {
        addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
        ..Default::default()
    };
    edit(&mut spec);
    Pool::from_object(&IPAddressPool::new(name, spec)).unwrap()
}

fn allocation(priority: i32, namespaces: &[&str], labels: &[(&str, &str)]) -> ServiceAllocation {
    ServiceAllocation {
        priority,
        namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect(),
        service_selectors: if labels.is_empty() {
            vec![]
        } else {
            vec![LabelSelector {
                match_labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}

/// TestAssignment's pools: `test` plain, `test2` avoiding .0/.255, `test3` to `test6` with
/// serviceAllocation by namespace, by Service labels, or both.
fn assignment_pools() -> Vec<Pool> {
    let buggy = |s: &mut IPAddressPoolSpec| s.avoid_buggy_ips = true;
    vec![
        pool("test", &["192.0.2.4/31", "2001:db8::4/127"], |_| {}),
        pool("test2", &["198.51.100.0/24", "2001:db8::4:0/120"], buggy),
        pool("test3", &["203.0.113.0/26", "2001:db8::5:0/120"], |s| {
            buggy(s);
            s.service_allocation = Some(allocation(0, &["test-ns1"], &[]));
        }),
        pool("test4", &["203.0.113.64/26", "2001:db8::6:0/120"], |s| {
            buggy(s);
            s.service_allocation = Some(allocation(0, &[], &[("team", "metallb")]));
        }),
        pool("test5", &["203.0.113.128/26", "2001:db8::7:0/120"], |s| {
            buggy(s);
            s.service_allocation = Some(allocation(20, &["test-ns1"], &[("team", "metallb")]));
        }),
        pool("test6", &["203.0.113.192/26", "2001:db8::9:0/120"], |s| {
            buggy(s);
            s.service_allocation = Some(allocation(20, &["test-ns2"], &[("foo", "bar")]));
        }),
    ]
}

const TCP80: &[(&str, i32)] = &[("TCP", 80)];
const TCP443: &[(&str, i32)] = &[("TCP", 443)];
const UDP53: &[(&str, i32)] = &[("UDP", 53)];

const ASSIGNMENT: &[Step] = &[
    assign("assign s1", plain("default/s1"), &["192.0.2.4"], true),
    assign(
        "s1 idempotent reassign",
        plain("default/s1"),
        &["192.0.2.4"],
        true,
    ),
    assign(
        "s2 can't grab s1's IP",
        plain("default/s2"),
        &["192.0.2.4"],
        false,
    ),
    assign(
        "s2 can get the other IP",
        plain("default/s2"),
        &["192.0.2.5"],
        true,
    ),
    assign(
        "s1 now can't grab s2's IP",
        plain("default/s1"),
        &["192.0.2.5"],
        false,
    ),
    Step::Unassign {
        service: "default/s1",
    },
    assign(
        "s2 can grab s1's former IP",
        plain("default/s2"),
        &["192.0.2.4"],
        true,
    ),
    assign(
        "s1 can now grab s2's former IP",
        plain("default/s1"),
        &["192.0.2.5"],
        true,
    ),
    assign(
        "s3 cannot grab a 0 buggy IP",
        plain("default/s3"),
        &["198.51.100.0"],
        false,
    ),
    assign(
        "s3 cannot grab a 255 buggy IP",
        plain("default/s3"),
        &["198.51.100.255"],
        false,
    ),
    assign(
        "s3 can grab another IP in that pool",
        plain("default/s3"),
        &["198.51.100.254"],
        true,
    ),
    assign(
        "s4 takes an IP, with sharing",
        shared("default/s4", "sharing", TCP80, "backend"),
        &["198.51.100.3"],
        true,
    ),
    assign(
        "s4 changes its sharing key in place",
        shared("default/s4", "share", TCP80, "backend"),
        &["198.51.100.3"],
        true,
    ),
    assign(
        "s3 can't share with s4 (port conflict)",
        shared("default/s3", "share", TCP80, "backend"),
        &["198.51.100.3"],
        false,
    ),
    assign(
        "s3 can't share with s4 (wrong sharing key)",
        shared("default/s3", "othershare", TCP443, "backend"),
        &["198.51.100.3"],
        false,
    ),
    assign(
        "s3 can't share with s4 (wrong backend key)",
        shared("default/s3", "share", TCP443, "otherbackend"),
        &["198.51.100.3"],
        false,
    ),
    assign(
        "s3 takes the same IP as s4",
        shared("default/s3", "share", TCP443, "backend"),
        &["198.51.100.3"],
        true,
    ),
    assign(
        "s3 can change its ports while keeping the same IP",
        shared("default/s3", "share", UDP53, "backend"),
        &["198.51.100.3"],
        true,
    ),
    assign(
        "s3 can't change its sharing key while keeping the same IP",
        shared("default/s3", "othershare", TCP443, "backend"),
        &["198.51.100.3"],
        false,
    ),
    assign(
        "s3 can't change its backend key while keeping the same IP",
        shared("default/s3", "share", TCP443, "otherbackend"),
        &["198.51.100.3"],
        false,
    ),
    assign(
        "s4 takes s3's former IP",
        plain("default/s4"),
        &["198.51.100.254"],
        true,
    ),
    // MetalLB's "s2 frees its IP", after the IPv6 rows this table leaves out.
    Step::Unassign {
        service: "default/s2",
    },
    assign(
        "ip dual-stack assign s1",
        plain("default/s1"),
        &["192.0.2.4", "2001:db8::4"],
        true,
    ),
    assign(
        "ip dual-stack assign s1 from different pools",
        plain("default/s1"),
        &["198.51.100.5", "2001:db8::4"],
        false,
    ),
    assign(
        "attempt to assign ip from pool pinned on same namespace",
        plain("test-ns1/s1"),
        &["203.0.113.10"],
        true,
    ),
    assign(
        "attempt to assign ip from pool pinned on different namespace",
        plain("testns-not-exist/s1"),
        &["203.0.113.10"],
        false,
    ),
    assign(
        "attempt to assign ip from pool pinned with same service label",
        labelled("testns-not-exist/s1", &[("team", "metallb")]),
        &["203.0.113.74"],
        true,
    ),
    assign(
        "attempt to assign ip from pool pinned with different service label",
        labelled("testns-not-exist/s1", &[("team", "red")]),
        &["203.0.113.74"],
        false,
    ),
    assign(
        "attempt to assign ip from pool pinned with namespace and service label",
        labelled("test-ns1/s1", &[("team", "metallb")]),
        &["203.0.113.138"],
        true,
    ),
    assign(
        "attempt to assign ip from pool pinned with namespace and incompatible service label",
        labelled("test-ns2/s1", &[("team", "metallb")]),
        &["203.0.113.202"],
        false,
    ),
    assign(
        "attempt to assign ip from pool pinned with service label and incompatible namespace",
        labelled("testns-not-exist/s1", &[("foo", "bar")]),
        &["203.0.113.202"],
        false,
    ),
];

const V4: &[Family] = &[Family::V4];
const DUAL: &[Family] = &[Family::V4, Family::V6];
const AUTO_V4: &[&str] = &["192.0.2.10", "192.0.2.11"];
const AUTO_DUAL: &[&str] = &["192.0.2.10", "192.0.2.11", "2001:db8::10", "2001:db8::11"];

const fn allocate(
    metallb: &'static str,
    service: &'static str,
    families: &'static [Family],
    granted: bool,
    within: &'static [&'static str],
) -> Step {
    Step::Allocate {
        metallb,
        service,
        families,
        granted,
        within,
    }
}

/// TestAutoAssign: `test1` (autoAssign false) is never used without being asked for.
const AUTO_ASSIGN: &[Step] = &[
    allocate("IPv4 s1", "default/s1", V4, true, AUTO_V4),
    allocate("IPv4 s2", "default/s2", V4, true, AUTO_V4),
    allocate(
        "IPv4 s3 (only autoAssign pools)",
        "default/s3",
        V4,
        false,
        &[],
    ),
    allocate("IPv4 s4", "default/s4", V4, false, &[]),
    allocate("IPv4 s5", "default/s5", V4, false, &[]),
    Step::Unassign {
        service: "default/s1",
    },
    Step::Unassign {
        service: "default/s2",
    },
    allocate("dual-stack s1", "default/s1", DUAL, true, AUTO_DUAL),
    allocate("dual-stack s2", "default/s2", DUAL, true, AUTO_DUAL),
    allocate("dual-stack s3", "default/s3", DUAL, false, &[]),
    allocate("dual-stack s4", "default/s4", DUAL, false, &[]),
    allocate("dual-stack s5", "default/s5", DUAL, false, &[]),
];

fn auto_assign_pools() -> Vec<Pool> {
    vec![
        pool("test1", &["192.0.2.4/31", "2001:db8::4/127"], |s| {
            s.auto_assign = Some(false)
        }),
        pool("test2", &["192.0.2.10/31", "2001:db8::10/127"], |_| {}),
    ]
}

/// Runs the steps in order; returns the failed ones with why, and the number of MetalLB rows.
fn run(table: &str, pools: Vec<Pool>, steps: &[Step]) -> (Vec<String>, usize) {
    let mut allocator = Allocator::default();
    allocator.set_pools(pools);
    let mut failures = Vec::new();
    let mut rows = 0;
    for step in steps {
        let (metallb, granted, outcome, within): (_, _, _, &[&str]) = match step {
            Step::Unassign { service } => {
                allocator.release(service);
                continue;
            }
            Step::Assign {
                metallb,
                service,
                ips,
                granted,
            } => (
                metallb,
                granted,
                allocator.converge(&demand_of(service, ips), &[]),
                ips,
            ),
            Step::Allocate {
                metallb,
                service,
                families,
                granted,
                within,
            } => {
                let mut demand = demand_of(&plain(service), &[]);
                demand.families = families.to_vec();
                if families.len() == 2 {
                    demand.policy = FamilyPolicy::RequireDualStack;
                }
                (metallb, granted, allocator.converge(&demand, &[]), within)
            }
        };
        rows += 1;
        let got: Result<Vec<String>, String> = outcome
            .map(|c| c.assignment.ips.iter().map(ToString::to_string).collect())
            .map_err(|f| f.refusal.message);
        let wrong = match (granted, &got) {
            (true, Ok(ips)) => ips
                .iter()
                .find(|ip| !within.contains(&ip.as_str()))
                .map(|ip| format!("granted {ip}, not one of {within:?}")),
            (true, Err(why)) => Some(format!("refused: {why}")),
            (false, Ok(ips)) => Some(format!("granted {ips:?}, MetalLB refuses")),
            (false, Err(_)) => None,
        };
        if let Some(wrong) = wrong {
            failures.push(format!("{table}: {metallb}: {wrong}"));
        }
    }
    (failures, rows)
}

#[test]
fn metallb_allocator_tables_grant_and_refuse_as_metallb_does() {
    let (mut failures, assignment_rows) = run("TestAssignment", assignment_pools(), ASSIGNMENT);
    let (auto_failures, auto_rows) = run("TestAutoAssign", auto_assign_pools(), AUTO_ASSIGN);
    failures.extend(auto_failures);
    let rows = assignment_rows + auto_rows;
    eprintln!(
        "MetalLB allocator cases: {rows} ported, {} passing, 0 deliberate differences",
        rows - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
