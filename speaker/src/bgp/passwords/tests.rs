use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use ferrolb_bgp::PeerAs;

fn key() -> SecretKey {
    ("metallb-system".into(), "router-a".into())
}

fn cache_with(password: &str, at: Instant) -> PasswordCache {
    let mut cache = PasswordCache::default();
    cache.record(
        "router-a",
        &key(),
        SecretRead::Password(password.into()),
        at,
    );
    cache
}

#[test]
fn a_failed_read_keeps_the_last_password_read() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    let later = start + REFRESH;
    assert!(cache.due(&key(), later));
    cache.record(
        "router-a",
        &key(),
        SecretRead::Failed("could not be read within 2s".into()),
        later,
    );
    let resolved = cache.get(&key()).unwrap();
    assert_eq!(resolved.password, Ok("s3cret".into()));
    let warning = resolved.warning.unwrap();
    assert!(warning.contains("\"metallb-system/router-a\""), "{warning}");
    assert!(warning.contains("could not be read within 2s"), "{warning}");
}

#[test]
fn a_failed_read_is_retried_after_the_refresh_period_not_at_once() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    let later = start + REFRESH;
    cache.record(
        "router-a",
        &key(),
        SecretRead::Failed("timeout".into()),
        later,
    );
    assert!(!cache.due(&key(), later + Duration::from_secs(1)));
    assert!(cache.due(&key(), later + REFRESH));
}

#[test]
fn a_read_after_the_outage_clears_the_warning() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    cache.record(
        "router-a",
        &key(),
        SecretRead::Failed("timeout".into()),
        start + REFRESH,
    );
    cache.record(
        "router-a",
        &key(),
        SecretRead::Password("s3cret".into()),
        start + REFRESH * 2,
    );
    assert_eq!(
        cache.get(&key()).unwrap(),
        Resolved {
            password: Ok("s3cret".into()),
            warning: None
        }
    );
}

#[test]
fn a_deleted_secret_makes_the_session_unusable() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    cache.record("router-a", &key(), SecretRead::Gone, start + REFRESH);
    let error = cache.get(&key()).unwrap().password.unwrap_err();
    assert_eq!(
        error,
        "BGPPeer \"router-a\": passwordSecret \"metallb-system/router-a\" does not exist"
    );
}

#[test]
fn a_changed_secret_changes_the_password() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    cache.record(
        "router-a",
        &key(),
        SecretRead::Password("n3w".into()),
        start + REFRESH,
    );
    assert_eq!(cache.get(&key()).unwrap().password, Ok("n3w".into()));
}

#[test]
fn a_secret_changed_to_hold_no_password_makes_the_session_unusable() {
    let start = Instant::now();
    let mut cache = cache_with("s3cret", start);
    cache.record(
        "router-a",
        &key(),
        SecretRead::Unusable("has no \"password\" key".into()),
        start + REFRESH,
    );
    let error = cache.get(&key()).unwrap().password.unwrap_err();
    assert!(error.contains("has no \"password\" key"), "{error}");
}

#[test]
fn a_secret_never_read_successfully_gives_no_session() {
    let mut cache = PasswordCache::default();
    cache.record(
        "router-a",
        &key(),
        SecretRead::Failed("timeout".into()),
        Instant::now(),
    );
    let error = cache.get(&key()).unwrap().password.unwrap_err();
    assert!(error.contains("timeout"), "{error}");
}

/// A reader answering from a script, one answer per read.
struct Script(Mutex<VecDeque<SecretRead>>);

impl SecretReader for &Script {
    async fn read(&self, _namespace: &str, _name: &str) -> SecretRead {
        self.0
            .lock()
            .unwrap()
            .pop_front()
            .expect("an unexpected read")
    }
}

fn peer() -> PeerSession {
    PeerSession {
        name: "router-a".into(),
        address: "192.0.2.1".parse().unwrap(),
        port: 179,
        source: None,
        local_as: 64512,
        peer_as: PeerAs::Fixed(64513),
        router_id: None,
        hold_time: Duration::from_secs(90),
        keepalive_time: None,
        connect_time: Duration::from_secs(5),
        ebgp_multihop: false,
        password: Password::Secret {
            namespace: String::new(),
            name: "router-a".into(),
        },
        graceful_restart: false,
        families: vec![],
    }
}

#[tokio::test]
async fn a_session_keeps_its_password_through_an_unreachable_api_server() {
    let script = Script(Mutex::new(
        [
            SecretRead::Password("s3cret".into()),
            SecretRead::Failed("could not be read within 2s".into()),
        ]
        .into(),
    ));
    let mut passwords = Passwords::new(&script, "metallb-system");
    let first = passwords.resolve(&peer()).await;
    assert_eq!(first.password, Ok(Some("s3cret".into())));
    // Resolutions within the refresh period read nothing (the script would run dry).
    assert_eq!(passwords.resolve(&peer()).await, first);
    passwords.cache.known.get_mut(&key()).unwrap().read_at -= REFRESH;
    let during_outage = passwords.resolve(&peer()).await;
    assert_eq!(during_outage.password, Ok(Some("s3cret".into())));
    assert!(during_outage.warning.is_some());
}
