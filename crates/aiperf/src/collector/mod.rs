//! The collector: one thread that turns raw records into measurements.
//!
//! For each record it has the endpoint decode the response (SSE events or a JSON body) into
//! the generated text, the reasoning text and the server's `usage`, tokenizes, computes the
//! per-request metrics ([`measure`]), appends one line to `profile_export.jsonl` (and the raw
//! export, [`jsonl`]), and keeps the columns the summary is computed from. None of this runs
//! on the request path.

mod http_trace;
mod jsonl;
mod measure;
mod outputs;
mod spec_decode;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use self::jsonl::{write_raw_line, write_record_line};
pub use self::measure::{Measured, measure};
use crate::dataset::Dataset;
use crate::endpoints::Endpoint;
use crate::metrics::{Columns, Rec, Span};
use crate::record::{Clock, ErrorDetails, Outcome, Phase, RawRecord};
use crate::tokenizer::Tokenizer;

/// Live counters for the progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub warmup_done: AtomicU64,
    pub done: AtomicU64,
    pub errors: AtomicU64,
    pub output_tokens: AtomicU64,
    /// The latest requests (for live displays): capped at [`WINDOW`].
    pub recent: std::sync::Mutex<std::collections::VecDeque<Sample>>,
    /// Failures so far, by type.
    pub error_kinds: std::sync::Mutex<Vec<(String, u64)>>,
    /// What the server and its GPUs reported at the latest scrapes.
    pub server: std::sync::Mutex<LiveServer>,
}

/// The server's and GPUs' latest readings, for live displays.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveServer {
    pub running: Option<f64>,
    pub waiting: Option<f64>,
    /// Percent.
    pub kv_cache: Option<f64>,
    /// Watts, all GPUs.
    pub gpu_power: Option<f64>,
}

/// How many recent requests a live display summarizes.
pub const WINDOW: usize = 2000;

/// One finished request, as a live display sees it (milliseconds; NaN when not applicable).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub ttft: f64,
    pub itl: f64,
    pub latency: f64,
    pub schedule_lag: f64,
    pub ok: bool,
}

/// What the collector needs to know about the run.
#[derive(Debug)]
pub struct CollectorConfig {
    pub tokenizer: Arc<Tokenizer>,
    pub dataset: Arc<Dataset>,
    pub streaming: bool,
    /// How the endpoint's responses decode, and whether they carry generated text (the type
    /// configured for the run).
    pub api: Arc<dyn Endpoint>,
    /// `--request-timeout-seconds`, for the timeout message.
    pub timeout_secs: f64,
    pub use_server_token_count: bool,
    /// Report schedule lag and schedule-relative latencies (open-loop modes).
    pub open_loop: bool,
    pub clock: Clock,
    pub records_path: Option<PathBuf>,
    pub raw_path: Option<PathBuf>,
    /// Each profiled request's generated text (`--export-outputs-json`), one line each.
    pub outputs_path: Option<PathBuf>,
    /// Write each request's `trace_data` (`--export-http-trace`).
    pub http_trace: bool,
    pub progress: Arc<Progress>,
    /// Who measured the records, as the JSONL metadata names it.
    pub process: RecordOrigin,
    /// `--per-chunk-usage`: inter-token latency leaves out the tokens of the first content
    /// chunk as the server counted them.
    pub per_chunk_usage: bool,
}

/// A request as an interval of the phase; its chunk gaps will follow the `gaps_at` first
/// ones of the pooled gaps.
fn span(record: &RawRecord, m: &Measured, gaps_at: usize, ok_row: usize) -> Span {
    let v = &m.values;
    let ttft_ms = v[Rec::TimeToFirstToken as usize];
    let ok = m.error.is_none();
    let gaps = if ok { m.inter_chunk.len() } else { 0 };
    Span {
        credit_ns: record.scheduled_ns,
        start_ns: record.start_ns,
        first_token_ns: (ok && ttft_ms.is_finite())
            .then(|| record.start_ns + (ttft_ms * 1e6).round() as u64),
        end_ns: record.end_ns,
        isl: if ok {
            v[Rec::InputSequenceLength as usize]
        } else {
            f64::from(record.input_tokens)
        },
        osl: if ok {
            v[Rec::OutputSequenceLength as usize]
        } else {
            f64::NAN
        },
        gaps: gaps_at as u32..(gaps_at + gaps) as u32,
        ok_row: ok.then_some(ok_row as u32),
        cancelled: matches!(record.outcome, Outcome::Cancelled | Outcome::Abandoned),
    }
}

