//! The client's view of the segment: `ferrolb-l2-probe` in the client namespace asks ARP for
//! every IP of the soak's pool ranges each round, and every reply is kept with the round it
//! answers (its send time: reply time less the latency the probe prints).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::invariants::Reply;
use crate::infra::netlab::Host;
use crate::infra::process::binary;

/// Every address of an IPv4 `a.b.c.d/len` range.
pub fn addresses(range: &str) -> Vec<Ipv4Addr> {
    let (base, len) = range.split_once('/').expect("a CIDR");
    let base = u32::from(base.parse::<Ipv4Addr>().expect("an IPv4 address"));
    let len: u32 = len.parse().expect("a prefix length");
    let count = 1u32 << (32 - len);
    (0..count).map(|i| Ipv4Addr::from(base + i)).collect()
}

/// A running probe; killed when dropped.
pub struct ArpProbe {
    child: Child,
    replies: Arc<Mutex<Vec<Reply>>>,
    /// The time between rounds.
    pub round: Duration,
}

/// One `reply <unix ns> <mac> <latency ns> <ip>` line of the probe.
fn parse(line: &str) -> Option<Reply> {
    let mut parts = line.split_whitespace();
    (parts.next()? == "reply").then_some(())?;
    let at: u128 = parts.next()?.parse().ok()?;
    let mac = parts.next()?.to_ascii_lowercase();
    let latency: u128 = parts.next()?.parse().ok()?;
    let ip: IpAddr = parts.next()?.parse().ok()?;
    Some(Reply {
        round_ns: at.saturating_sub(latency),
        ip,
        mac,
    })
}

impl ArpProbe {
    /// Starts probing `targets` from `client` (its `eth0`) at `rate` rounds a second for up
    /// to `duration`.
    pub fn start(client: &Host, targets: &[Ipv4Addr], rate: u32, duration: Duration) -> ArpProbe {
        let program = binary("ferrolb-speaker", "ferrolb-l2-probe");
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &client.netns])
            .arg(program)
            .args(["--interface", "eth0", "--source", &client.ipv4.to_string()])
            .args(["--rate", &rate.to_string()])
            .args(["--duration", &format!("{}s", duration.as_secs())]);
        for target in targets {
            command.args(["--target", &target.to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the ARP probe starts");
        let stdout = child.stdout.take().expect("the probe's output");
        let replies = Arc::new(Mutex::new(Vec::new()));
        let sink = replies.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(reply) = parse(&line) {
                    sink.lock().expect("replies").push(reply);
                }
            }
        });
        ArpProbe {
            child,
            replies,
            round: Duration::from_secs(1) / rate,
        }
    }

    /// Every reply so far.
    pub fn replies(&self) -> Vec<Reply> {
        self.replies.lock().expect("replies").clone()
    }

    /// The MACs that answered `ip` in rounds sent since `since_ns` (unix ns).
    pub fn answerers_since(&self, ip: IpAddr, since_ns: u128) -> Vec<String> {
        let mut macs: Vec<String> = self
            .replies
            .lock()
            .expect("replies")
            .iter()
            .filter(|r| r.ip == ip && r.round_ns >= since_ns)
            .map(|r| r.mac.clone())
            .collect();
        macs.sort();
        macs.dedup();
        macs
    }
}

impl Drop for ArpProbe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_lists_all_its_addresses() {
        let all = addresses("192.0.2.128/30");
        assert_eq!(
            all,
            ["192.0.2.128", "192.0.2.129", "192.0.2.130", "192.0.2.131"]
                .map(|a| a.parse::<Ipv4Addr>().unwrap())
        );
    }

    #[test]
    fn a_reply_line_gives_its_round() {
        let reply = parse("reply 1000500 02:FB:00:00:00:01 500 192.0.2.130").unwrap();
        assert_eq!(reply.round_ns, 1_000_000);
        assert_eq!(reply.mac, "02:fb:00:00:00:01");
        assert_eq!(reply.ip, "192.0.2.130".parse::<IpAddr>().unwrap());
        assert!(parse("sent 10").is_none());
    }
}
