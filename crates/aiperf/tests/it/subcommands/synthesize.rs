//! `aiperf synthesize agentic-code`.

use std::path::Path;

use super::{read_json, run_dir};
use crate::common::{assert_usage_error, run, stdout};

/// The files of a run directory whose content depends only on the seed and the config.
const FILES: [&str; 8] = [
    "dataset.jsonl",
    "manifest.json",
    "quality.json",
    "cache_structure.json",
    "comparison.txt",
    "report.html",
    "cache_explorer.html",
    "simulation.html",
];

fn synthesize(parent: &Path, extra: &[&str]) -> std::path::PathBuf {
    let mut args = vec![
        "synthesize",
        "agentic-code",
        "--num-sessions",
        "12",
        "--output",
        parent.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = run_dir(parent);
    assert!(stdout(&out).contains(&format!("Run directory: {}", dir.display())));
    dir
}

#[test]
fn a_seed_draws_the_same_sessions_in_mooncake_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let a = synthesize(&tmp.path().join("a"), &["--seed", "5"]);
    let b = synthesize(&tmp.path().join("b"), &["--seed", "5"]);
    let name = a.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("default_12s_seed5_"), "{name}");
    for f in FILES {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs of one seed"
        );
    }
    let other = synthesize(&tmp.path().join("c"), &["--seed", "6"]);
    assert_ne!(
        std::fs::read(a.join("dataset.jsonl")).unwrap(),
        std::fs::read(other.join("dataset.jsonl")).unwrap()
    );

    // Mooncake rows: a row's hash_ids cover its input_length in 512-token blocks; a session
    // opens with a timestamp and a group, its later turns wait a delay.
    let rows = crate::common::read_lines(&a.join("dataset.jsonl"));
    let mut sessions = std::collections::HashSet::new();
    for row in &rows {
        let isl = row["input_length"].as_u64().unwrap();
        let blocks = row["hash_ids"].as_array().unwrap().len() as u64;
        assert_eq!(blocks, isl.div_ceil(512), "{row}");
        assert!(row["output_length"].as_u64().unwrap() >= 1);
        let first = sessions.insert(row["session_id"].as_str().unwrap().to_owned());
        assert_eq!(row.get("timestamp").is_some(), first, "{row}");
        assert_eq!(row.get("group_id").is_some(), first, "{row}");
        assert_eq!(row.get("delay").is_some(), !first, "{row}");
    }
    assert_eq!(sessions.len(), 12);
    let quality = read_json(&a.join("quality.json"));
    assert_eq!(quality["session_end_stats"]["total_sessions"], 12);
    assert_eq!(
        quality["observed_vs_target"]["generation_length"]["observed"]["count"],
        rows.len()
    );

    // The manifest draws the same sessions again.
    let again = synthesize(
        &tmp.path().join("d"),
        &[
            "--seed",
            "5",
            "--config",
            a.join("manifest.json").to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(a.join("dataset.jsonl")).unwrap(),
        std::fs::read(again.join("dataset.jsonl")).unwrap()
    );

    // Our own trace analysis reads it.
    let out = run(&["analyze-trace", a.join("dataset.jsonl").to_str().unwrap()]);
    assert!(stdout(&out).contains(&format!("Total requests:   {}", rows.len())));
}

