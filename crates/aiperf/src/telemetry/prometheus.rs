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
