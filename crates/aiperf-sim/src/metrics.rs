//! Prometheus metrics under vLLM's names, so server-metrics tooling built for vLLM reads the
//! simulator unchanged.
//!
//! All updates are lock-free atomics; `/metrics` renders the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// vLLM's bucket bounds (seconds) for time to first token.
const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM's bucket bounds (seconds) for inter-token latency and time per output token.
const ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM's bucket bounds (seconds) for request-level latencies.
const REQUEST_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
/// Token-count buckets (vLLM uses 1-2-5 steps up to the model length).
const TOKEN_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0,
    50000.0, 100000.0, 200000.0,
];

/// A histogram with fixed bounds. The sum is kept in millionths of the unit so it can be an
/// atomic integer.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, plus `+Inf`.
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, value: f64) {
        let bucket = self.bounds.partition_point(|&b| b < value);
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6).round() as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| format!("{b:?}"));
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum:?}");
    }
}

/// Why a request left the server, as vLLM's `finished_reason` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    Stop,
    Length,
    Abort,
}

/// Every metric the server exports.
#[derive(Debug)]
pub(crate) struct Metrics {
    model: String,
    /// Requests between arrival and end of response.
    pub(crate) in_flight: AtomicI64,
    /// Engine gauges, set after every step (engine timing only).
    pub(crate) engine_running: AtomicI64,
    pub(crate) engine_waiting: AtomicI64,
    /// KV-cache usage in parts per million.
    pub(crate) kv_usage_ppm: AtomicU64,
    pub(crate) preemptions: AtomicU64,
    pub(crate) prompt_tokens: AtomicU64,
    pub(crate) generation_tokens: AtomicU64,
    success_stop: AtomicU64,
    success_length: AtomicU64,
    success_abort: AtomicU64,
    pub(crate) http_errors_injected: AtomicU64,
    pub(crate) ttft: Histogram,
    pub(crate) itl: Histogram,
    pub(crate) tpot: Histogram,
    pub(crate) e2e: Histogram,
    pub(crate) queue_time: Histogram,
    pub(crate) prompt_len: Histogram,
    pub(crate) generation_len: Histogram,
    engine_mode: bool,
    /// The simulated GPUs (`/dcgm/metrics`).
    pub(crate) gpus: crate::gpu::Gpus,
    /// Speculative-decoding counters, when the server speculates.
    pub(crate) spec: Option<crate::spec_decode::SpecCounters>,
}

impl Metrics {
    pub(crate) fn new(model: &str, engine_mode: bool, gpus: crate::gpu::Gpus) -> Self {
        Self {
            model: model.replace('\\', "\\\\").replace('"', "\\\""),
            in_flight: AtomicI64::new(0),
            engine_running: AtomicI64::new(0),
            engine_waiting: AtomicI64::new(0),
            kv_usage_ppm: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            success_stop: AtomicU64::new(0),
            success_length: AtomicU64::new(0),
            success_abort: AtomicU64::new(0),
            http_errors_injected: AtomicU64::new(0),
            ttft: Histogram::new(TTFT_BUCKETS),
            itl: Histogram::new(ITL_BUCKETS),
            tpot: Histogram::new(ITL_BUCKETS),
            e2e: Histogram::new(REQUEST_BUCKETS),
            queue_time: Histogram::new(REQUEST_BUCKETS),
            prompt_len: Histogram::new(TOKEN_BUCKETS),
            generation_len: Histogram::new(TOKEN_BUCKETS),
            engine_mode,
            gpus,
            spec: None,
        }
    }

    /// Adds vLLM's speculative-decoding counters for `num_spec_tokens` draft positions.
    pub(crate) fn with_spec_decode(mut self, num_spec_tokens: Option<u32>) -> Self {
        self.spec = num_spec_tokens.map(crate::spec_decode::SpecCounters::new);
        self
    }

    pub(crate) fn finished(&self, why: Finished) {
        match why {
            Finished::Stop => &self.success_stop,
            Finished::Length => &self.success_length,
            Finished::Abort => &self.success_abort,
        }
        .fetch_add(1, Relaxed);
    }

