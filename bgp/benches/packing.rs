//! Packing and codec figures for the Adj-RIB-Out: how long it takes to turn 10,000 host routes
//! into encoded UPDATEs, how many messages and bytes that is, and how fast those messages
//! decode again. Run with `cargo bench -p ferrolb-bgp`; the figures are printed, not asserted.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ferrolb_bgp::{
    AdjRibOut, Codec, Decoder, Family, Message, Prefix, Route, Update, UpdateContext, encode,
};

const PREFIXES: u32 = 10_000;
const RUNS: usize = 50;

fn context() -> UpdateContext {
    UpdateContext {
        local_as: 65001,
        ibgp: false,
        four_octet_as: true,
        next_hop_v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        next_hop_v6: Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        families: [Family::Ipv4Unicast, Family::Ipv6Unicast].into(),
    }
}

fn routes(family: Family) -> BTreeMap<Prefix, Route> {
    let route = Route {
        communities: [0xFDE8_0001].into(),
        ..Route::default()
    };
    (0..PREFIXES)
        .map(|i| {
            let addr = match family {
                Family::Ipv4Unicast => IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + i)),
                Family::Ipv6Unicast => {
                    IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i)))
                }
            };
            (Prefix::host(addr), route.clone())
        })
        .collect()
}

fn encode_all(updates: &[Update], codec: Codec) -> Vec<Vec<u8>> {
    updates
        .iter()
        .map(|u| encode(&Message::Update(u.clone()), codec))
        .collect()
}

/// Median and 99th percentile of `RUNS` timings of `run`, after one warm-up.
fn percentiles(mut run: impl FnMut() -> Duration) -> (Duration, Duration) {
    run();
    let mut timings: Vec<Duration> = (0..RUNS).map(|_| run()).collect();
    timings.sort();
    let p99 = ((timings.len() * 99).div_ceil(100)).saturating_sub(1);
    (timings[timings.len() / 2], timings[p99])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn announce(family: Family) {
    let desired = routes(family);
    let context = context();
    let codec = Codec {
        four_octet_as: true,
    };
    let (p50, p99) = percentiles(|| {
        let start = Instant::now();
        let updates = AdjRibOut::new().sync(&desired, &context);
        black_box(encode_all(&updates, codec));
        start.elapsed()
    });
    let mut rib = AdjRibOut::new();
    let messages = encode_all(&rib.sync(&desired, &context), codec);
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let largest = messages.iter().map(Vec::len).max().unwrap_or(0);
    println!(
        "announce {PREFIXES} {family} hosts: build+encode p50 {} p99 {} ({RUNS} runs); \
         {} UPDATEs, {bytes} bytes, largest {largest} bytes",
        ms(p50),
        ms(p99),
        messages.len()
    );

    let (p50, p99) = percentiles(|| {
        let mut rib = rib.clone();
        let start = Instant::now();
        black_box(encode_all(&rib.sync(&BTreeMap::new(), &context), codec));
        start.elapsed()
    });
    let withdrawals = encode_all(&rib.clone().sync(&BTreeMap::new(), &context), codec);
    println!(
        "withdraw {PREFIXES} {family} hosts: build+encode p50 {} p99 {}; {} UPDATEs, {} bytes",
        ms(p50),
        ms(p99),
        withdrawals.len(),
        withdrawals.iter().map(Vec::len).sum::<usize>()
    );

    let mut changed = desired.clone();
    if let Some(route) = changed.values_mut().nth(PREFIXES as usize / 2) {
        route.local_pref = Some(200);
        route.communities.insert(0xFDE8_0002);
    }
    let (p50, p99) = percentiles(|| {
        let mut rib = rib.clone();
        let start = Instant::now();
        black_box(encode_all(&rib.sync(&changed, &context), codec));
        start.elapsed()
    });
    println!(
        "re-sync {PREFIXES} {family} hosts with one changed: p50 {} p99 {}",
        ms(p50),
        ms(p99)
    );

    let stream: Vec<u8> = messages.concat();
    let (p50, _) = percentiles(|| {
        let start = Instant::now();
        let mut decoder = Decoder::new();
        decoder.feed(&stream);
        while let Some(message) = decoder.next_message(codec).expect("valid stream") {
            black_box(message);
        }
        start.elapsed()
    });
    let seconds = p50.as_secs_f64();
    println!(
        "decode {} UPDATEs ({PREFIXES} {family} prefixes): p50 {}; {:.0} messages/s, {:.0} prefixes/s, {:.0} MB/s",
        messages.len(),
        ms(p50),
        messages.len() as f64 / seconds,
        f64::from(PREFIXES) / seconds,
        stream.len() as f64 / seconds / 1e6
    );
}

fn main() {
    announce(Family::Ipv4Unicast);
    announce(Family::Ipv6Unicast);
}
