//! `aiperf plot`'s report in a real browser. Each kind of report (a run, a sweep with trials,
//! a search, a comparison of two runs) is made on the simulator and loaded in headless
//! Chromium behind a proxy that counts every connection: the page must make none, its
//! screenshot must show charts, and a driver script (`report_browser/driver.js`, appended to a
//! copy of the page) uses the charts through the page's own scripts (hover, legend toggles,
//! linked cursors, theme switch) and reports what it saw.
//!
//! Needs Chromium (`apt-get install chromium`; `CHROMIUM=/path` picks another binary); the
//! tests say so and pass without it, unless `AIPERF_REQUIRE_CHROMIUM` is set.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::common::{profile_ok, run, stderr};

const DRIVER: &str = include_str!("report_browser/driver.js");

/// What the trap's own marker connection sends.
const MARK: &str = "aiperf-trap-mark";

/// Chromium's switches for a quiet, repeatable headless load. The browser's own background
/// traffic is turned off (it would go through the trap and count against the page): time
/// queries, search-engine preconnects, the AI-mode eligibility check, and the account check,
/// pointed at port 9, which Chromium refuses to connect to.
const QUIET: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--disable-extensions",
    "--disable-features=NetworkTimeServiceQuerying,PreconnectToSearch,AimEnabled",
    "--gaia-url=http://127.0.0.1:9/",
    "--enable-logging=stderr",
    "--virtual-time-budget=10000",
];

/// The Chromium binary, or `None` (and a note) where there is none.
fn chromium() -> Option<PathBuf> {
    let candidates: Vec<String> = match std::env::var("CHROMIUM") {
        Ok(path) if !path.is_empty() => vec![path],
        _ => [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
        .map(String::from)
        .to_vec(),
    };
    let found = candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("AIPERF_REQUIRE_CHROMIUM").is_err(),
            "AIPERF_REQUIRE_CHROMIUM is set but no Chromium was found (chromium, chromium-browser, google-chrome or CHROMIUM=...)"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: Chromium is not installed (apt-get install chromium) so the report is not checked in a browser"
        );
    }
    found.map(PathBuf::from)
}

/// A proxy that serves nothing: it records the first line of every connection (`GET http://…`,
/// `CONNECT host:443`) and closes it. Chromium sends every request there, loopback included.
struct Trap {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    marks: mpsc::Receiver<()>,
}

