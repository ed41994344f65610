//! The interface task over fake sockets: each fake records the frames sent on it and hands
//! the task the frames a test feeds it.

use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::*;
use crate::announcer::Repeat;
use crate::election::candidates::Interfaces;
use crate::packet::{Mac, arp};

const SPEAKER: Mac = Mac([2, 0, 0, 0, 0, 1]);
const CLIENT: Mac = Mac([2, 0, 0, 0, 0, 0x10]);
const OTHER_SPEAKER: Mac = Mac([2, 0, 0, 0, 0, 2]);
const ROUNDS: u32 = 3;
/// Long enough for a frame to be handled on a loaded machine, short enough to keep tests
/// quick; only ever used to wait for something that should happen.
const WAIT: Duration = Duration::from_secs(5);

struct FakeSocket {
    incoming: tokio::sync::Mutex<mpsc::Receiver<Vec<u8>>>,
    sent: mpsc::UnboundedSender<Vec<u8>>,
}

impl FrameSocket for FakeSocket {
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.incoming.lock().await.recv().await {
            Some(frame) => {
                buf[..frame.len()].copy_from_slice(&frame);
                Ok(frame.len())
            }
            None => std::future::pending().await,
        }
    }

    async fn send(&self, frame: &[u8]) -> io::Result<()> {
        let _ = self.sent.send(frame.to_vec());
        Ok(())
    }
}

/// Joins (`true`) and leaves (`false`), in order.
#[derive(Clone, Default)]
struct FakeGroups(Arc<Mutex<Vec<(bool, Ipv6Addr)>>>);

impl FakeGroups {
    fn record(&self, joined: bool, group: Ipv6Addr) {
        self.0.lock().expect("not poisoned").push((joined, group));
    }
}

impl GroupMembership for FakeGroups {
    fn join(&self, group: &Ipv6Addr, _interface: u32) -> io::Result<()> {
        self.record(true, *group);
        Ok(())
    }

    fn leave(&self, group: &Ipv6Addr, _interface: u32) -> io::Result<()> {
        self.record(false, *group);
        Ok(())
    }
}

/// One interface task over fakes, and the test's ends of them.
struct Wire {
    table: watch::Sender<Arc<Table>>,
    arp_in: mpsc::Sender<Vec<u8>>,
    arp_out: mpsc::UnboundedReceiver<Vec<u8>>,
    nd_out: mpsc::UnboundedReceiver<Vec<u8>>,
    conflicts: mpsc::Receiver<Conflict>,
    groups: FakeGroups,
    metrics: Arc<Metrics>,
    task: JoinHandle<io::Result<()>>,
}

fn fake_socket() -> (
    FakeSocket,
    mpsc::Sender<Vec<u8>>,
    mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (feed, incoming) = mpsc::channel(16);
    let (sent, out) = mpsc::unbounded_channel();
    let socket = FakeSocket {
        incoming: tokio::sync::Mutex::new(incoming),
        sent,
    };
    (socket, feed, out)
}

fn start(table: Table) -> Wire {
    let (arp, arp_in, arp_out) = fake_socket();
    let (nd, _nd_in, nd_out) = fake_socket();
    let groups = FakeGroups::default();
    let (table_tx, table_rx) = watch::channel(Arc::new(table));
    let (conflicts_tx, conflicts) = mpsc::channel(16);
    let metrics = Metrics::new();
    let inputs = InterfaceTaskInputs {
        table: table_rx,
        conflicts: conflicts_tx,
        metrics: metrics.clone(),
        repeat: Repeat {
            count: ROUNDS,
            interval: Duration::from_millis(5),
        },
    };
    let sockets = LinkSockets {
        arp,
        nd,
        groups: Some(groups.clone()),
    };
    let task = tokio::spawn(async move { serve(&eth0(), sockets, inputs).await });
    Wire {
        table: table_tx,
        arp_in,
        arp_out,
        nd_out,
        conflicts,
        groups,
        metrics,
        task,
    }
}

fn eth0() -> Link {
    Link {
        name: "eth0".into(),
        index: 2,
        mac: SPEAKER,
        flags: 0x1003,
        enslaved: false,
    }
}

fn table(ips: &[&str]) -> Table {
    ips.iter()
        .map(|ip| (ip.parse().unwrap(), Interfaces::Any))
        .collect()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

async fn next_frame(out: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(WAIT, out.recv())
        .await
        .expect("a frame within the wait")
        .expect("the task is running")
}

/// Waits until the task has sent every round it will send, then takes what it sent.
async fn all_sent(out: &mut mpsc::UnboundedReceiver<Vec<u8>>, at_least: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while frames.len() < at_least {
        frames.push(next_frame(out).await);
    }
    // The rounds are 5 ms apart: ten times that without a frame means the rounds are over.
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(50), out.recv()).await {
        frames.push(frame);
    }
    frames
}

fn arp_request(from: Mac, sender: &str, target: &str) -> Vec<u8> {
    arp::build(
        Mac::BROADCAST,
        &arp::Arp {
            ethernet_source: from,
            operation: arp::Operation::Request,
            sender_mac: from,
            sender_ip: v4(sender),
            target_mac: Mac::ZERO,
            target_ip: v4(target),
        },
    )
}

