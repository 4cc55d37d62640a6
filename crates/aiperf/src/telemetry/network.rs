//! Network-latency calibration (`--network-latency-automatic`): while the profiling phase
//! runs, each server address (the host and port of an endpoint URL) gets a fresh TCP
//! connection on an interval and its handshake is timed. A plain TCP connect, even for
//! `https`, so every probe is one network round trip; the host is resolved once so DNS is not
//! timed. The mean of the successful probes is the round trip taken out of the latency
//! metrics; every probe is a line of `profile_export_network_latency.jsonl`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::record::ErrorDetails;
use crate::settings::{NetworkLatency, Probing};

/// The standard name of the probes' export.
pub const JSONL: &str = "profile_export_network_latency.jsonl";

/// One probe, in the Python AIPerf's record shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Wall-clock time the probe started, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The endpoint URL the address comes from, credentials redacted.
    pub target_url: String,
    pub target_host: String,
    pub target_port: u16,
    pub probe_type: &'static str,
    /// The handshake's duration; absent for a failed probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ns: Option<u64>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetails>,
}

/// One address probed.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
}

/// The distinct addresses of `urls` (the scheme's port when a URL names none).
pub fn targets(urls: &[String]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for url in urls {
        let with_scheme = if url.contains("://") {
            url.clone()
        } else {
            format!("http://{url}")
        };
        let Ok(uri) = with_scheme.parse::<http::Uri>() else {
            continue;
        };
        let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
            continue;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        if !out.iter().any(|t| t.host == host && t.port == port) {
            out.push(Target {
                url: redact_userinfo(url),
                host,
                port,
            });
        }
    }
    out
}

/// A URL with the credentials of its user part replaced.
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!(
                "{scheme}{sep}{}@{}",
                crate::settings::REDACTED,
                &rest[at + 1..]
            )
        }
        None => url.to_owned(),
    }
}

/// Probes running in the background until [`Prober::finish`].
#[derive(Debug)]
pub struct Prober {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<Sample>>,
}

impl Prober {
    /// Starts probing the addresses of `urls` (the first probe at once), when the settings
    /// ask for measuring.
    pub fn start(settings: &NetworkLatency, urls: &[String]) -> Option<Self> {
        let NetworkLatency::Automatic(probing) = *settings else {
            return None;
        };
        let targets = targets(urls);
        if targets.is_empty() {
            tracing::warn!("network latency: no address to probe in the endpoint URLs");
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(targets, probing, stop.clone()));
        Some(Self { stop, task })
    }

    /// Stops probing, tops every address up to the minimum number of successful probes
    /// (within the time allowed), and returns every probe in the order they started.
    pub async fn finish(self) -> Vec<Sample> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// The probe loop of every address, then the top-up.
async fn run(targets: Vec<Target>, probing: Probing, stop: CancellationToken) -> Vec<Sample> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut resolved = Vec::with_capacity(targets.len());
    for t in targets {
        let addr = resolve(&t).await;
        resolved.push(Arc::new((t, addr)));
    }
    let mut in_flight = JoinSet::new();
    let mut ticker = tokio::time::interval(probing.interval().max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => break,
        }
        // A slow handshake does not hold up the next probe.
        for t in &resolved {
            let (t, samples) = (t.clone(), samples.clone());
            let timeout = probing.connect_timeout();
            in_flight.spawn(async move {
                let s = probe(&t.0, t.1, timeout).await;
                samples.lock().await.push(s);
            });
        }
        while in_flight.try_join_next().is_some() {}
    }
    let deadline = Instant::now() + probing.topup_timeout();
    // Probes still waiting for their handshake have until the deadline.
    let _ = tokio::time::timeout_at(deadline.into(), async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    in_flight.abort_all();
    let mut samples = std::mem::take(&mut *samples.lock().await);
    top_up(&resolved, &probing, deadline, &mut samples).await;
    samples.sort_by_key(|s| s.timestamp_ns);
    samples
}

/// Back-to-back probes of each address with fewer successful ones than wanted, at most twice
/// as many as are missing, until `deadline`.
async fn top_up(
    resolved: &[Arc<(Target, Option<SocketAddr>)>],
    probing: &Probing,
    deadline: Instant,
    samples: &mut Vec<Sample>,
) {
    let wanted = probing.min_samples as usize;
    for t in resolved {
        let (target, addr) = &**t;
        let is_this =
            |s: &Sample| s.success && s.target_host == target.host && s.target_port == target.port;
        let mut attempts = 0;
        while samples.iter().filter(|s| is_this(s)).count() < wanted
            && attempts < wanted * 2
            && Instant::now() < deadline
        {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            samples.push(probe(target, *addr, probing.connect_timeout().min(left)).await);
        }
    }
    if Instant::now() >= deadline {
        tracing::warn!("network latency: the end-of-run probes ran out of time");
    }
}

/// The address to connect to, resolved once; `None` (resolved at each probe) when the name
/// does not resolve now.
async fn resolve(t: &Target) -> Option<SocketAddr> {
    match tokio::net::lookup_host((t.host.as_str(), t.port)).await {
        Ok(mut addrs) => addrs.next(),
        Err(e) => {
            tracing::warn!(
                "network latency: cannot resolve {}:{} ({e}); each probe resolves it",
                t.host,
                t.port
            );
            None
        }
    }
}

