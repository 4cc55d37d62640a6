//! docs/tutorials/multi-url-load-balancing.md: several `--url`s, each request sent to the
//! next one in turn (`round_robin`, the default and the only `--url-strategy`).
//!
//! Each tutorial URL becomes a simulator of its own that records what it served, so the split
//! is read from the servers' side.

use std::collections::HashSet;

use serde_json::Value;

use super::{Sim, Tutorial, records};

const TWO_SERVERS: &str = r"aiperf profile --model llama \
    --url http://server1:8000 \
    --url http://server2:8000 \
    --request-rate 20 \
    --request-count 100";

const FOUR_GPUS: &str = r"aiperf profile --model llama \
    --url http://localhost:8000 \
    --url http://localhost:8001 \
    --url http://localhost:8002 \
    --url http://localhost:8003 \
    --concurrency 32 \
    --benchmark-duration 60";

const EXPLICIT_STRATEGY: &str = r"aiperf profile --model llama \
    --url http://server1:8000 \
    --url http://server2:8000 \
    --url-strategy round_robin \
    --request-count 100";

/// Runs the command against `n` simulators; what each served of the measured requests, and
/// the order of servers in which they arrived.
fn spread(cmd: Tutorial, n: usize) -> (Vec<usize>, Vec<usize>) {
    let tmp = tempfile::tempdir().unwrap();
    let sims: Vec<Sim> = (0..n)
        .map(|i| Sim::start(tmp.path(), &format!("server{i}"), "llama", "fixed", 10.0))
        .collect();
    let urls: Vec<&str> = sims.iter().map(Sim::url).collect();
    let run = cmd.on_urls(&urls).run_in(tmp.path());
    let served: Vec<Vec<Value>> = sims.into_iter().map(Sim::served).collect();
    let run = run.ok();
    let measured: HashSet<String> = records(&run.dir())
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap().to_owned())
        .collect();
    let mut arrivals = Vec::new();
    let mut counts = Vec::new();
    for (i, list) in served.iter().enumerate() {
        let mine: Vec<&Value> = list
            .iter()
            .filter(|r| measured.contains(r["client_request_id"].as_str().unwrap_or("")))
            .collect();
        counts.push(mine.len());
        arrivals.extend(mine.iter().map(|r| (r["arrival_ns"].as_u64().unwrap(), i)));
    }
    assert_eq!(counts.iter().sum::<usize>(), measured.len());
    arrivals.sort();
    (counts, arrivals.into_iter().map(|a| a.1).collect())
}

#[test]
fn two_servers_share_the_requests() {
    let cmd = Tutorial::parse(TWO_SERVERS).with("--request-count", "40");
    let (counts, _) = spread(cmd, 2);
    assert_eq!(counts, [20, 20]);
}

#[test]
fn four_servers_share_a_concurrency() {
    let cmd = Tutorial::parse(FOUR_GPUS).with("--benchmark-duration", "2");
    let (counts, _) = spread(cmd, 4);
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(*min >= 10 && max - min <= 2, "{counts:?}");
}

#[test]
fn round_robin_alternates_servers() {
    let cmd = Tutorial::parse(EXPLICIT_STRATEGY).with("--request-count", "40");
    let (counts, order) = spread(cmd, 2);
    assert_eq!(counts, [20, 20]);
    // One request at a time (the default concurrency): each to the other server.
    for pair in order.windows(2) {
        assert_ne!(pair[0], pair[1], "{order:?}");
    }
}
