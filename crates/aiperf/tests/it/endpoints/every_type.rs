//! Every `--endpoint-type` runs end to end on the simulator, in a two-point sweep, with what the
//! type needs and nothing else; the list here must name every type the binary offers.

use serde_json::Value;

use crate::common::{run, stderr};

/// Each type with the flags it needs: generating types stream, media types get their media,
/// the custom types a chat body template posted to the chat path.
const TYPES: &[(&str, &[&str])] = &[
    ("chat", &["--streaming", "--osl", "4"]),
    ("completions", &["--streaming", "--osl", "4"]),
    ("embeddings", &[]),
    ("huggingface_generate", &["--streaming", "--osl", "4"]),
    ("responses", &["--streaming", "--osl", "4"]),
    ("messages", &["--streaming", "--osl", "4"]),
    ("nim_rankings", &[]),
    ("hf_tei_rankings", &[]),
    ("cohere_rankings", &[]),
    ("chat_embeddings", &[]),
    ("nim_embeddings", &[]),
    (
        "template",
        &[
            "--endpoint",
            "/v1/chat/completions",
            "--extra-inputs",
            r#"payload_template:{"model": {{ model|tojson }}, "messages": [{"role": "user", "content": {{ text|tojson }}}], "max_tokens": 4}"#,
        ],
    ),
    (
        "raw",
        &[
            "--endpoint",
            "/v1/chat/completions",
            "--extra-inputs",
            r#"payload_template:{"model": {{ model|tojson }}, "messages": [{"role": "user", "content": {{ text|tojson }}}], "max_tokens": 4}"#,
        ],
    ),
    ("solido_rag", &["--streaming", "--osl", "4"]),
    ("image_generation", &[]),
    (
        "image_edit",
        &["--image-width-mean", "64", "--image-height-mean", "64"],
    ),
    (
        "image_retrieval",
        &["--image-width-mean", "64", "--image-height-mean", "64"],
    ),
    ("audio_transcription", &["--audio-length-mean", "1"]),
    ("video_generation", &[]),
];

/// The types `--endpoint-type` accepts, from its error message for an unknown one.
fn offered() -> Vec<String> {
    let output = run(&["profile", "--sim", "--endpoint-type", "no-such-type"]);
    let err = stderr(&output);
    let list = err
        .split("[possible values: ")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap_or_else(|| panic!("no list of types in: {err}"));
    let mut names: Vec<String> = list.split(", ").map(str::to_owned).collect();
    names.sort();
    names
}

#[test]
fn every_endpoint_type_runs_on_the_simulator_in_a_sweep() {
    let mut listed: Vec<String> = TYPES.iter().map(|t| t.0.to_owned()).collect();
    listed.sort();
    assert_eq!(listed, offered(), "the list of types here is out of date");

    for (kind, extra) in TYPES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "profile",
            "--ui",
            "none",
            "--sim",
            "fixed",
            "--endpoint-type",
            kind,
            "--concurrency",
            "1,2",
            "--request-count",
            "3",
            "--isl",
            "16",
            "--artifact-dir",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = run(&args);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        for point in ["concurrency_1", "concurrency_2"] {
            let path = dir.join(point).join("profile_export_aiperf.json");
            let summary: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(summary["request_count"]["avg"], 3.0, "{kind} {point}");
            assert!(
                summary.get("error_request_count").is_none(),
                "{kind}: {summary:#}"
            );
            assert!(
                summary["request_latency"]["avg"].as_f64().unwrap() > 0.0,
                "{kind}"
            );
        }
    }
}

/// The Python AIPerf's kebab-case spellings name the same types: the run records the type by
/// its name.
#[test]
fn kebab_case_type_names_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = run(&[
        "profile",
        "--ui",
        "none",
        "--sim",
        "fixed",
        "--endpoint-type",
        "hf-tei-rankings",
        "--request-count",
        "2",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run_config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["aiperf_config"]["endpoint"]["type"],
        "hf_tei_rankings"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("profile_export_aiperf.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["request_count"]["avg"], 2.0);
}
