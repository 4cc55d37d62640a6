//! The Python AIPerf's tutorials (`docs/tutorials/*.md` of ai-dynamo/aiperf), one file each:
//! every `aiperf profile` command line of a tutorial kept as printed, run against a simulator
//! with less work, and checked for the effect the tutorial promises in the artifacts.
//!
//! [`Tutorial`] is the one place a printed command is changed: its URL points at a simulator
//! (`--sim` in process, or `aiperf sim` servers where several URLs or the server's own record
//! are needed), and flags that size the work (counts, durations, token lengths) get smaller
//! values. Everything else stays as the tutorial spells it.

mod fixed_schedule;
mod local_tokenizer;
mod multi_url;
mod parameter_sweeping;
mod prefill_concurrency;
mod ramping;
mod sequence_distributions;
mod sharegpt;
mod sweeps;
mod timeslices;
mod user_centric_timing;
mod warmup;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

use serde_json::Value;

use crate::common::{aiperf, interrupt, read_lines, stderr};

/// A command line as a tutorial prints it, and the changes a test makes to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tutorial {
    /// The words after `aiperf`.
    args: Vec<String>,
    /// Whether the run gets `--ui none` when the command picks no UI.
    quiet: bool,
}

impl Tutorial {
    /// Reads shell text as bash would: `\` line continuations joined, quotes removed. Lines
    /// that are only a comment are dropped (inside a continued command bash would end the
    /// command there; the tutorials mean them as annotations).
    pub(crate) fn parse(text: &str) -> Self {
        let mut joined = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            joined.push_str(line.strip_suffix('\\').unwrap_or(line));
            joined.push(' ');
        }
        let words = split_words(&joined);
        assert_eq!(
            words.first().map(String::as_str),
            Some("aiperf"),
            "not an aiperf command: {text}"
        );
        Self {
            args: words[1..].to_vec(),
            quiet: true,
        }
    }

    /// Runs with the UI the command picks, even none (the tool's own default).
    pub(crate) fn default_ui(mut self) -> Self {
        self.quiet = false;
        self
    }

    /// The words after `aiperf`.
    pub(crate) fn args(&self) -> &[String] {
        &self.args
    }

    fn position(&self, flag: &str) -> Option<usize> {
        self.args.iter().position(|a| a == flag)
    }

    /// Whether the command names `flag`.
    pub(crate) fn has(&self, flag: &str) -> bool {
        self.position(flag).is_some()
    }

    /// Points the command at the in-process simulator: the first `--url X` / `-u X` becomes
    /// `--sim PRESET` (with `--sim-speedup`), other URLs go; a command without a URL (the
    /// default, localhost:8000) gets `--sim` at its end.
    pub(crate) fn on_sim(mut self, preset: &str, speedup: f64) -> Self {
        let sim = [
            "--sim".to_owned(),
            preset.to_owned(),
            "--sim-speedup".to_owned(),
            speedup.to_string(),
        ];
        let mut at = None;
        while let Some(i) = self.args.iter().position(|a| a == "--url" || a == "-u") {
            self.args.drain(i..i + 2);
            at.get_or_insert(i);
        }
        let at = at.unwrap_or(self.args.len());
        self.args.splice(at..at, sim);
        self
    }

    /// Points each `--url` / `-u` at a running server, in order, keeping any path the
    /// tutorial's URL has after its host (`http://localhost:8000/v1/chat/completions`).
    pub(crate) fn on_urls(mut self, urls: &[&str]) -> Self {
        let mut next = urls.iter();
        for i in 0..self.args.len() {
            if self.args[i] == "--url" || self.args[i] == "-u" {
                let base = next.next().expect("a server for every --url");
                let printed = &self.args[i + 1];
                let rest = printed
                    .find("://")
                    .map_or(printed.as_str(), |p| &printed[p + 3..]);
                let path = rest.find('/').map_or("", |p| &rest[p..]);
                self.args[i + 1] = format!("{base}{path}");
            }
        }
        assert!(next.next().is_none(), "more servers than URLs");
        self
    }

    /// Less work: the value after `flag`, which the command must have, becomes `value`.
    #[track_caller]
    pub(crate) fn with(mut self, flag: &str, value: &str) -> Self {
        let i = self
            .position(flag)
            .unwrap_or_else(|| panic!("the tutorial's command has no {flag}: {:?}", self.args));
        self.args[i + 1] = value.to_owned();
        self
    }

    /// A word of the command (a path the tutorial names) replaced by the test's own.
    #[track_caller]
    pub(crate) fn replacing(mut self, word: &str, by: &str) -> Self {
        let i = self
            .args
            .iter()
            .position(|a| a == word)
            .unwrap_or_else(|| panic!("the tutorial's command has no {word}: {:?}", self.args));
        self.args[i] = by.to_owned();
        self
    }

    /// A flag the printed command lacks and the Python AIPerf requires (the tests say why).
    pub(crate) fn plus(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The tutorial's `...` (the rest of the command, left to the reader) filled in.
    #[track_caller]
    pub(crate) fn filling(mut self, rest: &[&str]) -> Self {
        let i = self
            .args
            .iter()
            .position(|a| a == "...")
            .unwrap_or_else(|| panic!("no `...` in {:?}", self.args));
        self.args
            .splice(i..=i, rest.iter().map(|a| (*a).to_owned()));
        self
    }

    /// A flag's name changed, as a user fixes a command that the Python AIPerf rejects.
    #[track_caller]
    pub(crate) fn renaming(self, flag: &str, to: &str) -> Self {
        assert!(self.has(flag), "no {flag}: {:?}", self.args);
        self.replacing(flag, to)
    }

    /// Runs the command in `cwd` (artifacts land under `cwd/artifacts` as they would for the
    /// reader), with `--ui none` unless the tutorial picks a UI (or [`Self::default_ui`]).
    pub(crate) fn run_in(&self, cwd: &Path) -> Run {
        let mut cmd = aiperf();
        cmd.current_dir(cwd).args(&self.args);
        if self.quiet && !self.has("--ui") && !self.has("--ui-type") {
            cmd.args(["--ui", "none"]);
        }
        // A hub model name must never reach for the network here.
        cmd.env("HF_HUB_OFFLINE", "1");
        let output = cmd.output().expect("aiperf runs");
        Run {
            output,
            cwd: cwd.to_owned(),
            args: self.args.clone(),
        }
    }
}