/// The identity of the process that sent and measured the records, and the phases it ran.
#[derive(Debug, Clone)]
pub struct RecordOrigin {
    pub worker_id: String,
    pub record_processor_id: String,
    /// A warmup phase ran before profiling (it is phase 0 then).
    pub with_warmup: bool,
}

impl RecordOrigin {
    /// The origin of a run's records; `shard` is this process's share of a sharded run.
    pub fn new(shard: Option<u32>, with_warmup: bool) -> Self {
        let n = shard.unwrap_or(0);
        Self {
            worker_id: format!("worker_{n}"),
            record_processor_id: format!("record_processor_{n}"),
            with_warmup,
        }
    }

    pub fn phase_index(&self, phase: Phase) -> usize {
        match phase {
            Phase::Warmup => 0,
            Phase::Profiling => usize::from(self.with_warmup),
        }
    }
}

/// Everything the collector measured.
#[derive(Debug, Default)]
pub struct Collected {
    pub columns: Columns,
    /// Distinct errors with their counts.
    pub errors: Vec<(ErrorDetails, u64)>,
    /// A problem writing the JSONL files (measurements are still complete in memory).
    pub write_error: Option<String>,
    /// Requests sent again on a new connection (see [`RawRecord::retries`]).
    pub resent: u64,
    /// Streamed answers whose every token arrived in one read (see [`Measured::buffered`]).
    pub buffered: u64,
    /// Answers without `usage` while `--use-server-token-count` asked for the server's counts.
    pub without_usage: u64,
}

/// How often an idle collector looks for records while a run is busy.
const POLL: Duration = Duration::from_micros(500);
/// After this long without records, the collector blocks until the next one.
const QUIET: Duration = Duration::from_millis(50);

/// A later turn of a chat session sends the whole conversation so far, and the server reads
/// all of it: its input is every message's text (`None` when the body has no messages).
fn context_tokens(tokenizer: &Tokenizer, body: &[u8]) -> Option<u32> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let mut tokens = 0usize;
    for message in doc.get("messages")?.as_array()? {
        match message.get("content") {
            Some(Value::String(text)) => tokens += tokenizer.count(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(Value::as_str) {
                        tokens += tokenizer.count(text);
                    }
                }
            }
            _ => {}
        }
    }
    u32::try_from(tokens).ok()
}

