//! `ferrolb-l2-probe`: a benchmark client for the Layer 2 speaker. From inside a lab
//! namespace it sends ARP requests for one or more IPs at a fixed rate (one request per target
//! each round) and prints every reply with its wall-clock time, the MAC that answered, the
//! delay since the latest round and the IP it answers for, so a benchmark can tell when the
//! owner changed, whether two MACs answered one IP, and how fast replies come:
//!
//! ```text
//! reply <unix time ns> <mac> <latency ns> <ip>
//! sent <requests>
//! ```
//!
//! It only sends to the IPs given on the command line, on the interface given.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use ferrolb_speaker::link::read_links;
use ferrolb_speaker::packet::{ETHERTYPE_ARP, Mac, arp};
use ferrolb_speaker::socket::PacketSocket;

#[derive(Parser)]
struct Args {
    /// The interface to probe from.
    #[arg(long)]
    interface: String,
    /// This host's IPv4 address on that interface.
    #[arg(long)]
    source: Ipv4Addr,
    /// The IPs to ask for (repeat the flag for more).
    #[arg(long, required = true)]
    target: Vec<Ipv4Addr>,
    /// Rounds per second; each round asks for every target.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// How long to probe.
    #[arg(long, default_value = "10s", value_parser = ferrolb_crds::duration::parse)]
    duration: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let link = read_links()?
        .into_iter()
        .find(|l| l.name == args.interface)
        .ok_or_else(|| std::io::Error::other(format!("no interface {:?}", args.interface)))?;
    let socket = Arc::new(PacketSocket::open(link.index, ETHERTYPE_ARP)?);
    let requests: Vec<Vec<u8>> = args
        .target
        .iter()
        .map(|&target_ip| {
            arp::build(
                Mac::BROADCAST,
                &arp::Arp {
                    ethernet_source: link.mac,
                    operation: arp::Operation::Request,
                    sender_mac: link.mac,
                    sender_ip: args.source,
                    target_mac: Mac::ZERO,
                    target_ip,
                },
            )
        })
        .collect();
    let targets: std::collections::BTreeSet<Ipv4Addr> = args.target.iter().copied().collect();
    let start = Instant::now();
    // Nanoseconds since `start` of the latest request.
    let last_sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let socket = socket.clone();
        let last_sent = last_sent.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(1) / args.rate);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = 0u64;
            while start.elapsed() < args.duration {
                ticker.tick().await;
                last_sent.store(start.elapsed().as_nanos() as u64, Ordering::Release);
                for request in &requests {
                    if socket.send(request).await.is_ok() {
                        sent += 1;
                    }
                }
            }
            sent
        })
    };
    let mut buf = vec![0u8; 2048];
    let receive = async {
        loop {
            let n = socket.recv(&mut buf).await?;
            let received = start.elapsed().as_nanos() as u64;
            let Some(reply) = arp::parse(&buf[..n]) else {
                continue;
            };
            if reply.operation != arp::Operation::Reply
                || !targets.contains(&reply.sender_ip)
                || reply.target_mac != link.mac
            {
                continue;
            }
            let latency = received.saturating_sub(last_sent.load(Ordering::Acquire));
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            println!(
                "reply {now} {} {latency} {}",
                reply.sender_mac, reply.sender_ip
            );
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    tokio::select! {
        result = receive => result?,
        sent = sender => {
            // Late replies to the last request still count.
            println!("sent {}", sent.unwrap_or_default());
        }
    }
    Ok(())
}