impl Trap {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, marks) = mpsc::channel();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let line = first_line(&stream);
                if line == MARK {
                    if tx.send(()).is_err() {
                        return;
                    }
                } else {
                    log.lock().unwrap().push(line);
                }
            }
        });
        Self { port, seen, marks }
    }

    /// The connections made since the last call. Connections are read in the order they
    /// arrived, so once the trap has read a marker connection made now, it has read every
    /// connection the (finished) browser made.
    fn take(&self) -> Vec<String> {
        let mut mark = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        writeln!(mark, "{MARK}").unwrap();
        self.marks
            .recv_timeout(Duration::from_secs(30))
            .expect("the trap reads its marker");
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn first_line(stream: &TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    match line.trim_end() {
        "" => "(a connection that sent nothing)".into(),
        l => l.to_owned(),
    }
}

/// Headless Chromium with every request sent to a [`Trap`].
struct Browser {
    exe: PathBuf,
    trap: Trap,
    dir: tempfile::TempDir,
    launches: std::cell::Cell<u32>,
}

/// What one page load gave: Chromium's stdout (the DOM with `--dump-dom`), its log, and the
/// connections it made.
struct Load {
    stdout: String,
    log: String,
    connections: Vec<String>,
}

impl Browser {
    /// The browser, after proving that the trap sees a page's requests: a page that loads an
    /// image from the network must register a connection.
    fn start() -> Option<Self> {
        let browser = Self {
            exe: chromium()?,
            trap: Trap::start(),
            dir: tempfile::tempdir().unwrap(),
            launches: std::cell::Cell::new(0),
        };
        let control = browser.dir.path().join("control.html");
        std::fs::write(
            &control,
            "<!DOCTYPE html><html><body><img src=\"http://example.invalid/x.png\"><p>control</p></body></html>",
        )
        .unwrap();
        let load = browser.load(&control, &["--dump-dom"]);
        assert!(
            load.connections
                .iter()
                .any(|c| c.contains("example.invalid")),
            "the proxy trap saw no request from a page that loads http://example.invalid/x.png \
             (saw {:?}): the no-network checks would prove nothing",
            load.connections
        );
        Some(browser)
    }

    fn load(&self, page: &Path, extra: &[&str]) -> Load {
        let n = self.launches.get() + 1;
        self.launches.set(n);
        let stdout_path = self.dir.path().join(format!("stdout-{n}"));
        let log_path = self.dir.path().join(format!("log-{n}"));
        let mut child = Command::new(&self.exe)
            .args(QUIET)
            .arg(format!(
                "--user-data-dir={}",
                self.dir.path().join(format!("profile-{n}")).display()
            ))
            .arg(format!(
                "--proxy-server=http://127.0.0.1:{}",
                self.trap.port
            ))
            .arg("--proxy-bypass-list=<-loopback>")
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("chromium starts");
        // A watchdog, not a synchronisation: a load takes a second or two.
        let deadline = Instant::now() + Duration::from_secs(90);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish loading {} in 90 s", page.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(
            status.success(),
            "chromium failed on {}: {log}",
            page.display()
        );
        Load {
            stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
            log,
            connections: self.trap.take(),
        }
    }

    /// Screenshots the report as it is and runs the driver in a copy of it; asserts what
    /// holds for every report (no request, charts drawn and working) and returns the
    /// driver's findings.
    fn check(&self, report: &Path) -> Value {
        let html = std::fs::read_to_string(report).unwrap();
        assert_no_external_urls(&html);

        let shot = self
            .dir
            .path()
            .join(format!("shot-{}.png", self.launches.get()));
        // Tall enough to take in several charts: a run's come after its tables, ~1,500 px down.
        let load = self.load(
            report,
            &[
                "--window-size=1280,5000",
                &format!("--screenshot={}", shot.display()),
            ],
        );
        assert_no_connections(&load, report);
        assert_screenshot_drawn(&shot);

        let copy = self
            .dir
            .path()
            .join(format!("driven-{}.html", self.launches.get()));
        let at = html.rfind("</body>").expect("the report ends with </body>");
        std::fs::write(
            &copy,
            format!("{}<script>{DRIVER}</script>{}", &html[..at], &html[at..]),
        )
        .unwrap();
        let load = self.load(&copy, &["--window-size=1280,2000", "--dump-dom"]);
        assert_no_connections(&load, &copy);
        let result = driver_result(&load.stdout);
        assert_charts_work(&result);
        result
    }
}

fn assert_no_connections(load: &Load, page: &Path) {
    assert!(
        load.connections.is_empty(),
        "{} made network requests: {:?}",
        page.display(),
        load.connections
    );
    let errors: Vec<&str> = load
        .log
        .lines()
        .filter(|l| l.contains("Uncaught") || l.contains("Content Security Policy"))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", page.display());
}

/// No `src=`, `href=`, `url(` pointing at the network, and no `@import`.
fn assert_no_external_urls(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("@import"), "the report has an @import");
    for needle in ["src=", "href=", "url("] {
        for (i, _) in lower.match_indices(needle) {
            let rest = lower[i + needle.len()..]
                .trim_start_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
            assert!(
                !(rest.starts_with("http:")
                    || rest.starts_with("https:")
                    || rest.starts_with("//")),
                "the report references the network: {}",
                &html[i..(i + 80).min(html.len())]
            );
        }
    }
}

