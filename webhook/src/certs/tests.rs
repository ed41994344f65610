//! Certificate plans and renewals at chosen moments: fresh, late in life, renamed, rotated.

use super::*;

fn names() -> Names {
    Names::for_service(
        "ferrolb-webhook",
        "metallb-system",
        vec!["127.0.0.1".parse().unwrap()],
    )
}

const DAY: Duration = Duration::from_secs(24 * 3600);

fn lifetimes() -> Lifetimes {
    Lifetimes {
        ca: 30 * DAY,
        serving: 3 * DAY,
    }
}

#[test]
fn a_new_bundle_names_the_service_and_ip_and_is_kept_until_two_thirds_of_its_life() {
    let now = SystemTime::now();
    let bundle = renew(None, &Plan::RenewCa, &names(), lifetimes(), now).unwrap();
    let serving = parse_first(&bundle.cert, TLS_CERT_KEY).unwrap();
    assert_eq!(serving.names, names());
    assert_eq!(
        serving.names.dns[2], "ferrolb-webhook.metallb-system.svc",
        "the name the API server dials"
    );
    let Plan::Keep { renew_at } = plan(&bundle, &names(), lifetimes(), now) else {
        panic!("a fresh bundle must be kept");
    };
    let remaining = renew_at.duration_since(now).unwrap();
    assert!(remaining > DAY && remaining < 2 * DAY, "{remaining:?}");
}

#[test]
fn the_serving_certificate_is_renewed_under_the_same_ca_late_in_its_life() {
    let now = SystemTime::now();
    let bundle = renew(None, &Plan::RenewCa, &names(), lifetimes(), now).unwrap();
    let later = now + 2 * DAY + DAY / 2;
    assert_eq!(
        plan(&bundle, &names(), lifetimes(), later),
        Plan::RenewServing
    );
    let next = renew(
        Some(&bundle),
        &Plan::RenewServing,
        &names(),
        lifetimes(),
        later,
    )
    .unwrap();
    assert_eq!(next.ca_cert, bundle.ca_cert);
    assert_ne!(next.cert, bundle.cert);
    assert!(matches!(
        plan(&next, &names(), lifetimes(), later),
        Plan::Keep { .. }
    ));
}

#[test]
fn changed_names_reissue_the_serving_certificate() {
    let now = SystemTime::now();
    let bundle = renew(None, &Plan::RenewCa, &names(), lifetimes(), now).unwrap();
    let other = Names::for_service("other", "metallb-system", vec![]);
    assert_eq!(plan(&bundle, &other, lifetimes(), now), Plan::RenewServing);
}

#[test]
fn a_rotated_ca_bundle_keeps_the_previous_ca_until_it_expires() {
    let now = SystemTime::now();
    let bundle = renew(None, &Plan::RenewCa, &names(), lifetimes(), now).unwrap();
    let later = now + 21 * DAY;
    assert_eq!(plan(&bundle, &names(), lifetimes(), later), Plan::RenewCa);
    let next = renew(Some(&bundle), &Plan::RenewCa, &names(), lifetimes(), later).unwrap();
    assert_eq!(next.ca_cert.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(next.ca_cert.ends_with(&bundle.ca_cert));
    assert!(matches!(
        plan(&next, &names(), lifetimes(), later),
        Plan::Keep { .. }
    ));
}

#[test]
fn a_short_lived_bundle_is_renewed_in_the_future_not_at_once() {
    let now = SystemTime::now();
    let short = Lifetimes {
        ca: Duration::from_secs(30),
        serving: Duration::from_secs(15),
    };
    let bundle = renew(None, &Plan::RenewCa, &names(), short, now).unwrap();
    let Plan::Keep { renew_at } = plan(&bundle, &names(), short, now) else {
        panic!("a fresh short-lived bundle must be kept");
    };
    let wait = renew_at.duration_since(now).unwrap();
    assert!(
        wait > Duration::from_secs(7) && wait < Duration::from_secs(11),
        "{wait:?}"
    );
}

#[test]
fn garbage_in_the_secret_means_a_new_ca() {
    let bundle = Bundle {
        ca_cert: "nonsense".into(),
        ca_key: String::new(),
        cert: String::new(),
        key: String::new(),
    };
    assert_eq!(
        plan(&bundle, &names(), lifetimes(), SystemTime::now()),
        Plan::RenewCa
    );
}

/// A fresh CA and a serving certificate for `localhost` and 127.0.0.1, for the tests of the
/// modules that serve or judge a certificate.
pub(crate) fn localhost_bundle() -> Bundle {
    let names = Names {
        dns: vec!["localhost".into()],
        ips: vec!["127.0.0.1".parse().unwrap()],
    };
    renew(
        None,
        &Plan::RenewCa,
        &names,
        Lifetimes::default(),
        SystemTime::now(),
    )
    .unwrap()
}
