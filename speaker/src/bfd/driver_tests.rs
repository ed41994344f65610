//! The session task in paused time: its first packets, the handshake with a peer, the
//! interval once Up, the detection time, the peer's AdminDown, passive mode, a
//! reconfiguration and the AdminDown it sends when stopped.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use ferrolb_bfd::{Diagnostic, State};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::*;
use crate::bfd::Hop;
use crate::bfd::fake::{FakeTransmitter, Sent};

const LOCAL: u32 = 0x0a0a_0001;
const PEER: u32 = 0x0b0b_0002;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn key() -> SessionKey {
    SessionKey {
        hop: Hop::Single,
        peer: "192.0.2.100".parse().unwrap(),
        source: None,
    }
}

fn fast() -> SessionConfig {
    SessionConfig::new(ms(100), ms(100), 3).unwrap()
}

/// A running session task and the test's ends of its channels.
struct Harness {
    inbox: mpsc::Sender<ControlPacket>,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<BfdStatus>,
    sent: mpsc::UnboundedReceiver<Sent>,
    metrics: Arc<Metrics>,
    task: JoinHandle<()>,
}

impl Harness {
    /// Starts a session of `config` without jitter.
    fn start(config: SessionConfig) -> Harness {
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let (transmitter, sent) = FakeTransmitter::new(key(), local);
        let session = Session::new(config, NonZeroU32::new(LOCAL).unwrap(), || 0u32);
        let (status_tx, status) = watch::channel(BfdStatus::INITIAL);
        let metrics = Metrics::new();
        let driver = Driver::new(session, transmitter, key(), status_tx, metrics.clone());
        let (inbox, packets) = mpsc::channel(8);
        let (commands, orders) = mpsc::unbounded_channel();
        let task = tokio::spawn(driver.run(packets, orders));
        Harness {
            inbox,
            commands,
            status,
            sent,
            metrics,
            task,
        }
    }

    async fn next_sent(&mut self) -> Sent {
        self.sent.recv().await.expect("the session sends")
    }

    async fn peer_says(&self, packet: ControlPacket) {
        self.inbox.send(packet).await.unwrap();
    }

    /// Waits for the published status to reach `state`.
    async fn wait_state(&mut self, state: State) -> BfdStatus {
        *self
            .status
            .wait_for(|s| s.state == state)
            .await
            .expect("the session publishes")
    }

    /// Brings the session Up with a peer that asks for 100 ms each way.
    async fn bring_up(&mut self) {
        let first = self.next_sent().await;
        assert_eq!(first.packet.state, State::Down);
        self.peer_says(peer(State::Down, 0)).await;
        let init = self.next_sent().await;
        assert_eq!(init.packet.state, State::Init);
        self.peer_says(peer(State::Up, LOCAL)).await;
        self.wait_state(State::Up).await;
    }

    fn counter(
        &self,
        family: &prometheus_client::metrics::family::Family<
            BfdLabels,
            prometheus_client::metrics::counter::Counter,
        >,
    ) -> u64 {
        family.get_or_create(&BfdLabels::new(key().peer)).get()
    }
}