/// Splits shell text into words: whitespace separates, `'...'` and `"..."` quote.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unclosed quote in {text}");
    words.extend(word);
    words
}

/// A finished run of a tutorial's command.
pub(crate) struct Run {
    pub(crate) output: Output,
    cwd: PathBuf,
    args: Vec<String>,
}

impl Run {
    /// The run succeeded (its stderr shown if not).
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "aiperf {}\nexit {:?}\n{}",
            self.args.join(" "),
            self.output.status.code(),
            stderr(&self.output)
        );
        self
    }

    /// The run was refused as a usage error (exit 2) that mentions `needle`.
    #[track_caller]
    pub(crate) fn refused(self, needle: &str) -> String {
        let err = stderr(&self.output);
        assert_eq!(
            self.output.status.code(),
            Some(2),
            "aiperf {} should be refused: {err}",
            self.args.join(" ")
        );
        assert!(err.contains(needle), "no {needle:?} in: {err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    }

    pub(crate) fn stderr(&self) -> String {
        stderr(&self.output)
    }

    /// The run's artifact directory: the one directory under `artifacts/`.
    #[track_caller]
    pub(crate) fn dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.cwd.join("artifacts"))
            .expect("an artifacts directory")
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    }
}

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The records of a run: its `profile_export.jsonl`.
pub(crate) fn records(dir: &Path) -> Vec<Value> {
    read_lines(&dir.join("profile_export.jsonl"))
}

