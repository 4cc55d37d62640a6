//! Metrics files for `--gpu-telemetry`: DCGM exporter's CSV format, one field a line
//! (`DCGM_FI_DEV_SM_CLOCK, gauge, SM clock frequency (in MHz).`), `#` comments and blank lines
//! skipped. Each field is named as the Python AIPerf names it: `nvidia_<field>` without the
//! `DCGM_FI_DEV_`/`DCGM_FI_PROF_` prefix, the help text before its parenthesis as the header,
//! and the unit its `(in UNIT)` gives.

use std::path::Path;

use crate::settings::GpuField;

/// Reads a metrics file. Errors name the file and, for a bad row, its line and the fix.
pub fn read(path: &Path) -> Result<Vec<GpuField>, String> {
    let shown = path.display();
    if !path.is_file() {
        return Err(format!(
            "--gpu-telemetry: GPU metrics file not found: {shown} (a .csv argument names a \
             metrics file of DCGM fields; check the path)"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--gpu-telemetry: cannot read GPU metrics file {shown}: {e}"))?;
    parse(&text).map_err(|(line, why)| {
        format!(
            "--gpu-telemetry: {shown}, line {line}: {why}; each line is `DCGM_FIELD, gauge|counter, \
             help text (in UNIT)`, and lines starting with # are comments"
        )
    })
}

/// The fields of a metrics file's text, in its order; a bad row is its line number (from 1)
/// and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<GpuField>, (usize, String)> {
    let mut fields = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, ',').map(str::trim).collect();
        let &[dcgm, kind, help] = &parts[..] else {
            return Err((
                i + 1,
                format!(
                    "expected 3 comma-separated values, got {} ({line:?})",
                    parts.len()
                ),
            ));
        };
        if !dcgm.starts_with("DCGM_FI_") {
            return Err((
                i + 1,
                format!("DCGM field {dcgm:?} should start with DCGM_FI_"),
            ));
        }
        let counter = match kind {
            "gauge" => false,
            "counter" => true,
            other => {
                return Err((
                    i + 1,
                    format!("metric type {other:?} should be gauge or counter"),
                ));
            }
        };
        fields.push(field(dcgm, help, counter));
    }
    Ok(fields)
}

/// One field, named from its DCGM name and help text.
fn field(dcgm: &str, help: &str, counter: bool) -> GpuField {
    let suffix = dcgm
        .strip_prefix("DCGM_FI_DEV_")
        .or_else(|| dcgm.strip_prefix("DCGM_FI_PROF_"))
        .unwrap_or(dcgm);
    let name = format!("nvidia_{}", suffix.to_lowercase());
    let before_paren = help.split('(').next().unwrap_or_default().trim();
    let header = if before_paren.is_empty() {
        title_case(&name.replace('_', " "))
    } else {
        title_case(before_paren)
    };
    GpuField {
        dcgm: dcgm.to_owned(),
        name,
        header,
        unit: unit(help).to_owned(),
        counter,
    }
}

