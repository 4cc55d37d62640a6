//! Self-audit: how hard the client itself worked during a run, so a user can tell when a
//! number may include client overhead rather than server behaviour.
//!
//! CPU time and peak memory come from `/proc/self` (Linux); elsewhere they are reported as
//! unknown rather than guessed.

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

/// CPU time (user + system) of this process so far, in seconds.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 (index 0 here); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on (the kernel's USER_HZ).
fn clock_ticks_per_second() -> f64 {
    100.0
}

/// Peak resident memory of this process, in megabytes.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A CPU/wall stopwatch started before a phase.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    cpu: Option<f64>,
    wall: Instant,
}

impl Stopwatch {
    pub fn start() -> Self {
        Self {
            cpu: process_cpu_seconds(),
            wall: Instant::now(),
        }
    }

    /// The CPU and wall time since the start.
    pub fn stop(&self) -> PhaseCost {
        PhaseCost {
            cpu: match (self.cpu, process_cpu_seconds()) {
                (Some(a), Some(b)) => Some((b - a).max(0.0)),
                _ => None,
            },
            wall: self.wall.elapsed().as_secs_f64(),
        }
    }
}

/// What a phase cost the process: CPU seconds (all threads) and wall seconds.
#[derive(Debug, Clone, Copy)]
pub struct PhaseCost {
    pub cpu: Option<f64>,
    pub wall: f64,
}

/// What the audit found.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub cpu_seconds: Option<f64>,
    pub wall_seconds: f64,
    pub cores: usize,
    /// Share of the machine's cores the process used (0-1).
    pub cpu_utilization: Option<f64>,
    pub cpu_per_request_us: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// CPU figures include the in-process simulator (`--sim`).
    pub includes_simulator: bool,
    pub requested_rate: Option<f64>,
    /// The rate of the seeded arrival schedule itself (a random schedule of n arrivals
    /// differs from the requested rate by about 1/√n).
    pub scheduled_rate: Option<f64>,
    /// Requests sent per second over the sending span.
    pub achieved_rate: Option<f64>,
    pub schedule_lag_p99_ms: Option<f64>,
    /// Connections the client opened (ahead of the load included).
    pub connections_opened: Option<u64>,
    /// Requests sent again on a new connection because the server had closed the kept-alive
    /// one they were first written on (the server never saw the first try).
    pub requests_resent: Option<u64>,
    pub warnings: Vec<String>,
}

/// Utilization above which the client may have distorted the measurements.
pub const SATURATION: f64 = 0.85;

/// Shortest phase whose CPU share is judged: CPU time is counted in 10 ms ticks, so a shorter
/// phase (every request refused at once, say) would show a meaningless share.
const MIN_JUDGED_SECONDS: f64 = 1.0;

#[allow(clippy::too_many_arguments)]
pub fn audit(
    cost: PhaseCost,
    requests: u64,
    includes_simulator: bool,
    requested_rate: Option<f64>,
    starts: (Option<u64>, Option<u64>),
    scheduled: (Option<u64>, Option<u64>),
    schedule_lag_p99_ms: Option<f64>,
) -> Audit {
    let (wall, cpu) = (cost.wall, cost.cpu);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let utilization = cpu
        .filter(|_| wall > 0.0)
        .map(|c| (c / (wall * cores as f64)).min(1.0));
    let rate = |span: (Option<u64>, Option<u64>)| match span {
        (Some(a), Some(b)) if b > a && requests > 1 => {
            Some((requests - 1) as f64 / ((b - a) as f64 / 1e9))
        }
        _ => None,
    };
    let achieved = rate(starts);
    let scheduled_rate = requested_rate.and(rate(scheduled));
    let mut warnings = Vec::new();
    if let Some(u) = utilization
        && u > SATURATION
        && wall >= MIN_JUDGED_SECONDS
    {
        let who = if includes_simulator {
            "client and in-process simulator"
        } else {
            "client"
        };
        warnings.push(format!(
            "the {who} used {:.0} % of the machine's {cores} cores: latencies may include client overhead; \
             use fewer requests in flight, or run the client on its own machine",
            u * 100.0
        ));
    }
    if let (Some(want), Some(got)) = (scheduled_rate, achieved)
        && got < 0.99 * want
    {
        warnings.push(format!(
            "requests went out at {got:.1}/s, below the schedule's {want:.1}/s: the client or the \
             --concurrency cap could not keep up (see schedule_lag)"
        ));
    }
    if let Some(lag) = schedule_lag_p99_ms
        && lag > 10.0
    {
        warnings.push(format!(
            "p99 schedule lag was {lag:.1} ms: requests were sent late, so latencies measured from \
             the intended send time (scheduled_*) are the ones to trust"
        ));
    }
    Audit {
        cpu_seconds: cpu,
        wall_seconds: wall,
        cores,
        cpu_utilization: utilization,
        cpu_per_request_us: cpu
            .filter(|_| requests > 0)
            .map(|c| c * 1e6 / requests as f64),
        peak_rss_mb: peak_rss_mb(),
        includes_simulator,
        requested_rate,
        scheduled_rate,
        achieved_rate: achieved,
        schedule_lag_p99_ms,
        connections_opened: None,
        requests_resent: None,
        warnings,
    }
}