#[tokio::test]
async fn taking_an_ipv4_ip_sends_the_configured_rounds_of_gratuitous_arp_and_no_more() {
    let mut wire = start(table(&["192.0.2.10"]));
    let frames = all_sent(&mut wire.arp_out, 2 * ROUNDS as usize).await;
    assert_eq!(frames.len(), 2 * ROUNDS as usize, "two frames per round");
    for frame in &frames {
        let packet = arp::parse(frame).expect("an ARP frame");
        assert!(packet.is_gratuitous());
        assert_eq!(packet.sender_ip, v4("192.0.2.10"));
        assert_eq!(packet.sender_mac, SPEAKER);
    }
    let label = Metrics::ip("192.0.2.10".parse().unwrap());
    assert_eq!(
        wire.metrics.gratuitous_sent.get_or_create(&label).get(),
        2 * u64::from(ROUNDS)
    );
    assert!(wire.nd_out.try_recv().is_err(), "nothing for IPv4 on NDP");
}

#[tokio::test]
async fn an_arp_request_for_an_announced_ip_is_answered_with_the_interfaces_mac() {
    let mut wire = start(table(&["192.0.2.10"]));
    all_sent(&mut wire.arp_out, 2 * ROUNDS as usize).await;
    wire.arp_in
        .send(arp_request(CLIENT, "192.0.2.100", "192.0.2.10"))
        .await
        .unwrap();
    let reply = arp::parse(&next_frame(&mut wire.arp_out).await).expect("an ARP reply");
    assert_eq!(reply.operation, arp::Operation::Reply);
    assert_eq!(reply.sender_ip, v4("192.0.2.10"));
    assert_eq!(reply.sender_mac, SPEAKER);
    assert_eq!(reply.target_mac, CLIENT);
    let label = Metrics::ip("192.0.2.10".parse().unwrap());
    assert_eq!(
        wire.metrics.requests_received.get_or_create(&label).get(),
        1
    );
    assert_eq!(wire.metrics.responses_sent.get_or_create(&label).get(), 1);
}

#[tokio::test]
async fn a_request_for_an_ip_not_in_the_table_gets_no_answer() {
    let mut wire = start(table(&["192.0.2.10"]));
    all_sent(&mut wire.arp_out, 2 * ROUNDS as usize).await;
    wire.arp_in
        .send(arp_request(CLIENT, "192.0.2.100", "192.0.2.11"))
        .await
        .unwrap();
    // A request that is answered is answered at once; then the same one for the held IP.
    wire.arp_in
        .send(arp_request(CLIENT, "192.0.2.100", "192.0.2.10"))
        .await
        .unwrap();
    let reply = arp::parse(&next_frame(&mut wire.arp_out).await).unwrap();
    assert_eq!(reply.sender_ip, v4("192.0.2.10"));
}

#[tokio::test]
async fn another_mac_announcing_a_held_ip_is_reported_as_a_conflict() {
    let mut wire = start(table(&["192.0.2.10"]));
    wire.arp_in
        .send(arp_request(OTHER_SPEAKER, "192.0.2.10", "192.0.2.10"))
        .await
        .unwrap();
    let conflict = tokio::time::timeout(WAIT, wire.conflicts.recv())
        .await
        .expect("a conflict within the wait")
        .unwrap();
    assert_eq!(conflict.ip, "192.0.2.10".parse::<IpAddr>().unwrap());
    assert_eq!(conflict.mac, OTHER_SPEAKER);
    assert_eq!(conflict.interface, 2);
}

#[tokio::test]
async fn an_ipv6_ip_is_announced_by_na_and_its_solicited_node_group_joined_then_left() {
    let ip: Ipv6Addr = "2001:db8::a:10".parse().unwrap();
    let mut wire = start(table(&["2001:db8::a:10"]));
    let frames = all_sent(&mut wire.nd_out, ROUNDS as usize).await;
    assert_eq!(frames.len(), ROUNDS as usize, "one advertisement per round");
    for frame in &frames {
        assert!(matches!(
            ndp::parse(frame),
            Some(ndp::Message::Advertisement { target, target_link_address: Some(SPEAKER), .. })
                if target == ip
        ));
    }
    let group = ndp::solicited_node(ip);
    assert_eq!(*wire.groups.0.lock().unwrap(), vec![(true, group)]);
    wire.table.send_replace(Arc::new(Table::new()));
    let left = async {
        while wire.groups.0.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(WAIT, left)
        .await
        .expect("left within the wait");
    assert_eq!(
        *wire.groups.0.lock().unwrap(),
        vec![(true, group), (false, group)]
    );
}

#[tokio::test]
async fn the_task_ends_when_the_election_loop_is_gone() {
    let wire = start(table(&[]));
    drop(wire.table);
    let ended = tokio::time::timeout(WAIT, wire.task)
        .await
        .expect("ended within the wait");
    assert!(ended.unwrap().is_ok());
}

#[test]
fn an_ip_already_announced_gets_no_new_rounds_when_the_table_changes() {
    let link = eth0();
    let mut state = LinkAnnouncements::default();
    state.take_table(&link, Arc::new(table(&["192.0.2.10"])), ROUNDS);
    state.pending.clear();
    state.take_table(
        &link,
        Arc::new(table(&["192.0.2.10", "192.0.2.11"])),
        ROUNDS,
    );
    let pending: Vec<IpAddr> = state.pending.keys().copied().collect();
    assert_eq!(pending, vec!["192.0.2.11".parse::<IpAddr>().unwrap()]);
    state.take_table(&link, Arc::new(table(&["192.0.2.10"])), ROUNDS);
    assert!(state.pending.is_empty(), "a dropped IP is not announced");
}
