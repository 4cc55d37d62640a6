//! `--record-requests`: the server's own view of every request, one JSON line each.
//!
//! A client's measurement bias is its reported time minus the server's: comparing a client's
//! time to first token with `first_token_ns - arrival_ns` here shows how much the client adds.
//! Timestamps are nanoseconds since the Unix epoch, the same convention as the client's
//! `*_ns` fields, taken from one wall-clock anchor plus a monotonic clock.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Converts monotonic instants to Unix-epoch nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    anchor: Instant,
    anchor_ns: u64,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        let anchor = Instant::now();
        let anchor_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self { anchor, anchor_ns }
    }

    pub(crate) fn ns(&self, at: Instant) -> u64 {
        let offset = at.saturating_duration_since(self.anchor).as_nanos();
        self.anchor_ns + u64::try_from(offset).unwrap_or(u64::MAX)
    }
}

/// How a request ended, from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ending {
    /// The whole response was sent.
    Completed,
    /// An error status was sent (injected or a bad request).
    Error,
    /// The server dropped the connection on purpose (fault injection).
    Disconnected,
    /// The client went away before the response was complete.
    ClientGone,
}

/// One line of the record file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RequestRecord {
    pub(crate) request_id: String,
    /// The client's `X-Request-ID`, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_request_id: Option<String>,
    pub(crate) endpoint: &'static str,
    pub(crate) model: String,
    pub(crate) stream: bool,
    pub(crate) status: u16,
    pub(crate) ending: Ending,
    /// Injected fault, if any (`http_error`, `disconnect`, `malformed`, `stall`).
    pub(crate) fault: Option<&'static str>,
    pub(crate) arrival_ns: u64,
    /// When the first output token left the server (streaming) or the response did.
    pub(crate) first_token_ns: Option<u64>,
    pub(crate) last_token_ns: Option<u64>,
    pub(crate) end_ns: u64,
    pub(crate) prompt_tokens: u32,
    /// Tokens the server planned to generate.
    pub(crate) completion_tokens: u32,
    pub(crate) reasoning_tokens: u32,
    /// Tokens actually sent before the response ended.
    pub(crate) tokens_sent: u32,
}

/// Writes records on a thread of its own so the network path never waits for the disk.
#[derive(Debug)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<Option<RequestRecord>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// Sends records to a [`Recorder`]; records sent after it finished are dropped.
#[derive(Debug, Clone)]
pub(crate) struct RecordSender(mpsc::Sender<Option<RequestRecord>>);

impl RecordSender {
    pub(crate) fn send(&self, record: RequestRecord) {
        let _ = self.0.send(Some(record));
    }
}

impl Recorder {
    /// Creates (truncates) `path` and starts the writer.
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        let file = File::create(path)?;
        let (tx, rx) = mpsc::channel::<Option<RequestRecord>>();
        let thread = std::thread::Builder::new()
            .name("aiperf-sim-record".into())
            .spawn(move || -> std::io::Result<()> {
                let mut out = BufWriter::new(file);
                // `None` (or every sender gone) ends the file.
                while let Ok(Some(first)) = rx.recv() {
                    write_line(&mut out, &first)?;
                    // Write whatever else is queued, then flush so every line on disk is whole.
                    loop {
                        match rx.try_recv() {
                            Ok(Some(next)) => write_line(&mut out, &next)?,
                            Ok(None) => return out.flush(),
                            Err(_) => break,
                        }
                    }
                    out.flush()?;
                }
                out.flush()
            })?;
        Ok(Self {
            tx,
            thread: Some(thread),
        })
    }

    pub(crate) fn sender(&self) -> RecordSender {
        RecordSender(self.tx.clone())
    }

    /// Writes every record sent before this call, then closes the file.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        let _ = self.tx.send(None);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the record writer panicked")),
            None => Ok(()),
        }
    }
}

fn write_line(out: &mut impl Write, record: &RequestRecord) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}