/// A record's `metadata` time in seconds.
pub(crate) fn secs(record: &Value, field: &str) -> f64 {
    record["metadata"][field].as_f64().unwrap() / 1e9
}

/// A record's metric value.
pub(crate) fn metric(record: &Value, tag: &str) -> f64 {
    record["metrics"][tag]["value"].as_f64().unwrap()
}

/// The phases of the run as `run_config.json` states them.
pub(crate) fn phases(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("run_config.json"))["cfg"]["phases"]
        .as_array()
        .unwrap()
        .clone()
}

/// The payloads of `inputs.json`, every turn of every session in order.
pub(crate) fn payloads(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("inputs.json"))["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["payloads"].as_array().unwrap().clone())
        .collect()
}

/// The most spans open at one instant (one ending as another starts counts once; a
/// microsecond of slack for the rounding of milliseconds).
pub(crate) fn max_overlap(spans: &[(f64, f64)]) -> usize {
    let mut events: Vec<(f64, i32)> = spans
        .iter()
        .flat_map(|&(s, e)| [(s, 1), (e - 1e-6, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, d) in events {
        open += d;
        most = most.max(open);
    }
    most as usize
}

/// Each record's send and first-token times, in seconds.
pub(crate) fn prefill_spans(records: &[Value]) -> Vec<(f64, f64)> {
    records
        .iter()
        .map(|r| {
            let start = secs(r, "request_start_ns");
            (start, start + metric(r, "time_to_first_token") / 1e3)
        })
        .collect()
}

/// Each record's send and end times, in seconds.
pub(crate) fn request_spans(records: &[Value]) -> Vec<(f64, f64)> {
    records
        .iter()
        .map(|r| (secs(r, "request_start_ns"), secs(r, "request_end_ns")))
        .collect()
}

/// A stand-alone `aiperf sim` server that records every request it serves.
pub(crate) struct Sim {
    child: Child,
    url: String,
    record: PathBuf,
}

impl Sim {
    /// Starts `aiperf sim --port 0 --preset PRESET --speedup SPEEDUP --model MODEL`,
    /// recording into `dir`.
    pub(crate) fn start(dir: &Path, name: &str, model: &str, preset: &str, speedup: f64) -> Self {
        let record = dir.join(format!("{name}.served.jsonl"));
        let mut child = aiperf()
            .args(["sim", "--port", "0", "--preset", preset, "--model", model])
            .args(["--speedup", &speedup.to_string()])
            .arg("--record-requests")
            .arg(&record)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let banner = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .next()
            .unwrap()
            .unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_owned();
        Self { child, url, record }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server and returns its record of every request it served.
    pub(crate) fn served(mut self) -> Vec<Value> {
        interrupt(self.child.id());
        let _ = self.child.wait();
        if self.record.exists() {
            read_lines(&self.record)
        } else {
            Vec::new()
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn commands_are_read_as_bash_reads_them() {
    let cmd = Tutorial::parse(
        "aiperf profile \\\n    --model m \\\n    # a note\n    --url localhost:8000 \\\n    \
         --sequence-distribution \"64|10,32|8:70;256|40,128|20:30\" \\\n",
    );
    assert_eq!(
        cmd.args(),
        [
            "profile",
            "--model",
            "m",
            "--url",
            "localhost:8000",
            "--sequence-distribution",
            "64|10,32|8:70;256|40,128|20:30"
        ]
    );
    let sim = cmd.on_sim("fixed", 2.0);
    assert_eq!(
        sim.args()[3..7],
        ["--sim", "fixed", "--sim-speedup", "2"].map(String::from)
    );
    let served = Tutorial::parse("aiperf profile -u http://h:1/v1/chat/completions --url h:2")
        .on_urls(&["http://127.0.0.1:5", "http://127.0.0.1:6"]);
    assert_eq!(
        served.args(),
        [
            "profile",
            "-u",
            "http://127.0.0.1:5/v1/chat/completions",
            "--url",
            "http://127.0.0.1:6"
        ]
    );
}
