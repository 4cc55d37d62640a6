//! Reliability with real processes: secrets never written, a killed run leaves valid files,
//! an interrupted sweep keeps its finished cells and resumes, and bad input of every kind is a
//! clear usage error that writes nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{aiperf, interrupt, read_lines, run, stderr, stdout};

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(all_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn secrets_never_reach_artifacts_or_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let secrets = [
        "sk-SECRET-key-123",
        "tok-SECRET-bearer-456",
        "k-SECRET-apikey-789",
    ];
    let output = run(&[
        "-v",
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--request-count",
        "6",
        "--osl",
        "4",
        "--api-key",
        secrets[0],
        "-H",
        &format!("Authorization:Bearer {}", secrets[1]),
        "-H",
        &format!("X-Api-Key:{}", secrets[2]),
        "-H",
        "X-Team:perf",
        "--export-level",
        "raw",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut haystacks: Vec<(String, String)> = vec![
        ("stdout".into(), stdout(&output)),
        ("stderr".into(), stderr(&output)),
    ];
    for f in all_files(&dir) {
        haystacks.push((
            f.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned(),
        ));
    }
    assert!(haystacks.len() >= 7);
    for (name, text) in &haystacks {
        for s in secrets {
            assert!(!text.contains(s), "{s} leaked into {name}");
        }
    }
    let config = std::fs::read_to_string(dir.join("run_config.json")).unwrap();
    assert!(
        config.contains("X-Team") && config.contains("perf"),
        "plain headers are kept"
    );
    assert!(config.contains("<redacted>"));
    let summary = std::fs::read_to_string(dir.join("profile_export_aiperf.json")).unwrap();
    assert!(
        summary.contains("--api-key '<redacted>'") || summary.contains("--api-key <redacted>"),
        "the command echo is redacted"
    );
}

/// `kill -9` in the middle of a run: every complete JSONL line is valid, and the files written
/// before (inputs.json, run_config.json) are whole; no summary is half-written.
#[test]
fn a_killed_run_leaves_valid_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut child = aiperf()
        .args([
            "profile",
            "--ui",
            "none",
            "--sim",
            "fixed",
            "--streaming",
            "--concurrency",
            "16",
        ])
        .args([
            "--osl",
            "8",
            "--benchmark-duration",
            "120",
            "--artifact-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let jsonl = dir.join("profile_export.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(&jsonl).map_or(0, |s| s.lines().count()) < 50 {
        assert!(std::time::Instant::now() < deadline, "no records appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let complete: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .collect();
    assert!(complete.len() >= 50);
    for line in complete {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        assert!(v["metadata"]["request_start_ns"].is_u64());
    }
    for f in ["inputs.json", "run_config.json"] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
        assert!(v.is_object(), "{f}");
    }
    for f in ["profile_export_aiperf.json", "profile_export_aiperf.csv"] {
        assert!(
            !dir.join(f).exists(),
            "{f} is only ever written whole, at the end"
        );
    }
}

/// Ctrl-C during a sweep: the value in progress drains, finished values keep their files, the
/// aggregate covers them, and the same command resumes without redoing them.
#[test]
fn an_interrupted_sweep_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let args = [
        "profile",
        "--ui",
        "none",
        "--sim",
        "fixed",
        "--streaming",
        "--osl",
        "30",
        "--request-count",
        "8",
        "--concurrency",
        "1,2,3,4",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    let mut child = aiperf()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.starts_with("[1/4]") {
        line.clear();
    }
    assert!(line.starts_with("[1/4]"), "first value finished");
    interrupt(child.id());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "an interrupted sweep is not a success: {rest}"
    );
    assert!(
        rest.contains("run the same command again to resume"),
        "{rest}"
    );
    assert!(
        dir.join("concurrency_1/.aiperf_results_ready.json")
            .is_file()
    );
    let agg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sweep_aggregate/profile_export_aiperf_sweep.json"))
            .unwrap(),
    )
    .unwrap();
    let done = agg["num_successful_runs"].as_u64().unwrap();
    assert!((1..4).contains(&done), "{done}");

    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("concurrency=1: already complete, skipped"));
    let agg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sweep_aggregate/profile_export_aiperf_sweep.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(agg["num_successful_runs"], 4);
    assert_eq!(
        read_lines(&dir.join("concurrency_4/profile_export.jsonl")).len(),
        8
    );
}

/// Bad invocations of every kind: exit 2, a message naming the flag or field, no panic, and
/// nothing written that looks like a result.
#[test]
fn bad_input_table() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str, content: &str| -> String {
        let path = tmp.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let bad_single = p("bad_single.jsonl", "{\"txt\": \"typo\"}\n");
    let bad_multi = p(
        "bad_multi.jsonl",
        "{\"session_id\": \"a\", \"turns\": []}\n",
    );
    let bad_trace = p(
        "bad_trace.jsonl",
        "{\"timestamp\": 0, \"input_length\": 100, \"hash_ids\": [1, 2]}\n",
    );
    let not_json = p("not_json.jsonl", "hello\n");
    let no_ts = p("no_ts.jsonl", "{\"text\": \"hi\"}\n");
    let bad_recipe = p(
        "bad_recipe.toml",
        "name = \"x\"\ndescription = \"d\"\nsearh = 1\n",
    );
    let bad_handler = p(
        "bad_handler.toml",
        "name = \"x\"\ndescription = \"d\"\n[grid]\nconcurrency = { values = [1, 2] }\n[post_process]\nhandler = \"nope\"\noutput = \"o.json\"\n",
    );
    let empty_recipe = p("empty_recipe.toml", "name = \"x\"\ndescription = \"d\"\n");
    let bad_tok = p("tokenizer.json", "{not a tokenizer");
    let file = p("plain_file", "x");
    let ro = tmp.path().join("readonly");
    std::fs::create_dir(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms).unwrap();
    let ro_dir = ro.join("out").display().to_string();
    let under_file = format!("{file}/sub");
    let missing = tmp.path().join("missing.jsonl").display().to_string();
    let missing_tok = tmp.path().join("nope/tokenizer.json").display().to_string();
    // Writing into a read-only directory is only refused to non-root users.
    let root = std::fs::write(ro.join("probe"), b"").is_ok();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--endpoint-type", "rankings"], "--endpoint-type"),
        (vec!["--concurrency", "-1"], "--concurrency"),
        (
            vec!["--concurrency", "0"],
            "'--concurrency <CONCURRENCY>': must be at least 1",
        ),
        (vec!["--concurrency", "1,1"], "appears twice"),
        (vec!["--concurrency", "abc"], "--concurrency"),
        (
            vec!["--request-count", "0"],
            "'--request-count <REQUEST_COUNT>': must be at least 1",
        ),
        (vec!["--request-rate", "0"], "--request-rate"),
        (vec!["--request-rate", "inf"], "--request-rate"),
        (vec!["--benchmark-duration", "-3"], "--benchmark-duration"),
        (
            vec!["--benchmark-grace-period", "-1"],
            "--benchmark-grace-period",
        ),
        (vec!["--warmup-duration", "0"], "--warmup-duration"),
        (
            vec!["--request-timeout-seconds", "0"],
            "--request-timeout-seconds",
        ),
        (vec!["--isl", "0"], "--isl"),
        (vec!["--osl", "0"], "--osl"),
        (vec!["--isl-stddev", "-2"], "--isl-stddev"),
        (vec!["--num-dataset-entries", "0"], "--num-dataset-entries"),
        (vec!["--arrival-pattern", "bursty"], "--request-rate-mode"),
        (vec!["--arrival-pattern", "gamma"], "needs --request-rate"),
        (
            vec!["--request-rate", "5", "--arrival-smoothness", "0"],
            "--arrival-smoothness",
        ),
        (vec!["--goodput", "latency:5"], "--goodput"),
        (vec!["--goodput", "time_to_first_token"], "--goodput"),
        (vec!["--ui", "fancy"], "--ui"),
        (
            vec!["--ui", "dashboard", "--concurrency", "1,2"],
            "Dashboard UI is not supported with parameter sweeps",
        ),
        (vec!["--export-level", "all"], "--export-level"),
        (vec!["-u", "localhost:1"], "--sim and --url conflict"),
        (vec!["--extra-inputs", "novalue"], "--extra-inputs"),
        (vec!["-H", "no-colon"], "--header"),
        (
            vec!["--failed-request-threshold", "0"],
            "--failed-request-threshold",
        ),
        (
            vec!["--failed-request-threshold", "20"],
            "--failed-request-threshold is the share of requests allowed to fail",
        ),
        (vec!["--num-profile-runs", "11"], "--num-profile-runs"),
        (vec!["--confidence-level", "1.5"], "--confidence-level"),
        (
            vec![
                "--concurrency",
                "1,2",
                "--osl",
                "4,5,6",
                "--sweep-type",
                "zip",
            ],
            "same number of values",
        ),
        (vec!["--input-file", &missing], "--input-file"),
        (vec!["--input-file", &bad_single], "unknown field `txt`"),
        (
            vec![
                "--input-file",
                &bad_multi,
                "--custom-dataset-type",
                "multi_turn",
            ],
            "`turns` is empty",
        ),
        (
            vec![
                "--input-file",
                &bad_trace,
                "--custom-dataset-type",
                "mooncake_trace",
            ],
            "too short",
        ),
        (vec!["--input-file", &not_json], "--input-file"),
        (
            vec!["--input-file", &no_ts, "--fixed-schedule"],
            "--fixed-schedule",
        ),
        (
            vec!["--custom-dataset-type", "single_turn"],
            "needs --input-file",
        ),
        (vec!["--tokenizer", &missing_tok], "--tokenizer"),
        (vec!["--tokenizer", &bad_tok], "--tokenizer"),
        (vec!["--artifact-dir", &under_file], "--artifact-dir"),
        (
            vec!["--search-recipe", &bad_recipe],
            "unknown field `searh`",
        ),
        (
            vec!["--search-recipe", &bad_handler],
            "post_process.handler",
        ),
        (
            vec!["--search-recipe", &empty_recipe],
            "needs a [search] or a [grid] table",
        ),
        (
            vec!["--search-recipe", "max-throughput-ttft-sla"],
            "requires --ttft-sla-ms",
        ),
        (
            vec!["--search-space", "concurrency:5,1:int"],
            "--search-space",
        ),
        (
            vec![
                "--search-space",
                "concurrency:1,10:int",
                "--search-metric",
                "x",
                "--search-direction",
                "up",
            ],
            "--search-direction",
        ),
        (vec!["--sim-speedup", "0"], "--sim-speedup"),
        (
            vec!["--server-metrics", "ftp://host/metrics"],
            "--server-metrics",
        ),
        (
            vec!["--server-metrics-interval-ms", "0"],
            "--server-metrics-interval-ms",
        ),
        (vec!["--connection-warmup", "maybe"], "--connection-warmup"),
        (vec!["--gpu-telemetry", "pynvml"], "--gpu-telemetry"),
        (vec!["--gpu-telemetry", "ftp://x"], "--gpu-telemetry"),
        (
            vec!["--gpu-telemetry-interval-ms", "0"],
            "--gpu-telemetry-interval-ms",
        ),
        (
            vec!["--server-metrics-formats", "parquet"],
            "--server-metrics-formats",
        ),
        (vec!["--search-replicates", "-1"], "--search-replicates"),
        (vec!["--model", ""], "--model"),
        (
            vec!["--request-count", "40", "--request-count", "8"],
            "'--request-count <REQUEST_COUNT>' cannot be used multiple times",
        ),
        (
            vec!["--concurrency", "2", "--concurrency", "4"],
            "to sweep several values, list them with commas",
        ),
        (
            vec!["--connection-reuse-strategy", "sometimes"],
            "--connection-reuse-strategy",
        ),
        (vec!["--tokenizer", "server"], "--tokenizer server"),
    ];
    let mut cases = cases;
    if !root {
        cases.push((vec!["--artifact-dir", &ro_dir], "--artifact-dir"));
    }
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    for (args, needle) in &cases {
        let mut all = vec!["profile", "--sim"];
        all.extend(args.iter().copied());
        let output = aiperf().current_dir(&cwd).args(&all).output().unwrap();
        let err = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} should exit 2: {err}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} does not mention {needle:?}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Nothing that looks like a result was written anywhere.
    let results: Vec<_> = all_files(&cwd)
        .into_iter()
        .chain(
            all_files(tmp.path())
                .into_iter()
                .filter(|f| !f.starts_with(&cwd)),
        )
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("profile_export"))
        })
        .collect();
    assert!(results.is_empty(), "{results:?}");
}
