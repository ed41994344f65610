//! The chart's alerts, judged by Prometheus itself: the PrometheusRule that `helm template`
//! renders into `metallb-system` is handed to `promtool test rules` (Debian's `prometheus`
//! package, installed by `dev/control-plane install`) with the cases in
//! `helm/alert-tests/ferrolb.test.yaml`, series shaped like the operator's and the speakers'
//! real metrics: each alert fires when it should, with its labels and rendered annotations, and
//! stays silent when it should not.

use std::path::Path;
use std::process::Command;

use ferrolb_tests::repo_root;
use serde::Deserialize;

/// The `spec.groups` of the chart's PrometheusRule, as a Prometheus rule file.
fn rendered_rule_file() -> String {
    let out = Command::new(repo_root().join("dev/helm"))
        .current_dir(repo_root())
        .args([
            "template",
            "ferrolb",
            "helm/ferrolb",
            "--namespace",
            "metallb-system",
            "--set",
            "prometheus.prometheusRule.enabled=true",
            "--show-only",
            "templates/monitoring.yaml",
        ])
        .output()
        .expect("dev/helm runs");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm prints UTF-8");
    let rule = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde_yaml::Value::deserialize(doc).expect("helm renders YAML"))
        .find(|doc| doc["kind"] == "PrometheusRule")
        .expect("the chart renders a PrometheusRule when prometheusRule.enabled is set");
    let mut file = serde_yaml::Mapping::new();
    file.insert("groups".into(), rule["spec"]["groups"].clone());
    serde_yaml::to_string(&file).expect("the rule file serializes")
}

fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool cannot run ({e}): `dev/control-plane install` installs Debian's prometheus package, which carries it")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_alert_of_the_chart_fires_when_it_should_and_stays_silent_otherwise() {
    let dir = std::env::temp_dir().join(format!("ferrolb-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.yaml"), rendered_rule_file()).unwrap();
    let cases = repo_root().join("helm/alert-tests/ferrolb.test.yaml");
    std::fs::copy(&cases, dir.join("ferrolb.test.yaml")).unwrap();

    let (checked, check_output) = promtool(&dir, &["check", "rules", "rules.yaml"]);
    let (passed, test_output) = promtool(&dir, &["test", "rules", "ferrolb.test.yaml"]);
    let tested: Vec<String> = std::fs::read_to_string(&cases)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("alertname: "))
        .map(str::to_string)
        .collect();
    let rules = std::fs::read_to_string(dir.join("rules.yaml")).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert!(
        checked,
        "promtool check rules refused the chart's rules:\n{check_output}"
    );
    assert!(passed, "promtool test rules failed:\n{test_output}");
    let untested: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .filter(|alert| !tested.iter().any(|t| t == alert))
        .collect();
    assert!(
        untested.is_empty(),
        "alerts without a case in helm/alert-tests/ferrolb.test.yaml: {untested:?}"
    );
}
