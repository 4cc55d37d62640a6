//! The unit of a Prometheus metric, inferred as the reference tool infers it: a 0–1 or 0–100
//! range stated in the HELP text first, then a unit the HELP text names (`(in MiB)`,
//! `in seconds`), then the metric name's suffix (`_seconds`, `_tokens`, `request_success`).

/// The unit's name as the server-metrics exports write it, or `None` when nothing tells.
pub fn infer(name: &str, description: Option<&str>) -> Option<&'static str> {
    let desc = description.unwrap_or("");
    scale_of(desc)
        .or_else(|| parenthetical(desc))
        .or_else(|| described(desc))
        .or_else(|| by_name(name))
}

/// Unit names, longest suffix first so that `_seconds_total` wins over `_total`.
const SUFFIXES: &[(&str, &str)] = &[
    ("_error_count_total", "errors"),
    ("_requests_total", "requests"),
    ("_seconds_total", "seconds"),
    ("_tokens_total", "tokens"),
    ("_errors_total", "errors"),
    ("_blocks_total", "blocks"),
    ("_milliseconds", "milliseconds"),
    ("_bytes_total", "bytes"),
    ("_nanoseconds", "nanoseconds"),
    ("request_success", "requests"),
    ("_error_count", "errors"),
    ("_block_count", "blocks"),
    ("_kilobytes", "kilobytes"),
    ("_megabytes", "megabytes"),
    ("_gigabytes", "gigabytes"),
    ("_ms_total", "milliseconds"),
    ("_ns_total", "nanoseconds"),
    ("_requests", "requests"),
    ("_seconds", "seconds"),
    ("_celsius", "celsius"),
    ("_percent", "percent"),
    ("_tokens", "tokens"),
    ("_errors", "errors"),
    ("_blocks", "blocks"),
    ("_joules", "joule"),
    ("_watts", "watt"),
    ("_bytes", "bytes"),
    ("_total", "count"),
    ("_count", "count"),
    ("_ratio", "ratio"),
    ("_perc", "percent"),
    ("_reqs", "requests"),
    ("_gb_s", "gb/s"),
    ("_ms", "milliseconds"),
    ("_ns", "nanoseconds"),
];

fn by_name(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    let mut suffixes: Vec<&(&str, &str)> = SUFFIXES.iter().collect();
    suffixes.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    suffixes
        .iter()
        .find(|(s, _)| lower.ends_with(s))
        .map(|(_, u)| *u)
        .or_else(|| lower.contains("num_requests_").then_some("requests"))
}

/// `(in <unit>)`, the DCGM exporter's way; the unit's case matters (`mJ` is not `MJ`).
fn parenthetical(desc: &str) -> Option<&'static str> {
    let at = desc.find("(in ")?;
    let rest = desc[at + 4..].trim_start();
    let tag = &rest[..rest.find([')', ' ', '\t'])?];
    Some(match tag {
        "MiB" | "MB" => "megabytes",
        "GiB" | "GB" => "gigabytes",
        "KiB" | "KB" => "kilobytes",
        "TB" => "terabytes",
        "B" => "bytes",
        "C" | "°C" => "celsius",
        "F" | "°F" => "fahrenheit",
        "K" => "kelvin",
        "Hz" => "hertz",
        "MHz" => "megahertz",
        "GHz" => "gigahertz",
        "W" => "watt",
        "mW" => "milliwatt",
        "J" => "joule",
        "mJ" => "millijoule",
        "MJ" => "megajoule",
        "s" | "sec" => "seconds",
        "ms" => "milliseconds",
        "ns" => "nanoseconds",
        "us" | "µs" => "microseconds",
        "GB/s" => "gb/s",
        "MB/s" => "mb/s",
        "%" | "percent" => "percent",
        _ => return None,
    })
}

/// Whether `hay` (lower case) holds `word` followed by no letter or digit.
fn has_word(hay: &str, word: &str) -> bool {
    hay.match_indices(word).any(|(i, _)| {
        let before_ok = i == 0 || !hay[..i].ends_with(|c: char| c.is_alphanumeric());
        let after_ok = !hay[i + word.len()..].starts_with(|c: char| c.is_alphanumeric());
        before_ok && after_ok
    })
}

