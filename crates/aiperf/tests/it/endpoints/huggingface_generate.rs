//! `--endpoint-type huggingface_generate` (TGI `/generate`, `/generate_stream`).

use super::support::{json, only_error, read_json, run_against, sse};
use crate::common::{profile, read_lines, stderr};

/// Streamed and whole answers from the simulator: TGI's request shape on its two paths,
/// exact input lengths, output lengths within the cap, and per-token timing only when streamed.
#[test]
fn streams_and_whole_answers_on_the_simulator() {
    for streaming in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "--sim",
            "fixed",
            "--concurrency",
            "2",
            "--request-count",
            "8",
            "--isl",
            "64",
            "--osl",
            "12",
            "--extra-inputs",
            "details:true",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.push("--streaming");
        }
        args.extend(["--endpoint-type", "huggingface_generate"]);
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        // Hints name what TGI understands (it has no ignore_eos, and no usage).
        assert!(
            !stderr(&output).contains("ignore_eos"),
            "{}",
            stderr(&output)
        );
        let config = read_json(&dir.join("run_config.json"));
        let path = if streaming {
            "/generate_stream"
        } else {
            "/generate"
        };
        assert_eq!(
            config["aiperf_config"]["endpoint"]["path"], path,
            "{config:#}"
        );
        // The endpoint type's own path is not written in the reference tool's shape.
        assert!(
            config["cfg"]["endpoint"].get("path").is_none(),
            "{config:#}"
        );

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 8);
        for r in &raw {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            assert_eq!(keys, ["inputs", "parameters"], "{payload:?}");
            assert!(payload["inputs"].as_str().unwrap().len() > 64);
            assert_eq!(
                payload["parameters"],
                serde_json::json!({"max_new_tokens": 12, "details": true})
            );
        }

        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 8);
        for r in &records {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert_eq!(m["input_sequence_length"]["value"], 64, "{m}");
            let osl = m["output_sequence_length"]["value"].as_u64().unwrap();
            assert!((1..=12).contains(&osl), "{m}");
            assert_eq!(m.get("time_to_first_token").is_some(), streaming, "{m}");
        }
        if streaming {
            // The fixed simulator: 20 ms to the first token, 5 ms between tokens.
            let summary = read_json(&dir.join("profile_export_aiperf.json"));
            let ttft = summary["time_to_first_token"]["avg"].as_f64().unwrap();
            assert!((19.0..40.0).contains(&ttft), "TTFT {ttft}");
        }
    }
}

/// Bad answers are typed errors, counted in the summary; the run still writes everything.
#[test]
fn bad_answers_are_typed_errors() {
    // (answer, streaming, error type, message excerpt)
    let cases = [
        (
            sse("data:{\"token\":{\"text\":\"hi\"\n\n"),
            true,
            "StreamError",
            "malformed JSON",
        ),
        (
            sse(
                "data:{\"token\":{\"id\":1,\"text\":\"hi\",\"special\":false},\"generated_text\":null}\n\n",
            ),
            true,
            "IncompleteStream",
            "without the final one",
        ),
        (
            sse(
                "data:{\"error\":\"Request failed during generation: out of memory\",\"error_type\":\"generation\"}\n\n",
            ),
            true,
            "ServerError",
            "out of memory",
        ),
        (
            json("200 OK", "{\"text\":\"hi\"}"),
            false,
            "InvalidResponse",
            "no generated_text",
        ),
        (
            json(
                "422 Unprocessable Entity",
                "{\"error\":\"Input validation error: `inputs` must have less than 4096 tokens\",\"error_type\":\"validation\"}",
            ),
            false,
            "Unprocessable Entity",
            "Input validation error",
        ),
    ];
    for (answer, streaming, kind, needle) in cases {
        let mut args = vec!["--request-count", "3"];
        if streaming {
            args.push("--streaming");
        }
        let run = run_against("huggingface_generate", "", vec![answer], &args);
        let said = stderr(&run.output);
        assert_eq!(run.output.status.code(), Some(1), "{kind}: {said}");
        let (found, message, count) = only_error(&run.summary());
        assert_eq!((found.as_str(), count), (kind, 3), "{message}");
        assert!(message.contains(needle), "{kind}: {message}");
    }
}
