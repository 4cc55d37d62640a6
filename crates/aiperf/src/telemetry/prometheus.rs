//! A parser for the Prometheus text exposition format (version 0.0.4, as vLLM, SGLang,
//! TensorRT-LLM, Dynamo and the DCGM exporter serve it).
//!
//! Handles `# HELP` and `# TYPE` lines, counters, gauges, histograms, summaries and untyped
//! metrics, label values with `\\`, `\"` and `\n` escapes, `+Inf`/`-Inf`/`NaN`, optional
//! timestamps, and OpenMetrics exemplars (ignored). `*_created` samples are dropped. Written
//! here because the Rust crates for this format either do not group histogram and summary
//! samples into their families or reject exemplars.

use std::fmt;

/// The type a `# TYPE` line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "summary" => Self::Summary,
            "untyped" | "unknown" => Self::Untyped,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The full sample name (`vllm:e2e_request_latency_seconds_bucket`).
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family: its declared type and help, and every sample that belongs to it
/// (for histograms the `_bucket`, `_sum` and `_count` samples; for summaries the quantiles,
/// `_sum` and `_count`).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: Kind,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// A line that is not valid exposition format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn unescape(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses `name{labels} value [timestamp] [# exemplar]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(|c: char| !is_name_char(c)).unwrap_or(line.len());
    let name = &line[..name_end];
    if !name.starts_with(is_name_start) {
        return Err(format!("expected a metric name, got {:?}", truncate(line)));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut s = after;
        loop {
            s = s.trim_start_matches([' ', '\t', ',']);
            if let Some(r) = s.strip_prefix('}') {
                rest = r;
                break;
            }
            let key_end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
            let key = &s[..key_end];
            if key.is_empty() {
                return Err(format!("bad label in {:?}", truncate(line)));
            }
            s = s[key_end..].trim_start();
            s = s
                .strip_prefix('=')
                .ok_or_else(|| format!("expected = after label {key}"))?
                .trim_start();
            s = s
                .strip_prefix('"')
                .ok_or_else(|| format!("label {key}: expected a quoted value"))?;
            // The value runs to the first quote not escaped by a backslash.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in s.char_indices() {
                match (c, escaped) {
                    ('\\', false) => escaped = true,
                    ('"', false) => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end.ok_or_else(|| format!("label {key}: unterminated value"))?;
            labels.push((key.to_owned(), unescape(&s[..end], true)));
            s = &s[end + 1..];
        }
    }
    // Drop an exemplar: everything from " # " on.
    let rest = rest.split(" # ").next().unwrap_or("");
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("{name}: missing value"))?;
    let value = parse_value(value).ok_or_else(|| format!("{name}: {value:?} is not a number"))?;
    let timestamp_ms = match fields.next() {
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| format!("{name}: bad timestamp {t:?}"))?,
        ),
        None => None,
    };
    if fields.next().is_some() {
        return Err(format!("{name}: unexpected text after the value"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The family a sample belongs to, given the families declared so far.
fn family_of<'a>(name: &'a str, families: &[Family]) -> (&'a str, bool) {
    for suffix in ["_bucket", "_sum", "_count", "_created", "_total"] {
        if let Some(base) = name.strip_suffix(suffix)
            && let Some(f) = families.iter().find(|f| f.name == base)
        {
            let fits = match suffix {
                "_bucket" => f.kind == Kind::Histogram,
                "_sum" | "_count" => matches!(f.kind, Kind::Histogram | Kind::Summary),
                "_total" => f.kind == Kind::Counter,
                _ => true,
            };
            if fits {
                return (base, suffix == "_created");
            }
        }
    }
    (name, name.ends_with("_created"))
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Vec<Family>, ParseError> {
    let mut families: Vec<Family> = Vec::new();
    let family = |families: &mut Vec<Family>, name: &str| -> usize {
        match families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                families.push(Family {
                    name: name.to_owned(),
                    kind: Kind::Untyped,
                    help: None,
                    samples: Vec::new(),
                });
                families.len() - 1
            }
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            let (keyword, rest) = comment
                .split_once(char::is_whitespace)
                .unwrap_or((comment, ""));
            match keyword {
                "HELP" => {
                    let (name, help) = rest
                        .trim_start()
                        .split_once(char::is_whitespace)
                        .unwrap_or((rest.trim(), ""));
                    let idx = family(&mut families, name);
                    families[idx].help = Some(unescape(help.trim(), false));
                }
                "TYPE" => {
                    let mut parts = rest.split_whitespace();
                    let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                        return Err(ParseError {
                            line: line_no,
                            message: format!("malformed TYPE line {:?}", truncate(line)),
                        });
                    };
                    let kind = Kind::parse(kind).ok_or_else(|| ParseError {
                        line: line_no,
                        message: format!("unknown metric type {kind:?}"),
                    })?;
                    let idx = family(&mut families, name);
                    families[idx].kind = kind;
                }
                _ => {} // any other comment, including `# EOF`
            }
            continue;
        }
        let sample = parse_sample(line).map_err(|message| ParseError {
            line: line_no,
            message,
        })?;
        let (base, created) = family_of(&sample.name, &families);
        if created {
            continue;
        }
        let base = base.to_owned();
        let idx = family(&mut families, &base);
        families[idx].samples.push(sample);
    }
    families.retain(|f| !f.samples.is_empty());
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VLLM: &str = r#"# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model_name="m"} 12800.0
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="0.5",model_name="m"} 4.0
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="m"} 10.0
vllm:e2e_request_latency_seconds_sum{model_name="m"} 7.5
vllm:e2e_request_latency_seconds_count{model_name="m"} 10.0
vllm:e2e_request_latency_seconds_created{model_name="m"} 1.7e9
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} NaN
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9 1395066363000
untyped_thing 1
http_requests_total{method="post"} 1027 # {trace_id="abc"} 1 1.6e9
"#;

    /// Expositions in the shapes real servers emit, each with what must come out of it:
    /// (family, kind, number of samples, one (sample name, label, value) to check).
    type Expect = (
        &'static str,
        Kind,
        usize,
        (&'static str, Option<(&'static str, &'static str)>, f64),
    );

    const REAL_WORLD: &[(&str, &str, &[Expect])] = &[
        (
            "vLLM v1 (engine label, _created samples, counters with _total)",
            r#"# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 51234.0
# HELP vllm:generation_tokens_created Number of generation tokens processed.
# TYPE vllm:generation_tokens_created gauge
vllm:generation_tokens_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7321e+09
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 80.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 6.25
# HELP vllm:time_to_first_token_seconds_created Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds_created gauge
vllm:time_to_first_token_seconds_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7321e+09
"#,
            &[
                (
                    "vllm:num_requests_running",
                    Kind::Gauge,
                    1,
                    ("vllm:num_requests_running", Some(("engine", "0")), 12.0),
                ),
                (
                    "vllm:generation_tokens_total",
                    Kind::Counter,
                    1,
                    ("vllm:generation_tokens_total", None, 51234.0),
                ),
                (
                    "vllm:time_to_first_token_seconds",
                    Kind::Histogram,
                    5,
                    (
                        "vllm:time_to_first_token_seconds_bucket",
                        Some(("le", "0.1")),
                        80.0,
                    ),
                ),
            ],
        ),
        (
            "SGLang (untyped-looking names, per-model labels)",
            r#"# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="Qwen/Qwen2.5-7B-Instruct"} 7.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue.
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="Qwen/Qwen2.5-7B-Instruct"} 2.0
# HELP sglang:token_usage The token usage.
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="Qwen/Qwen2.5-7B-Instruct"} 0.18
# HELP sglang:prompt_tokens_total Number of prefill tokens processed.
# TYPE sglang:prompt_tokens_total counter
sglang:prompt_tokens_total{model_name="Qwen/Qwen2.5-7B-Instruct"} 880123.0
# HELP sglang:e2e_request_latency_seconds Histogram of End-to-end request latency in seconds
# TYPE sglang:e2e_request_latency_seconds histogram
sglang:e2e_request_latency_seconds_sum{model_name="Qwen/Qwen2.5-7B-Instruct"} 412.5
sglang:e2e_request_latency_seconds_bucket{le="0.1",model_name="Qwen/Qwen2.5-7B-Instruct"} 0.0
sglang:e2e_request_latency_seconds_bucket{le="+Inf",model_name="Qwen/Qwen2.5-7B-Instruct"} 300.0
sglang:e2e_request_latency_seconds_count{model_name="Qwen/Qwen2.5-7B-Instruct"} 300.0
"#,
            &[
                (
                    "sglang:num_queue_reqs",
                    Kind::Gauge,
                    1,
                    ("sglang:num_queue_reqs", None, 2.0),
                ),
                (
                    "sglang:token_usage",
                    Kind::Gauge,
                    1,
                    (
                        "sglang:token_usage",
                        Some(("model_name", "Qwen/Qwen2.5-7B-Instruct")),
                        0.18,
                    ),
                ),
                (
                    "sglang:prompt_tokens_total",
                    Kind::Counter,
                    1,
                    ("sglang:prompt_tokens_total", None, 880_123.0),
                ),
                (
                    "sglang:e2e_request_latency_seconds",
                    Kind::Histogram,
                    4,
                    ("sglang:e2e_request_latency_seconds_sum", None, 412.5),
                ),
            ],
        ),
        (
            "DCGM exporter (upper-case labels, counters without _total, two GPUs)",
            r#"# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-5a1b2c3d-0000-1111-2222-333344445555",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 1980
DCGM_FI_DEV_SM_CLOCK{gpu="1",UUID="GPU-6b2c3d4e-0000-1111-2222-333344445555",pci_bus_id="00000000:2A:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 1980
# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-5a1b2c3d-0000-1111-2222-333344445555",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 412.337000
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-6b2c3d4e-0000-1111-2222-333344445555",pci_bus_id="00000000:2A:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 98.104000
# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).
# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-5a1b2c3d-0000-1111-2222-333344445555",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 5213377912
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",UUID="GPU-6b2c3d4e-0000-1111-2222-333344445555",pci_bus_id="00000000:2A:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 4988120055
# HELP DCGM_FI_PROF_SM_ACTIVE The ratio of cycles an SM has at least 1 warp assigned (in %).
# TYPE DCGM_FI_PROF_SM_ACTIVE gauge
DCGM_FI_PROF_SM_ACTIVE{gpu="0",UUID="GPU-5a1b2c3d-0000-1111-2222-333344445555",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",container="vllm",namespace="llm",pod="vllm-0"} 0.731250
"#,
            &[
                (
                    "DCGM_FI_DEV_SM_CLOCK",
                    Kind::Gauge,
                    2,
                    ("DCGM_FI_DEV_SM_CLOCK", Some(("gpu", "1")), 1980.0),
                ),
                (
                    "DCGM_FI_DEV_POWER_USAGE",
                    Kind::Gauge,
                    2,
                    (
                        "DCGM_FI_DEV_POWER_USAGE",
                        Some(("UUID", "GPU-6b2c3d4e-0000-1111-2222-333344445555")),
                        98.104,
                    ),
                ),
                (
                    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                    Kind::Counter,
                    2,
                    (
                        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                        Some(("gpu", "0")),
                        5_213_377_912.0,
                    ),
                ),
                (
                    "DCGM_FI_PROF_SM_ACTIVE",
                    Kind::Gauge,
                    1,
                    ("DCGM_FI_PROF_SM_ACTIVE", Some(("pod", "vllm-0")), 0.73125),
                ),
            ],
        ),
        (
            "node exporter and Go runtime (summary, escapes, scientific notation, special values)",
            "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n\
# TYPE go_gc_duration_seconds summary\n\
go_gc_duration_seconds{quantile=\"0\"} 2.1958e-05\n\
go_gc_duration_seconds{quantile=\"0.5\"} 4.3107e-05\n\
go_gc_duration_seconds{quantile=\"1\"} 0.000517962\n\
go_gc_duration_seconds_sum 0.512317716\n\
go_gc_duration_seconds_count 8907\n\
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n\
# TYPE node_cpu_seconds_total counter\n\
node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1.21930817e+06\n\
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 86315.27\n\
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.\n\
# TYPE node_filesystem_avail_bytes gauge\n\
node_filesystem_avail_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\",mountpoint=\"/var/lib/a \\\"quoted\\\" dir\\\\x\"} 3.9e+11\n\
# HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)\n\
# TYPE node_hwmon_temp_celsius gauge\n\
node_hwmon_temp_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"} NaN\n\
node_hwmon_temp_crit_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"} +Inf\n\
# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
# TYPE node_textfile_scrape_error gauge\n\
node_textfile_scrape_error 0\n",
            &[
                (
                    "go_gc_duration_seconds",
                    Kind::Summary,
                    5,
                    (
                        "go_gc_duration_seconds",
                        Some(("quantile", "0.5")),
                        4.3107e-05,
                    ),
                ),
                (
                    "node_cpu_seconds_total",
                    Kind::Counter,
                    2,
                    (
                        "node_cpu_seconds_total",
                        Some(("mode", "idle")),
                        1.219_308_17e6,
                    ),
                ),
                (
                    "node_filesystem_avail_bytes",
                    Kind::Gauge,
                    1,
                    (
                        "node_filesystem_avail_bytes",
                        Some(("mountpoint", "/var/lib/a \"quoted\" dir\\x")),
                        3.9e11,
                    ),
                ),
                (
                    "node_hwmon_temp_crit_celsius",
                    Kind::Untyped,
                    1,
                    ("node_hwmon_temp_crit_celsius", None, f64::INFINITY),
                ),
                (
                    "node_textfile_scrape_error",
                    Kind::Gauge,
                    1,
                    ("node_textfile_scrape_error", None, 0.0),
                ),
            ],
        ),
        (
            "OpenMetrics-style (counters declared without _total, # EOF, exemplars)",
            "# TYPE dynamo_frontend_requests counter\n\
# HELP dynamo_frontend_requests Total number of LLM requests processed\n\
dynamo_frontend_requests_total{model=\"llama\",request_type=\"stream\",status=\"success\"} 1024 # {trace_id=\"7f3c\"} 1 1732000000.5\n\
dynamo_frontend_requests_created{model=\"llama\",request_type=\"stream\",status=\"success\"} 1732000000\n\
# TYPE dynamo_frontend_inflight_requests gauge\n\
dynamo_frontend_inflight_requests{model=\"llama\"} 16\n\
# EOF\n",
            &[
                (
                    "dynamo_frontend_requests",
                    Kind::Counter,
                    1,
                    (
                        "dynamo_frontend_requests_total",
                        Some(("status", "success")),
                        1024.0,
                    ),
                ),
                (
                    "dynamo_frontend_inflight_requests",
                    Kind::Gauge,
                    1,
                    ("dynamo_frontend_inflight_requests", None, 16.0),
                ),
            ],
        ),
    ];

    #[test]
    fn real_world_expositions_parse() {
        for (what, text, expected) in REAL_WORLD {
            let families = parse(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            for (name, kind, count, (sample, label, value)) in expected.iter() {
                let f = families
                    .iter()
                    .find(|f| f.name == *name)
                    .unwrap_or_else(|| panic!("{what}: no family {name} in {families:#?}"));
                assert_eq!((f.kind, f.samples.len()), (*kind, *count), "{what}: {name}");
                let s = f
                    .samples
                    .iter()
                    .find(|s| s.name == *sample && label.is_none_or(|(k, v)| s.label(k) == Some(v)))
                    .unwrap_or_else(|| panic!("{what}: no sample {sample} {label:?} in {f:#?}"));
                assert!(
                    s.value == *value || (s.value - value).abs() <= 1e-9 * value.abs(),
                    "{what}: {sample} = {} (expected {value})",
                    s.value
                );
            }
            // `_created` samples are timestamps, not data: they never appear.
            assert!(
                families
                    .iter()
                    .flat_map(|f| &f.samples)
                    .all(|s| !s.name.ends_with("_created")),
                "{what}"
            );
        }
        // The NaN reading is kept as NaN (statistics skip it), not dropped or zeroed.
        let node = parse(REAL_WORLD[3].1).unwrap();
        let temp = node
            .iter()
            .find(|f| f.name == "node_hwmon_temp_celsius")
            .unwrap();
        assert!(temp.samples[0].value.is_nan());
    }

    #[test]
    fn families_group_their_samples() {
        let f = parse(VLLM).unwrap();
        let get = |n: &str| {
            f.iter()
                .find(|x| x.name == n)
                .unwrap_or_else(|| panic!("{n} missing: {f:#?}"))
        };
        let running = get("vllm:num_requests_running");
        assert_eq!((running.kind, running.samples[0].value), (Kind::Gauge, 3.0));
        assert_eq!(
            running.help.as_deref(),
            Some("Number of requests in model execution batches.")
        );
        assert_eq!(running.samples[0].label("engine"), Some("0"));
        assert_eq!(get("vllm:prompt_tokens_total").kind, Kind::Counter);
        let h = get("vllm:e2e_request_latency_seconds");
        assert_eq!(h.kind, Kind::Histogram);
        assert_eq!(
            h.samples.len(),
            4,
            "buckets, sum and count; _created dropped"
        );
        assert_eq!(h.samples[1].label("le"), Some("+Inf"));
        let s = get("rpc_duration_seconds");
        assert_eq!((s.kind, s.samples.len()), (Kind::Summary, 4));
        assert!(s.samples[1].value.is_nan());
        let msdos = get("msdos_file_access_time_seconds");
        assert_eq!(msdos.samples[0].label("path"), Some("C:\\DIR\\FILE.TXT"));
        assert_eq!(
            msdos.samples[0].label("error"),
            Some("Cannot find file:\n\"FILE.TXT\"")
        );
        assert_eq!(msdos.samples[0].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(get("untyped_thing").kind, Kind::Untyped);
        assert_eq!(
            get("http_requests_total").samples[0].value,
            1027.0,
            "the exemplar is ignored"
        );
    }

    #[test]
    fn bad_lines_name_the_line() {
        for (text, needle) in [
            ("# TYPE x bogus\nx 1", "line 1: unknown metric type"),
            ("x{a=\"1} 2", "unterminated"),
            ("x{a=1} 2", "quoted value"),
            ("x abc", "not a number"),
            ("x 1 2 3", "unexpected text"),
            ("9x 1", "expected a metric name"),
            ("ok 1\nx", "line 2: x: missing value"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# just a comment\n# EOF\n").unwrap().is_empty());
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::super::parse;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn any_text_parses_or_fails_cleanly(lines in proptest::collection::vec(
                prop_oneof![
                    Just("# TYPE h histogram".to_owned()),
                    Just("h_bucket{le=\"1\"} 2".to_owned()),
                    Just("# HELP h a \\\\ help\\n".to_owned()),
                    "[a-z_:]{1,8}(\\{[a-z]{1,3}=\"[^\"\\\\]{0,4}\"\\})? (-?[0-9.e+]{1,6}|NaN|\\+Inf)",
                    "[^\n]{0,24}",
                ],
                0..8,
            )) {
                match parse(&lines.join("\n")) {
                    Ok(families) => prop_assert!(families.iter().all(|f| !f.samples.is_empty())),
                    Err(e) => prop_assert!(e.line >= 1 && e.line <= lines.len().max(1)),
                }
            }
        }
    }
}