#[test]
fn limits_and_configs_shape_the_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("short.json");
    std::fs::write(
        &config,
        r#"{"turns": {"mean": 4, "median": 4, "min": 2, "max": 6}, "block_size": 128}"#,
    )
    .unwrap();
    let dir = synthesize(
        &tmp.path().join("t"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--max-osl",
            "50",
            "--max-isl",
            "150000",
        ],
    );
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("short_12s_seed42_")
    );
    let manifest = read_json(&dir.join("manifest.json"));
    let params = &manifest["generation_params"];
    assert_eq!(params["max_prompt_tokens"], 150_000);
    assert_eq!(params["generation_length"]["max"], 50.0);
    assert_eq!(params["reset"], serde_json::Value::Null);
    let rows = crate::common::read_lines(&dir.join("dataset.jsonl"));
    let mut turns: std::collections::HashMap<String, usize> = Default::default();
    for row in &rows {
        assert!(row["output_length"].as_u64().unwrap() <= 50, "{row}");
        let isl = row["input_length"].as_u64().unwrap();
        assert_eq!(
            row["hash_ids"].as_array().unwrap().len() as u64,
            isl.div_ceil(128)
        );
        *turns
            .entry(row["session_id"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert!(turns.values().all(|n| (2..=6).contains(n)), "{turns:?}");
}

#[test]
fn bad_arguments_name_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let with = |extra: &[&str]| -> Vec<String> {
        ["synthesize", "agentic-code", "--output", out]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let check = |args: Vec<String>, needle: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_usage_error(&args, needle);
    };
    assert_usage_error(&["synthesize", "chat", "--output", out], "TARGET");
    assert_usage_error(&["synthesize", "--output", out], "TARGET");
    check(with(&["--num-sessions", "0"]), "--num-sessions");
    check(with(&["--max-isl", "0"]), "--max-isl");
    check(with(&["--config", "no-such-config"]), "--config");
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"generation_length": {"mean": 100, "median": 300}}"#,
    )
    .unwrap();
    check(
        with(&["--config", bad.to_str().unwrap()]),
        "generation_length",
    );
}

/// The Python AIPerf draws the same sessions from the same seed and config: identical files.
#[test]
fn the_same_dataset_as_the_python_aiperf() {
    let Some(python) = crate::reference::reference_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("restarts.json");
    std::fs::write(
        &config,
        r#"{"restart_initial_probability": 0.5, "inter_turn_delay": {"max": 30000}}"#,
    )
    .unwrap();
    for extra in [
        vec![],
        vec!["--config", config.to_str().unwrap(), "--max-osl", "900"],
    ] {
        let (ours, theirs) = (tmp.path().join("ours"), tmp.path().join("theirs"));
        let _ = std::fs::remove_dir_all(&ours);
        let _ = std::fs::remove_dir_all(&theirs);
        let mut args = vec![
            "synthesize",
            "agentic-code",
            "--num-sessions",
            "25",
            "--seed",
            "9",
        ];
        args.extend_from_slice(&extra);
        let mut mine = args.clone();
        mine.extend(["--output", ours.to_str().unwrap()]);
        assert!(run(&mine).status.success());
        let mut reference = args.clone();
        reference.extend(["--output", theirs.to_str().unwrap()]);
        let out = crate::reference::reference(&python, tmp.path(), &reference);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ours, theirs) = (run_dir(&ours), run_dir(&theirs));
        for f in &FILES[..5] {
            assert_eq!(
                std::fs::read_to_string(ours.join(f)).unwrap(),
                std::fs::read_to_string(theirs.join(f)).unwrap(),
                "{f} ({extra:?})"
            );
        }
    }
}

/// What `synthesize` writes, `profile` replays: its rows load as a mooncake trace, each session
/// a multi-turn conversation.
#[test]
fn profile_replays_a_synthesized_trace() {
    let tmp = tempfile::tempdir().unwrap();
    // Prompts the simulated model's context holds.
    let dir = synthesize(&tmp.path().join("s"), &["--seed", "3", "--max-isl", "8000"]);
    let trace = dir.join("dataset.jsonl");
    let run_dir = tmp.path().join("run");
    let out = crate::common::profile(
        &run_dir,
        &[
            "--sim",
            "fixed",
            "--input-file",
            trace.to_str().unwrap(),
            "--custom-dataset-type",
            "mooncake_trace",
            "--request-count",
            "6",
            "--concurrency",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = read_json(&run_dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["request_count"]["avg"], 6.0, "{summary:#}");
    assert!(summary.get("error_request_count").is_none(), "{summary:#}");
}
