//! The DCGM fields GPU telemetry reads: the standard ones, and those a `--gpu-telemetry`
//! metrics file adds, named as the Python AIPerf names them.

use std::borrow::Cow;

use crate::settings::GpuField;

/// One DCGM field as the reports name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The exporter's metric name.
    pub dcgm: Cow<'static, str>,
    /// The name in `telemetry_data` (the Python AIPerf's vendor-prefixed names).
    pub name: Cow<'static, str>,
    pub header: Cow<'static, str>,
    pub unit: Cow<'static, str>,
    /// Multiplies the exported value into `unit`.
    pub scale: f64,
    /// A cumulative counter: reported as the increase over the run, not as a distribution.
    pub counter: bool,
}

const fn field(
    dcgm: &'static str,
    name: &'static str,
    header: &'static str,
    unit: &'static str,
    scale: f64,
    counter: bool,
) -> Field {
    Field {
        dcgm: Cow::Borrowed(dcgm),
        name: Cow::Borrowed(name),
        header: Cow::Borrowed(header),
        unit: Cow::Borrowed(unit),
        scale,
        counter,
    }
}

/// How many of [`FIELDS`], from the first, the Python AIPerf reads by default; a metrics file
/// that lists one of them changes nothing.
pub const REFERENCE_DEFAULTS: usize = 11;

/// MiB → GB.
const MIB_TO_GB: f64 = 1.048_576e-3;

/// The fields read from a DCGM exporter by default, in report order: the Python AIPerf's
/// fields (its names, units and scales; the first [`REFERENCE_DEFAULTS`]), then the ones only
/// this tool reads.
pub const FIELDS: &[Field] = &[
    field(
        "DCGM_FI_DEV_POWER_USAGE",
        "nvidia_power_usage",
        "NVIDIA GPU Power Usage",
        "W",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "nvidia_energy_consumption",
        "NVIDIA Energy Consumption",
        "MJ",
        1e-9,
        true,
    ),
    field(
        "DCGM_FI_DEV_GPU_UTIL",
        "nvidia_gpu_utilization",
        "NVIDIA GPU Utilization",
        "%",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "nvidia_memory_utilization",
        "NVIDIA Memory Utilization",
        "%",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_FB_USED",
        "nvidia_memory_used",
        "NVIDIA GPU Memory Used",
        "GB",
        MIB_TO_GB,
        false,
    ),
    field(
        "DCGM_FI_DEV_GPU_TEMP",
        "nvidia_temperature",
        "NVIDIA GPU Temperature",
        "°C",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_PROF_SM_ACTIVE",
        "nvidia_sm_utilization",
        "NVIDIA SM Utilization",
        "%",
        100.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_DEC_UTIL",
        "nvidia_decoder_utilization",
        "NVIDIA Decoder Utilization",
        "%",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_ENC_UTIL",
        "nvidia_encoder_utilization",
        "NVIDIA Encoder Utilization",
        "%",
        1.0,
        false,
    ),
    // Reported as its increase over the run, as the reference tool does.
    field(
        "DCGM_FI_DEV_XID_ERRORS",
        "nvidia_xid_errors",
        "NVIDIA XID Errors",
        "count",
        1.0,
        true,
    ),
    // The exporter counts nanoseconds of throttling; reported in microseconds.
    field(
        "DCGM_FI_DEV_POWER_VIOLATION",
        "nvidia_power_violation",
        "NVIDIA Power Violation",
        "us",
        1e-3,
        true,
    ),
    field(
        "DCGM_FI_DEV_FB_FREE",
        "nvidia_memory_free",
        "NVIDIA GPU Memory Free",
        "GB",
        MIB_TO_GB,
        false,
    ),
    field(
        "DCGM_FI_DEV_FB_TOTAL",
        "nvidia_memory_total",
        "NVIDIA GPU Memory Total",
        "GB",
        MIB_TO_GB,
        false,
    ),
    field(
        "DCGM_FI_DEV_MEMORY_TEMP",
        "nvidia_memory_temperature",
        "NVIDIA Memory Temperature",
        "°C",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_SM_CLOCK",
        "nvidia_sm_clock",
        "NVIDIA SM Clock",
        "MHz",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_MEM_CLOCK",
        "nvidia_memory_clock",
        "NVIDIA Memory Clock",
        "MHz",
        1.0,
        false,
    ),
    field(
        "DCGM_FI_DEV_POWER_MGMT_LIMIT",
        "nvidia_power_limit",
        "NVIDIA Power Limit",
        "W",
        1.0,
        false,
    ),
];

/// Whether the Python AIPerf reads this DCGM field by default.
pub fn is_reference_default(dcgm: &str) -> bool {
    FIELDS[..REFERENCE_DEFAULTS].iter().any(|f| f.dcgm == dcgm)
}

/// The fields a run reads: the standard ones, then those of its metrics file in the file's
/// order. A file's field that this tool reads by default but the Python AIPerf does not takes
/// the file's name, header and unit (unscaled), as the Python AIPerf reports it.
pub fn catalogue(custom: &[GpuField]) -> Vec<Field> {
    let mut fields: Vec<Field> = (FIELDS.iter().enumerate())
        .filter(|(i, f)| *i < REFERENCE_DEFAULTS || !custom.iter().any(|c| c.dcgm == f.dcgm))
        .map(|(_, f)| f.clone())
        .collect();
    for c in custom {
        // A standard field keeps its definition; a field listed twice is read once.
        if fields.iter().any(|f| f.dcgm == c.dcgm) {
            continue;
        }
        fields.push(Field {
            dcgm: Cow::Owned(c.dcgm.clone()),
            name: Cow::Owned(c.name.clone()),
            header: Cow::Owned(c.header.clone()),
            unit: Cow::Owned(c.unit.clone()),
            scale: 1.0,
            // The Python AIPerf summarizes every field of a metrics file as a gauge.
            counter: false,
        });
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(dcgm: &str, name: &str) -> GpuField {
        GpuField {
            dcgm: dcgm.into(),
            name: name.into(),
            header: "H".into(),
            unit: "MB".into(),
            counter: false,
        }
    }

    #[test]
    fn a_files_fields_follow_the_standard_ones() {
        assert!(
            FIELDS[..REFERENCE_DEFAULTS]
                .iter()
                .all(|f| f.name.starts_with("nvidia_"))
        );
        assert_eq!(
            FIELDS[REFERENCE_DEFAULTS - 1].dcgm,
            "DCGM_FI_DEV_POWER_VIOLATION"
        );
        let fields = catalogue(&[
            custom("DCGM_FI_DEV_FB_FREE", "nvidia_fb_free"),
            custom("DCGM_FI_DEV_POWER_USAGE", "nvidia_x"),
            custom(
                "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
                "nvidia_pipe_tensor_active",
            ),
        ]);
        let names: Vec<&str> = fields.iter().map(|f| &*f.name).collect();
        assert_eq!(names[0], "nvidia_power_usage");
        assert!(!names.contains(&"nvidia_memory_free"));
        assert!(!names.contains(&"nvidia_x"));
        assert_eq!(
            &names[names.len() - 2..],
            ["nvidia_fb_free", "nvidia_pipe_tensor_active"]
        );
        assert_eq!(fields.len(), FIELDS.len() + 1);
        assert_eq!(catalogue(&[]), FIELDS.to_vec());
    }
}