    /// The simulated GPUs' telemetry in the DCGM exporter's format.
    pub(crate) fn render_dcgm(&self) -> String {
        let now = std::time::Instant::now();
        if !self.engine_mode {
            self.gpus.load(now, self.in_flight.load(Relaxed));
        }
        self.gpus.render(now, "aiperf-sim")
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let labels = format!("engine=\"0\",model_name=\"{}\"", self.model);
        let (running, waiting) = if self.engine_mode {
            (
                self.engine_running.load(Relaxed),
                self.engine_waiting.load(Relaxed),
            )
        } else {
            (self.in_flight.load(Relaxed).max(0), 0)
        };
        let kv = self.kv_usage_ppm.load(Relaxed) as f64 / 1e6;
        let gauge = |out: &mut String, name: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        };
        gauge(
            &mut out,
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            running.to_string(),
        );
        gauge(
            &mut out,
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            waiting.to_string(),
        );
        gauge(
            &mut out,
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            format!("{kv:?}"),
        );
        gauge(
            &mut out,
            "vllm:gpu_cache_usage_perc",
            "GPU KV-cache usage. 1 means 100 percent usage (older name of vllm:kv_cache_usage_perc).",
            format!("{kv:?}"),
        );

        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        };
        counter(
            &mut out,
            "vllm:num_preemptions_total",
            "Cumulative number of preemptions from the engine.",
            self.preemptions.load(Relaxed),
        );
        counter(
            &mut out,
            "vllm:prompt_tokens_total",
            "Number of prefill tokens processed.",
            self.prompt_tokens.load(Relaxed),
        );
        counter(
            &mut out,
            "vllm:generation_tokens_total",
            "Number of generation tokens processed.",
            self.generation_tokens.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP vllm:request_success_total Count of successfully processed requests.\n\
             # TYPE vllm:request_success_total counter"
        );
        for (reason, value) in [
            ("stop", &self.success_stop),
            ("length", &self.success_length),
            ("abort", &self.success_abort),
        ] {
            let _ = writeln!(
                out,
                "vllm:request_success_total{{{labels},finished_reason=\"{reason}\"}} {}",
                value.load(Relaxed)
            );
        }
        counter(
            &mut out,
            "aiperf_sim:http_errors_injected_total",
            "HTTP errors returned by fault injection.",
            self.http_errors_injected.load(Relaxed),
        );

        let histograms: [(&str, &str, &Histogram); 7] = [
            (
                "vllm:time_to_first_token_seconds",
                "Histogram of time to first token in seconds.",
                &self.ttft,
            ),
            (
                "vllm:inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.",
                &self.itl,
            ),
            (
                "vllm:time_per_output_token_seconds",
                "Histogram of time per output token in seconds.",
                &self.tpot,
            ),
            (
                "vllm:e2e_request_latency_seconds",
                "Histogram of end to end request latency in seconds.",
                &self.e2e,
            ),
            (
                "vllm:request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.",
                &self.queue_time,
            ),
            (
                "vllm:request_prompt_tokens",
                "Number of prefill tokens processed.",
                &self.prompt_len,
            ),
            (
                "vllm:request_generation_tokens",
                "Number of generation tokens processed.",
                &self.generation_len,
            ),
        ];
        for (name, help, histogram) in histograms {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            histogram.render(&mut out, name, &labels);
        }
        if let Some(spec) = &self.spec {
            spec.render(&mut out, &labels);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_gpus() -> crate::gpu::Gpus {
        crate::gpu::Gpus::new(crate::gpu::GpuConfig::default(), 0)
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new("m", false, test_gpus());
        m.ttft.observe(0.003);
        m.ttft.observe(0.02);
        m.ttft.observe(5000.0);
        let text = m.render();
        assert!(text.contains(
            "vllm:time_to_first_token_seconds_bucket{engine=\"0\",model_name=\"m\",le=\"0.001\"} 0"
        ));
        assert!(text.contains(
            "vllm:time_to_first_token_seconds_bucket{engine=\"0\",model_name=\"m\",le=\"0.005\"} 1"
        ));
        // 0.02 is inside the `le="0.02"` bucket (bounds are inclusive).
        assert!(text.contains(
            "vllm:time_to_first_token_seconds_bucket{engine=\"0\",model_name=\"m\",le=\"0.02\"} 2"
        ));
        assert!(text.contains(
            "vllm:time_to_first_token_seconds_bucket{engine=\"0\",model_name=\"m\",le=\"+Inf\"} 3"
        ));
        assert!(
            text.contains(
                "vllm:time_to_first_token_seconds_count{engine=\"0\",model_name=\"m\"} 3"
            )
        );
        assert!(text.contains(
            "vllm:time_to_first_token_seconds_sum{engine=\"0\",model_name=\"m\"} 5000.023"
        ));
    }

    #[test]
    fn every_sample_line_belongs_to_a_declared_metric() {
        let m = Metrics::new("a \"quoted\" model", true, test_gpus());
        m.finished(Finished::Length);
        let text = m.render();
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|b| declared.contains(*b))
                    .unwrap_or(name);
                assert!(declared.contains(base), "undeclared sample {line}");
            }
        }
        assert!(text.contains("model_name=\"a \\\"quoted\\\" model\""));
        assert!(text.contains("finished_reason=\"length\"} 1"));
    }
}
