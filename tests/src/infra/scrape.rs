//! Scraping a component's `/metrics` as Prometheus does: over HTTPS (the certificate is not
//! verified, as a ServiceMonitor with `insecureSkipVerify` does not), with the bearer token of
//! a ServiceAccount, which [`scraper_token`] creates with or without RBAC's `get` on the
//! non-resource URL `/metrics`.

use std::process::Command;

use crate::Kubectl;

/// The ClusterRole allowed scrapers are bound to.
const READER_ROLE: &str = "ferrolb-test-metrics-reader";

/// A token of ServiceAccount `namespace/name`, created if missing, bound to a role allowing
/// `get /metrics` when `allowed`.
pub fn scraper_token(kubectl: &Kubectl, namespace: &str, name: &str, allowed: bool) -> String {
    let mut yaml = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
    );
    if allowed {
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {READER_ROLE}}}\nrules:\n- nonResourceURLs: [/metrics]\n  verbs: [get]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {READER_ROLE}-{namespace}-{name}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {READER_ROLE}}}\nsubjects:\n- {{kind: ServiceAccount, name: {name}, namespace: {namespace}}}\n"
        ));
    }
    kubectl
        .ok(&["apply", "-f", "-"], Some(&yaml))
        .unwrap_or_else(|e| panic!("cannot create the scraper {namespace}/{name}: {e}"));
    kubectl
        .ok(&["create", "token", name, "-n", namespace], None)
        .unwrap_or_else(|e| panic!("cannot get a token of {namespace}/{name}: {e}"))
        .trim()
        .to_string()
}

/// `GET https://address/metrics` with `token`, if any: the HTTP status (0 when no answer came)
/// and the body.
pub fn scrape(address: &str, token: Option<&str>) -> (u16, String) {
    let url = format!("https://{address}/metrics");
    let mut curl = Command::new("curl");
    curl.args(["-sk", "--max-time", "5", "-w", "\n%{http_code}", &url]);
    if let Some(token) = token {
        curl.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let out = curl.output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}
