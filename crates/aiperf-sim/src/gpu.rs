//! A stand-in for NVIDIA's DCGM exporter: per-GPU power, energy, utilisation, memory,
//! temperature and clocks under the exporter's field names (`DCGM_FI_DEV_*`), driven by the
//! simulated engine's work, so GPU telemetry can be exercised without a GPU.
//!
//! The power model is deliberately simple. An idle GPU draws `idle_watts`. While the engine
//! runs a step, the draw rises with the step's work: a small decode batch is memory-bound and
//! draws about a third of the range between idle and `max_watts`, a large batch or a prefill
//! chunk approaches the limit (`work / (work + 256)` saturation, where work is prefill tokens
//! plus decoding sequences). Energy is the draw integrated over wall-clock time, so energy per
//! token is consistent with the throughput a client measures (also under `--speedup`).
//! Without the engine model (`fixed`, `zero` presets), requests in flight stand in for work.

use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::engine::StepWork;

/// The simulated GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuConfig {
    /// How many GPUs serve the model (they share the load, as with tensor parallelism).
    pub count: u32,
    /// The `modelName` label.
    pub name: String,
    /// Draw of an idle GPU, in watts.
    pub idle_watts: f64,
    /// Draw under full load (the power limit), in watts.
    pub max_watts: f64,
    /// Frame-buffer size in MiB.
    pub memory_mib: u64,
}

impl Default for GpuConfig {
    fn default() -> Self {
        // H100 SXM: 700 W board power limit, roughly 70 W idle; 80 GB HBM3 reports 81,559 MiB.
        Self {
            count: 1,
            name: "NVIDIA H100 80GB HBM3".into(),
            idle_watts: 70.0,
            max_watts: 700.0,
            memory_mib: 81_559,
        }
    }
}

/// Work at which the draw is halfway between the decode floor and the limit.
const HALF_LOAD_WORK: f64 = 256.0;
/// Fraction of the idle-to-limit range drawn by the smallest busy step.
const BUSY_FLOOR: f64 = 0.35;
/// vLLM pre-allocates the KV cache: 90 % of memory is in use from the start.
const MEMORY_UTILIZATION: f64 = 0.9;
/// Energy counter at start, in joules (DCGM counts from driver load, not from zero).
const BOOT_ENERGY_J: f64 = 4.2e6;

#[derive(Debug)]
struct PowerState {
    /// When `watts`/`busy` last changed; energy and busy time are integrated up to here.
    since: Instant,
    watts: f64,
    busy: bool,
    energy_j: f64,
    busy_s: f64,
    /// Integrals at the previous exposition, to report the average over the scrape interval.
    last_render: Option<(Instant, f64, f64)>,
}

/// Power and energy bookkeeping of the simulated GPUs (one lock taken per engine step).
#[derive(Debug)]
pub(crate) struct Gpus {
    config: GpuConfig,
    uuid_seed: u64,
    state: Mutex<PowerState>,
}

impl Gpus {
    pub(crate) fn new(config: GpuConfig, seed: u64) -> Self {
        let idle = config.idle_watts;
        Self {
            config,
            uuid_seed: seed,
            state: Mutex::new(PowerState {
                since: Instant::now(),
                watts: idle,
                busy: false,
                energy_j: 0.0,
                busy_s: 0.0,
                last_render: None,
            }),
        }
    }

    fn watts_for(&self, work: f64) -> f64 {
        let c = &self.config;
        if work <= 0.0 {
            return c.idle_watts;
        }
        let load = BUSY_FLOOR + (1.0 - BUSY_FLOOR) * work / (work + HALF_LOAD_WORK);
        c.idle_watts + (c.max_watts - c.idle_watts) * load
    }

    fn set(&self, at: Instant, watts: f64, busy: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let at = at.max(s.since);
        let dt = at.duration_since(s.since).as_secs_f64();
        s.energy_j += s.watts * dt;
        if s.busy {
            s.busy_s += dt;
        }
        s.since = at;
        s.watts = watts;
        s.busy = busy;
    }

    /// The engine starts a step at `at` doing `work`.
    pub(crate) fn step(&self, at: Instant, work: &StepWork) {
        let w = (work.prefill_tokens + work.decode_seqs) as f64;
        self.set(at, self.watts_for(w), true);
    }

    /// The engine has nothing to do from `at`.
    pub(crate) fn idle(&self, at: Instant) {
        self.set(at, self.config.idle_watts, false);
    }

