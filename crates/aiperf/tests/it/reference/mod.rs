//! Our artifacts as the Python AIPerf 0.13 reads them: every shared file validated with its
//! own models and loaded by its own readers (`check_artifacts.py` next to this file), its
//! `aiperf plot` rendering our runs, and our `aiperf plot` rendering its run.
//!
//! Needs an interpreter with `aiperf==0.13.0` installed: `AIPERF_TEST_PYTHON` (`.ci/run`
//! installs it into the test venv). Without one the tests say so and pass, unless
//! `AIPERF_REQUIRE_REFERENCE=1` (as in CI). The PNG check needs Chrome or Chromium for the
//! reference's plot library (Debian's `chromium`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{aiperf, profile_ok as profile, run, stderr, stdout};

/// The interpreter with the reference package, or `None` (and why) when there is none.
pub(crate) fn reference_python() -> Option<String> {
    let python = std::env::var("AIPERF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let version = Command::new(&python)
        .args([
            "-c",
            "from importlib.metadata import version; print(version('aiperf'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match version.as_deref() {
        Some("0.13.0") => Some(python),
        other => {
            let why = format!(
                "aiperf==0.13.0 is not installed for {python} (found {other:?}): \
                 reference compatibility not checked (set AIPERF_TEST_PYTHON)"
            );
            assert!(
                std::env::var_os("AIPERF_REQUIRE_REFERENCE").is_none(),
                "{why}"
            );
            say(&why);
            None
        }
    }
}

/// A line on the test's stderr (why part of a test did not run).
fn say(line: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
}

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/reference/check_artifacts.py")
}

/// The reference tool's own command line, run with `python -m aiperf`, its state kept under
/// `home`.
pub(crate) fn reference(python: &str, home: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .args(["-m", "aiperf"])
        .args(args)
        .env("HOME", home)
        .env("MPLBACKEND", "Agg")
        .env("TIKTOKEN_CACHE_DIR", tiktoken_cache(home))
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the reference tool runs")
}

/// A tiktoken cache holding `o200k_base` (the reference's `--tokenizer builtin`), copied
/// from the tiktoken-rs crate's own copy so nothing is downloaded.
fn tiktoken_cache(home: &Path) -> PathBuf {
    let dir = home.join("tiktoken");
    // tiktoken names the file after the sha1 of its download URL.
    let name = dir.join("fb374d419588a4632f3f557e76b4b70aebbca790");
    if !name.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let bpe = tiktoken_asset("o200k_base.tiktoken");
        std::fs::copy(&bpe, &name).unwrap();
    }
    dir
}

/// An asset file of the tiktoken-rs crate in cargo's registry.
fn tiktoken_asset(file: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let registry = home.join("registry/src");
    for index in std::fs::read_dir(&registry).unwrap().flatten() {
        for krate in std::fs::read_dir(index.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = krate.file_name().to_string_lossy().into_owned();
            let asset = krate.path().join("assets").join(file);
            if name.starts_with("tiktoken-rs-") && asset.is_file() {
                return asset;
            }
        }
    }
    panic!("{file} not found under {}", registry.display());
}

/// PNG files under `dir`, each checked to be a PNG image of some size.
fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        if entry.extension().is_some_and(|e| e == "png") {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}",
                entry.display()
            );
            assert!(bytes.len() > 2_000, "{} is nearly empty", entry.display());
            out.push(entry);
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn has_chromium() -> bool {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// A streaming run with time slices, HTTP traces, server metrics and GPU telemetry, an
/// embeddings run, a sweep with three trials per cell and a search: every shared artifact
/// passes the reference's models and readers, and its `aiperf plot` draws each.
#[test]
fn the_reference_tool_reads_our_artifacts() {
    let Some(python) = reference_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (stream, embed, sweep, search) = (
        tmp.path().join("stream"),
        tmp.path().join("embed"),
        tmp.path().join("sweep"),
        tmp.path().join("search"),
    );
    let short = [
        "--isl",
        "32",
        "--osl",
        "16",
        "--extra-inputs",
        "ignore_eos:true",
    ];
    let mut args = vec!["--sim", "fixed", "--streaming", "--concurrency", "4"];
    args.extend(["--request-count", "40", "--slice-duration", "0.1"]);
    args.push("--export-http-trace");
    args.extend(short);
    profile(&stream, &args);
    profile(
        &embed,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "embeddings",
            "--request-count",
            "20",
        ],
    );
    let mut args = vec!["--sim", "fixed", "--streaming", "--concurrency", "1,2"];
    args.extend(["--num-profile-runs", "3", "--request-count", "8"]);
    args.extend(short);
    profile(&sweep, &args);
    let mut args = vec!["--sim", "fixed", "--streaming", "--request-count", "8"];
    args.extend(["--search-space", "concurrency:1,8:int"]);
    args.extend(["--search-metric", "output_token_throughput"]);
    args.extend(["--search-direction", "maximize"]);
    args.extend([
        "--search-max-iterations",
        "3",
        "--search-initial-points",
        "2",
    ]);
    args.extend(short);
    profile(&search, &args);

    let output = Command::new(&python)
        .arg(checker())
        .args([&stream, &embed, &sweep, &search])
        .output()
        .unwrap();
    let report = stdout(&output);
    assert!(output.status.success(), "{report}\n{}", stderr(&output));
    assert!(report.contains(", 0 problems"), "{report}");

    if !has_chromium() {
        say("no Chromium: the reference's aiperf plot (PNG through kaleido) not run");
        return;
    }
    let home = tmp.path().join("home");
    for dir in [&stream, &sweep, &search] {
        let out = dir.join("reference_plots");
        let output = reference(
            &python,
            &home,
            &[
                "plot",
                dir.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            output.status.success(),
            "{}: {}\n{}",
            dir.display(),
            stdout(&output),
            stderr(&output)
        );
        let drawn = pngs(&out);
        assert!(
            !drawn.is_empty(),
            "no PNG for {}: {}",
            dir.display(),
            stdout(&output)
        );
    }
}

/// Our `aiperf plot` draws a run the reference tool made (against our simulator).
#[test]
fn our_plot_reads_the_reference_tools_run() {
    let Some(python) = reference_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut sim = aiperf()
        .args(["sim", "--port", "0", "--preset", "fixed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(sim.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned()
    };
    let dir = tmp.path().join("ref_run");
    let output = reference(
        &python,
        &tmp.path().join("home"),
        &[
            "profile",
            "-m",
            "fixed-latency-sim",
            "-u",
            &url,
            "--endpoint-type",
            "chat",
            "--streaming",
            "--concurrency",
            "2",
            "--request-count",
            "12",
            "--isl",
            "32",
            "--osl",
            "8",
            "--tokenizer",
            "builtin",
            "--ui",
            "none",
            "--no-gpu-telemetry",
            "--artifact-dir",
            dir.to_str().unwrap(),
        ],
    );
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );

    let plots = tmp.path().join("plots");
    let output = run(&[
        "plot",
        dir.to_str().unwrap(),
        "--output",
        plots.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(plots.join("report.html").is_file(), "{}", stdout(&output));
    let charts = walk(&plots)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg" || e == "png"))
        .count();
    assert!(charts > 0, "{}", stdout(&output));
}
