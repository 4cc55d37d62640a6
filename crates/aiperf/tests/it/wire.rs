//! The client on the wire, against small hand-written servers that behave as real ones do:
//! connections closed without a word after a streamed answer (llama.cpp), `Connection: close`,
//! connection-per-request and per-conversation strategies, compressed and buffered streams,
//! and the error shapes of TGI and vLLM.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::{read_http_request, read_lines, run, stderr, stdout};

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    /// Which connection (in order of accepting) carried it.
    conn: usize,
    headers: String,
    body: String,
}

/// What the handler does after answering.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// Wait for the next request on this connection.
    KeepOpen,
    /// Close the connection at once.
    Close,
    /// Close it a little later without reading what the client sent meanwhile (the client
    /// believes the connection is kept alive; a request it writes on it is lost).
    CloseLater,
}

type Handler = fn(request_index: usize, on_conn: usize, stream: &mut TcpStream) -> After;

/// A server on 127.0.0.1:0 that answers benchmark requests (POST) with `handler`; returns its
/// URL and the requests it read.
fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for (conn, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            // Pieces written apart must leave apart (no Nagle delay).
            let _ = stream.set_nodelay(true);
            let log = log.clone();
            std::thread::spawn(move || {
                let mut on_conn = 0;
                while let Some((headers, body)) = read_http_request(&mut stream) {
                    // The scrape of the server's /metrics is not a benchmark request.
                    if headers.starts_with("GET") {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    }
                    let index = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen {
                            conn,
                            headers: headers.to_ascii_lowercase(),
                            body,
                        });
                        log.len() - 1
                    };
                    match handler(index, on_conn, &mut stream) {
                        After::KeepOpen => {}
                        After::Close => return,
                        After::CloseLater => {
                            std::thread::sleep(Duration::from_millis(300));
                            return;
                        }
                    }
                    on_conn += 1;
                }
            });
        }
    });
    (url, seen)
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

fn event(content: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
        serde_json::to_string(content).unwrap()
    )
}

const FINISH: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":3,\"total_tokens\":11}}\n\ndata: [DONE]\n\n";

/// The words of [`stream_answer`], one chunk each, then the finish chunk.
const WORDS: [&str; 3] = [" the", " of", " and"];

/// The bytes of a streamed answer of three words, one chunk each, with keep-alive headers (as
/// llama.cpp).
fn stream_answer_text(extra_headers: &str) -> String {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\
         Keep-Alive: timeout=5, max=100\r\n{extra_headers}\r\n"
    );
    let mut out = head;
    for word in WORDS {
        out.push_str(&chunk(&event(word)));
    }
    out.push_str(&chunk(FINISH));
    out.push_str("0\r\n\r\n");
    out
}

fn stream_answer(stream: &mut TcpStream, extra_headers: &str) {
    let _ = stream.write_all(stream_answer_text(extra_headers).as_bytes());
}

fn profile(url: &str, dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "profile",
        "-m",
        "m",
        "-u",
        url,
        "--streaming",
        "--ui",
        "none",
        "--isl",
        "8",
        "--osl",
        "3",
        "--request-timeout-seconds",
        "20",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn summary(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("profile_export_aiperf.json")).unwrap())
        .unwrap()
}

fn count(summary: &Value, tag: &str) -> u64 {
    summary[tag]["avg"].as_f64().unwrap_or(0.0) as u64
}