/// The peer's packet in `state`, 100 ms each way, multiplier 3.
fn peer(state: State, your_discriminator: u32) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: PEER,
        your_discriminator,
        desired_min_tx_interval: 100_000,
        required_min_rx_interval: 100_000,
        required_min_echo_rx_interval: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn an_active_session_sends_at_once_and_then_once_a_second_while_down() {
    let mut h = Harness::start(fast());
    let first = h.next_sent().await;
    assert_eq!(first.packet.state, State::Down);
    assert_eq!(first.packet.my_discriminator, LOCAL);
    assert_eq!(first.packet.your_discriminator, 0);
    assert_eq!(
        first.packet.desired_min_tx_interval, 1_000_000,
        "slow while not up"
    );
    assert_eq!(first.packet.required_min_rx_interval, 100_000);
    let second = h.next_sent().await;
    assert_eq!(second.at - first.at, ms(1000));
    assert_eq!(h.counter(&h.metrics.bfd.control_packet_output), 2);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn the_handshake_brings_it_up_and_then_it_sends_every_100_ms() {
    let mut h = Harness::start(fast());
    h.bring_up().await;
    let status = *h.status.borrow();
    assert_eq!(status.failures, 0);
    let labels = BfdLabels::new(key().peer);
    assert_eq!(h.metrics.bfd.session_up.get_or_create(&labels).get(), 1);
    assert_eq!(h.counter(&h.metrics.bfd.session_up_events), 1);
    assert_eq!(h.counter(&h.metrics.bfd.control_packet_input), 2);
    let up = h.next_sent().await;
    assert_eq!(up.packet.state, State::Up);
    assert_eq!(up.packet.your_discriminator, PEER);
    assert_eq!(up.packet.desired_min_tx_interval, 100_000);
    // The faster interval asks for the peer's Final; answer it, then count the spacing.
    assert!(up.packet.poll);
    h.peer_says(ControlPacket {
        final_: true,
        ..peer(State::Up, LOCAL)
    })
    .await;
    let mut last = up.at;
    for _ in 0..3 {
        // Keep the peer alive meanwhile.
        h.peer_says(peer(State::Up, LOCAL)).await;
        let next = h.next_sent().await;
        assert_eq!(next.at - last, ms(100), "{next:?}");
        assert!(!next.packet.poll);
        last = next.at;
    }
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn silence_takes_it_down_after_the_detection_time_and_counts_a_failure() {
    let mut h = Harness::start(fast());
    h.bring_up().await;
    let last_heard = Instant::now();
    let down = h.wait_state(State::Down).await;
    assert_eq!(Instant::now() - last_heard, ms(300), "3 × 100 ms");
    assert_eq!(down.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    assert_eq!(down.failures, 1);
    let labels = BfdLabels::new(key().peer);
    assert_eq!(h.metrics.bfd.session_up.get_or_create(&labels).get(), 0);
    assert_eq!(h.counter(&h.metrics.bfd.session_down_events), 1);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn the_peer_going_admin_down_is_no_failure() {
    let mut h = Harness::start(fast());
    h.bring_up().await;
    h.peer_says(ControlPacket {
        diagnostic: Diagnostic::AdministrativelyDown,
        ..peer(State::AdminDown, LOCAL)
    })
    .await;
    let down = h.wait_state(State::Down).await;
    assert_eq!(down.diagnostic, Diagnostic::NeighborSignaledDown);
    assert_eq!(down.failures, 0);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_passive_session_is_silent_until_the_peer_speaks() {
    let mut h = Harness::start(fast().with_passive(true));
    tokio::time::sleep(ms(5000)).await;
    assert!(h.sent.try_recv().is_err(), "nothing sent while passive");
    h.peer_says(peer(State::Down, 0)).await;
    let answer = h.next_sent().await;
    assert_eq!(answer.packet.state, State::Init);
    assert_eq!(answer.packet.your_discriminator, PEER);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_new_configuration_while_up_starts_a_poll_with_the_new_interval() {
    let mut h = Harness::start(fast());
    h.bring_up().await;
    let up = h.next_sent().await;
    h.peer_says(ControlPacket {
        final_: true,
        ..peer(State::Up, LOCAL)
    })
    .await;
    assert!(up.packet.poll);
    let slower = SessionConfig::new(ms(200), ms(200), 3).unwrap();
    h.commands.send(Command::Reconfigure(slower)).unwrap();
    let polled = loop {
        let sent = h.next_sent().await;
        if sent.packet.desired_min_tx_interval == 200_000 {
            break sent;
        }
    };
    assert!(polled.packet.poll);
    assert_eq!(polled.packet.required_min_rx_interval, 200_000);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn stopping_sends_admin_down_and_ends_the_task() {
    let mut h = Harness::start(fast());
    h.bring_up().await;
    h.commands.send(Command::Stop).unwrap();
    let last = loop {
        let sent = h.next_sent().await;
        if sent.packet.state == State::AdminDown {
            break sent;
        }
    };
    assert_eq!(last.packet.diagnostic, Diagnostic::AdministrativelyDown);
    h.task.await.unwrap();
}
