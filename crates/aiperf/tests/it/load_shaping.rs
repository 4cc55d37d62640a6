//! Shaping the load: prefill concurrency, ramps, the request-rate series, user-centric
//! sessions, fixed-schedule windows, the cap on recorded turn delays and the warmup's own
//! shape, each checked from what the run wrote (send and first-token times of
//! `profile_export.jsonl`, `run_config.json`, the simulator's own record of requests).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{
    aiperf, assert_usage_error, interrupt, profile, profile_ok, read_lines, stderr,
};

/// The records of a run: its `profile_export.jsonl`.
fn records(dir: &Path) -> Vec<Value> {
    read_lines(&dir.join("profile_export.jsonl"))
}

fn ns(r: &Value, field: &str) -> f64 {
    r["metadata"][field].as_f64().unwrap()
}

/// Each record's send and first-token times (wall nanoseconds).
fn prefill_spans(records: &[Value]) -> Vec<(f64, f64)> {
    records
        .iter()
        .map(|r| {
            let start = ns(r, "request_start_ns");
            let ttft = r["metrics"]["time_to_first_token"]["value"]
                .as_f64()
                .unwrap();
            (start, start + ttft * 1e6)
        })
        .collect()
}

/// The most spans open at one instant (one ending as another starts counts once; a
/// microsecond of slack for the rounding of milliseconds).
fn max_overlap(spans: &[(f64, f64)]) -> usize {
    let mut events: Vec<(f64, i32)> = spans
        .iter()
        .flat_map(|&(s, e)| [(s, 1), (e - 1e3, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, d) in events {
        open += d;
        most = most.max(open);
    }
    most as usize
}

/// Sends counted per `window` seconds from the first send.
fn sends_per_window(records: &[Value], window: f64) -> Vec<usize> {
    let starts: Vec<f64> = records.iter().map(|r| ns(r, "request_start_ns")).collect();
    let t0 = starts.iter().copied().fold(f64::INFINITY, f64::min);
    let mut counts = Vec::new();
    for s in starts {
        let k = ((s - t0) / 1e9 / window) as usize;
        if counts.len() <= k {
            counts.resize(k + 1, 0);
        }
        counts[k] += 1;
    }
    counts
}

fn phases(dir: &Path) -> Vec<Value> {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run_config.json")).unwrap())
            .unwrap();
    config["cfg"]["phases"].as_array().unwrap().clone()
}

#[test]
fn prefill_concurrency_caps_requests_between_send_and_first_token() {
    let (gated, free) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let load = [
        "--sim",
        "--streaming",
        "--concurrency",
        "8",
        "--request-count",
        "48",
    ];
    let load = [&load[..], &["--osl", "8", "--sim-speedup", "4"]].concat();
    profile_ok(free.path(), &load);
    profile_ok(
        gated.path(),
        &[&load[..], &["--prefill-concurrency", "2"]].concat(),
    );
    let free_overlap = max_overlap(&prefill_spans(&records(free.path())));
    assert!(
        free_overlap > 2,
        "without the gate: {free_overlap} in prefill at once"
    );
    let gated_records = records(gated.path());
    assert_eq!(gated_records.len(), 48);
    let gated_overlap = max_overlap(&prefill_spans(&gated_records));
    assert!(
        gated_overlap <= 2,
        "{gated_overlap} requests in prefill at once"
    );
    assert_eq!(phases(gated.path())[0]["prefill_concurrency"], 2);
}

#[test]
fn a_prefill_ramp_starts_with_one_slot() {
    let dir = tempfile::tempdir().unwrap();
    profile_ok(
        dir.path(),
        &[
            "--sim",
            "--streaming",
            "--concurrency",
            "6",
            "--prefill-concurrency",
            "4",
            "--prefill-concurrency-ramp-duration",
            "3",
            "--benchmark-duration",
            "4",
            "--osl",
            "4",
        ],
    );
    let recs = records(dir.path());
    let spans = prefill_spans(&recs);
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    // The second slot opens a second after the start: until then one request at a time.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.8e9).collect();
    assert!(early.len() >= 2, "{} early requests", early.len());
    assert_eq!(max_overlap(&early), 1);
    assert!(max_overlap(&spans) <= 4);
    assert_eq!(phases(dir.path())[0]["prefill_ramp"]["duration"], 3.0);
}

#[test]
fn a_concurrency_ramp_adds_one_session_per_step() {
    let dir = tempfile::tempdir().unwrap();
    profile_ok(
        dir.path(),
        &[
            "--sim",
            "--streaming",
            "--concurrency",
            "6",
            "--concurrency-ramp-duration",
            "2.5",
            "--benchmark-duration",
            "4",
            "--osl",
            "16",
        ],
    );
    let recs = records(dir.path());
    let spans: Vec<(f64, f64)> = recs
        .iter()
        .map(|r| (ns(r, "request_start_ns"), ns(r, "request_end_ns")))
        .collect();
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    // The second session may start half a second in: before, one request at a time.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.4e9).collect();
    assert_eq!(max_overlap(&early), 1, "{early:?}");
    assert_eq!(
        max_overlap(&spans),
        6,
        "all six sessions by the end of the ramp"
    );
    assert_eq!(phases(dir.path())[0]["concurrency_ramp"]["duration"], 2.5);
}

#[test]
fn a_rate_ramp_sends_sparser_first() {
    let dir = tempfile::tempdir().unwrap();
    profile_ok(
        dir.path(),
        &[
            "--sim",
            "--streaming",
            "--request-rate",
            "40",
            "--request-rate-ramp-duration",
            "2",
            "--arrival-pattern",
            "constant",
            "--benchmark-duration",
            "3",
            "--osl",
            "4",
            "--sim-speedup",
            "4",
        ],
    );
    let w = sends_per_window(&records(dir.path()), 0.5);
    assert!(w.len() >= 6, "{w:?}");
    // Ramp: about 3 sends in the first half second, 20 once at the target rate.
    assert!(w[0] * 3 <= w[4], "{w:?}");
    assert!(w[1] < w[3], "{w:?}");
    assert!((14..=26).contains(&w[4]), "{w:?}");
    assert_eq!(phases(dir.path())[0]["rate_ramp"]["duration"], 2.0);
}

#[test]
fn a_rate_series_sets_the_rate_over_time() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series.json");
    std::fs::write(
        &series,
        r#"{"points": [{"time_s": 0, "qps": 4}, {"time_s": 1, "qps": 4}, {"time_s": 2, "qps": 40}]}"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    profile_ok(
        &out,
        &[
            "--sim",
            "--streaming",
            "--request-rate-series",
            series.to_str().unwrap(),
            "--arrival-pattern",
            "constant",
            "--benchmark-duration",
            "3.5",
            "--osl",
            "4",
            "--sim-speedup",
            "4",
        ],
    );
    let w = sends_per_window(&records(&out), 1.0);
    assert!(w.len() >= 3, "{w:?}");
    // 4 per second at first, 40 per second from 2 s on.
    assert!((3..=6).contains(&w[0]), "{w:?}");
    assert!(w[2] >= 4 * w[0], "{w:?}");
    let phase = &phases(&out)[0];
    assert_eq!(phase["rate_series"]["points"][2]["qps"], 40.0);
    assert!(phase.get("rate").is_none(), "{phase}");
}

#[test]
fn user_centric_users_send_one_gap_apart() {
    let dir = tempfile::tempdir().unwrap();
    profile_ok(
        dir.path(),
        &[
            "--sim",
            "--streaming",
            "--user-centric-rate",
            "8",
            "--num-users",
            "4",
            "--session-turns-mean",
            "3",
            "--benchmark-duration",
            "3",
            "--osl",
            "4",
            "--sim-speedup",
            "4",
        ],
    );
    let recs = records(dir.path());
    // Users sharing 8 requests/s: each user's turns half a second apart (4 / 8), never
    // before the previous answer; users' first turns an eighth of a second apart.
    let mut users: BTreeMap<String, Vec<(u64, f64, f64)>> = BTreeMap::new();
    for r in &recs {
        users
            .entry(
                r["metadata"]["x_correlation_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
            .or_default()
            .push((
                r["metadata"]["turn_index"].as_u64().unwrap(),
                ns(r, "credit_issued_ns"),
                ns(r, "request_end_ns"),
            ));
    }
    assert!(users.len() >= 5, "{} users", users.len());
    let mut firsts = Vec::new();
    for turns in users.values_mut() {
        turns.sort_by_key(|t| t.0);
        assert!(turns.len() <= 3);
        for w in turns.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1);
            let apart = (w[1].1 - w[0].1) / 1e9;
            assert!(apart >= 0.45, "turns {apart:.3} s apart");
            assert!(
                w[1].1 >= w[0].2,
                "a turn went out before the previous answer"
            );
        }
        firsts.push((turns[0].1, turns.len()));
    }
    firsts.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        firsts.windows(2).all(|w| w[1].0 - w[0].0 >= 0.1e9),
        "{firsts:?}"
    );
    // The run starts in steady state: users that joined before it have only a turn left.
    let t0 = firsts[0].0;
    let joined_before = firsts
        .iter()
        .filter(|(at, turns)| at - t0 < 0.5e9 && *turns == 1)
        .count();
    assert!(joined_before >= 1, "{firsts:?}");
    // About 8 requests per second overall.
    assert!((16..=30).contains(&recs.len()), "{} requests", recs.len());
    let phase = &phases(dir.path())[0];
    assert_eq!(phase["type"], "user_centric");
    assert_eq!(phase["users"], 4);
    assert_eq!(phase["rate"], 8.0);
}

