//! The DPoP replay store (memory) at 15,000 proofs per second, on a simulated clock, for four
//! acceptance windows, in the default configuration (`dpop.max_age` 60 s, `dpop.leeway` 30 s,
//! `dpop.replay_capacity` 3,000,000): how many proofs it holds, the bytes it has allocated, the
//! resident memory it adds, the time of one check, and how many honest proofs it refuses (none).
//! Then the same with every proof signed by another of 10,000 keys, and a moka cache of
//! 32-byte ids with a time-to-live — what the store was before — holding one window of the same
//! traffic, for comparison in the same run.
//!
//! ```text
//! cargo bench --bench replay
//! ```

use std::time::{Duration, Instant};

use jwt_resource_server::dpop::{KeyId, MemoryReplayStore, ProofId};

const RATE: u64 = 15_000;
const MAX_AGE: i64 = 60;
const LEEWAY: u64 = 30;
const CAPACITY: u64 = 3_000_000;
const START: i64 = 1_800_000_000;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

/// What a simulated run found.
struct Run {
    held: u64,
    bytes: u64,
    rss_mib: f64,
    check_ns: f64,
    refused: u64,
}

/// `seconds` of `RATE` proofs per second, each made at the second it is sent (its `iat`), signed
/// by one of `keys` keys in turn.
fn simulate(seconds: i64, keys: u64) -> Run {
    let before = rss_mib();
    let store = MemoryReplayStore::new(CAPACITY, Duration::from_secs(MAX_AGE as u64 + LEEWAY));
    let thumbprints: Vec<[u8; 32]> = (0..keys)
        .map(|key| {
            let mut thumbprint = [0; 32];
            thumbprint[..8].copy_from_slice(&key.to_le_bytes());
            thumbprint[8] = 1;
            thumbprint
        })
        .collect();
    let (mut held, mut bytes, mut refused, mut checks) = (0, 0, 0, 0_u64);
    let mut busy = Duration::ZERO;
    for second in 0..seconds {
        let now = START + second;
        let started = Instant::now();
        for n in 0..RATE {
            let thumbprint = &thumbprints[(n % keys) as usize];
            let id = ProofId::new(thumbprint, &format!("{second}-{n}"));
            match store.first_use(id, KeyId::new(thumbprint), now + MAX_AGE + 1, now) {
                Ok(true) => {}
                _ => refused += 1,
            }
        }
        busy += started.elapsed();
        checks += RATE;
        let jwt_resource_server::Usage { entries, bytes: allocated } = store.usage();
        held = held.max(entries);
        bytes = bytes.max(allocated);
    }
    Run { held, bytes, rss_mib: rss_mib() - before, check_ns: busy.as_nanos() as f64 / checks as f64, refused }
}

/// What the store was before: moka with a time-to-live and 32-byte ids, holding `count` proofs.
fn moka_baseline(count: u64) -> f64 {
    let before = rss_mib();
    let cache: moka::sync::Cache<[u8; 32], ()> =
        moka::sync::Cache::builder().time_to_live(Duration::from_secs(MAX_AGE as u64 + LEEWAY)).build();
    for n in 0..count {
        let mut id = [0; 32];
        id[..8].copy_from_slice(&n.to_le_bytes());
        cache.insert(id, ());
    }
    cache.run_pending_tasks();
    let grown = rss_mib() - before;
    drop(cache);
    grown
}

fn main() {
    let seconds = 4 * (MAX_AGE + LEEWAY as i64);
    println!(
        "replay store: {RATE} proofs/s for {seconds} s (4 windows of max_age + leeway = {} s) on a simulated clock; capacity {CAPACITY}",
        MAX_AGE + LEEWAY as i64
    );
    println!();
    println!(
        "| {:<44} | {:>12} | {:>10} | {:>11} | {:>10} | {:>9} | {:>8} |",
        "run", "proofs held", "bytes MiB", "bytes/proof", "RSS MiB", "check ns", "refused"
    );
    println!("| {:-<44} | {:->12} | {:->10} | {:->11} | {:->10} | {:->9} | {:->8} |", "", "", "", "", "", "", "");
    let mut failed = false;
    for (name, keys) in [("one client", 1), ("10,000 clients in turn", 10_000)] {
        let run = simulate(seconds, keys);
        println!(
            "| {:<44} | {:>12} | {:>10.1} | {:>11.1} | {:>10.1} | {:>9.0} | {:>8} |",
            format!("this store, {name}"),
            run.held,
            run.bytes as f64 / f64::from(1 << 20),
            run.bytes as f64 / run.held as f64,
            run.rss_mib,
            run.check_ns,
            run.refused
        );
        failed |= run.refused > 0 || (keys == 1 && run.bytes > 64 << 20);
    }
    let window = RATE * (MAX_AGE as u64 + 1);
    let moka = moka_baseline(window);
    println!(
        "| {:<44} | {:>12} | {:>10} | {:>11.1} | {:>10.1} | {:>9} | {:>8} |",
        "before: moka with a TTL, 32-byte ids",
        window,
        "",
        moka * f64::from(1 << 20) / window as f64,
        moka,
        "",
        ""
    );
    if failed {
        eprintln!("the store refused honest proofs, or held one client's traffic in more than 64 MiB");
        std::process::exit(1);
    }
}
