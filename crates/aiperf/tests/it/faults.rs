//! The fault matrix: a small misbehaving HTTP server, one behaviour per instance, and for each
//! the outcome class aiperf records, the counts, the exit code, and that every artifact exists
//! and parses.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{read_http_request, read_lines, run, stderr, stdout};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Http500Json,
    Http400Plain,
    Http429RetryAfter,
    ResetBeforeHeaders,
    ResetMidStream,
    NoDone,
    MalformedChunk,
    NoChoices,
    Empty200,
    Html,
    Stall,
    SlowDrip,
    CloseKeepAlive,
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

fn sse(content: &str, finish: bool) -> String {
    let finish = if finish { "\"stop\"" } else { "null" };
    chunk(&format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":{finish}}}]}}\n\n"
    ))
}

const STREAM_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Answers one request; returns whether the connection may be reused.
fn answer(fault: Fault, s: &mut TcpStream) -> bool {
    let json = |status: &str, extra: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            body.len()
        )
    };
    let out = match fault {
        Fault::Http500Json => json("500 Internal Server Error", "", r#"{"error":{"message":"engine crashed","type":"server_error"}}"#),
        Fault::Http400Plain => "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nbad request".into(),
        Fault::Http429RetryAfter => json("429 Too Many Requests", "Retry-After: 1\r\n", r#"{"error":{"message":"rate limited"}}"#),
        Fault::ResetBeforeHeaders => return false,
        Fault::ResetMidStream => format!("{STREAM_HEAD}{}{}", sse("a", false), sse("b", false)),
        Fault::NoDone => format!("{STREAM_HEAD}{}{}0\r\n\r\n", sse("a", false), sse("b", false)),
        Fault::MalformedChunk => format!("{STREAM_HEAD}{}{}0\r\n\r\n", sse("a", false), chunk("data: {\"choices\": [\n\n")),
        Fault::NoChoices => format!("{STREAM_HEAD}{}{}0\r\n\r\n", chunk("data: {\"choices\":[]}\n\n"), chunk("data: [DONE]\n\n")),
        Fault::Empty200 => "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n".into(),
        Fault::Html => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 26\r\n\r\n<html><b>oops</b></html>\r\n".into(),
        Fault::Stall => {
            std::thread::sleep(Duration::from_secs(30));
            return false;
        }
        Fault::SlowDrip => {
            let _ = s.write_all(STREAM_HEAD.as_bytes());
            for word in ["slow", " and", " steady"] {
                std::thread::sleep(Duration::from_millis(50));
                let _ = s.write_all(sse(word, false).as_bytes());
            }
            let _ = s.write_all(format!("{}{}0\r\n\r\n", sse("!", true), chunk("data: [DONE]\n\n")).as_bytes());
            return true;
        }
        Fault::CloseKeepAlive => {
            let body = format!("{}{}", sse("hi", true), chunk("data: [DONE]\n\n"));
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            let _ = s.write_all(format!("{head}{body}0\r\n\r\n").as_bytes());
            return false;
        }
    };
    let _ = s.write_all(out.as_bytes());
    !matches!(fault, Fault::ResetMidStream)
}

fn serve(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                while read_http_request(&mut stream).is_some() {
                    if !answer(fault, &mut stream) {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every artifact exists and parses; the JSONL has one line per request sent.
fn check_artifacts(dir: &Path, sent: usize) -> (Value, Vec<Value>) {
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    read_json(&dir.join("inputs.json"));
    read_json(&dir.join("run_config.json"));
    let csv = crate::common::read_csv(&dir.join("profile_export_aiperf.csv"));
    assert!(csv.starts_with("Metric,avg"), "{csv}");
    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert_eq!(records.len(), sent, "one line per request");
    (summary, records)
}

fn count(summary: &Value, tag: &str) -> u64 {
    summary[tag]["avg"].as_f64().unwrap_or(0.0) as u64
}

#[test]
fn fault_matrix() {
    // (fault, streaming, expected error type (None: success), expected code)
    let cases: [(Fault, bool, Option<&str>, Option<u64>); 13] = [
        (
            Fault::Http500Json,
            true,
            Some("Internal Server Error"),
            Some(500),
        ),
        (Fault::Http400Plain, false, Some("Bad Request"), Some(400)),
        (
            Fault::Http429RetryAfter,
            true,
            Some("Too Many Requests"),
            Some(429),
        ),
        (
            Fault::ResetBeforeHeaders,
            true,
            Some("TransportError"),
            None,
        ),
        (Fault::ResetMidStream, true, Some("TransportError"), None),
        (Fault::NoDone, true, Some("IncompleteStream"), None),
        (Fault::MalformedChunk, true, Some("StreamError"), None),
        (Fault::NoChoices, true, Some("EmptyResponse"), None),
        (Fault::Empty200, true, Some("StreamError"), None),
        (Fault::Html, false, Some("InvalidResponse"), None),
        (Fault::Stall, true, Some("RequestTimeout"), None),
        (Fault::SlowDrip, true, None, None),
        (Fault::CloseKeepAlive, true, None, None),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (fault, streaming, error, code) in cases {
        let url = serve(fault);
        let dir = tmp.path().join(format!("{fault:?}"));
        let mut args = vec![
            "profile",
            "-m",
            "m",
            "-u",
            &url,
            "--request-count",
            "4",
            "--concurrency",
            "2",
            "--ui",
            "none",
            "--request-timeout-seconds",
            "0.5",
            "--isl",
            "8",
            "--artifact-dir",
            dir.to_str().unwrap(),
        ];
        if streaming {
            args.push("--streaming");
        }
        let output = run(&args);
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{fault:?}: {err}");
        let (summary, records) = check_artifacts(&dir, 4);
        let ok = count(&summary, "request_count");
        let failed = count(&summary, "error_request_count");
        assert_eq!(ok + failed, 4, "{fault:?}: counts add up");
        match error {
            None => {
                assert_eq!(output.status.code(), Some(0), "{fault:?}: {err}");
                assert_eq!(ok, 4, "{fault:?}");
                assert!(summary["time_to_first_token"]["p50"].as_f64().unwrap() > 0.0);
            }
            Some(kind) => {
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "{fault:?}: every request failed"
                );
                let e = &summary["error_summary"][0];
                assert_eq!(e["error_details"]["type"], kind, "{fault:?}: {e}");
                assert_eq!(e["count"], 4, "{fault:?}");
                assert_eq!(e["error_details"]["code"].as_u64(), code, "{fault:?}");
                assert!(
                    records.iter().all(|r| r["error"]["type"] == kind),
                    "{fault:?}"
                );
                assert_eq!(summary["request_error_rate"]["avg"], 100.0);
                assert!(stdout(&output).contains("4 of 4 requests failed"));
            }
        }
    }
    // The slow drip measured its pauses.
    let slow = read_json(&tmp.path().join("SlowDrip/profile_export_aiperf.json"));
    assert!(
        slow["time_to_first_token"]["min"].as_f64().unwrap() >= 45.0,
        "{}",
        slow["time_to_first_token"]
    );
}

/// Failed requests count in the error-adjusted percentiles, and a failure threshold stops the
/// run early, keeping what was measured.
#[test]
fn failure_threshold_aborts_and_keeps_everything() {
    let url = serve(Fault::Http500Json);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = run(&[
        "profile",
        "-m",
        "m",
        "-u",
        &url,
        "--request-count",
        "100000",
        "--concurrency",
        "2",
        "--ui",
        "none",
        "--failed-request-threshold",
        "0.5",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert!(
        summary["abort_reason"]
            .as_str()
            .unwrap()
            .contains("--failed-request-threshold 0.5"),
        "{summary:#}"
    );
    assert_eq!(summary["is_complete"], false);
    let failed = count(&summary, "error_request_count");
    assert!((10..100_000).contains(&failed), "{failed}");
    let lines = read_lines(&dir.join("profile_export.jsonl")).len() as u64;
    assert_eq!(lines, failed, "every sent request is recorded");

    // A share of 1 can never be exceeded: every request is sent.
    let all = tmp.path().join("all");
    let output = run(&[
        "profile",
        "-m",
        "m",
        "-u",
        &url,
        "--request-count",
        "30",
        "--ui",
        "none",
        "--failed-request-threshold",
        "1.0",
        "--artifact-dir",
        all.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "every request failed");
    let summary = read_json(&all.join("profile_export_aiperf.json"));
    assert!(
        summary.get("abort_reason").is_none_or(Value::is_null),
        "{summary:#}"
    );
    assert_eq!(count(&summary, "error_request_count"), 30);
}