/// llama.cpp closes the connection after a streamed answer although it says `Keep-Alive`. A
/// request written on such a connection never reaches it: it goes out again on a new
/// connection, once, counted; after a few of those the client stops reusing connections to
/// that server. Every request is answered; the server reads each exactly once.
#[test]
fn requests_survive_servers_that_close_kept_alive_connections() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        stream_answer(s, "");
        After::CloseLater
    }
    let (url, seen) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let n = 12;
    let output = profile(
        &url,
        &dir,
        &["--concurrency", "1", "--request-count", &n.to_string()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let s = summary(&dir);
    assert_eq!(count(&s, "request_count"), n, "{}", stdout(&output));
    assert_eq!(count(&s, "error_request_count"), 0);
    // The server read every request once: a re-sent request had not reached it.
    assert_eq!(seen.lock().unwrap().len() as u64, n);
    let resent = s["client_audit"]["requests_resent"].as_u64().unwrap();
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let retries: u64 = records
        .iter()
        .map(|r| r["metadata"]["retries"].as_u64().unwrap())
        .sum();
    assert_eq!(retries, resent, "the records carry the run's figure");
    // The first reuses fail and are re-sent; then the client learns and stops reusing.
    assert!((1..=3).contains(&resent), "resent {resent}");
    assert!(
        records
            .iter()
            .rev()
            .take(6)
            .all(|r| r["metadata"]["retries"] == 0),
        "no retries once the client stopped reusing"
    );
    assert!(stdout(&output).contains("re-sent after the server closed a kept-alive connection"));
}

/// `Connection: close` is honoured: no request is ever written on a closed connection.
#[test]
fn connection_close_is_honoured_without_retries() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        stream_answer(s, "Connection: close\r\n");
        After::CloseLater
    }
    let (url, seen) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(&url, &dir, &["--concurrency", "2", "--request-count", "8"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let s = summary(&dir);
    assert_eq!(count(&s, "request_count"), 8);
    assert_eq!(s["client_audit"]["requests_resent"], 0);
    assert_eq!(seen.lock().unwrap().len(), 8);
}

/// An answer that began and broke off is a failure, never sent again: the server may have
/// done the work.
#[test]
fn a_request_whose_answer_began_is_never_resent() {
    fn handler(_: usize, on_conn: usize, s: &mut TcpStream) -> After {
        if on_conn == 0 {
            stream_answer(s, "");
            return After::KeepOpen;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        let _ = s.write_all(format!("{head}{}", chunk(&event(" the"))).as_bytes());
        After::Close
    }
    let (url, seen) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &url,
        &dir,
        &[
            "--concurrency",
            "1",
            "--request-count",
            "2",
            "--connection-warmup",
            "false",
        ],
    );
    let s = summary(&dir);
    assert_eq!(count(&s, "request_count"), 1, "{}", stderr(&output));
    assert_eq!(count(&s, "error_request_count"), 1);
    assert_eq!(s["client_audit"]["requests_resent"], 0);
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the failed request went out once"
    );
    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert_eq!(
        records[1]["error"]["type"], "TransportError",
        "{}",
        records[1]
    );
}