/// One TCP handshake, timed; a failure is a sample too.
async fn probe(t: &Target, addr: Option<SocketAddr>, timeout: Duration) -> Sample {
    let timestamp_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let started = Instant::now();
    let connect = async {
        match addr {
            Some(a) => tokio::net::TcpStream::connect(a).await,
            None => tokio::net::TcpStream::connect((t.host.as_str(), t.port)).await,
        }
    };
    let outcome = tokio::time::timeout(timeout, connect).await;
    let elapsed = started.elapsed();
    let (rtt_ns, error) = match outcome {
        Ok(Ok(stream)) => {
            drop(stream);
            (Some(elapsed.as_nanos() as u64), None)
        }
        Ok(Err(e)) => (
            None,
            Some(ErrorDetails::new(None, io_kind(&e), e.to_string())),
        ),
        Err(_) => (
            None,
            Some(ErrorDetails::new(
                None,
                "TimeoutError",
                format!("no TCP handshake within {} ms", timeout.as_millis()),
            )),
        ),
    };
    Sample {
        timestamp_ns,
        target_url: t.url.clone(),
        target_host: t.host.clone(),
        target_port: t.port,
        probe_type: "tcp_connect",
        rtt_ns,
        success: rtt_ns.is_some(),
        error,
    }
}

/// A connection error's kind, named as Python names its exception.
fn io_kind(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "ConnectionRefusedError",
        K::ConnectionReset => "ConnectionResetError",
        K::ConnectionAborted => "ConnectionAbortedError",
        K::TimedOut => "TimeoutError",
        K::PermissionDenied => "PermissionError",
        _ => "OSError",
    }
}

/// The probes as `profile_export_network_latency.jsonl`.
pub fn jsonl(samples: &[Sample]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in samples {
        // Serializing into memory cannot fail: every key is a string.
        let _ = serde_json::to_writer(&mut out, s);
        out.push(b'\n');
    }
    out
}

/// The round trip to subtract, in milliseconds: the fixed one, or the mean of the successful
/// probes. `None` (no adjustment) when the adjustment is off, when no probe succeeded (said
/// in a warning), or when it is zero (the adjusted metrics would equal the raw ones).
pub fn round_trip_ms(settings: &NetworkLatency, samples: &[Sample]) -> Option<f64> {
    let rtt_ms = match settings {
        NetworkLatency::Off => return None,
        NetworkLatency::Fixed { mean_ms } => {
            tracing::info!(
                "network latency: subtracting a fixed mean round trip of {mean_ms:.3} ms from \
                 the latency metrics (network_adjusted_* metrics)"
            );
            *mean_ms
        }
        NetworkLatency::Automatic(_) => {
            let rtts: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.rtt_ns)
                .map(|n| n as f64)
                .collect();
            if rtts.is_empty() {
                tracing::warn!(
                    "network latency: no probe of the server succeeded; no network_adjusted_* \
                     metrics"
                );
                return None;
            }
            let mean_ms = rtts.iter().sum::<f64>() / rtts.len() as f64 / 1e6;
            tracing::info!(
                "network latency: subtracting the measured mean round trip of {mean_ms:.3} ms \
                 (over {} TCP handshakes) from the latency metrics (network_adjusted_* metrics)",
                rtts.len()
            );
            mean_ms
        }
    };
    (rtt_ms > 0.0).then_some(rtt_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_per_address() {
        let urls = [
            "http://localhost:8000".to_owned(),
            "localhost:8000/v1".to_owned(),
            "https://user:secret@api.example.com/v1".to_owned(),
            "http://[::1]:9000".to_owned(),
            "http://example.com".to_owned(),
        ];
        let t = targets(&urls);
        let addr: Vec<(&str, u16)> = t.iter().map(|t| (&*t.host, t.port)).collect();
        assert_eq!(
            addr,
            [
                ("localhost", 8000),
                ("api.example.com", 443),
                ("::1", 9000),
                ("example.com", 80)
            ]
        );
        assert_eq!(t[1].url, "https://<redacted>@api.example.com/v1");
    }

    #[tokio::test]
    async fn probes_time_handshakes_and_record_failures() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ok = Target {
            url: format!("http://127.0.0.1:{port}"),
            host: "127.0.0.1".into(),
            port,
        };
        let s = probe(&ok, resolve(&ok).await, Duration::from_secs(5)).await;
        assert!(s.success && s.rtt_ns.is_some() && s.error.is_none());
        drop(listener);
        let s = probe(&ok, None, Duration::from_secs(5)).await;
        assert!(!s.success && s.rtt_ns.is_none());
        assert_eq!(s.error.as_ref().unwrap().kind, "ConnectionRefusedError");
        let line: serde_json::Value = serde_json::from_slice(&jsonl(&[s])).unwrap();
        assert_eq!(line["probe_type"], "tcp_connect");
        assert!(line.get("rtt_ns").is_none());
        assert_eq!(line["error"]["type"], "ConnectionRefusedError");
    }

    #[tokio::test]
    async fn a_short_run_is_topped_up_to_the_minimum() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let probing = Probing {
            interval_secs: 60.0,
            ..Probing::default()
        };
        let prober = Prober::start(&NetworkLatency::Automatic(probing), &[url]).unwrap();
        let samples = prober.finish().await;
        assert!(
            samples.iter().filter(|s| s.success).count() >= 5,
            "{samples:?}"
        );
        assert!(
            samples
                .windows(2)
                .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
        );
        let rtt = round_trip_ms(&NetworkLatency::Automatic(probing), &samples).unwrap();
        assert!(rtt > 0.0 && rtt < 1000.0, "{rtt}");
    }

    #[test]
    fn the_round_trip_to_subtract() {
        let fixed = NetworkLatency::Fixed { mean_ms: 2.5 };
        assert_eq!(round_trip_ms(&fixed, &[]), Some(2.5));
        assert_eq!(
            round_trip_ms(&NetworkLatency::Fixed { mean_ms: 0.0 }, &[]),
            None
        );
        assert_eq!(round_trip_ms(&NetworkLatency::Off, &[]), None);
        let auto = NetworkLatency::Automatic(Probing::default());
        assert_eq!(round_trip_ms(&auto, &[]), None);
    }
}
