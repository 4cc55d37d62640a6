//! What GPU telemetry reads besides the standard DCGM fields, and from where.

use serde::{Deserialize, Serialize};

/// A DCGM field listed in a `--gpu-telemetry` metrics file, named as the Python AIPerf names
/// it in its exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuField {
    /// The exporter's metric name (`DCGM_FI_...`).
    pub dcgm: String,
    /// Its key in the exports: `nvidia_` and the field name without its `DCGM_FI_DEV_` or
    /// `DCGM_FI_PROF_` prefix, lowercased.
    pub name: String,
    /// The help text before its first parenthesis, title-cased.
    pub header: String,
    /// From the help text's `(in UNIT)`; `count` without one.
    pub unit: String,
    /// Declared a counter in the file (summarized as a gauge all the same, as the Python
    /// AIPerf summarizes it).
    pub counter: bool,
}

/// Where GPU telemetry comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuCollector {
    /// DCGM exporter endpoints.
    #[default]
    Dcgm,
    /// This machine's GPUs through the NVIDIA Management Library (`--gpu-telemetry pynvml`).
    Nvml,
}

impl GpuCollector {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
