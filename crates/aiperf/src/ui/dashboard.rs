//! `--ui dashboard`: a live terminal view of a single run (ratatui).
//!
//! It only reads the collector's counters and rolling window (never the request path), redraws
//! a few times a second on a thread of its own, and restores the terminal on every way out:
//! the end of the run, an error (the guard's `Drop`), a panic (ratatui's hook) and Ctrl-C (read
//! as a key while the terminal is in raw mode, and passed on as the usual interrupts).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Row, Sparkline, Table};

use crate::collector::Progress;
use crate::loadgen::Interrupts;

/// What one frame shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub title: String,
    pub done: u64,
    pub total: Option<u64>,
    pub errors: u64,
    pub elapsed_secs: f64,
    pub requests_per_sec: f64,
    pub tokens_per_sec: f64,
    /// (name, p50, p90, p99) over the rolling window.
    pub percentiles: Vec<(&'static str, f64, f64, f64)>,
    pub error_kinds: Vec<(String, u64)>,
    pub schedule_lag_p99: Option<f64>,
    /// Request latencies of the latest requests (ms), for the sparkline.
    pub latency_trend: Vec<u64>,
    pub stopping: bool,
    /// The server's and GPUs' latest readings.
    pub server: crate::collector::LiveServer,
}

fn pct(mut v: Vec<f64>, qs: [f64; 3]) -> Option<(f64, f64, f64)> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    let p = |q| aiperf_stats::percentile_sorted(&v, q);
    Some((p(qs[0])?, p(qs[1])?, p(qs[2])?))
}

impl Snapshot {
    /// Reads the collector's live state.
    pub fn take(
        title: &str,
        progress: &Progress,
        base_done: u64,
        total: Option<u64>,
        started: Instant,
        stopping: bool,
    ) -> Self {
        let done = progress
            .done
            .load(Ordering::Relaxed)
            .saturating_sub(base_done);
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let recent: Vec<crate::collector::Sample> = progress
            .recent
            .lock()
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default();
        let mut percentiles = Vec::new();
        for (name, f) in [
            (
                "TTFT (ms)",
                (|s: &crate::collector::Sample| s.ttft) as fn(&crate::collector::Sample) -> f64,
            ),
            ("ITL (ms)", |s| s.itl),
            ("latency (ms)", |s| s.latency),
        ] {
            if let Some((a, b, c)) = pct(
                recent.iter().filter(|s| s.ok).map(f).collect(),
                [50.0, 90.0, 99.0],
            ) {
                percentiles.push((name, a, b, c));
            }
        }
        let lag = pct(
            recent.iter().map(|s| s.schedule_lag).collect(),
            [50.0, 90.0, 99.0],
        )
        .map(|p| p.2);
        let width = 60;
        let latency_trend = recent
            .iter()
            .filter(|s| s.ok && s.latency.is_finite())
            .rev()
            .take(width)
            .map(|s| s.latency.round() as u64)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Self {
            title: title.to_owned(),
            done,
            total,
            errors: progress.errors.load(Ordering::Relaxed),
            elapsed_secs: elapsed,
            requests_per_sec: done as f64 / elapsed,
            tokens_per_sec: progress.output_tokens.load(Ordering::Relaxed) as f64 / elapsed,
            percentiles,
            error_kinds: progress
                .error_kinds
                .lock()
                .map(|k| k.clone())
                .unwrap_or_default(),
            schedule_lag_p99: lag,
            latency_trend,
            stopping,
            server: progress.server.lock().map(|s| *s).unwrap_or_default(),
        }
    }
}

/// Draws one frame (pure: tested with ratatui's `TestBackend`).
pub fn render(frame: &mut Frame<'_>, s: &Snapshot) {
    let rows = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Min(5),
    ])
    .split(frame.area());
    let ratio = s
        .total
        .map_or(0.0, |t| (s.done as f64 / t.max(1) as f64).min(1.0));
    let eta = match s.total {
        Some(t) if s.requests_per_sec > 0.0 && t > s.done => {
            format!(", ETA {:.0} s", (t - s.done) as f64 / s.requests_per_sec)
        }
        _ => String::new(),
    };
    let label = match s.total {
        Some(t) => format!("{}/{t} requests{eta}", s.done),
        None => format!("{} requests", s.done),
    };
    let title = if s.stopping {
        format!("{} (stopping: Ctrl-C again to cancel)", s.title)
    } else {
        s.title.clone()
    };
    frame.render_widget(
        Gauge::default()
            .block(Block::default().borders(Borders::ALL).title(title))
            .gauge_style(Style::default().fg(Color::Cyan))
            .ratio(ratio)
            .label(label),
        rows[0],
    );
    let lag = s
        .schedule_lag_p99
        .map_or(String::new(), |l| format!("   schedule lag p99 {l:.2} ms"));
    let v = s.server;
    let mut server: Vec<String> = [
        (v.running, "running", ""),
        (v.waiting, "waiting", ""),
        (v.kv_cache, "KV cache", " %"),
    ]
    .iter()
    .filter_map(|(x, name, unit)| x.map(|x| format!("{name} {x:.1}{unit}")))
    .collect();
    if let Some(w) = v.gpu_power {
        server.push(format!("GPU power {w:.0} W"));
    }
    let server_line = if server.is_empty() {
        String::new()
    } else {
        format!("server: {}", server.join(" · "))
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!(
                "{:.1} requests/s   {:.0} output tokens/s   {} errors   {:.1} s{lag}",
                s.requests_per_sec, s.tokens_per_sec, s.errors, s.elapsed_secs
            )),
            Line::from(server_line),
        ])
        .block(Block::default().borders(Borders::ALL).title("rates")),
        rows[1],
    );
    let table_rows: Vec<Row<'_>> = s
        .percentiles
        .iter()
        .map(|(n, a, b, c)| {
            Row::new(vec![
                (*n).to_owned(),
                format!("{a:.2}"),
                format!("{b:.2}"),
                format!("{c:.2}"),
            ])
        })
        .collect();
    frame.render_widget(
        Table::new(
            table_rows,
            [
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(10),
            ],
        )
        .header(
            Row::new(vec!["last requests", "p50", "p90", "p99"])
                .style(Style::default().fg(Color::Yellow)),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title("latency (rolling window)"),
        ),
        rows[2],
    );
    let bottom =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).split(rows[3]);
    frame.render_widget(
        Sparkline::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("request latency, latest requests"),
            )
            .data(&s.latency_trend)
            .style(Style::default().fg(Color::Green)),
        bottom[0],
    );
    let errors: Vec<Line<'_>> = if s.error_kinds.is_empty() {
        vec![Line::from("none")]
    } else {
        s.error_kinds
            .iter()
            .map(|(k, n)| Line::from(format!("{n} × {k}")))
            .collect()
    };
    frame.render_widget(
        Paragraph::new(errors).block(Block::default().borders(Borders::ALL).title("errors")),
        bottom[1],
    );
}

