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
        bfd_profile: None,
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

fn basic_auth(password: &str) -> Secret {
    Secret {
        type_: Some("kubernetes.io/basic-auth".into()),
        data: Some(
            [(
                "password".to_owned(),
                k8s_openapi::ByteString(password.as_bytes().to_vec()),
            )]
            .into(),
        ),
        ..Default::default()
    }
}

#[test]
fn a_secret_with_a_password_longer_than_the_kernel_takes_is_unusable() {
    assert_eq!(
        password_of(&basic_auth(&"k".repeat(80))),
        SecretRead::Password("k".repeat(80))
    );
    assert_eq!(
        password_of(&basic_auth(&"k".repeat(95))),
        SecretRead::Unusable(
            "holds a password that is 95 bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most 80 bytes; no session is opened".into()
        )
    );
}

#[tokio::test]
async fn a_secret_password_too_long_names_the_peer_the_secret_and_the_length_and_is_not_read_again_at_once()
 {
    let script = Script(Mutex::new(
        [password_of(&basic_auth(&"k".repeat(81)))].into(),
    ));
    let mut passwords = Passwords::new(&script, "metallb-system");
    let resolved = passwords.resolve(&peer()).await;
    assert_eq!(
        resolved.password,
        Err("BGPPeer \"router-a\": passwordSecret \"metallb-system/router-a\" holds a password that is 81 bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most 80 bytes; no session is opened".into())
    );
    // Planning again within the refresh period reads nothing (the script would run dry).
    assert_eq!(passwords.resolve(&peer()).await, resolved);
}

#[tokio::test]
async fn an_inline_password_too_long_gives_no_session_and_names_the_length() {
    let script = Script(Mutex::new(VecDeque::new()));
    let mut passwords = Passwords::new(&script, "metallb-system");
    let long = PeerSession {
        password: Password::Inline("é".repeat(41)),
        ..peer()
    };
    assert_eq!(
        passwords.resolve(&long).await.password,
        Err("BGPPeer \"router-a\": password is 82 bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most 80 bytes; no session is opened".into())
    );
    let fits = PeerSession {
        password: Password::Inline("k".repeat(80)),
        ..peer()
    };
    assert_eq!(
        passwords.resolve(&fits).await.password,
        Ok(Some("k".repeat(80)))
    );
}

mod api_secrets {
    use http::{Method, StatusCode};
    use serde_json::json;

    use super::*;
    use crate::fake_api::{self, failure};

    fn secrets(client: Client) -> ApiSecrets {
        ApiSecrets {
            client,
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn a_basic_auth_secret_is_read_with_one_get_and_gives_its_password() {
        let (client, seen) = fake_api::client(|_| {
            (
                StatusCode::OK,
                json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "router-a", "namespace": "metallb-system"},
                    "type": "kubernetes.io/basic-auth",
                    "data": {"password": "czNjcmV0"},
                }),
            )
        });
        let read = secrets(client).read("metallb-system", "router-a").await;
        assert_eq!(read, SecretRead::Password("s3cret".into()));
        let requests = seen.all();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, Method::GET);
        assert_eq!(
            requests[0].path,
            "/api/v1/namespaces/metallb-system/secrets/router-a"
        );
    }

    #[tokio::test]
    async fn a_missing_secret_is_gone() {
        let (client, _) = fake_api::client(|_| failure(StatusCode::NOT_FOUND, "NotFound"));
        let read = secrets(client).read("metallb-system", "router-a").await;
        assert_eq!(read, SecretRead::Gone);
    }

    #[tokio::test]
    async fn a_server_error_is_a_failed_read_that_keeps_the_last_password() {
        let (client, _) =
            fake_api::client(|_| failure(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"));
        let read = secrets(client).read("metallb-system", "router-a").await;
        let SecretRead::Failed(why) = &read else {
            panic!("expected a failed read, got {read:?}");
        };
        assert!(why.contains("could not be read"), "{why}");
        let mut cache = cache_with("s3cret", Instant::now());
        cache.record("router-a", &key(), read, Instant::now() + REFRESH);
        assert_eq!(cache.get(&key()).unwrap().password, Ok("s3cret".into()));
    }
}
