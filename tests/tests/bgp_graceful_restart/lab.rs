//! The graceful restart suite's lab: one node namespace with a speaker (given a short restart
//! time and a graceful restart directory), BIRD with `graceful restart on` in the lab's client
//! namespace ([`super::bird`]), an iBGP BGPPeer with `enableGracefulRestart`, a Service whose
//! route the router learns, and a sampler that looks at the router every 10 ms while the
//! speaker is stopped and started.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrolb_crds::BGPAdvertisement;
use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::worlds::bgp::typed;
use ferrolb_tests::worlds::layer2::{Options, World};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::bird::{GrBird, RouteState, Sample};

pub const ASN: u32 = 64512;
pub const SERVICE_IP: &str = "198.51.100.10";
pub const SERVICE: &str = "198.51.100.10/32";

pub struct GrLab {
    pub bird: GrBird,
    pub world: World,
    pub restart_dir: PathBuf,
}

impl GrLab {
    /// The lab with a speaker announcing `restart_time`, its route learnt by the router.
    pub async fn start(restart_time: &str) -> GrLab {
        let restart_dir = std::env::temp_dir().join(format!(
            "ferrolb-gr-dir-{}-{}",
            std::process::id(),
            restart_time
        ));
        std::fs::create_dir_all(&restart_dir).unwrap();
        let world = World::start(Options {
            nodes: 1,
            pool: vec!["198.51.100.0/24".into()],
            layer2: false,
            speaker_args: vec![
                "--graceful-restart-time".into(),
                restart_time.into(),
                "--graceful-restart-dir".into(),
                restart_dir.to_string_lossy().into_owned(),
            ],
            ..Options::default()
        })
        .await;
        let node_ip = world.lab.nodes[0].ipv4.to_string();
        let bird = GrBird::start(&world.lab.client, ASN, &node_ip);
        let lab = GrLab {
            bird,
            world,
            restart_dir,
        };
        let ns = lab.world.namespace.clone();
        let client = lab.world.client.clone();
        let ad: BGPAdvertisement = typed(
            "metallb.io/v1beta1",
            "BGPAdvertisement",
            "all",
            json!({"serviceSelectors": [{"matchLabels": {"ferrolb.io/lab": lab.world.lab.id}}]}),
        );
        Api::<BGPAdvertisement>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &ad)
            .await
            .unwrap();
        let peer: BGPPeer = typed(
            "metallb.io/v1beta2",
            "BGPPeer",
            "router",
            json!({
                "myASN": ASN, "peerASN": ASN,
                "peerAddress": lab.world.lab.client.ipv4.to_string(),
                "holdTime": "9s", "keepaliveTime": "3s", "connectTime": "1s",
                "enableGracefulRestart": true,
            }),
        );
        Api::<BGPPeer>::namespaced(client, &ns)
            .create(&PostParams::default(), &peer)
            .await
            .unwrap();
        let node = lab.node().name.clone();
        lab.world
            .service("web", &[SERVICE_IP], &[&node], false)
            .await;
        lab.wait_fresh(Duration::from_secs(60));
        lab
    }

    pub fn node(&self) -> &Host {
        &self.world.lab.nodes[0]
    }

    /// Waits until the router holds the Service route, fresh, over an established session.
    pub fn wait_fresh(&self, limit: Duration) {
        let mut probe = self.bird.probe();
        let started = Instant::now();
        loop {
            let sample = probe.sample(SERVICE, started);
            if sample.established && sample.route == RouteState::Fresh {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "no fresh route at the router after {limit:?}: {sample:?}\nBIRD:\n{}\nspeaker:\n{}",
                self.bird.log(),
                self.speaker_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Marks the node unschedulable, as `kubectl cordon` does.
    pub async fn cordon(&self) {
        Api::<Node>::all(self.world.client.clone())
            .patch(
                &self.node().name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"unschedulable": true}})),
            )
            .await
            .unwrap();
    }

    pub fn speaker(&mut self) -> &mut ferrolb_tests::infra::process::Daemon {
        let name = self.world.lab.nodes[0].name.clone();
        self.world.speakers.get_mut(&name).expect("the speaker")
    }

    pub fn speaker_log(&self) -> String {
        self.world.speakers[&self.node().name].output()
    }

    /// Samples the router every 10 ms from now until `done` holds for the samples so far or
    /// `limit` passes.
    pub fn sample(&self, limit: Duration, done: fn(&[Sample]) -> bool) -> Sampler {
        let mut probe = self.bird.probe();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while started.elapsed() < limit && !stopped.load(Ordering::Relaxed) {
                samples.push(probe.sample(SERVICE, started));
                if done(&samples) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            samples
        });
        Sampler { thread, stop }
    }
}

impl Drop for GrLab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.restart_dir);
    }
}

/// Samples being taken.
pub struct Sampler {
    thread: JoinHandle<Vec<Sample>>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    /// The samples, once the sampler finished.
    pub fn finish(self) -> Vec<Sample> {
        self.thread.join().expect("the sampler")
    }

    /// Stops sampling now.
    #[allow(dead_code)]
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.finish()
    }
}

/// What the samples show about a stop.
#[derive(Debug, Default)]
pub struct Figures {
    /// Times the route went from present to absent.
    pub withdrawals: usize,
    /// From the first stale sample to the first fresh one after it (or the last sample).
    pub stale_for: Option<Duration>,
    /// From the first sample without an established session to the next one with.
    pub session_gap: Option<Duration>,
    /// The first sample without the route.
    pub gone_at: Option<Duration>,
    pub samples: usize,
}

pub fn figures(samples: &[Sample]) -> Figures {
    let mut figures = Figures {
        samples: samples.len(),
        ..Figures::default()
    };
    let mut present = true;
    let mut stale_since = None;
    let mut down_since = None;
    for sample in samples {
        let now_present = sample.route != RouteState::Absent;
        if present && !now_present {
            figures.withdrawals += 1;
            figures.gone_at.get_or_insert(sample.at);
        }
        present = now_present;
        match sample.route {
            RouteState::Stale => {
                stale_since.get_or_insert(sample.at);
            }
            _ => {
                if let (Some(since), None) = (stale_since, figures.stale_for) {
                    figures.stale_for = Some(sample.at - since);
                }
            }
        }
        if !sample.established {
            down_since.get_or_insert(sample.at);
        } else if let (Some(since), None) = (down_since, figures.session_gap) {
            figures.session_gap = Some(sample.at - since);
        }
    }
    if let (Some(since), None, Some(last)) = (stale_since, figures.stale_for, samples.last()) {
        figures.stale_for = Some(last.at - since);
    }
    figures
}