/// A mooncake trace of twelve rows 500 ms apart, each with its own input length (20 + row).
fn trace(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("trace.jsonl");
    let rows: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"timestamp": {}, "input_length": {}, "output_length": 3}}"#,
                500 * i,
                20 + i
            )
        })
        .collect();
    std::fs::write(&path, rows.join("\n")).unwrap();
    path
}

/// The rows a replay sent (by their input lengths), with their send offsets in ms.
fn sent_rows(dir: &Path) -> Vec<(u64, f64)> {
    let recs = records(dir);
    let t0 = recs
        .iter()
        .map(|r| ns(r, "credit_issued_ns"))
        .fold(f64::INFINITY, f64::min);
    let mut rows: Vec<(u64, f64)> = recs
        .iter()
        .map(|r| {
            let isl = r["metrics"]["input_sequence_length"]["value"]
                .as_u64()
                .unwrap();
            (isl - 20, (ns(r, "credit_issued_ns") - t0) / 1e6)
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

#[test]
fn a_fixed_schedule_window_sends_only_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let trace = trace(dir.path());
    let common = [
        "--sim",
        "--streaming",
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--fixed-schedule",
    ];
    let window = dir.path().join("window");
    profile_ok(
        &window,
        &[
            &common[..],
            &[
                "--fixed-schedule-start-offset",
                "1000",
                "--fixed-schedule-end-offset",
                "3000",
            ],
        ]
        .concat(),
    );
    let rows = sent_rows(&window);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6],
        "rows at 1000..=3000 ms"
    );
    // Still 500 ms apart, the first at once.
    for (k, (_, at)) in rows.iter().enumerate() {
        assert!((at - 500.0 * k as f64).abs() < 150.0, "{rows:?}");
    }
    let phase = &phases(&window)[0];
    assert_eq!(phase["start_offset"], 1000);
    assert_eq!(phase["end_offset"], 3000);
    assert_eq!(phase["auto_offset"], false);

    let head = dir.path().join("head");
    profile_ok(
        &head,
        &[
            &common[..],
            &[
                "--fixed-schedule-auto-offset",
                "--fixed-schedule-end-offset",
                "1000",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        sent_rows(&head).iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

#[test]
fn recorded_turn_delays_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.jsonl");
    std::fs::write(
        &file,
        r#"{"session_id": "a", "turns": [{"text": "Hello there"}, {"text": "And then?", "delay": 5000}]}"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    profile_ok(
        &out,
        &[
            "--sim",
            "--streaming",
            "--input-file",
            file.to_str().unwrap(),
            "--custom-dataset-type",
            "multi_turn",
            "--request-count",
            "2",
            "--inter-turn-delay-cap-seconds",
            "0.2",
            "--osl",
            "4",
        ],
    );
    let mut recs = records(&out);
    recs.sort_by_key(|r| r["metadata"]["turn_index"].as_u64().unwrap());
    assert_eq!(recs.len(), 2);
    let pause = (ns(&recs[1], "credit_issued_ns") - ns(&recs[0], "request_end_ns")) / 1e9;
    assert!((0.15..2.0).contains(&pause), "paused {pause:.3} s, not 5");
}

/// A stand-alone simulator recording every request it serves; its URL and record file.
struct RecordingSim {
    child: std::process::Child,
    url: String,
}

impl RecordingSim {
    fn start(records: &Path) -> Self {
        let mut child = aiperf()
            .args(["sim", "--port", "0", "--speedup", "4", "--model", "m"])
            .arg("--record-requests")
            .arg(records)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let banner = lines.next().unwrap().unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_owned();
        Self { child, url }
    }

    fn stop(mut self) {
        interrupt(self.child.id());
        let _ = self.child.wait();
    }
}

#[test]
fn the_warmup_runs_its_own_sessions_and_prefill_gate() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served.jsonl");
    let sim = RecordingSim::start(&served);
    let out = dir.path().join("run");
    let run = profile(
        &out,
        &[
            "--url",
            &sim.url,
            "--model",
            "m",
            "--tokenizer",
            "builtin",
            "--streaming",
            "--concurrency",
            "4",
            "--request-count",
            "8",
            "--num-warmup-sessions",
            "3",
            "--session-turns-mean",
            "2",
            "--warmup-prefill-concurrency",
            "1",
            "--osl",
            "4",
        ],
    );
    sim.stop();
    assert!(run.status.success(), "{}", stderr(&run));
    let measured: HashSet<String> = records(&out)
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(measured.len(), 8);
    let warmup: Vec<Value> = read_lines(&served)
        .into_iter()
        .filter(|r| !measured.contains(r["client_request_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(warmup.len(), 6, "three warmup sessions of two turns");
    // The server's own view: one warmup request at a time between arrival and first token.
    let spans: Vec<(f64, f64)> = warmup
        .iter()
        .map(|r| {
            (
                r["arrival_ns"].as_f64().unwrap(),
                r["first_token_ns"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(max_overlap(&spans), 1);
    let phase = &phases(&out)[0];
    assert_eq!(phase["sessions"], 3);
    assert_eq!(phase["prefill_concurrency"], 1);
}

#[test]
fn agentic_and_weka_flags_are_accepted_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let run = profile(
        dir.path(),
        &[
            "--sim",
            "--request-count",
            "2",
            "--burst-phase-starts",
            "--trajectory-start-min-ratio",
            "0.1",
            "--trace-idle-gap-cap-seconds",
            "5",
            "--agentic-warmup-grace-period",
            "3",
        ],
    );
    let err = stderr(&run);
    assert!(run.status.success(), "{err}");
    for flag in [
        "--burst-phase-starts",
        "--trajectory-start-min-ratio",
        "--trace-idle-gap-cap-seconds",
        "--agentic-warmup-grace-period",
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(flag) && l.contains("no effect")),
            "no note for {flag}: {err}"
        );
    }
}

#[test]
fn bad_load_shapes_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.json"), dir.path().join("two.json"));
    std::fs::write(&one, r#"[{"time_s": 0, "qps": 1}]"#).unwrap();
    std::fs::write(
        &two,
        r#"[{"time_s": 0, "qps": 1}, {"time_s": 1, "qps": 2}]"#,
    )
    .unwrap();
    let (one, two) = (one.to_str().unwrap(), two.to_str().unwrap());
    let p = |extra: &[&'static str]| -> Vec<&'static str> {
        [&["profile", "--sim"][..], extra].concat()
    };
    for (args, needle) in [
        (p(&["--prefill-concurrency", "2"]), "needs --streaming"),
        (
            p(&[
                "--streaming",
                "--concurrency",
                "2",
                "--prefill-concurrency",
                "4",
            ]),
            "more than the concurrency",
        ),
        (
            p(&["--streaming", "--prefill-concurrency", "1,2"]),
            "one value",
        ),
        (
            p(&["--request-rate-ramp-duration", "2"]),
            "rate-controlled scheduling",
        ),
        (
            p(&["--concurrency-ramp-duration", "0"]),
            "positive number of seconds",
        ),
        (p(&["--num-users", "4"]), "requires --user-centric-rate"),
        (p(&["--user-centric-rate", "2"]), "needs --num-users"),
        (
            p(&["--user-centric-rate", "2", "--num-users", "4"]),
            "--session-turns-mean >= 2",
        ),
        (
            p(&[
                "--user-centric-rate",
                "2",
                "--num-users",
                "4",
                "--session-turns-mean",
                "3",
                "--request-count",
                "2",
            ]),
            "at least --num-users",
        ),
        (
            p(&["--fixed-schedule-end-offset", "100"]),
            "requires --fixed-schedule",
        ),
        (p(&["--warmup-grace-period", "5"]), "without a warmup phase"),
        (
            p(&["--warmup-request-count", "4", "--warmup-grace-period", "5"]),
            "requires --warmup-duration",
        ),
        (
            p(&["--warmup-arrival-pattern", "constant"]),
            "shapes a warmup phase",
        ),
        (
            p(&[
                "--warmup-request-count",
                "4",
                "--warmup-request-rate-ramp-duration",
                "2",
            ]),
            "needs a warmup rate",
        ),
        (
            p(&["--trajectory-start-max-ratio", "1.5"]),
            "between 0 and 1",
        ),
        (
            p(&["--replay-speedup", "10"]),
            "only supported by the baseten_trace",
        ),
        (
            p(&["--no-force-min-tokens"]),
            "only supported by the baseten_trace",
        ),
    ] {
        assert_usage_error(&args, needle);
    }
    assert_usage_error(
        &["profile", "--sim", "--request-rate-series", one],
        "at least two points",
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--request-rate",
            "2",
            "--request-rate-series",
            two,
        ],
        "give one",
    );
    let trace = trace(dir.path());
    let trace = trace.to_str().unwrap();
    for (extra, needle) in [
        (
            &[
                "--fixed-schedule-auto-offset",
                "--fixed-schedule-start-offset",
                "10",
            ][..],
            "mutually exclusive",
        ),
        (
            &[
                "--fixed-schedule-start-offset",
                "900",
                "--fixed-schedule-end-offset",
                "100",
            ][..],
            "must be <=",
        ),
    ] {
        let args = [
            &[
                "profile",
                "--sim",
                "--input-file",
                trace,
                "--fixed-schedule",
            ][..],
            extra,
        ]
        .concat();
        assert_usage_error(&args, needle);
    }
}
