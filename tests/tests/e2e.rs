//! What a user of ferrolb sees, on whichever cluster [`ClusterUnderTest::acquire`] gives: the local
//! control plane (with the operator as a process), or, in CI, a kind cluster with ferrolb
//! installed from its Helm chart (`FERROLB_E2E_KUBECONFIG`). Names are unique per run, and
//! every test removes what it created.

use ferrolb_tests::Kubectl;
use ferrolb_tests::wait::until;
use ferrolb_tests::worlds::e2e::cluster_under_test::ClusterUnderTest;

fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or_default();
    format!("{prefix}-{n}")
}

fn jsonpath(kubectl: &Kubectl, args: &[&str], path: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let expr = format!("jsonpath={path}");
    all.extend(["-o", &expr]);
    kubectl
        .run(&all, None)
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// Deletes what a test created, even when it fails.
struct Cleanup<'a>(&'a Kubectl, Vec<Vec<String>>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for args in self.1.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = self.0.run(&args, None);
        }
    }
}

fn pool_yaml(name: &str, addresses: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n  addresses: [{addresses}]\n  autoAssign: false\n"
    )
}

fn service_yaml(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{{annotations}}}\nspec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\n"
    )
}

#[test]
fn a_service_gets_an_ip_from_the_pool_it_names_and_frees_it_when_deleted() {
    let cluster = ClusterUnderTest::acquire().unwrap();
    let kubectl = cluster.kubectl();
    let pool = unique("e2e-pool");
    let svc = unique("e2e-svc");
    let _cleanup = Cleanup(
        &kubectl,
        vec![
            vec![
                "delete".into(),
                "ipaddresspool".into(),
                pool.clone(),
                "-n".into(),
                "metallb-system".into(),
            ],
            vec![
                "delete".into(),
                "service".into(),
                svc.clone(),
                "--ignore-not-found".into(),
            ],
        ],
    );
    kubectl
        .ok(
            &["apply", "-f", "-"],
            Some(&pool_yaml(&pool, "203.0.113.240/29")),
        )
        .unwrap();
    kubectl
        .ok(
            &["apply", "-f", "-"],
            Some(&service_yaml(
                &svc,
                &format!("metallb.io/address-pool: {pool}"),
            )),
        )
        .unwrap();
    let ip = until("an IP in the Service's status", || {
        let ip = jsonpath(
            &kubectl,
            &["service", &svc],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    assert_eq!(ip, "203.0.113.240");
    until("the pool annotation and the condition", || {
        let pool_annotation = jsonpath(
            &kubectl,
            &["service", &svc],
            "{.metadata.annotations.metallb\\.io/ip-allocated-from-pool}",
        );
        let condition = jsonpath(
            &kubectl,
            &["service", &svc],
            "{.status.conditions[?(@.type==\"metallb.io/IPAllocated\")].status}",
        );
        (pool_annotation == pool && condition == "True")
            .then_some(())
            .map(|_| String::new())
    });
    let assigned = || {
        jsonpath(
            &kubectl,
            &["ipaddresspool", &pool, "-n", "metallb-system"],
            "{.status.assignedIPv4}/{.status.availableIPv4}",
        )
    };
    until("pool status 1/7", || {
        (assigned() == "1/7").then(String::new)
    });
    kubectl.ok(&["delete", "service", &svc], None).unwrap();
    until("pool status 0/8", || {
        (assigned() == "0/8").then(String::new)
    });
}

#[test]
fn a_service_asking_for_an_ip_outside_every_pool_is_told_why() {
    let cluster = ClusterUnderTest::acquire().unwrap();
    let kubectl = cluster.kubectl();
    let svc = unique("e2e-outside");
    let _cleanup = Cleanup(
        &kubectl,
        vec![vec![
            "delete".into(),
            "service".into(),
            svc.clone(),
            "--ignore-not-found".into(),
        ]],
    );
    let applied = kubectl
        .run(
            &["apply", "-f", "-"],
            Some(&service_yaml(
                &svc,
                r#"metallb.io/loadBalancerIPs: "198.51.100.251""#,
            )),
        )
        .unwrap();
    if cluster.has_webhook() {
        // Refused at admission, naming the address.
        assert!(
            !applied.success,
            "the webhook admitted a Service asking for an IP in no pool"
        );
        assert!(
            applied.stderr.contains("198.51.100.251"),
            "{}",
            applied.stderr
        );
    } else {
        assert!(applied.success, "{}", applied.stderr);
        let message = until("the condition", || {
            let m = jsonpath(
                &kubectl,
                &["service", &svc],
                "{.status.conditions[?(@.reason==\"NotInAnyPool\")].message}",
            );
            (!m.is_empty()).then_some(m)
        });
        assert_eq!(
            message,
            "requested IP 198.51.100.251 is not in any IPAddressPool"
        );
    }
}