/// Runs the collector until every sender is dropped.
pub fn collect(config: &CollectorConfig, rx: &Receiver<RawRecord>) -> Collected {
    let mut out = Collected::default();
    // Grouped by code, type and the message with its per-response details blanked out; each
    // group keeps the first message seen as its example.
    let mut errors: std::collections::HashMap<ErrorDetails, (ErrorDetails, u64)> =
        Default::default();
    let mut records = open(&config.records_path, &mut out.write_error);
    let mut raw = open(&config.raw_path, &mut out.write_error);
    let mut texts = open(&config.outputs_path, &mut out.write_error);
    let mut pending = 0usize;
    let mut idle_since: Option<Instant> = None;
    loop {
        let mut record = match rx.try_recv() {
            Ok(r) => {
                idle_since = None;
                r
            }
            Err(TryRecvError::Empty) => {
                // Idle: make what was written so far visible.
                if pending > 0 {
                    flush(&mut records, &mut out.write_error);
                    flush(&mut raw, &mut out.write_error);
                    pending = 0;
                }
                // While records keep coming, poll every POLL rather than block: a blocked
                // receiver costs every sender a futex wake-up (a system call and a thread
                // switch per request). After a quiet spell, block.
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() < QUIET {
                    std::thread::sleep(POLL);
                    continue;
                }
                match rx.recv() {
                    Ok(r) => {
                        idle_since = None;
                        r
                    }
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if record.phase == Phase::Warmup {
            config.progress.warmup_done.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if record.turn_index > 0
            && let Some(tokens) = context_tokens(&config.tokenizer, &record.body)
        {
            record.input_tokens = tokens;
        }
        let m = measure(config, &record);
        out.resent += u64::from(record.retries);
        out.buffered += u64::from(m.buffered);
        out.without_usage += u64::from(m.without_usage);
        let cols = &mut out.columns;
        cols.observe(record.start_ns, record.scheduled_ns, record.end_ns);
        cols.spans
            .push(span(&record, &m, cols.inter_chunk.len(), cols.ok.len()));
        match &m.error {
            None => cols.add_ok(record.start_ns, m.last_content_ns, m.values, &m.inter_chunk),
            Some(e) => {
                cols.add_error(
                    f64::from(record.input_tokens),
                    matches!(record.outcome, Outcome::Cancelled | Outcome::Abandoned),
                );
                errors
                    .entry(e.grouping_key())
                    .or_insert_with(|| (e.clone(), 0))
                    .1 += 1;
                config.progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        config.progress.done.fetch_add(1, Ordering::Relaxed);
        {
            let v = &m.values;
            let osl = v[Rec::OutputSequenceLength as usize];
            if !osl.is_nan() {
                config
                    .progress
                    .output_tokens
                    .fetch_add(osl as u64, Ordering::Relaxed);
            }
            let sample = Sample {
                ttft: v[Rec::TimeToFirstToken as usize],
                itl: v[Rec::InterTokenLatency as usize],
                latency: v[Rec::RequestLatency as usize],
                schedule_lag: v[Rec::ScheduleLag as usize],
                ok: m.error.is_none(),
            };
            if let Ok(mut recent) = config.progress.recent.lock() {
                if recent.len() >= WINDOW {
                    recent.pop_front();
                }
                recent.push_back(sample);
            }
            if let Some(e) = &m.error
                && let Ok(mut kinds) = config.progress.error_kinds.lock()
            {
                match kinds.iter_mut().find(|k| k.0 == e.kind) {
                    Some(k) => k.1 += 1,
                    None => kinds.push((e.kind.clone(), 1)),
                }
            }
        }
        if let Some(w) = records.as_mut() {
            write_record_line(w, config, &record, &m, &mut out.write_error);
        }
        if let Some(w) = raw.as_mut() {
            write_raw_line(w, config, &record, &m, &mut out.write_error);
        }
        if let Some(w) = texts.as_mut() {
            outputs::write_output_line(w, config, &record, &m, &mut out.write_error);
        }
        pending += 1;
        if pending >= 256 {
            flush(&mut records, &mut out.write_error);
            flush(&mut raw, &mut out.write_error);
            pending = 0;
        }
    }
    flush(&mut records, &mut out.write_error);
    flush(&mut raw, &mut out.write_error);
    flush(&mut texts, &mut out.write_error);
    let mut errors: Vec<_> = errors.into_values().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.errors = errors;
    out
}

fn open(path: &Option<PathBuf>, error: &mut Option<String>) -> Option<BufWriter<File>> {
    let path = path.as_ref()?;
    match File::create(path) {
        Ok(f) => Some(BufWriter::with_capacity(1 << 16, f)),
        Err(e) => {
            error.get_or_insert_with(|| format!("cannot write {}: {e}", path.display()));
            None
        }
    }
}

/// Writes one whole line with one call, so the file only ever holds complete lines plus at
/// most one line cut short by a crash.
fn write_line<T: Serialize>(w: &mut BufWriter<File>, line: &T, error: &mut Option<String>) {
    let mut bytes = serde_json::to_vec(line).expect("records serialize");
    bytes.push(b'\n');
    if let Err(e) = w.write_all(&bytes) {
        error.get_or_insert_with(|| format!("writing records: {e}"));
    }
}

fn flush(w: &mut Option<BufWriter<File>>, error: &mut Option<String>) {
    if let Some(w) = w
        && let Err(e) = w.flush()
    {
        error.get_or_insert_with(|| format!("writing records: {e}"));
    }
}