/// The screenshot is a drawn page, not a blank one: plenty of pixels off the background, many
/// colours, and saturated ones: the series (text and grid are grey). A run's report without
/// its charts has about 2,000 saturated pixels (links, colour swatches), with them over 12,000.
fn assert_screenshot_drawn(png: &Path) {
    let img = image::open(png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .to_rgb8();
    let mut counts: HashMap<[u8; 3], u32> = HashMap::new();
    let mut saturated = 0u32;
    for p in img.pixels() {
        *counts.entry(p.0).or_default() += 1;
        let (hi, lo) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
        if hi - lo >= 80 {
            saturated += 1;
        }
    }
    let total = img.width() * img.height();
    let background = counts.values().copied().max().unwrap_or(0);
    let off = f64::from(total - background) / f64::from(total);
    assert!(
        off > 0.04 && counts.len() > 500 && saturated > 6000,
        "{}: {:.1}% off the background, {} colours, {saturated} saturated pixels",
        png.display(),
        off * 100.0,
        counts.len()
    );
}

/// The driver's JSON, base64 in `<pre id="driver-result">` of the dumped DOM.
fn driver_result(dom: &str) -> Value {
    // The last one: the driver's own source, inlined above, names the element too.
    let start = dom
        .rfind("<pre id=\"driver-result\">")
        .unwrap_or_else(|| panic!("the driver wrote no result; DOM tail: {}", tail(dom)))
        + "<pre id=\"driver-result\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(dom[start..end].trim())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn tail(s: &str) -> &str {
    let mut at = s.len().saturating_sub(2000);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// What holds for every report: every figure drawn, each chart painted with its series,
/// hovering a point shows the tooltip with numbers, a legend click hides and shows a series,
/// charts with one `sync` key share the cursor, and the theme button redraws every chart in
/// the other theme's colours.
fn assert_charts_work(r: &Value) {
    assert_eq!(r["ready"], true, "{r:#}");
    assert_eq!(r["errors"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["notes"], serde_json::json!([]), "charts not drawn: {r:#}");
    let charts = r["charts"].as_array().unwrap();
    assert!(!charts.is_empty(), "no chart: {r:#}");
    assert_eq!(r["figures"].as_u64(), Some(charts.len() as u64), "{r:#}");
    for c in charts {
        let name = c["stem"].as_str().unwrap();
        let px = &c["pixels"];
        assert!(
            px["painted"].as_f64().unwrap() > 0.01 * px["total"].as_f64().unwrap()
                && px["colours"].as_u64().unwrap() >= 8,
            "{name}: canvas nearly empty: {px}"
        );
        let series = c["series"].as_array().unwrap();
        assert!(
            series.iter().any(|s| s["drawn"].as_u64().unwrap() >= 4),
            "{name}: no series drawn: {series:?}"
        );
        let hovered = &c["hovered"];
        assert!(hovered.is_object(), "{name}: no data point to hover");
        let label = series[hovered["series"].as_u64().unwrap() as usize - 1]["label"]
            .as_str()
            .unwrap();
        let tip = &c["tip"];
        let text = tip["text"].as_str().unwrap_or("");
        assert!(
            tip["display"] == "block"
                && text.contains(label)
                && text.chars().any(|ch| ch.is_ascii_digit()),
            "{name}: hovering {hovered} shows no tooltip for {label}: {tip}"
        );
        assert!(
            c["cursor"]["idx"].is_u64() && c["cursor"]["left"].as_f64().unwrap() >= 0.0,
            "{name}: cursor {}",
            c["cursor"]
        );
        assert!(c["left_after_leave"].as_f64().unwrap() < 0.0, "{name}");
        assert_eq!(
            c["toggle"],
            serde_json::json!([true, false, true]),
            "{name}: clicking the first legend entry twice should hide then show its series"
        );
        assert_eq!(
            c["off_class"], true,
            "{name}: a hidden series' legend entry is marked"
        );
        for s in c["synced"].as_array().unwrap() {
            assert!(
                s["before"].as_f64().unwrap() < 0.0 && s["after"].as_f64().unwrap() >= 0.0,
                "{name}: hovering it should move the cursor of {} (same sync key): {s}",
                s["stem"]
            );
        }
    }
    let t = &r["theme_toggle"];
    assert_ne!(t["to"], t["from"], "the theme button: {t}");
    assert_eq!(t["back"], t["from"], "the theme button, pressed twice: {t}");
    assert_eq!(t["count_after"], t["count_before"], "{t}");
    assert_eq!(t["new_plots"], true, "the charts are redrawn: {t}");
    let darker = t["to"] == "dark";
    let before = t["luminance_before"].as_array().unwrap();
    for (b, a) in before.iter().zip(t["luminance_after"].as_array().unwrap()) {
        let (b, a) = (b.as_f64().unwrap(), a.as_f64().unwrap());
        assert!(
            if darker { a < b - 20.0 } else { a > b + 20.0 },
            "the charts are redrawn in the {} theme's colours: {t}",
            t["to"]
        );
    }
}

/// The chart titled `title` (or starting with it).
fn chart<'a>(r: &'a Value, title: &str) -> &'a Value {
    r["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"].as_str().unwrap().starts_with(title))
        .unwrap_or_else(|| panic!("no chart titled {title:?}: {r:#}"))
}

/// The series of `chart` labelled `label`: its number of values and drawn pixels.
fn series<'a>(chart: &'a Value, label: &str) -> &'a Value {
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == label)
        .unwrap_or_else(|| panic!("{}: no series {label:?}: {chart:#}", chart["title"]))
}