/// The running dashboard; dropping it stops the display and restores the terminal.
#[derive(Debug)]
pub struct Dashboard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dashboard {
    pub fn start(
        title: String,
        progress: Arc<Progress>,
        total: Option<u64>,
        interrupts: Interrupts,
    ) -> std::io::Result<Self> {
        // It draws on standard output: a pipe or a file has no screen to draw on.
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(std::io::Error::other("standard output is not a terminal"));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let base = progress.done.load(Ordering::Relaxed);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("aiperf-dashboard".into())
            .spawn(move || {
                use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
                let mut terminal = match ratatui::try_init() {
                    Ok(t) => {
                        let _ = ready_tx.send(Ok(()));
                        t
                    }
                    Err(e) => {
                        // Undo raw mode if it got that far; nothing was drawn.
                        let _ = ratatui::crossterm::terminal::disable_raw_mode();
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let started = Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    let snapshot = Snapshot::take(
                        &title,
                        &progress,
                        base,
                        total,
                        started,
                        interrupts.stop.is_cancelled(),
                    );
                    let _ = terminal.draw(|f| render(f, &snapshot));
                    // Raw mode turns Ctrl-C into a key: pass it on as the usual interrupts.
                    if event::poll(Duration::from_millis(200)).unwrap_or(false)
                        && let Ok(Event::Key(k)) = event::read()
                        && k.code == KeyCode::Char('c')
                        && k.modifiers.contains(KeyModifiers::CONTROL)
                    {
                        if interrupts.stop.is_cancelled() {
                            interrupts.abort.cancel();
                        } else {
                            interrupts.stop.cancel();
                        }
                    }
                }
                ratatui::restore();
            })?;
        // A terminal that cannot be taken over (not a terminal at all, say) is an error here,
        // not a panic on the dashboard's thread.
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(std::io::Error::other("the dashboard thread ended"));
            }
        }
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops drawing and restores the terminal.
    pub fn finish(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    #[test]
    fn a_frame_shows_progress_rates_percentiles_and_errors() {
        let s = Snapshot {
            title: "aiperf: profiling m at http://x".into(),
            done: 50,
            total: Some(200),
            errors: 3,
            elapsed_secs: 5.0,
            requests_per_sec: 10.0,
            tokens_per_sec: 1280.0,
            percentiles: vec![
                ("TTFT (ms)", 20.5, 25.0, 31.25),
                ("ITL (ms)", 5.0, 5.1, 5.3),
            ],
            error_kinds: vec![("TransportError".into(), 3)],
            schedule_lag_p99: Some(0.42),
            latency_trend: vec![10, 12, 30, 11],
            stopping: false,
            server: crate::collector::LiveServer {
                running: Some(12.0),
                waiting: Some(0.0),
                kv_cache: Some(3.25),
                gpu_power: Some(412.4),
            },
        };
        let mut terminal = Terminal::new(TestBackend::new(90, 23)).unwrap();
        terminal.draw(|f| render(f, &s)).unwrap();
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(90)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        for needle in [
            "50/200 requests, ETA 15 s",
            "10.0 requests/s",
            "1280 output tokens/s",
            "3 errors",
            "schedule lag p99 0.42 ms",
            "server: running 12.0 · waiting 0.0 · KV cache 3.2 % · GPU power 412 W",
            "TTFT (ms)",
            "31.25",
            "3 × TransportError",
            "request latency, latest requests",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
    }

    #[test]
    fn snapshots_summarize_the_rolling_window() {
        let p = Progress::default();
        p.done.store(4, Ordering::Relaxed);
        {
            let mut r = p.recent.lock().unwrap();
            for i in 0..4 {
                r.push_back(crate::collector::Sample {
                    ttft: 10.0 * f64::from(i + 1),
                    itl: 5.0,
                    latency: 100.0,
                    schedule_lag: f64::NAN,
                    ok: true,
                });
            }
        }
        let s = Snapshot::take("t", &p, 0, Some(8), Instant::now(), false);
        assert_eq!(s.done, 4);
        let (name, p50, p90, p99) = s.percentiles[0];
        assert_eq!((name, p50, p90), ("TTFT (ms)", 25.0, 37.0));
        assert!((p99 - 39.7).abs() < 1e-9);
        assert_eq!(s.schedule_lag_p99, None);
        assert_eq!(s.latency_trend, [100, 100, 100, 100]);
    }
}
