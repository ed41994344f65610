//! The webhook's admission benchmark: latency of the webhook over TLS on loopback, with many
//! existing pools in the snapshot. Starts the real router and TLS server in-process with a
//! generated certificate, then sends AdmissionReviews at a fixed rate (open loop: requests
//! are dispatched on a fixed schedule whatever the answers' pace) over a few keep-alive
//! connections, as the API server does, and prints p50/p99/max of the time from sending a
//! request to reading its whole answer, and how far sends lagged behind the schedule.
//!
//!     cargo bench -p ferrolb-webhook --bench admission -- [--pools 1000] [--rate 200] [--seconds 30]
//!
//! The pools are IPv6 /64s of the documentation prefix 2001:db8::/32, one per pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use ferrolb_crds::IPAddressPool;
use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;
use ferrolb_webhook::admission::{self, Kind};
use ferrolb_webhook::certs::{self, Bundle, Lifetimes, Names, Plan};
use ferrolb_webhook::server::{self, Shared};
use ferrolb_webhook::snapshot::Cluster;
use ferrolb_webhook::tls::{self, ServingCertificate};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::sync::{Mutex, mpsc, watch};

const NS: &str = "metallb-system";
const CONNECTIONS: usize = 4;

struct Options {
    pools: usize,
    rate: u32,
    seconds: u64,
}

fn options() -> Options {
    let mut o = Options {
        pools: 1000,
        rate: 200,
        seconds: 30,
    };
    // `cargo bench` adds `--bench` to a benchmark's arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--pools" => o.pools = value.parse().expect("--pools takes a number"),
            "--rate" => o.rate = value.parse().expect("--rate takes a number"),
            "--seconds" => o.seconds = value.parse().expect("--seconds takes a number"),
            other => panic!("unknown flag {other}; flags: --pools N --rate PER_SECOND --seconds N"),
        }
    }
    assert!(
        o.pools < 0xffff,
        "--pools must stay below 65535: one /64 of 2001:db8::/32 each, 2001:db8:ffff::/64 left for the new pool"
    );
    o
}

/// `count` pools of one /64 each in 2001:db8::/32, in the order a user might have created them.
fn existing_pools(count: usize) -> Vec<Arc<IPAddressPool>> {
    (0..count)
        .map(|i| {
            let mut pool = IPAddressPool::new(
                &format!("pool-{i}"),
                IPAddressPoolSpec {
                    addresses: vec![format!("2001:db8:{i:x}::/64")],
                    ..Default::default()
                },
            );
            pool.metadata.namespace = Some(NS.into());
            Arc::new(pool)
        })
        .collect()
}