/// `never`: one connection per request, and the server is told to close it.
/// `sticky-user-sessions`: each conversation keeps one connection for all its turns.
#[test]
fn reuse_strategies_never_and_sticky_sessions() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        stream_answer(s, "");
        After::KeepOpen
    }
    let tmp = tempfile::tempdir().unwrap();

    let (url, seen) = serve(handler);
    let dir = tmp.path().join("never");
    let output = profile(
        &url,
        &dir,
        &[
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--connection-reuse-strategy",
            "never",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6);
    let mut conns: Vec<usize> = seen.iter().map(|r| r.conn).collect();
    conns.dedup();
    assert_eq!(conns.len(), 6, "a connection per request: {conns:?}");
    assert!(seen.iter().all(|r| r.headers.contains("connection: close")));
    assert_eq!(summary(&dir)["client_audit"]["connections_opened"], 6);
    // Every request opened its connection, and its timings say so.
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert_eq!(r["metrics"]["http_req_connection_reused"]["value"], 0);
        assert!(
            r["metrics"]["http_req_connecting"]["value"]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }

    let (url, seen) = serve(handler);
    let dir = tmp.path().join("sticky");
    let output = profile(
        &url,
        &dir,
        &[
            "--concurrency",
            "2",
            "--num-sessions",
            "4",
            "--session-turns-mean",
            "3",
            "--connection-reuse-strategy",
            "sticky-user-sessions",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 12, "4 conversations of 3 turns");
    let correlation = |r: &Seen| {
        r.headers
            .lines()
            .find_map(|l| l.strip_prefix("x-correlation-id:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let mut pairs: Vec<(String, usize)> = seen.iter().map(|r| (correlation(r), r.conn)).collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 4, "one connection per conversation: {pairs:?}");
    let mut conns: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    conns.sort_unstable();
    conns.dedup();
    assert_eq!(conns.len(), 4, "no connection shared by two conversations");
    // Later turns carry the history: the server saw the whole conversation.
    assert!(seen.iter().any(|r| r.body.matches("\"role\"").count() >= 5));
}

/// Compressed answers (a gateway that compresses, or `-H Accept-Encoding: gzip`) are decoded
/// as they arrive, each piece keeping its arrival time.
#[test]
fn gzip_streams_are_decoded() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        use flate2::write::GzEncoder;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n";
        let _ = s.write_all(head.as_bytes());
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        for (i, word) in [" the", " of", " and"].into_iter().enumerate() {
            gz.write_all(event(word).as_bytes()).unwrap();
            gz.flush().unwrap();
            let piece = std::mem::take(gz.get_mut());
            let _ = s.write_all(chunk_bytes(&piece).as_slice());
            let _ = s.flush();
            if i < 2 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
        gz.write_all(FINISH.as_bytes()).unwrap();
        let rest = gz.finish().unwrap();
        let mut out = chunk_bytes(&rest);
        out.extend_from_slice(b"0\r\n\r\n");
        let _ = s.write_all(&out);
        After::KeepOpen
    }
    fn chunk_bytes(data: &[u8]) -> Vec<u8> {
        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        out
    }
    let (url, _) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &url,
        &dir,
        &[
            "--concurrency",
            "2",
            "--request-count",
            "4",
            "-H",
            "Accept-Encoding: gzip",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let s = summary(&dir);
    assert_eq!(count(&s, "request_count"), 4);
    assert_eq!(s["output_sequence_length"]["avg"], 3.0);
    // The pieces arrived 30 ms apart, and that is what was measured.
    assert!(
        s["inter_token_latency"]["min"].as_f64().unwrap() > 20.0,
        "{s}"
    );
}

/// A buffering proxy delivers a whole stream at once: the run says ITL could not be measured.
#[test]
fn buffered_streams_are_warned_about() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        stream_answer(s, "");
        After::KeepOpen
    }
    let (url, _) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(&url, &dir, &["--concurrency", "1", "--request-count", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("3 of 3 streamed answers arrived all at once"),
        "{out}"
    );
}

/// Error shapes of real servers: TGI's bare string, vLLM's numeric code, and messages that
/// quote each response group as one failure.
#[test]
fn server_errors_keep_their_code_and_group_by_kind() {
    fn handler(index: usize, _: usize, s: &mut TcpStream) -> After {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        let body = match index % 3 {
            // TGI: a string.
            0 => chunk(
                "data: {\"error\":\"Input validation error: too long\",\"error_type\":\"validation\"}\n\n",
            ),
            // vLLM: an object with a numeric code.
            1 => chunk(
                "data: {\"error\":{\"object\":\"error\",\"message\":\"engine dead\",\"type\":\"InternalServerError\",\"code\":500}}\n\n",
            ),
            // A malformed event quoting the response (different each time).
            _ => chunk(&format!("data: {{\"choices\": [ {index}\n\n")),
        };
        let _ = s.write_all(format!("{head}{body}0\r\n\r\n").as_bytes());
        After::KeepOpen
    }
    let (url, _) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(&url, &dir, &["--concurrency", "1", "--request-count", "9"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let s = summary(&dir);
    let groups = s["error_summary"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{groups:#?}");
    let find = |needle: &str| {
        groups
            .iter()
            .find(|g| {
                g["error_details"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(needle)
            })
            .unwrap_or_else(|| panic!("{needle}: {groups:#?}"))
    };
    let tgi = find("Input validation error");
    assert_eq!(
        tgi["error_details"]["message"],
        "Input validation error: too long"
    );
    assert_eq!(tgi["count"], 3);
    let vllm = find("engine dead");
    assert_eq!(vllm["error_details"]["code"], 500);
    assert_eq!(find("malformed JSON")["count"], 3);
}

/// `--export-level raw` keeps characters whole when their bytes arrive in two reads.
#[test]
fn raw_export_keeps_split_characters_whole() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        let _ = s.write_all(head.as_bytes());
        let text = format!("{}{}{}", event("世界"), event("🎉"), FINISH);
        let bytes = text.as_bytes();
        // Cut inside the first multi-byte character.
        let cut = text.find('世').unwrap() + 1;
        for piece in [&bytes[..cut], &bytes[cut..]] {
            let mut out = format!("{:x}\r\n", piece.len()).into_bytes();
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
            let _ = s.write_all(&out);
            let _ = s.flush();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = s.write_all(b"0\r\n\r\n");
        After::KeepOpen
    }
    let (url, _) = serve(handler);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &url,
        &dir,
        &[
            "--concurrency",
            "1",
            "--request-count",
            "2",
            "--export-level",
            "raw",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    for line in &raw {
        let text: String = line["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["text"].as_str().unwrap())
            .collect();
        assert!(!text.contains('\u{fffd}'), "{text}");
        assert!(text.contains("世界") && text.contains("🎉"), "{text}");
    }
}

/// The HTTP timings are measured on the wire: a new connection is opened (connecting) and a
/// kept one is reused (no connecting); the bytes sent are what the server read, the bytes
/// and chunks received what it wrote; the phases add up to the total; and
/// `--export-http-trace` writes each request's trace in order of time.
#[test]
fn http_timings_are_measured_on_the_wire() {
    fn handler(_: usize, _: usize, s: &mut TcpStream) -> After {
        stream_answer(s, "");
        After::KeepOpen
    }
    let (url, seen) = serve(handler);
    let port: u64 = url.rsplit(':').next().unwrap().parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let quiet = ["--no-server-metrics", "--no-gpu-telemetry"];
    let output = profile(
        &url,
        &dir,
        &[
            &["--concurrency", "1", "--request-count", "3"][..],
            &["--connection-warmup", "false", "--export-http-trace"],
            &["--show-trace-timing"],
            &quiet,
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("HTTP Trace Timing"));
    let seen = seen.lock().unwrap().clone();
    let mut records = read_lines(&dir.join("profile_export.jsonl"));
    records.sort_by_key(|r| r["metadata"]["request_num"].as_u64());
    assert_eq!((records.len(), seen.len()), (3, 3));
    let record_schema = crate::profile::schema("profile_export_record.schema.json");
    let answer = stream_answer_text("");
    let body_bytes: usize = WORDS.iter().map(|w| event(w).len()).sum::<usize>() + FINISH.len();
    for (i, (r, seen)) in records.iter().zip(&seen).enumerate() {
        crate::profile::assert_valid(&record_schema, r, "a record with its trace");
        let m = |tag: &str| r["metrics"][tag]["value"].as_f64().unwrap();
        // A fresh connection for the first request, the same one kept for the others.
        assert_eq!(seen.conn, 0);
        let reused = i > 0;
        assert_eq!(m("http_req_connection_reused"), f64::from(u8::from(reused)));
        assert_eq!(m("http_req_connecting") > 0.0, !reused, "request {i}");
        assert_eq!(m("http_req_dns_lookup"), 0.0, "an address needs no lookup");
        // Bytes: the request line, headers and body the server read; the answer it wrote.
        let sent = seen.headers.len() + "\r\n\r\n".len() + seen.body.len();
        assert_eq!(m("http_req_data_sent") * 1024.0, sent as f64);
        assert_eq!(m("http_req_data_received") * 1024.0, answer.len() as f64);
        assert_eq!(
            m("http_req_chunks_received"),
            4.0,
            "three words and the finish"
        );
        assert!(m("http_req_chunks_sent") >= 1.0);
        // The phases add up, as defined.
        let phases = [
            "blocked",
            "dns_lookup",
            "connecting",
            "sending",
            "waiting",
            "receiving",
        ]
        .map(|p| m(&format!("http_req_{p}")));
        assert_eq!(m("http_req_total"), phases.iter().sum::<f64>());
        assert_eq!(
            m("http_req_connection_overhead"),
            phases[..3].iter().sum::<f64>()
        );

        let t = &r["trace_data"];
        let ns = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {t}"));
        assert_eq!(t["trace_type"], "aiohttp");
        assert_eq!(
            ns("sending_ns") + ns("waiting_ns") + ns("receiving_ns"),
            ns("duration_ns")
        );
        let mut order = vec![
            "connection_pool_wait_start_ns",
            "connection_pool_wait_end_ns",
        ];
        if reused {
            assert_eq!(
                ns("connection_reused_ns"),
                ns("connection_pool_wait_end_ns")
            );
            assert!(t.get("tcp_connect_start_ns").is_none());
        } else {
            order.extend(["tcp_connect_start_ns", "tcp_connect_end_ns"]);
            assert!(t.get("connection_reused_ns").is_none());
        }
        order.extend([
            "request_send_start_ns",
            "request_headers_sent_ns",
            "request_send_end_ns",
            "response_headers_received_ns",
            "response_receive_start_ns",
            "response_receive_end_ns",
        ]);
        let times: Vec<u64> = order.iter().map(|k| ns(k)).collect();
        assert!(times.is_sorted(), "{order:?}: {times:?}");
        assert!(
            ns("connection_pool_wait_start_ns")
                >= r["metadata"]["request_start_ns"].as_u64().unwrap()
        );
        assert!(ns("response_receive_end_ns") <= r["metadata"]["request_end_ns"].as_u64().unwrap());
        let chunks = t["response_chunks"].as_array().unwrap();
        assert_eq!(chunks.len() as u64, ns("response_chunks_count"));
        let at: Vec<u64> = chunks.iter().map(|c| c[0].as_u64().unwrap()).collect();
        assert!(at.is_sorted());
        assert_eq!(at.first(), Some(&ns("response_receive_start_ns")));
        assert_eq!(at.last(), Some(&ns("response_receive_end_ns")));
        let sizes: u64 = chunks.iter().map(|c| c[1].as_u64().unwrap()).sum();
        assert_eq!(sizes, body_bytes as u64);
        let written: u64 = t["request_chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[1].as_u64().unwrap())
            .sum();
        assert_eq!(written, ns("request_bytes_total"));
        assert_eq!(ns("request_bytes_total"), sent as u64);
        assert_eq!(ns("response_bytes_total"), answer.len() as u64);
        assert_eq!(
            t["request_headers"]["x-request-id"],
            r["metadata"]["x_request_id"]
        );
        assert_eq!(t["response_headers"]["keep-alive"], "timeout=5, max=100");
        assert_eq!(
            (ns("response_status_code"), &t["response_reason"]),
            (200, &"OK".into())
        );
        assert_eq!(ns("remote_port"), port);
        assert!(ns("local_port") > 0);
    }
    let s = summary(&dir);
    assert_eq!(s["http_req_connection_reused"]["unit"], "ratio");
    assert_eq!(s["http_req_data_received"]["unit"], "KB");
    let csv = std::fs::read_to_string(dir.join("profile_export_aiperf.csv")).unwrap();
    for header in [
        "HTTP Blocked (ms)",
        "HTTP Chunks Received,",
        "HTTP Connection Reused (ratio)",
    ] {
        assert!(csv.contains(header), "{header}");
    }

    // Without the flags: the metrics still, but no trace and no table of them.
    let dir = tmp.path().join("plain");
    let output = profile(
        &url,
        &dir,
        &[&["--concurrency", "1", "--request-count", "1"][..], &quiet].concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stdout(&output).contains("HTTP Trace Timing"));
    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert!(records[0].get("trace_data").is_none());
    assert!(records[0]["metrics"]["http_req_total"]["value"].is_f64());
}