/// A unit the HELP text names: `in seconds`, `(ms)`, `in tokens/s`, …
fn described(desc: &str) -> Option<&'static str> {
    let d = desc.to_lowercase();
    let named = |words: &[&str]| {
        words
            .iter()
            .any(|w| has_word(&d, &format!("in {w}")) || d.contains(&format!("({w})")))
    };
    let units: [(&[&str], &str); 8] = [
        (&["seconds", "second"], "seconds"),
        (&["milliseconds", "millisecond", "ms"], "milliseconds"),
        (&["nanoseconds", "nanosecond", "ns"], "nanoseconds"),
        (&["bytes", "byte"], "bytes"),
        (&["gb/s"], "gb/s"),
        (&["mb/s"], "mb/s"),
        (
            &["tokens/s", "token/s", "tokens/sec", "tokens/second"],
            "tokens/s",
        ),
        (
            &["requests/s", "request/s", "requests/sec", "requests/second"],
            "requests/s",
        ),
    ];
    units
        .iter()
        .find(|(words, _)| named(words))
        .map(|(_, u)| *u)
        .or_else(|| (has_word(&d, "in tokens") || has_word(&d, "in token")).then_some("tokens"))
}

/// `ratio` for a stated 0–1 range (or "1 means 100 percent"), `percent` for a 0–100 one.
fn scale_of(desc: &str) -> Option<&'static str> {
    let d = desc.to_lowercase().replace(['–', '—'], "-");
    let ranges = |hi: &str| {
        ["0-", "0.0-", "0 - ", "0 to "].iter().any(|lo| {
            [hi.to_owned(), format!("{hi}.0")]
                .iter()
                .any(|h| has_word(&d, &format!("{lo}{h}")))
        })
    };
    let one_is_all = ["means", "is", "equals", "equal", "=", "=="]
        .iter()
        .any(|verb| {
            ["1", "1.0"].iter().any(|one| {
                ["100%", "100 %", "100 percent"]
                    .iter()
                    .any(|all| d.contains(&format!("{one} {verb} {all}")))
            })
        });
    if ranges("1") || one_is_all {
        Some("ratio")
    } else if ranges("100") && (d.contains("100)") || d.contains("range") || d.contains("100%")) {
        Some("percent")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::infer;

    #[test]
    fn units_as_the_reference_tool_infers_them() {
        let cases = [
            (
                "vllm:num_requests_running",
                "Number of requests in model execution batches.",
                Some("requests"),
            ),
            (
                "vllm:kv_cache_usage_perc",
                "KV-cache usage. 1 means 100 percent usage.",
                Some("ratio"),
            ),
            (
                "vllm:prompt_tokens",
                "Number of prefill tokens processed.",
                Some("tokens"),
            ),
            (
                "vllm:request_success",
                "Count of successfully processed requests.",
                Some("requests"),
            ),
            (
                "vllm:num_preemptions",
                "Cumulative number of preemptions from the engine.",
                None,
            ),
            (
                "vllm:time_to_first_token_seconds",
                "Histogram of time to first token in seconds.",
                Some("seconds"),
            ),
            (
                "vllm:request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.",
                Some("seconds"),
            ),
            (
                "DCGM_FI_DEV_FB_USED",
                "Framebuffer memory used (in MiB).",
                Some("megabytes"),
            ),
            (
                "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                "Total energy (in mJ).",
                Some("millijoule"),
            ),
            ("cache_hit_percent", "Hit rate (0.0-1.0)", Some("ratio")),
            ("util", "Utilization (0-100)", Some("percent")),
            (
                "latency",
                "Request latency in milliseconds",
                Some("milliseconds"),
            ),
            ("x_bytes_total", "", Some("bytes")),
            ("http_requests_total", "", Some("requests")),
            ("plain_total", "", Some("count")),
            ("plain", "", None),
        ];
        for (name, desc, unit) in cases {
            assert_eq!(infer(name, Some(desc)), unit, "{name}: {desc}");
        }
    }
}