/// The requests sent in turn: a new pool (admitted after an overlap search), a pool
/// overlapping an existing one (denied), and a Service asking for an IP (pool lookup).
fn requests(pools: usize) -> Vec<(Kind, Vec<u8>)> {
    let review = |kind: &str, group: &str, version: &str, object: serde_json::Value| {
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "bench", "name": object["metadata"]["name"], "namespace": object["metadata"]["namespace"],
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": "x"},
                "operation": "CREATE", "userInfo": {"username": "bench"}, "object": object
            }
        }))
        .expect("a review serializes")
    };
    let pool = |name: &str, cidr: &str| {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
               "metadata": {"name": name, "namespace": NS}, "spec": {"addresses": [cidr]}})
    };
    let middle = format!("2001:db8:{:x}::", pools / 2);
    let service = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop",
                     "annotations": {"metallb.io/loadBalancerIPs": format!("{middle}7")}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
    vec![
        (
            Kind::IPAddressPool,
            review(
                "IPAddressPool",
                "metallb.io",
                "v1beta1",
                pool("new", "2001:db8:ffff::/64"),
            ),
        ),
        (
            Kind::IPAddressPool,
            review(
                "IPAddressPool",
                "metallb.io",
                "v1beta1",
                pool("clash", &format!("{middle}/65")),
            ),
        ),
        (Kind::Service, review("Service", "", "v1", service)),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    println!(
        "{what}: n={} p50={:.3}ms p99={:.3}ms max={:.3}ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        percentile(&samples, 99.0).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

/// One answered request: which of [`requests`] it was, the time from sending it to reading
/// its whole answer, how far its send lagged behind the schedule, and whether it succeeded.
struct Sample {
    which: usize,
    latency: Duration,
    lag: Duration,
    ok: bool,
}

#[tokio::main]
async fn main() {
    let o = options();
    let (bundle, certificate) = serving_certificate();
    let cluster = indexed_cluster(o.pools);
    let bodies = requests(o.pools);
    measure_validation(&bodies, &cluster);
    let address = start_webhook(cluster, certificate).await;
    let connector = tls_connector(&bundle);

    let (jobs_tx, jobs_rx) = mpsc::channel::<(Instant, usize)>(10_000);
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let (samples_tx, samples_rx) = mpsc::unbounded_channel::<Sample>();
    for _ in 0..CONNECTIONS {
        let sender = connect(&connector, address).await;
        tokio::spawn(send_requests(
            sender,
            jobs_rx.clone(),
            samples_tx.clone(),
            bodies.clone(),
        ));
    }
    drop(samples_tx);

    println!(
        "sending {} requests at {}/s over {CONNECTIONS} TLS connections to {address}",
        u64::from(o.rate) * o.seconds,
        o.rate
    );
    let start = Instant::now();
    dispatch_on_schedule(&o, start, jobs_tx).await;
    report_over_tls(start, samples_rx, bodies.len()).await;
}

/// A CA and a serving certificate for localhost and 127.0.0.1, the latter loaded as the
/// webhook serves it.
fn serving_certificate() -> (Bundle, Arc<ServingCertificate>) {
    let names = Names {
        dns: vec!["localhost".into()],
        ips: vec!["127.0.0.1".parse().expect("an IP")],
    };
    let bundle = certs::renew(
        None,
        &Plan::RenewCa,
        &names,
        Lifetimes::default(),
        SystemTime::now(),
    )
    .expect("certificates generate");
    let certificate = Arc::new(ServingCertificate::default());
    certificate
        .load(&bundle.cert, &bundle.key, "the benchmark bundle")
        .expect("the certificate loads");
    (bundle, certificate)
}

/// The snapshot of `pools` existing pools, printing how long indexing them took.
fn indexed_cluster(pools: usize) -> Arc<Cluster> {
    let build = Instant::now();
    let cluster = Arc::new(Cluster::empty(NS).with_pools(existing_pools(pools)));
    println!(
        "indexed {} pools in {:.1}ms",
        cluster.pools.len(),
        build.elapsed().as_secs_f64() * 1e3
    );
    cluster
}

/// Validation alone, without HTTP or TLS, for comparison; first, each request gets the
/// answer it is meant to, so the figures measure the real work.
fn measure_validation(bodies: &[(Kind, Vec<u8>)], cluster: &Cluster) {
    for ((kind, body), expected) in bodies.iter().zip([true, false, true]) {
        let review = admission::review(*kind, body, cluster);
        let response = review.response.expect("a response");
        assert_eq!(
            response.allowed, expected,
            "{kind:?}: {}",
            response.result.message
        );
    }
    let mut pure = Vec::new();
    for i in 0..3000 {
        let (kind, body) = &bodies[i % bodies.len()];
        let start = Instant::now();
        std::hint::black_box(admission::review(*kind, body, cluster));
        pure.push(start.elapsed());
    }
    report("validation only (in process)", pure);
}

/// The webhook's router served over TLS on a loopback port, in the background.
async fn start_webhook(cluster: Arc<Cluster>, certificate: Arc<ServingCertificate>) -> SocketAddr {
    let (_cluster_tx, cluster_rx) = watch::channel(cluster);
    let (_synced_tx, synced_rx) = watch::channel(true);
    let app = server::router(Shared {
        cluster: cluster_rx,
        synced: synced_rx,
        readiness: ferrolb_endpoint::metrics::Readiness::new("benchmark"),
        metrics: ferrolb_webhook::metrics::WebhookMetrics::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback binds");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(ferrolb_endpoint::https::serve(
        listener,
        tls::server_config(certificate),
        app,
    ));
    address
}

/// A TLS client that trusts only the bundle's CA, as the API server does.
fn tls_connector(bundle: &Bundle) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(bundle.ca_cert.as_bytes()) {
        roots
            .add(ca.expect("the CA parses"))
            .expect("the CA is accepted");
    }
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(client_config))
}

