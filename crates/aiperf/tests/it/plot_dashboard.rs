//! `aiperf plot --dashboard`: the report served by a local web server that follows the results
//! directory as a run writes into it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{aiperf, interrupt, profile_ok};

/// A running dashboard; killed on drop if a test ends before stopping it.
struct Dashboard {
    child: Child,
    /// `host:port` it listens on.
    addr: String,
    stderr: PathBuf,
}

impl Dashboard {
    /// Starts `aiperf plot ARGS --dashboard --port 0` with its temporary files under `tmpdir`
    /// and waits for the line with its URL.
    fn start(args: &[&str], tmpdir: &Path) -> Self {
        let stderr = tmpdir.join("dashboard.stderr");
        let mut child = aiperf()
            .arg("plot")
            .args(args)
            .args(["--dashboard", "--port", "0"])
            .env("TMPDIR", tmpdir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("aiperf runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut dashboard = Self {
            child,
            addr: String::new(),
            stderr,
        };
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let addr = line
            .strip_prefix("dashboard: http://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(addr, _)| addr.to_owned());
        dashboard.addr = addr.unwrap_or_else(|| {
            panic!(
                "no URL line but {line:?}; stderr: {}",
                dashboard.stderr_text()
            )
        });
        assert!(line.contains("(Ctrl-C to stop)"), "{line}");
        dashboard
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// One request, `Connection: close`: (status, head, body).
    fn request(&self, method: &str, path: &str) -> (u16, String, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, head, raw[split + 4..].to_vec())
    }

    /// `GET path`, which must answer 200: (head, body as text).
    fn get(&self, path: &str) -> (String, String) {
        let (status, head, body) = self.request("GET", path);
        assert_eq!(status, 200, "GET {path}: {head}");
        (head, String::from_utf8_lossy(&body).into_owned())
    }

    fn stamp(&self) -> String {
        self.get("/stamp").1.trim().to_owned()
    }

    /// Ctrl-C, then the exit status (within a deadline).
    fn stop(&mut self) -> std::process::ExitStatus {
        interrupt(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn attr<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    html[start..].split('"').next()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn dashboard_waits_for_results_then_serves_the_report_and_its_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("results");
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let mut dash = Dashboard::start(&[dir.to_str().unwrap()], &scratch);

    // Nothing yet: the waiting page, live, stamped with the fingerprint /stamp gives.
    let (head, waiting) = dash.get("/");
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(waiting.contains("waiting for results in"), "{waiting}");
    assert!(waiting.contains(dir.to_str().unwrap()), "{waiting}");
    assert!(waiting.contains("data-live=\"1\""), "{waiting}");
    assert!(waiting.contains("connect-src 'self'"), "{waiting}");
    let empty = dash.stamp();
    assert_eq!(attr(&waiting, "data-stamp"), Some(empty.as_str()));
    assert_eq!(dash.stamp(), empty, "nothing changed, same stamp");
    assert_eq!(dash.request("POST", "/").0, 405);

    profile_ok(
        &dir,
        &[
            "--sim",
            "fixed",
            "--streaming",
            "--request-count",
            "20",
            "--osl",
            "4",
        ],
    );

    // The results are there: a new stamp, and the report in place of the waiting page.
    let deadline = Instant::now() + Duration::from_secs(60);
    let stamp = loop {
        let stamp = dash.stamp();
        if stamp != empty {
            break stamp;
        }
        assert!(Instant::now() < deadline, "the stamp never changed");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (_, report) = dash.get("/");
    assert!(report.contains("class=\"chart\""), "no chart in the report");
    assert!(!report.contains("waiting for results in"));
    assert!(report.contains("data-live=\"1\""));
    assert!(
        report.contains("aiperf-live-scroll"),
        "the live script is in"
    );
    assert_eq!(attr(&report, "data-stamp"), Some(stamp.as_str()));
    // Unchanged results: the same page from the cache, not a rebuilt one (which would carry
    // a new generation time).
    assert_eq!(dash.get("/").1, report);

    // The charts' files, where the page's download links point and under /plots/.
    let stem = attr(&report, "data-stem").expect("a chart stem").to_owned();
    let (status, head, png) = dash.request("GET", &format!("/plots/{stem}.png"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-type"), Some("image/png"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (status, head, svg) = dash.request("GET", &format!("/{stem}.svg"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-type"), Some("image/svg+xml"));
    assert!(String::from_utf8_lossy(&svg).contains("<svg"));
    let (status, head, body) = dash.request("HEAD", &format!("/plots/{stem}.png"));
    assert_eq!(status, 200, "{head}");
    assert!(body.is_empty(), "HEAD has no body");

    // Nothing outside the charts directory, and nothing else.
    std::fs::write(scratch.join("secret.png"), b"no").unwrap();
    for path in [
        "/plots/../x",
        "/plots/../secret.png",
        "/plots/..%2Fsecret.png",
        "/plots/%2e%2e/secret.png",
        "/plots/.hidden.png",
        "/plots/report.html",
        "/nothing",
    ] {
        let (status, _, body) = dash.request("GET", path);
        assert_eq!(status, 404, "{path}");
        assert_ne!(body, b"no", "{path}");
    }

    // Ctrl-C: exit 0, the charts' temporary directory removed.
    let status = dash.stop();
    assert_eq!(status.code(), Some(0), "{}", dash.stderr_text());
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("aiperf-dashboard"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Runs `aiperf plot ARGS --dashboard` expecting it to stop at once with a usage error that
/// mentions `needle`.
fn assert_refused(args: &[&str], needle: &str) {
    let mut child = aiperf()
        .arg("plot")
        .args(args)
        .arg("--dashboard")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aiperf runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still serving, expected a refusal naming {needle}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn dashboard_refuses_a_busy_port_a_foreign_host_and_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    assert_refused(&[dir, "--port", &port], "--port");
    // An address of no machine here (TEST-NET-1).
    assert_refused(&[dir, "--host", "192.0.2.1", "--port", "0"], "--host");
    let missing = tmp.path().join("missing");
    assert_refused(
        &[missing.to_str().unwrap(), "--port", "0"],
        "is not a directory",
    );
}
