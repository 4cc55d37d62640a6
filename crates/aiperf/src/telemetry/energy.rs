//! GPU energy efficiency: the GPUs' power and energy over the run joined with the run's own
//! request, token and latency figures, as the reference tool's `nvidia_*` metric family
//! (same tags, headers, units and definitions).

use crate::metrics::{MetricResult, Value};

/// The run's figures the energy metrics are measured against; `None` where the run has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFigures {
    pub request_count: Option<f64>,
    /// Input tokens over the run (`total_isl`).
    pub total_isl: Option<f64>,
    /// Output tokens over the run (`total_osl`).
    pub total_osl: Option<f64>,
    /// Average request latency, in milliseconds.
    pub request_latency_ms: Option<f64>,
    /// Requests per second.
    pub request_throughput: Option<f64>,
    /// Output tokens per second.
    pub output_token_throughput: Option<f64>,
    /// Requests meeting every goodput target, per second (when targets are set).
    pub goodput: Option<f64>,
    /// The profiling window, in seconds.
    pub duration_s: Option<f64>,
    /// The configured concurrency (users), when the load has one.
    pub concurrency: Option<u32>,
}

/// Every metric of the family in the console's order: (tag, header, unit).
pub const CONSOLE_ORDER: [(&str, &str, &str); 12] = [
    ("nvidia_energy_delay_product", "Energy Delay Product", "J*s"),
    (
        "nvidia_performance_per_watt",
        "Performance per Watt",
        "requests/sec/W",
    ),
    (
        "nvidia_output_tps_per_watt",
        "Output Tokens per Second per Watt",
        "tokens/sec/W",
    ),
    (
        "nvidia_goodput_per_watt",
        "Goodput per Watt",
        "good-req/s/W",
    ),
    ("nvidia_average_gpu_power", "Average GPU Power", "W"),
    ("nvidia_total_gpu_energy", "Total GPU Energy", "J"),
    ("nvidia_total_gpu_power", "Total GPU Power", "W"),
    (
        "nvidia_energy_per_total_token",
        "Energy per Total Token",
        "mJ/token",
    ),
    (
        "nvidia_energy_per_output_token",
        "Energy per Output Token",
        "mJ/token",
    ),
    (
        "nvidia_energy_per_request",
        "Energy per Request",
        "joules/request",
    ),
    (
        "nvidia_output_tokens_per_joule",
        "Output Tokens per Joule",
        "tokens/J",
    ),
    ("nvidia_energy_per_user", "Energy per User", "joules/user"),
];

/// The metric of the family with `tag` and `value`.
fn metric(tag: &str, value: f64) -> Option<MetricResult> {
    let (tag, header, unit) = CONSOLE_ORDER.iter().find(|m| m.0 == tag)?;
    Some(MetricResult {
        tag,
        header,
        unit,
        value: Value::Scalar(value),
    })
}

/// Total energy (J) and the average power over the window (W) from the summed GPU power draw
/// `power_w` and energy counters' increase `energy_j`: the counters when they rose (average
/// power = energy / window), else the power draw over the window. `None` when neither helps.
pub fn resolve_energy(
    power_w: Option<f64>,
    energy_j: Option<f64>,
    duration_s: Option<f64>,
) -> Option<(f64, f64)> {
    let duration = duration_s.filter(|d| d.is_finite() && *d > 0.0);
    match (energy_j.filter(|e| *e > 0.0), power_w.filter(|p| *p > 0.0)) {
        (Some(e), _) => Some((e, duration.map_or(0.0, |d| e / d))),
        (None, Some(p)) => duration.map(|d| (p * d, p)),
        (None, None) => None,
    }
}