/// One keep-alive HTTP/1.1 connection over TLS to the webhook at `address`.
async fn connect(
    connector: &tokio_rustls::TlsConnector,
    address: SocketAddr,
) -> http1::SendRequest<Body> {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    tcp.set_nodelay(true).expect("nodelay");
    let tls = connector
        .connect(ServerName::IpAddress(address.ip().into()), tcp)
        .await
        .expect("the TLS handshake succeeds");
    let (sender, connection) = http1::handshake(TokioIo::new(tls))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    sender
}

/// Sends each scheduled request taken from `jobs` on one connection, one at a time, and
/// records its sample.
async fn send_requests(
    mut sender: http1::SendRequest<Body>,
    jobs: Arc<Mutex<mpsc::Receiver<(Instant, usize)>>>,
    samples: mpsc::UnboundedSender<Sample>,
    bodies: Vec<(Kind, Vec<u8>)>,
) {
    loop {
        let Some((scheduled, n)) = jobs.lock().await.recv().await else {
            return;
        };
        let (kind, body) = &bodies[n % bodies.len()];
        let request = Request::post(kind.path())
            .header("content-type", "application/json")
            .header("host", "127.0.0.1")
            .body(Body::from(body.clone()))
            .expect("a request builds");
        let sent = Instant::now();
        let response = sender
            .send_request(request)
            .await
            .expect("the webhook answers");
        let ok = response.status().is_success();
        let _ = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await;
        let _ = samples.send(Sample {
            which: n % bodies.len(),
            latency: sent.elapsed(),
            lag: sent - scheduled,
            ok,
        });
    }
}

/// Hands the workers `rate` requests a second for `seconds` from `start`, each with the time
/// it was due (open loop), then closes the queue.
async fn dispatch_on_schedule(o: &Options, start: Instant, jobs: mpsc::Sender<(Instant, usize)>) {
    let total = u64::from(o.rate) * o.seconds;
    let interval = Duration::from_secs(1) / o.rate;
    for n in 0..total {
        let scheduled = start + interval * n as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        jobs.send((scheduled, n as usize))
            .await
            .expect("workers run");
    }
}

/// Collects every sample until the workers finish and prints the rate achieved, the send lag
/// and the latencies, over all requests and for each of the `kinds` requests.
async fn report_over_tls(
    start: Instant,
    mut samples: mpsc::UnboundedReceiver<Sample>,
    kinds: usize,
) {
    let mut all = Vec::new();
    let mut lags = Vec::new();
    let mut per_kind: Vec<Vec<Duration>> = vec![Vec::new(); kinds];
    let mut failures = 0;
    while let Some(sample) = samples.recv().await {
        all.push(sample.latency);
        lags.push(sample.lag);
        per_kind[sample.which].push(sample.latency);
        failures += usize::from(!sample.ok);
    }
    println!(
        "achieved {:.1} requests/s, {failures} HTTP failures",
        all.len() as f64 / start.elapsed().as_secs_f64()
    );
    report(
        "send lag behind schedule (load generator and queueing)",
        lags,
    );
    report("admission over TLS, all requests", all);
    for (label, samples) in [
        "new pool (admitted)",
        "overlapping pool (denied)",
        "LoadBalancer Service with an IP",
    ]
    .into_iter()
    .zip(per_kind)
    {
        report(&format!("  {label}"), samples);
    }
}
