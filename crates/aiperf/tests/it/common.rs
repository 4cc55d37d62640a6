//! Helpers shared by the integration tests.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

/// The `aiperf` binary under test.
pub(crate) fn aiperf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aiperf"))
}

/// Runs `aiperf` with `args` to completion.
pub(crate) fn run(args: &[&str]) -> Output {
    aiperf().args(args).output().expect("aiperf runs")
}

/// Runs `aiperf profile ARGS --ui none --artifact-dir DIR` to completion.
pub(crate) fn profile(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "profile",
        "--ui",
        "none",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// [`profile`], which must succeed.
#[track_caller]
pub(crate) fn profile_ok(dir: &Path, args: &[&str]) {
    let output = profile(dir, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts a usage error: exit code 2 and a message that mentions `needle`.
#[track_caller]
pub(crate) fn assert_usage_error(args: &[&str], needle: &str) {
    let output = run(args);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?} should exit 2; stderr: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: stderr does not mention {needle:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

/// Sends SIGINT, as Ctrl-C does.
pub(crate) fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// A CSV artifact as text with LF line ends, after checking that every row ends with CRLF
/// (as the reference tool writes CSVs).
pub(crate) fn read_csv(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        assert!(
            line.ends_with("\r\n"),
            "{}: line {} does not end with CRLF",
            path.display(),
            n + 1
        );
    }
    text.replace("\r\n", "\n")
}

pub(crate) fn read_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Reads one HTTP/1.1 request (its head and a Content-Length body) from `stream`, for the
/// hand-written test servers; `None` when the client went away first.
pub(crate) fn read_http_request(stream: &mut impl Read) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some((head.to_owned(), body.to_owned()));
            }
        }
    }
}
