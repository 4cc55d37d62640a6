//! `logs/aiperf.log` in each run's artifact directory: everything the run logs at info level
//! and above (whatever the terminal shows), so a run can be understood after the fact.
//!
//! One benchmark runs at a time in a process; while it runs, [`RunLog`] holds its file and
//! the logger's file layer writes into it through [`LogFile`]. Outside a run nothing is
//! written.

use std::fs::File;
use std::io::{self, LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;

/// The log file's place under a run's artifact directory.
pub const LOG_FILE: &str = "logs/aiperf.log";

static SINK: Mutex<Option<LineWriter<File>>> = Mutex::new(None);

/// The open log of the running benchmark; closing it (dropping) ends the file.
#[derive(Debug)]
pub struct RunLog(());

impl RunLog {
    /// Opens (truncates) `DIR/logs/aiperf.log` and sends the log there until dropped.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let path = dir.join(LOG_FILE);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = File::create(&path)?;
        *lock() = Some(LineWriter::new(file));
        Ok(Self(()))
    }
}

impl Drop for RunLog {
    fn drop(&mut self) {
        if let Some(mut w) = lock().take() {
            let _ = w.flush();
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<LineWriter<File>>> {
    // A panic while logging leaves the sink usable: it holds only a file.
    SINK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The logger's writer for the running benchmark's log file (a no-op between runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFile;

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(w) = lock().as_mut() {
            // A full disk must not stop the benchmark: the log is best effort.
            let _ = w.write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(w) = lock().as_mut() {
            let _ = w.flush();
        }
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFile;

    fn make_writer(&'a self) -> Self::Writer {
        LogFile
    }
}