fn plot(paths: &[&Path], out: &Path) -> PathBuf {
    let mut args = vec!["plot"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--output", out.to_str().unwrap()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    out.join("report.html")
}

fn single_run(dir: &Path, osl: &str) {
    profile_ok(
        dir,
        &[
            "--sim",
            "fixed",
            "--streaming",
            "--request-count",
            "20",
            "--osl",
            osl,
        ],
    );
}

#[test]
fn a_run_report_works_offline_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    single_run(&dir, "4");
    let r = browser.check(&plot(&[&dir], &tmp.path().join("plots")));
    let over_time = [
        "Time to first token over time",
        "Inter-token latency over time",
        "Request latency over time",
        "Throughput over time",
    ];
    for title in over_time {
        let c = chart(&r, title);
        assert_eq!(c["sync"], "run-time", "{title}");
        let others: Vec<&str> = c["synced"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stem"].as_str().unwrap())
            .collect();
        assert!(others.len() >= 3, "{title} moves the cursor of {others:?}");
    }
    assert_eq!(
        series(chart(&r, "Time to first token over time"), "TTFT")["values"],
        20
    );
    let percentiles = chart(&r, "Latency by percentile");
    for label in ["TTFT", "ITL", "request latency"] {
        assert!(
            series(percentiles, label)["values"].as_u64().unwrap() >= 10,
            "{label}"
        );
    }
}

#[test]
fn a_sweep_report_with_trials_works_offline_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    profile_ok(
        &dir,
        &[
            "--sim",
            "fixed",
            "--streaming",
            "--concurrency",
            "1,2,8",
            "--num-profile-runs",
            "2",
            "--request-count",
            "8",
            "--osl",
            "4",
        ],
    );
    let r = browser.check(&plot(&[&dir], &tmp.path().join("plots")));
    for (title, label) in [
        ("Request throughput vs concurrency", "Request throughput"),
        (
            "Output token throughput vs concurrency",
            "Output token throughput",
        ),
        ("TTFT p99 vs concurrency", "TTFT p99"),
    ] {
        let c = chart(&r, title);
        assert_eq!(
            series(c, label)["values"],
            3,
            "{title}: one value per concurrency"
        );
        // Two trials a cell: a confidence band around the mean.
        for side in ["low", "high"] {
            assert_eq!(
                series(c, &format!("{label} CI {side}"))["values"],
                3,
                "{title}"
            );
        }
        assert!(!c["synced"].as_array().unwrap().is_empty(), "{title}");
        // A tick labelled at every swept value (1 to 8 is drawn on a log axis, where uPlot
        // blanks most ticks by default).
        let ticks: Vec<&str> = c["x_ticks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        for v in ["1", "2", "8"] {
            assert!(ticks.contains(&v), "{title}: ticks {ticks:?}");
        }
    }
    let pareto = chart(&r, "Throughput vs latency (Pareto");
    let optimal = series(pareto, "Pareto optimal");
    assert!(
        optimal["values"].as_u64().unwrap() >= 1 && optimal["drawn"].as_u64().unwrap() > 0,
        "{pareto:#}"
    );
}

#[test]
fn a_search_report_works_offline_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("search");
    profile_ok(
        &dir,
        &[
            "--sim",
            "--streaming",
            "--osl",
            "8",
            "--isl",
            "64",
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "30",
            "--concurrency-max",
            "16",
        ],
    );
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("search_history.json")).unwrap())
            .unwrap();
    let probes = history["iterations"].as_array().unwrap().len() as u64;
    let r = browser.check(&plot(&[&dir], &tmp.path().join("plots")));
    let c = chart(&r, "Search probes");
    let passed = series(c, "passed")["values"].as_u64().unwrap();
    let failed = series(c, "failed")["values"].as_u64().unwrap();
    assert!(passed >= 1 && failed >= 1, "{c:#}");
    assert_eq!(
        passed + failed,
        probes,
        "every probe is on the chart: {c:#}"
    );
}

#[test]
fn a_comparison_report_works_offline_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    single_run(&a, "4");
    single_run(&b, "8");
    let r = browser.check(&plot(&[&a, &b], &tmp.path().join("plots")));
    // Overlays: a series per directory, both drawn.
    let overlaid: Vec<&Value> = r["charts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let s = c["series"].as_array().unwrap();
            s.len() == 2 && s.iter().all(|s| s["values"].as_u64().unwrap() > 0)
        })
        .collect();
    assert!(
        !overlaid.is_empty(),
        "no chart with one series per directory: {r:#}"
    );
    for c in overlaid {
        let s = c["series"].as_array().unwrap();
        assert_ne!(s[0]["label"], s[1]["label"], "{c:#}");
    }
}