impl Audit {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.cpu_seconds {
            let mut s = format!("{c:.2} s CPU");
            if let Some(u) = self.cpu_utilization {
                s.push_str(&format!(" ({:.0} % of {} cores", u * 100.0, self.cores));
                if self.includes_simulator {
                    s.push_str(", with the simulator");
                }
                s.push(')');
            }
            if let Some(r) = self.cpu_per_request_us {
                s.push_str(&format!(", {r:.0} µs per request"));
            }
            parts.push(s);
        }
        if let Some(m) = self.peak_rss_mb {
            parts.push(format!("peak RSS {m:.0} MB"));
        }
        if let (Some(req), Some(got)) = (self.requested_rate, self.achieved_rate) {
            let schedule = self
                .scheduled_rate
                .map(|s| format!(" (schedule {s:.1}/s)"))
                .unwrap_or_default();
            parts.push(format!("sent {got:.1}/s of {req:.1}/s requested{schedule}"));
        }
        if let Some(n) = self.connections_opened {
            let mut s = format!("{n} connection{}", if n == 1 { "" } else { "s" });
            if let Some(r) = self.requests_resent.filter(|r| *r > 0) {
                s.push_str(&format!(
                    " ({r} request{} re-sent after the server closed a kept-alive connection)",
                    if r == 1 { "" } else { "s" }
                ));
            }
            parts.push(s);
        }
        format!("client: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_figures_are_read() {
        let before = Stopwatch::start();
        // Burn a little CPU so the counters move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let a = audit(
            before.stop(),
            1000,
            false,
            Some(100.0),
            (Some(0), Some(9_990_000_000)),
            (Some(0), Some(9_990_000_000)),
            Some(0.5),
        );
        if cfg!(target_os = "linux") {
            assert!(
                a.cpu_seconds.is_some() && a.peak_rss_mb.unwrap() > 1.0,
                "{a:?}"
            );
        }
        assert!((a.achieved_rate.unwrap() - 100.0).abs() < 1e-6);
        // (The CPU warning depends on what else the machine runs; the others must be quiet.)
        assert!(
            !a.warnings.iter().any(|w| w.contains("schedule")),
            "{:?}",
            a.warnings
        );
        assert!(a.summary().starts_with("client:"));
    }

    #[test]
    fn shortfalls_are_warned_about() {
        // The schedule asked for 99 requests in 99 ms (1000/s); they took a second.
        let a = audit(
            Stopwatch::start().stop(),
            100,
            false,
            Some(1000.0),
            (Some(0), Some(1_000_000_000)),
            (Some(0), Some(99_000_000)),
            Some(25.0),
        );
        assert_eq!(a.warnings.len(), 2, "{:?}", a.warnings);
        assert!(
            a.warnings[0].contains("below the schedule's 1000.0/s"),
            "{:?}",
            a.warnings
        );
        assert!(a.warnings[1].contains("p99 schedule lag was 25.0 ms"));
    }

    #[test]
    fn cpu_share_is_judged_only_over_a_long_enough_phase() {
        let Some(now) = process_cpu_seconds() else {
            return; // no /proc: nothing to judge
        };
        let busy = |wall_ago: std::time::Duration| Stopwatch {
            // As if the process had used many cores' worth of CPU since the phase began.
            cpu: Some(now - 1000.0),
            wall: Instant::now() - wall_ago,
        };
        let judge = |since: Stopwatch| {
            audit(
                since.stop(),
                10,
                false,
                None,
                (None, None),
                (None, None),
                None,
            )
        };
        let short = judge(busy(std::time::Duration::from_millis(5)));
        assert_eq!(short.cpu_utilization, Some(1.0));
        assert!(short.warnings.is_empty(), "{:?}", short.warnings);
        let long = judge(busy(std::time::Duration::from_secs(2)));
        assert_eq!(long.cpu_utilization, Some(1.0));
        assert!(
            long.warnings[0].contains("100 % of the machine's"),
            "{:?}",
            long.warnings
        );
    }
}
