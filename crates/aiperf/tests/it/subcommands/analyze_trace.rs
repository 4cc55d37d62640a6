//! `aiperf analyze-trace`.

use super::read_json;
use crate::common::{assert_usage_error, run, stdout};

const TRACE: &str = r#"{"timestamp": 0, "input_length": 1000, "output_length": 10, "hash_ids": [1, 2]}
{"timestamp": 10, "input_length": 1500, "output_length": 20, "hash_ids": [1, 2, 3]}
{"timestamp": 20, "input_length": 600, "output_length": 30, "hash_ids": [4, 5]}

{"timestamp": 30, "input_length": 700, "output_length": 40}
"#;

#[test]
fn lengths_prefixes_and_hit_rates_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(&trace, TRACE).unwrap();
    let report = tmp.path().join("out/report.json");
    let out = run(&[
        "analyze-trace",
        trace.to_str().unwrap(),
        "--output-file",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Total requests:   4"), "{text}");
    assert!(text.contains("Theoretical Hit Rates"), "{text}");
    let r = read_json(&report);
    assert_eq!(r["total_requests"], 4);
    // Prefixes [1], [1,2], [1,2,3], [4], [4,5]: five, of which [1] and [1,2] repeat (4 of 7
    // occurrences); one first block (1) starts two requests.
    assert_eq!(r["unique_prefixes"], 5);
    assert_eq!(r["num_prefix_groups"], 1);
    assert_eq!(r["prefix_reuse_ratio"], 4.0 / 7.0);
    // Hit rates of the requests with blocks: 0, 2/3, 0.
    assert_eq!(r["cache_hit_rate"], 2.0 / 9.0);
    assert_eq!(r["hit_rate_stats"]["max"], 2.0 / 3.0);
    // Context: all of request 1 (every block repeats), two blocks of request 2.
    assert_eq!(r["context_length_stats"]["max"], 1024.0);
    assert_eq!(r["context_length_stats"]["mean"], (1000.0 + 1024.0) / 4.0);
    assert_eq!(r["unique_prompt_length_stats"]["max"], 700.0);
    assert_eq!(r["isl_stats"]["p25"], 675.0);
    assert_eq!(r["osl_stats"]["median"], 25.0);
    assert_eq!(
        (r["min_isl"].as_i64(), r["avg_osl"].as_f64()),
        (Some(600), Some(25.0))
    );

    // Block size and output file by position: two shared blocks of 256 tokens.
    let positional = tmp.path().join("positional.json");
    let out = run(&[
        "analyze-trace",
        trace.to_str().unwrap(),
        "256",
        positional.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        read_json(&positional)["context_length_stats"]["max"],
        1000.0
    );
}

#[test]
fn bad_arguments_name_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(&trace, TRACE).unwrap();
    let t = trace.to_str().unwrap();
    assert_usage_error(&["analyze-trace", "missing.jsonl"], "INPUT-FILE");
    assert_usage_error(&["analyze-trace"], "INPUT-FILE");
    assert_usage_error(&["analyze-trace", t, "--block-size", "0"], "BLOCK-SIZE");
    assert_usage_error(&["analyze-trace", t, "--input-file", t], "INPUT-FILE");
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"input_length\": 5}\nnot json\n").unwrap();
    assert_usage_error(&["analyze-trace", bad.to_str().unwrap()], "line 2");
}

/// The Python AIPerf's report of the same trace, byte for byte.
#[test]
fn the_same_report_as_the_python_aiperf() {
    let Some(python) = crate::reference::reference_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A trace of shared prefixes of varied depth.
    let mut text = String::new();
    for i in 0..300u64 {
        let depth = 1 + (i * 7) % 9;
        let ids: Vec<String> = (0..depth)
            .map(|d| {
                (if d < 3 {
                    d + (i % 4) * 10
                } else {
                    1000 + i * 20 + d
                })
                .to_string()
            })
            .collect();
        text.push_str(&format!(
            "{{\"input_length\": {}, \"output_length\": {}, \"hash_ids\": [{}]}}\n",
            depth * 512 - (i % 300),
            1 + (i * 37) % 500,
            ids.join(", ")
        ));
    }
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(&trace, text).unwrap();
    for block in ["512", "100"] {
        let ours = tmp.path().join(format!("ours{block}.json"));
        let theirs = tmp.path().join(format!("theirs{block}.json"));
        let out = run(&[
            "analyze-trace",
            trace.to_str().unwrap(),
            "--block-size",
            block,
            "--output-file",
            ours.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        let out = crate::reference::reference(
            &python,
            tmp.path(),
            &[
                "analyze-trace",
                trace.to_str().unwrap(),
                "--block-size",
                block,
                "--output-file",
                theirs.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(&ours).unwrap(),
            std::fs::read_to_string(&theirs).unwrap()
        );
    }
}