/// Words capitalized, hardware acronyms in capitals (`SM Clock Frequency`).
fn title_case(s: &str) -> String {
    const ACRONYMS: [&str; 10] = [
        "gpu", "xid", "sm", "nvlink", "pci", "pcie", "cpu", "ram", "vram", "ecc",
    ];
    s.split_whitespace()
        .map(|word| {
            let lower = word.to_lowercase();
            if ACRONYMS.contains(&lower.as_str()) {
                return word.to_uppercase();
            }
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The unit of a help text's first `(in UNIT)`; `count` without one or for a unit the
/// Python AIPerf does not know. Values are reported as the exporter gives them.
fn unit(help: &str) -> &'static str {
    let Some(raw) = in_unit(help) else {
        return "count";
    };
    match raw.to_lowercase().as_str() {
        "w" => "W",
        "%" | "percent" => "%",
        "gb" | "gib" => "GB",
        "mb" | "mib" => "MB",
        "kb" | "kib" => "KB",
        "mhz" => "MHz",
        "ghz" => "GHz",
        "c" | "°c" | "celsius" => "°C",
        "us" => "us",
        "ms" => "ms",
        "s" => "sec",
        "mj" => "MJ",
        "j" => "J",
        _ => "count",
    }
}

/// The `UNIT` of the first `(in UNIT)` (any case of `in`, one word).
fn in_unit(help: &str) -> Option<&str> {
    help.match_indices('(').find_map(|(at, _)| {
        let rest = &help[at + 1..];
        let after_in = rest
            .get(2..)
            .filter(|_| rest[..2].eq_ignore_ascii_case("in"))?;
        let word = after_in.trim_start();
        if word.len() == after_in.len() {
            return None;
        }
        let end = word.find(|c: char| c.is_whitespace() || c == ')')?;
        (end > 0 && word[end..].starts_with(')')).then(|| &word[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_named_as_the_python_aiperf_names_them() {
        let text = "# DCGM field, type, help\n\n\
            DCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).\n\
            DCGM_FI_DEV_FB_FREE, gauge, Frame buffer memory free (in MiB).\n\
            DCGM_FI_DEV_MEMORY_TEMP, gauge, Memory temperature (in C).\n\
            DCGM_FI_PROF_PIPE_TENSOR_ACTIVE, gauge, Ratio of cycles the tensor (HMMA) pipe is active.\n\
            DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL, counter, Total NVLink bandwidth, all lanes (in KiB).\n\
            DCGM_FI_DEV_PCIE_REPLAY_COUNTER, counter,\n";
        let f = parse(text).unwrap();
        let row = |i: usize| (&*f[i].name, &*f[i].header, &*f[i].unit);
        assert_eq!(row(0), ("nvidia_sm_clock", "SM Clock Frequency", "MHz"));
        assert_eq!(row(1), ("nvidia_fb_free", "Frame Buffer Memory Free", "MB"));
        assert_eq!(row(2), ("nvidia_memory_temp", "Memory Temperature", "°C"));
        assert_eq!(
            row(3),
            (
                "nvidia_pipe_tensor_active",
                "Ratio Of Cycles The Tensor",
                "count"
            )
        );
        // Commas in the help text belong to it.
        assert_eq!(
            row(4),
            (
                "nvidia_nvlink_bandwidth_total",
                "Total NVLINK Bandwidth, All Lanes",
                "KB"
            )
        );
        assert!(f[4].counter);
        // No help text: the name, title-cased.
        assert_eq!(
            row(5),
            (
                "nvidia_pcie_replay_counter",
                "Nvidia PCIE Replay Counter",
                "count"
            )
        );
    }

    #[test]
    fn units_come_from_the_first_in_unit() {
        assert_eq!(unit("Power draw (in W)."), "W");
        assert_eq!(unit("Energy (IN mJ)"), "MJ");
        assert_eq!(unit("Duration (in s)"), "sec");
        assert_eq!(unit("(note) then (in %)"), "%");
        assert_eq!(unit("Two words (in fancy units)"), "count");
        assert_eq!(unit("Unknown (in furlongs)"), "count");
        assert_eq!(unit("(in)"), "count");
        assert_eq!(unit("no unit"), "count");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let err = |t: &str| parse(t).unwrap_err();
        assert_eq!(err("# c\nbad line\n").0, 2);
        assert!(
            err("bad line")
                .1
                .contains("expected 3 comma-separated values, got 1")
        );
        let (line, why) = err("DCGM_FI_DEV_A, gauge, a\nFOO, gauge, b\n");
        assert_eq!(line, 2);
        assert!(why.contains("should start with DCGM_FI_"), "{why}");
        assert!(
            err("DCGM_FI_DEV_A, histogram, a")
                .1
                .contains("gauge or counter")
        );
        assert!(parse("").unwrap().is_empty());
    }
}