/// The energy-efficiency metrics of a run, in the reference tool's order. `power_w` is the sum
/// of the GPUs' average power draw, `energy_j` the sum of their energy counters' increase;
/// each metric whose inputs are missing or zero is left out.
pub fn efficiency(
    power_w: Option<f64>,
    energy_j: Option<f64>,
    run: &RunFigures,
) -> Vec<MetricResult> {
    let nonzero = |v: Option<f64>| v.filter(|x| x.is_finite() && *x != 0.0);
    let mut out = Vec::new();
    let mut push = |tag: &str, v: f64| {
        if v.is_finite() {
            out.extend(metric(tag, v));
        }
    };
    if let Some(p) = power_w {
        push("nvidia_total_gpu_power", p);
    }
    let Some((energy, avg_power)) = resolve_energy(power_w, energy_j, run.duration_s) else {
        return out;
    };
    if avg_power > 0.0 {
        push("nvidia_average_gpu_power", avg_power);
    }
    push("nvidia_total_gpu_energy", energy);
    if let Some(osl) = nonzero(run.total_osl) {
        push("nvidia_output_tokens_per_joule", osl / energy);
        push("nvidia_energy_per_output_token", energy * 1e3 / osl);
    }
    let tokens = run.total_isl.unwrap_or(0.0) + run.total_osl.unwrap_or(0.0);
    if tokens > 0.0 {
        push("nvidia_energy_per_total_token", energy * 1e3 / tokens);
    }
    let per_request = nonzero(run.request_count).map(|n| energy / n);
    if let Some(e) = per_request {
        push("nvidia_energy_per_request", e);
    }
    if let Some(users) = run.concurrency.filter(|c| *c > 0) {
        push("nvidia_energy_per_user", energy / f64::from(users));
    }
    if let (Some(e), Some(ms)) = (per_request, nonzero(run.request_latency_ms)) {
        push("nvidia_energy_delay_product", e * ms / 1e3);
    }
    if avg_power > 0.0 {
        for (tag, per_second) in [
            ("nvidia_performance_per_watt", run.request_throughput),
            ("nvidia_output_tps_per_watt", run.output_token_throughput),
            ("nvidia_goodput_per_watt", run.goodput),
        ] {
            if let Some(x) = per_second {
                push(tag, x / avg_power);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(metrics: &[MetricResult], tag: &str) -> Option<f64> {
        metrics.iter().find(|m| m.tag == tag).map(MetricResult::avg)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    }

    fn run() -> RunFigures {
        RunFigures {
            request_count: Some(40.0),
            total_isl: Some(2560.0),
            total_osl: Some(1280.0),
            request_latency_ms: Some(180.0),
            request_throughput: Some(20.0),
            output_token_throughput: Some(640.0),
            goodput: None,
            duration_s: Some(2.0),
            concurrency: Some(4),
        }
    }

    #[test]
    fn the_family_from_the_energy_counter() {
        // 500 J over a 2 s window: 250 W on average, whatever the sampled draw says.
        let m = efficiency(Some(300.0), Some(500.0), &run());
        let tags: Vec<&str> = m.iter().map(|m| m.tag).collect();
        assert_eq!(
            tags,
            [
                "nvidia_total_gpu_power",
                "nvidia_average_gpu_power",
                "nvidia_total_gpu_energy",
                "nvidia_output_tokens_per_joule",
                "nvidia_energy_per_output_token",
                "nvidia_energy_per_total_token",
                "nvidia_energy_per_request",
                "nvidia_energy_per_user",
                "nvidia_energy_delay_product",
                "nvidia_performance_per_watt",
                "nvidia_output_tps_per_watt",
            ]
        );
        assert!(close(get(&m, "nvidia_total_gpu_power"), 300.0));
        assert!(close(get(&m, "nvidia_average_gpu_power"), 250.0));
        assert!(close(get(&m, "nvidia_total_gpu_energy"), 500.0));
        assert!(close(
            get(&m, "nvidia_output_tokens_per_joule"),
            1280.0 / 500.0
        ));
        assert!(close(
            get(&m, "nvidia_energy_per_output_token"),
            500e3 / 1280.0
        ));
        assert!(close(
            get(&m, "nvidia_energy_per_total_token"),
            500e3 / 3840.0
        ));
        assert!(close(get(&m, "nvidia_energy_per_request"), 12.5));
        assert!(close(get(&m, "nvidia_energy_per_user"), 125.0));
        assert!(close(get(&m, "nvidia_energy_delay_product"), 12.5 * 0.18));
        assert!(close(get(&m, "nvidia_performance_per_watt"), 20.0 / 250.0));
        assert!(close(get(&m, "nvidia_output_tps_per_watt"), 640.0 / 250.0));
        let unit = |tag: &str| m.iter().find(|m| m.tag == tag).map(|m| m.unit);
        assert_eq!(unit("nvidia_energy_per_request"), Some("joules/request"));
        assert_eq!(unit("nvidia_energy_delay_product"), Some("J*s"));
        assert_eq!(unit("nvidia_performance_per_watt"), Some("requests/sec/W"));
    }

    #[test]
    fn goodput_per_watt_only_with_goodput_and_per_user_only_with_users() {
        let with = RunFigures {
            goodput: Some(10.0),
            concurrency: None,
            ..run()
        };
        let m = efficiency(None, Some(500.0), &with);
        assert!(close(get(&m, "nvidia_goodput_per_watt"), 10.0 / 250.0));
        assert_eq!(get(&m, "nvidia_energy_per_user"), None);
        assert_eq!(get(&m, "nvidia_total_gpu_power"), None);
    }

    #[test]
    fn without_an_energy_counter_the_power_draw_is_integrated() {
        let m = efficiency(Some(300.0), None, &run());
        assert!(close(get(&m, "nvidia_total_gpu_energy"), 600.0));
        assert!(close(get(&m, "nvidia_average_gpu_power"), 300.0));
        // A counter that did not move counts as no counter.
        let m = efficiency(Some(300.0), Some(0.0), &run());
        assert!(close(get(&m, "nvidia_total_gpu_energy"), 600.0));
    }

    #[test]
    fn missing_inputs_leave_metrics_out() {
        assert!(efficiency(None, None, &run()).is_empty());
        // Power only and no window: the draw, nothing derived from energy.
        let no_window = RunFigures {
            duration_s: None,
            ..run()
        };
        let m = efficiency(Some(300.0), None, &no_window);
        assert_eq!(m.len(), 1);
        // Energy but no window: no average power and nothing per watt.
        let m = efficiency(None, Some(500.0), &no_window);
        assert_eq!(get(&m, "nvidia_average_gpu_power"), None);
        assert_eq!(get(&m, "nvidia_performance_per_watt"), None);
        assert!(close(get(&m, "nvidia_energy_per_request"), 12.5));
        let idle = RunFigures {
            request_count: Some(0.0),
            total_isl: None,
            total_osl: Some(0.0),
            ..run()
        };
        let m = efficiency(None, Some(500.0), &idle);
        for tag in [
            "nvidia_energy_per_request",
            "nvidia_energy_delay_product",
            "nvidia_energy_per_output_token",
            "nvidia_energy_per_total_token",
        ] {
            assert_eq!(get(&m, tag), None, "{tag}");
        }
    }
}