    /// For timing models without an engine: `in_flight` requests stand in for the work.
    pub(crate) fn load(&self, at: Instant, in_flight: i64) {
        self.set(at, self.watts_for(in_flight.max(0) as f64), in_flight > 0);
    }

    /// The exposition, in the DCGM exporter's format. Power and utilisation are averages since
    /// the previous exposition; energy is the running counter in millijoules.
    pub(crate) fn render(&self, now: Instant, host: &str) -> String {
        let c = &self.config;
        let ((watts, busy_frac), energy_j) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let dt = now.saturating_duration_since(s.since).as_secs_f64();
            let energy = s.energy_j + s.watts * dt;
            let busy = s.busy_s + if s.busy { dt } else { 0.0 };
            let window = s
                .last_render
                .map(|(t, e, b)| (now.saturating_duration_since(t).as_secs_f64(), e, b));
            let current = (s.watts, if s.busy { 1.0 } else { 0.0 });
            let averages = match window {
                Some((span, e, b)) if span > 1e-3 => ((energy - e) / span, (busy - b) / span),
                _ => current,
            };
            s.last_render = Some((now, energy, busy));
            (averages, energy)
        };
        let load = ((watts - c.idle_watts) / (c.max_watts - c.idle_watts)).clamp(0.0, 1.0);
        let used_mib = (c.memory_mib as f64 * MEMORY_UTILIZATION).round();
        let mut out = String::with_capacity(4096);
        type Field = (&'static str, &'static str, &'static str);
        const FIELDS: [Field; 15] = [
            (
                "DCGM_FI_DEV_SM_CLOCK",
                "gauge",
                "SM clock frequency (in MHz).",
            ),
            (
                "DCGM_FI_DEV_MEM_CLOCK",
                "gauge",
                "Memory clock frequency (in MHz).",
            ),
            (
                "DCGM_FI_DEV_MEMORY_TEMP",
                "gauge",
                "Memory temperature (in C).",
            ),
            ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
            ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
            (
                "DCGM_FI_DEV_POWER_MGMT_LIMIT",
                "gauge",
                "Power management limit (in W).",
            ),
            (
                "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                "counter",
                "Total energy consumption since boot (in mJ).",
            ),
            ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
            (
                "DCGM_FI_DEV_MEM_COPY_UTIL",
                "gauge",
                "Memory utilization (in %).",
            ),
            (
                "DCGM_FI_DEV_FB_FREE",
                "gauge",
                "Frame buffer memory free (in MiB).",
            ),
            (
                "DCGM_FI_DEV_FB_USED",
                "gauge",
                "Frame buffer memory used (in MiB).",
            ),
            (
                "DCGM_FI_DEV_XID_ERRORS",
                "gauge",
                "Value of the last XID error encountered.",
            ),
            (
                "DCGM_FI_DEV_POWER_VIOLATION",
                "counter",
                "Throttling duration due to power constraints (in us).",
            ),
            (
                "DCGM_FI_PROF_SM_ACTIVE",
                "gauge",
                "The ratio of cycles an SM has at least 1 warp assigned.",
            ),
            // Not among the exporter's default fields: asked for with a metrics file.
            (
                "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
                "gauge",
                "Ratio of cycles the tensor (HMMA) pipe is active.",
            ),
        ];
        for (name, kind, help) in FIELDS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for i in 0..c.count {
                // GPUs of one server are not identical: a percent or two apart.
                let spread = 1.0 - 0.015 * f64::from(i % 4);
                let w = watts * spread;
                let temp = (30.0 + 0.06 * w).round();
                let value = match name {
                    "DCGM_FI_DEV_SM_CLOCK" => {
                        if busy_frac > 0.0 {
                            1980.0
                        } else {
                            345.0
                        }
                    }
                    "DCGM_FI_DEV_MEM_CLOCK" => 2619.0,
                    "DCGM_FI_DEV_MEMORY_TEMP" => temp + 6.0,
                    "DCGM_FI_DEV_GPU_TEMP" => temp,
                    "DCGM_FI_DEV_POWER_USAGE" => (w * 1000.0).round() / 1000.0,
                    "DCGM_FI_DEV_POWER_MGMT_LIMIT" => c.max_watts,
                    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" => {
                        ((BOOT_ENERGY_J + energy_j * spread) * 1000.0).round()
                    }
                    "DCGM_FI_DEV_GPU_UTIL" => (busy_frac * 100.0).round(),
                    "DCGM_FI_DEV_MEM_COPY_UTIL" => (busy_frac * 100.0 * (0.3 + 0.4 * load)).round(),
                    "DCGM_FI_DEV_FB_FREE" => c.memory_mib as f64 - used_mib,
                    "DCGM_FI_DEV_FB_USED" => used_mib,
                    "DCGM_FI_PROF_SM_ACTIVE" => {
                        (busy_frac * (0.4 + 0.6 * load) * 1e4).round() / 1e4
                    }
                    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE" => {
                        (busy_frac * (0.2 + 0.5 * load) * 1e4).round() / 1e4
                    }
                    _ => 0.0,
                };
                let _ = writeln!(
                    out,
                    "{name}{{gpu=\"{i}\",UUID=\"{uuid}\",pci_bus_id=\"00000000:{bus:02X}:00.0\",\
                     device=\"nvidia{i}\",modelName=\"{model}\",Hostname=\"{host}\"}} {value}",
                    uuid = self.uuid(i),
                    bus = 0x18 + 0x10 * i,
                    model = c.name.replace('\\', "\\\\").replace('"', "\\\""),
                    host = host.replace('\\', "\\\\").replace('"', "\\\""),
                );
            }
        }
        out
    }

    fn uuid(&self, index: u32) -> String {
        let a = crate::plan::mix(self.uuid_seed, 0x6770_7500 + u64::from(index));
        let b = crate::plan::mix(a, 0x7575_6964);
        format!(
            "GPU-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn value(text: &str, name: &str, gpu: u32) -> f64 {
        let prefix = format!("{name}{{gpu=\"{gpu}\",");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} for GPU {gpu} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    fn work(prefill: u64, decode: u64) -> StepWork {
        StepWork {
            prefill_tokens: prefill,
            decode_seqs: decode,
            ..StepWork::default()
        }
    }

    #[test]
    fn power_follows_the_work_and_energy_integrates_it() {
        let gpus = Gpus::new(
            GpuConfig {
                count: 2,
                ..GpuConfig::default()
            },
            7,
        );
        let t0 = Instant::now();
        let idle = gpus.render(t0, "h");
        assert_eq!(value(&idle, "DCGM_FI_DEV_POWER_USAGE", 0), 70.0);
        assert_eq!(value(&idle, "DCGM_FI_DEV_GPU_UTIL", 0), 0.0);
        let e0 = value(&idle, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 0);

        // One second of single-sequence decoding, then one of a large batch.
        gpus.step(t0, &work(0, 1));
        let small = gpus.render(t0 + Duration::from_secs(1), "h");
        gpus.step(t0 + Duration::from_secs(1), &work(0, 256));
        let large = gpus.render(t0 + Duration::from_secs(2), "h");
        let (p_small, p_large) = (
            value(&small, "DCGM_FI_DEV_POWER_USAGE", 0),
            value(&large, "DCGM_FI_DEV_POWER_USAGE", 0),
        );
        assert!(
            70.0 < p_small && p_small < p_large && p_large <= 700.0,
            "{p_small} {p_large}"
        );
        assert_eq!(value(&large, "DCGM_FI_DEV_GPU_UTIL", 0), 100.0);
        // Energy (mJ) grew by exactly the two seconds of draw.
        let e2 = value(&large, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 0);
        assert!(
            ((e2 - e0) - (p_small + p_large) * 1000.0).abs() < 2.0,
            "{e0} {e2}"
        );
        // The second GPU draws a little less.
        assert!(value(&large, "DCGM_FI_DEV_POWER_USAGE", 1) < p_large);
        // Half a second busy, half idle: 50 % utilisation.
        gpus.idle(t0 + Duration::from_millis(2500));
        let half = gpus.render(t0 + Duration::from_secs(3), "h");
        assert_eq!(value(&half, "DCGM_FI_DEV_GPU_UTIL", 0), 50.0);
    }

    #[test]
    fn labels_identify_each_gpu() {
        let gpus = Gpus::new(
            GpuConfig {
                count: 4,
                ..GpuConfig::default()
            },
            1,
        );
        let text = gpus.render(Instant::now(), "node-1");
        let uuids: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| l.starts_with("DCGM_FI_DEV_POWER_USAGE{"))
            .map(|l| {
                l.split("UUID=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(uuids.len(), 4);
        assert!(text.contains("modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\""));
        assert!(text.contains("# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter"));
    }
}
