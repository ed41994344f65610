//! Allocator core benchmark: the cost of finding and taking the next free address in a pool
//! that already has 100,000 addresses in use, for an IPv4 /8 and an IPv6 /64, compared with a
//! linear scan from the start of the pool over a hash set of used addresses (how MetalLB's
//! allocator searches). Prints microseconds per allocation (p50, p99) and the size of the
//! used-address index.
//!
//! Run: `cargo bench -p ferrolb-operator --bench allocator`

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::Family;
use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;
use ferrolb_operator::allocator::{Allocator, Demand, FamilyPolicy, Pool, Sharing};

const IN_USE: usize = 100_000;
const MEASURED: usize = 2_000;

fn demand(i: usize, family: Family) -> Demand {
    Demand {
        key: format!("bench/s{i}"),
        namespace: "bench".to_owned(),
        namespace_labels: BTreeMap::new(),
        service_labels: BTreeMap::new(),
        policy: FamilyPolicy::SingleStack,
        families: vec![family],
        ips: vec![],
        pool: None,
        sharing: Sharing::default(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(label: &str, mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let p50 = percentile(&samples, 0.50);
    println!(
        "{label:<46} p50 {p50:>9.3} µs   p99 {:>9.3} µs",
        percentile(&samples, 0.99)
    );
    p50
}

/// Allocates 100,000 addresses, then frees every tenth one near the start, so the next
/// allocations must find holes after long runs of used addresses; measures the next ones.
fn ferrolb(cidr: &str, family: Family) -> f64 {
    let object = IPAddressPool::new(
        "bench",
        IPAddressPoolSpec {
            addresses: vec![cidr.to_owned()],
            ..Default::default()
        },
    );
    let mut allocator = Allocator::default();
    allocator.set_pools([Pool::from_object(&object).unwrap()]);
    let rss_before = rss_kib();
    let fill = Instant::now();
    for i in 0..IN_USE {
        allocator.converge(&demand(i, family), &[]).unwrap();
    }
    let fill = fill.elapsed();
    let grown = rss_kib().saturating_sub(rss_before);
    // Holes late in the used block: a linear scan must walk past ~99,000 used addresses.
    for i in (IN_USE - 2 * MEASURED..IN_USE).step_by(2) {
        allocator.release(&format!("bench/s{i}"));
    }
    let mut samples = Vec::with_capacity(MEASURED);
    for i in 0..MEASURED {
        let d = demand(IN_USE + i, family);
        let t = Instant::now();
        allocator.converge(&d, &[]).unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "  filled {IN_USE} addresses in {:.1} ms ({:.2} µs each); resident memory grew {:.1} MiB ({:.0} bytes per assigned Service, pool size irrelevant)",
        fill.as_secs_f64() * 1e3,
        fill.as_secs_f64() * 1e6 / IN_USE as f64,
        grown as f64 / 1024.0,
        grown as f64 * 1024.0 / IN_USE as f64,
    );
    report(&format!("ferrolb next free ({cidr})"), samples)
}

/// The same workload with a linear scan from the pool's first address over a hash set.
fn linear_scan(cidr: &str) -> f64 {
    let range: ferrolb_crds::AddressRange = cidr.parse().unwrap();
    let (first, _) = range.bounds();
    let mut used: HashSet<u128> = (0..IN_USE as u128).map(|i| first + i).collect();
    for i in (IN_USE - 2 * MEASURED..IN_USE).step_by(2) {
        used.remove(&(first + i as u128));
    }
    let mut samples = Vec::with_capacity(MEASURED);
    for _ in 0..MEASURED {
        let t = Instant::now();
        let mut n = first;
        while used.contains(&n) {
            n += 1;
        }
        used.insert(n);
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report(&format!("linear scan next free ({cidr})"), samples)
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let cases = [("10.0.0.0/8", Family::V4), ("2001:db8::/64", Family::V6)];
    for (cidr, family) in cases {
        println!("pool {cidr} with {IN_USE} addresses in use, {MEASURED} allocations measured:");
        let ours = ferrolb(cidr, family);
        let scan = linear_scan(cidr);
        println!("  linear scan / ferrolb at p50: {:.0}x", scan / ours);
    }
}
