//! docs/tutorials/user-centric-timing.md: `--user-centric-rate` with `--num-users`: each user
//! sends a turn every `num_users / rate` seconds, users staggered so the system is at its rate
//! from the start, a shared system prompt before each user's own context.
//!
//! The tutorial's gaps (15 to 30 s per user) are too slow for a test: every rate here is ten
//! times the printed one and the durations shorter, so the same 15 users keep the same
//! schedule ten times faster. Its concurrency-cap example has no `--session-turns-mean`, which
//! the Python AIPerf refuses ("User-centric rate mode requires --session-turns-mean >= 2"); it
//! is checked to be refused here too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Tutorial, payloads, phases, records, secs};

const QUICK_START: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --user-centric-rate 1.0 \
    --num-users 15 \
    --session-turns-mean 20 \
    --shared-system-prompt-length 1000 \
    --user-context-prompt-length 20000 \
    --synthetic-input-tokens-mean 26 \
    --osl 100 \
    --num-dataset-entries 1000 \
    --benchmark-duration 100";

const CONCURRENCY_CAP: &str = r"aiperf profile \
    --user-centric-rate 1.0 \
    --num-users 15 \
    --concurrency 15 \
    --model your-model \
    --url localhost:8000";

const KV_CACHE: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --user-centric-rate 1.0 \
    --num-users 15 \
    --session-turns-mean 20 \
    --shared-system-prompt-length 1000 \
    --user-context-prompt-length 20000 \
    --synthetic-input-tokens-mean 26 \
    --osl 100 \
    --num-dataset-entries 1000 \
    --benchmark-duration 100 \
    --random-seed 42";

const HIGH_THROUGHPUT: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --user-centric-rate 4.0 \
    --num-users 15 \
    --session-turns-mean 20 \
    --shared-system-prompt-length 1000 \
    --user-context-prompt-length 20000 \
    --synthetic-input-tokens-mean 26 \
    --osl 100 \
    --num-dataset-entries 1000 \
    --benchmark-duration 100";

const LOW_QPS: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --user-centric-rate 0.5 \
    --num-users 15 \
    --session-turns-mean 20 \
    --shared-system-prompt-length 1000 \
    --user-context-prompt-length 20000 \
    --synthetic-input-tokens-mean 26 \
    --osl 100 \
    --num-dataset-entries 1000 \
    --benchmark-duration 300";

/// Runs a printed command ten times faster (rate × 10) for `duration` seconds, with shorter
/// prompts and answers, and checks the schedule: every user's turns `15 / rate` apart, the
/// users' first turns spread over one gap, all users' requests at the rate together.
fn users_keep_their_gap(printed: &str, rate: f64, duration: f64) -> tempfile::TempDir {
    let fast = rate * 10.0;
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(printed)
        .on_sim("fixed", 10.0)
        .with("--user-centric-rate", &fast.to_string())
        .with("--shared-system-prompt-length", "100")
        .with("--user-context-prompt-length", "200")
        .with("--osl", "10")
        .with("--num-dataset-entries", "30")
        .with("--benchmark-duration", &duration.to_string())
        .run_in(tmp.path())
        .ok();
    let dir = run.dir();
    let recs = records(&dir);
    let gap = 15.0 / fast;
    let mut users: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &recs {
        let user = r["metadata"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        users
            .entry(user)
            .or_default()
            .push(secs(r, "request_start_ns"));
    }
    let mut gaps = Vec::new();
    for starts in users.values_mut() {
        starts.sort_by(f64::total_cmp);
        gaps.extend(starts.windows(2).map(|w| w[1] - w[0]));
    }
    assert!(!gaps.is_empty(), "no user sent two turns");
    for g in &gaps {
        assert!(
            (gap * 0.95..gap * 1.1).contains(g),
            "a user's turns {g:.3} s apart, not {gap} s"
        );
    }
    // Staggered: the first 15 users' first turns one request interval apart.
    let mut firsts: Vec<f64> = users.values().map(|s| s[0]).collect();
    firsts.sort_by(f64::total_cmp);
    let spread = firsts[14.min(firsts.len() - 1)] - firsts[0];
    assert!(
        (gap * 0.8..gap * 1.1).contains(&spread),
        "first turns over {spread:.3} s"
    );
    let expected = fast * duration;
    assert!(
        (recs.len() as f64) > expected * 0.8 && (recs.len() as f64) < expected * 1.2,
        "{} requests in {duration} s at {fast}/s",
        recs.len()
    );
    let phase = &phases(&dir)[0];
    assert_eq!(phase["type"], "user_centric");
    assert_eq!(phase["users"], 15);
    tmp
}

/// The one run directory under `cwd/artifacts`.
fn only_run(cwd: &std::path::Path) -> std::path::PathBuf {
    let mut dirs = std::fs::read_dir(cwd.join("artifacts")).unwrap();
    let dir = dirs.next().unwrap().unwrap().path();
    assert!(dirs.next().is_none());
    dir
}

/// The first turn of every session: the shared system prompt, then its user's own context.
fn shared_prefix_then_own_context(dir: &std::path::Path) {
    let firsts: Vec<Value> = payloads(dir)
        .into_iter()
        .filter(|p| p["messages"][0]["role"] == "system")
        .collect();
    assert_eq!(firsts.len(), 30, "one first turn per dataset entry");
    let systems: BTreeSet<&str> = firsts
        .iter()
        .map(|p| p["messages"][0]["content"].as_str().unwrap())
        .collect();
    assert_eq!(systems.len(), 1, "one system prompt shared by all users");
    let contexts: BTreeSet<&str> = firsts
        .iter()
        .map(|p| p["messages"][1]["content"].as_str().unwrap())
        .collect();
    assert_eq!(contexts.len(), 30, "each user's context is its own");
}

#[test]
fn quick_start_users_send_every_fifteen_seconds() {
    let tmp = users_keep_their_gap(QUICK_START, 1.0, 4.0);
    shared_prefix_then_own_context(&only_run(tmp.path()));
}

#[test]
fn a_concurrency_cap_needs_multi_turn_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    Tutorial::parse(CONCURRENCY_CAP)
        .on_sim("fixed", 10.0)
        .run_in(tmp.path())
        .refused("--session-turns-mean");
}

#[test]
fn the_kv_cache_benchmark_is_seeded() {
    let tmp = users_keep_their_gap(KV_CACHE, 1.0, 4.0);
    let dir = only_run(tmp.path());
    shared_prefix_then_own_context(&dir);
    let config = super::read_json(&dir.join("run_config.json"));
    assert_eq!(config["random_seed"], 42);
}

#[test]
fn high_throughput_shortens_the_gap() {
    users_keep_their_gap(HIGH_THROUGHPUT, 4.0, 2.0);
}

#[test]
fn low_qps_lengthens_the_gap() {
    users_keep_their_gap(LOW_QPS, 0.5, 4.0);
}
