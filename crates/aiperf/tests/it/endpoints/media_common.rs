//! What the image, speech and video endpoint tests share: a hand-written server that keeps
//! every request whole (binary form bodies included) and answers as the test says, the parts
//! of a form read back, and runs with extra environment.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub method: String,
    pub path: String,
    pub head: String,
    pub body: Vec<u8>,
}

/// One part of a form: its file name and type (files only) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FormPart {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Seen {
    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The parts of a `multipart/form-data` body, by name, in order.
    pub(super) fn form(&self) -> Vec<(String, FormPart)> {
        let content_type = self.header("content-type").expect("a content type");
        let boundary = content_type
            .split_once("boundary=")
            .expect("a multipart boundary")
            .1
            .trim_matches('"');
        let delimiter = format!("--{boundary}").into_bytes();
        let mut parts = Vec::new();
        let mut rest = &self.body[..];
        while let Some(at) = find(rest, &delimiter) {
            rest = &rest[at + delimiter.len()..];
            if rest.starts_with(b"--") {
                break;
            }
            let head_end = find(rest, b"\r\n\r\n").expect("part headers");
            let head = String::from_utf8_lossy(&rest[2..head_end]).into_owned();
            let data_start = head_end + 4;
            let mut closing = b"\r\n".to_vec();
            closing.extend_from_slice(&delimiter);
            let data_end = data_start + find(&rest[data_start..], &closing).expect("a closed part");
            let param = |key: &str| {
                head.split(';')
                    .find_map(|p| p.trim().strip_prefix(&format!("{key}=\"")))
                    .map(|v| v.split('"').next().unwrap_or_default().to_owned())
            };
            let content_type = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .map(str::to_owned);
            parts.push((
                param("name").expect("a part name"),
                FormPart {
                    filename: param("filename"),
                    content_type,
                    data: rest[data_start..data_end].to_vec(),
                },
            ));
            rest = &rest[data_end..];
        }
        parts
    }

    /// A form's text field.
    pub(super) fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| String::from_utf8_lossy(&p.data).into_owned())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP/1.1 request whole; `None` when the client went away.
fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let mut words = head.split_whitespace();
                return Some(Seen {
                    method: words.next()?.to_owned(),
                    path: words.next()?.to_owned(),
                    body: buf[end + 4..end + 4 + len].to_vec(),
                    head,
                });
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The requests a [`server`] has seen.
pub(super) type Requests = Arc<Mutex<Vec<Seen>>>;

/// A server that answers each request to `/v1/...` with `answer(request, n)` (a whole HTTP
/// response; `n` counts those requests) and keeps them; anything else is not found.
pub(super) fn server(
    answer: impl Fn(&Seen, usize) -> String + Send + Sync + 'static,
) -> (SocketAddr, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Requests = Arc::default();
    let kept = Arc::clone(&seen);
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answer, seen, count) =
                (Arc::clone(&answer), Arc::clone(&kept), Arc::clone(&count));
            std::thread::spawn(move || {
                while let Some(request) = read_request(&mut stream) {
                    // The run's own scrapes (`/metrics`) are not the endpoint's requests.
                    if !request.path.starts_with("/v1/") {
                        let not_found = http("404 Not Found", "text/plain", "");
                        if stream.write_all(not_found.as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let response = answer(&request, n);
                    seen.lock().unwrap().push(request);
                    if stream.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// A whole HTTP response.
pub(super) fn http(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

pub(super) fn json_ok(body: &str) -> String {
    http("200 OK", "application/json", body)
}

pub(super) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The one error group of a run's summary: its type, message and count.
pub(super) fn only_error(summary: &Value) -> (String, String, u64) {
    let errors = summary["error_summary"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let details = &errors[0]["error_details"];
    (
        details["type"].as_str().unwrap().to_owned(),
        details["message"].as_str().unwrap().to_owned(),
        errors[0]["count"].as_u64().unwrap(),
    )
}
