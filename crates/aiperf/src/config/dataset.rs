//! System and context prompts, length plans (`--seq-dist`, `--random-range-ratio`), the
//! prompt corpus, cache busting, trace synthesis and the replay flags of input files.

use std::path::Path;

use super::plan::first;
use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::*;

/// Endpoint types that send a system message (what `--system-prompt` needs).
const SYSTEM_PROMPT_ENDPOINTS: [&str; 5] = [
    "chat",
    "completions",
    "responses",
    "messages",
    "chat_embeddings",
];

pub(super) fn resolve_dataset(
    args: &ProfileArgs,
    input: &InputConfig,
    endpoint: &EndpointConfig,
    fixed_schedule: Option<bool>,
) -> Result<DatasetOptions, UsageError> {
    let p = &args.prompt;
    let a = &args.input;
    let synthetic = matches!(input, InputConfig::Synthetic { .. });
    let pool = a.num_prefix_prompts != 0 || a.prefix_prompt_length != 0;
    let system_prompt = system_prompt(args)?;
    if system_prompt.is_some() {
        if a.shared_system_prompt_length != 0 {
            return Err(UsageError::new(
                "--system-prompt/--system-prompt-file and --shared-system-prompt-length are \
                 mutually exclusive: both fill the system message (verbatim text, or synthetic \
                 text of a length); keep one",
            ));
        }
        if pool {
            return Err(UsageError::new(
                "--system-prompt/--system-prompt-file and --prompt-prefix-pool-size/\
                 --prompt-prefix-length are mutually exclusive (as with \
                 --shared-system-prompt-length); keep one",
            ));
        }
        let kind = endpoint.kind.name();
        if !SYSTEM_PROMPT_ENDPOINTS.contains(&kind) {
            return Err(UsageError::new(format!(
                "--system-prompt/--system-prompt-file: --endpoint-type {kind} sends no system \
                 message, so the prompt would never reach the server (types that send one: {})",
                SYSTEM_PROMPT_ENDPOINTS.join(", ")
            )));
        }
    }
    let user_context_length = match p.user_context_prompt_length {
        None => None,
        Some(0) => {
            return Err(UsageError::new(
                "--user-context-prompt-length must be at least 1 token",
            ));
        }
        Some(_) if pool => {
            return Err(UsageError::new(
                "--user-context-prompt-length and --prompt-prefix-pool-size/\
                 --prompt-prefix-length are mutually exclusive; keep one",
            ));
        }
        Some(n) => Some(n),
    };
    let lengths = length_plan(args)?;
    if !synthetic {
        let given = [
            (
                "--user-context-prompt-length",
                user_context_length.is_some(),
            ),
            ("--seq-dist", p.seq_dist.is_some()),
            ("--random-range-ratio", p.random_range_ratio.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|g| g.1) {
            return Err(UsageError::new(format!(
                "{flag} shapes synthetic prompts; --input-file and --public-dataset bring \
                 their own (drop one of them)"
            )));
        }
    }
    if p.cache_bust == CacheBustTarget::WarmupIsolationSystem
        && synthetic
        && system_prompt.is_none()
        && a.shared_system_prompt_length == 0
    {
        return Err(UsageError::new(
            "--cache-bust warmup_isolation_system needs a system prompt to mark: add \
             --shared-system-prompt-length or --system-prompt, or use \
             --cache-bust warmup_isolation_first_turn",
        ));
    }
    let file_kind = match input {
        InputConfig::File { kind, .. } => Some(*kind),
        InputConfig::Synthetic { .. } => None,
    };
    if matches!(
        file_kind,
        Some(DatasetFileKind::RawPayload | DatasetFileKind::InputsJson)
    ) && endpoint.kind.name() != "raw"
    {
        return Err(UsageError::new(format!(
            "--custom-dataset-type {}: its rows are whole request bodies, sent as they are by \
             --endpoint-type raw; add it, with the endpoint's full URL (e.g. --url \
             http://localhost:8000/v1/chat/completions)",
            file_kind.map_or("", DatasetFileKind::name)
        )));
    }
    let public = match &a.public_dataset {
        Some(name) => {
            let spec = crate::dataset::public::find(name).map_err(UsageError::new)?;
            Some(super::public::source(args, spec)?)
        }
        None => None,
    };
    let file_entries = (file_kind == Some(DatasetFileKind::RandomPool))
        .then(|| explicit_entries(args).unwrap_or(a.num_dataset_entries));
    if file_entries == Some(0) {
        return Err(UsageError::new("--num-dataset-entries must be at least 1"));
    }
    Ok(DatasetOptions {
        system_prompt,
        user_context_length,
        lengths,
        corpus: p.prompt_corpus,
        corpus_style: p.random_corpus_style,
        cache_bust: p.cache_bust,
        ignore_trace_delays: replay_flags(args, file_kind, fixed_schedule)?,
        synthesis: synthesis(args, file_kind)?,
        file_entries,
        public,
    })
}

/// The number of conversations asked for, as the Python AIPerf reads it for datasets it
/// samples: `--num-dataset-entries`, else `--num-sessions`, else the largest
/// `--request-count` (only when given on the command line).
fn explicit_entries(args: &ProfileArgs) -> Option<u32> {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    if args.given.iter().any(|g| g == "--num-dataset-entries") {
        Some(args.input.num_dataset_entries)
    } else if let Some(n) = args.load.num_sessions {
        Some(clamp(n))
    } else {
        args.load.request_count.iter().max().map(|n| clamp(*n))
    }
}

/// `--system-prompt` or the text of `--system-prompt-file`.
fn system_prompt(args: &ProfileArgs) -> Result<Option<String>, UsageError> {
    let p = &args.prompt;
    let text = match (&p.system_prompt, &p.system_prompt_file) {
        (Some(_), Some(_)) => {
            return Err(UsageError::new(
                "--system-prompt and --system-prompt-file are mutually exclusive; give one",
            ));
        }
        (Some(text), None) => {
            if text.trim().is_empty() {
                return Err(UsageError::new(
                    "--system-prompt is empty; omit it to send no system prompt",
                ));
            }
            text.clone()
        }
        (None, Some(path)) => read_prompt_file(path)?,
        (None, None) => return Ok(None),
    };
    Ok(Some(text))
}

fn read_prompt_file(path: &Path) -> Result<String, UsageError> {
    let bytes = std::fs::read(path).map_err(|e| {
        UsageError::new(format!(
            "--system-prompt-file: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        UsageError::new(format!(
            "--system-prompt-file: {} is not UTF-8 text",
            path.display()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(UsageError::new(format!(
            "--system-prompt-file: {} is empty; omit the flag to send no system prompt",
            path.display()
        )));
    }
    Ok(text)
}

/// `--seq-dist` or `--random-range-ratio`.
fn length_plan(args: &ProfileArgs) -> Result<Option<LengthPlan>, UsageError> {
    let p = &args.prompt;
    let a = &args.input;
    match (&p.seq_dist, &p.random_range_ratio) {
        (Some(_), Some(_)) => Err(UsageError::new(
            "--random-range-ratio and --seq-dist are mutually exclusive; give one",
        )),
        (Some(text), None) => {
            let pairs = parse_seq_dist(text)
                .map_err(|e| UsageError::new(format!("--seq-dist {text:?}: {e}")))?;
            Ok(Some(LengthPlan::Pairs { pairs }))
        }
        (None, Some(text)) => {
            let (Some(isl), Some(osl)) = (first(&a.isl), first(&a.osl)) else {
                return Err(UsageError::new(
                    "--random-range-ratio needs --isl and --osl: the window is drawn around \
                     both means (e.g. --isl 512 --osl 128)",
                ));
            };
            if a.isl.len() > 1 || a.osl.len() > 1 {
                return Err(UsageError::new(
                    "--random-range-ratio takes one --isl and one --osl (a sweep of lengths \
                     would keep the first window)",
                ));
            }
            if a.isl_stddev != 0.0 || a.osl_stddev != 0.0 {
                return Err(UsageError::new(
                    "--random-range-ratio cannot be combined with --isl-stddev or \
                     --osl-stddev: the window already sets how lengths vary",
                ));
            }
            let (ri, ro) = parse_range_ratio(text, p.random_corpus_style)
                .map_err(|e| UsageError::new(format!("--random-range-ratio {text:?}: {e}")))?;
            let (isl_window, osl_window) = match p.random_corpus_style {
                CorpusStyle::Vllm => (
                    (
                        (f64::from(isl) * (1.0 - ri)).floor() as u32,
                        (f64::from(isl) * (1.0 + ri)).ceil() as u32,
                    ),
                    (
                        ((f64::from(osl) * (1.0 - ro)).floor() as u32).max(1),
                        ((f64::from(osl) * (1.0 + ro)).ceil() as u32).max(1),
                    ),
                ),
                CorpusStyle::Sglang => (
                    (((f64::from(isl) * ri) as u32).max(1), isl),
                    (((f64::from(osl) * ro) as u32).max(1), osl),
                ),
            };
            if isl_window.0 + args.input.prefix_prompt_length < 1 {
                return Err(UsageError::new(format!(
                    "--random-range-ratio {text} with --isl {isl} allows prompts of 0 tokens; \
                     raise --isl, add --prompt-prefix-length, or lower the ratio"
                )));
            }
            Ok(Some(LengthPlan::Window {
                isl: isl_window,
                osl: osl_window,
                ratio: (ri, ro),
                given: text.clone(),
            }))
        }
        (None, None) => Ok(None),
    }
}

/// `--seq-dist`: `ISL[|SD],OSL[|SD]:PROB;...`, `[(ISL,OSL):PROB,...]` or
/// `{"pairs": [{"isl": .., "osl": .., "prob": .., "isl_stddev": .., "osl_stddev": ..}]}`.
pub(super) fn parse_seq_dist(text: &str) -> Result<Vec<SeqPair>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty; give pairs like 128,64:40;512,256:60".into());
    }
    let pairs = if text.starts_with('{') {
        json_pairs(text)?
    } else if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        bracket_pairs(inner)?
    } else {
        text.split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(pair)
            .collect::<Result<Vec<_>, _>>()?
    };
    if pairs.is_empty() {
        return Err("no pairs; give pairs like 128,64:40;512,256:60".into());
    }
    let total: f64 = pairs.iter().map(|p| p.probability).sum();
    if (total - 100.0).abs() > 1e-6 {
        return Err(format!(
            "the probabilities are percentages and add up to {total}, not 100"
        ));
    }
    Ok(pairs)
}

/// One `ISL[|SD],OSL[|SD]:PROB`.
fn pair(text: &str) -> Result<SeqPair, String> {
    let bad = || format!("{text:?} is not ISL[|STDDEV],OSL[|STDDEV]:PROBABILITY");
    let (lengths, prob) = text.rsplit_once(':').ok_or_else(bad)?;
    let (isl, osl) = lengths.split_once(',').ok_or_else(bad)?;
    let length = |part: &str| -> Result<LengthDist, String> {
        let (mean, stddev) = match part.split_once('|') {
            Some((m, s)) => (m, Some(s)),
            None => (part, None),
        };
        let mean: u32 = mean.trim().parse().map_err(|_| bad())?;
        let stddev: f64 = match stddev {
            Some(s) => number(s).ok_or_else(bad)?,
            None => 0.0,
        };
        Ok(LengthDist {
            mean: f64::from(mean),
            stddev,
        })
    };
    checked(SeqPair {
        isl: length(isl)?,
        osl: length(osl)?,
        probability: number(prob).ok_or_else(bad)?,
    })
}

/// A non-negative decimal number (no sign, no exponent).
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.matches('.').count() <= 1
        && text != ".";
    ok.then(|| text.parse().ok()).flatten()
}

fn bracket_pairs(inner: &str) -> Result<Vec<SeqPair>, String> {
    // `(ISL,OSL):PROB` items separated by commas outside the parentheses.
    let mut pairs = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let open = rest
            .strip_prefix('(')
            .ok_or_else(|| format!("expected `(ISL,OSL):PROB`, found {rest:?}"))?;
        let (lengths, after) = open
            .split_once(')')
            .ok_or_else(|| format!("unclosed `(` in {rest:?}"))?;
        let after = after
            .trim_start()
            .strip_prefix(':')
            .ok_or_else(|| format!("expected `:PROB` after ({lengths})"))?;
        let (prob, next) = after.split_once(',').unwrap_or((after, ""));
        pairs.push(pair(&format!("{lengths}:{prob}"))?);
        rest = next.trim();
    }
    Ok(pairs)
}

fn json_pairs(text: &str) -> Result<Vec<SeqPair>, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        pairs: Vec<JsonPair>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct JsonPair {
        isl: f64,
        osl: f64,
        prob: f64,
        #[serde(default)]
        isl_stddev: f64,
        #[serde(default)]
        osl_stddev: f64,
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        format!("not a JSON object like {{\"pairs\": [{{\"isl\": 256, \"osl\": 128, \"prob\": 100}}]}} ({e})")
    })?;
    doc.pairs
        .into_iter()
        .map(|p| {
            checked(SeqPair {
                isl: LengthDist {
                    mean: p.isl.trunc(),
                    stddev: p.isl_stddev,
                },
                osl: LengthDist {
                    mean: p.osl.trunc(),
                    stddev: p.osl_stddev,
                },
                probability: p.prob,
            })
        })
        .collect()
}

fn checked(p: SeqPair) -> Result<SeqPair, String> {
    if p.isl.mean < 1.0 || p.osl.mean < 1.0 {
        return Err("lengths must be at least 1 token".into());
    }
    if p.isl.mean > f64::from(crate::dataset::prompts::MAX_PROMPT_TOKENS) {
        return Err(format!(
            "an input length of {} is larger than the supported {} tokens",
            p.isl.mean,
            crate::dataset::prompts::MAX_PROMPT_TOKENS
        ));
    }
    let valid = |sd: f64| sd.is_finite() && sd >= 0.0;
    if !(valid(p.isl.stddev) && valid(p.osl.stddev)) {
        return Err("standard deviations must be zero or positive".into());
    }
    if !(0.0..=100.0).contains(&p.probability) {
        return Err(format!(
            "probability {} is not a percentage between 0 and 100",
            p.probability
        ));
    }
    Ok(p)
}

/// `--random-range-ratio`: a number, or (vllm style) `{"input": R, "output": R}`.
fn parse_range_ratio(text: &str, style: CorpusStyle) -> Result<(f64, f64), String> {
    let text = text.trim();
    let (ri, ro) = match text.parse::<f64>() {
        Ok(r) => (r, r),
        Err(_) => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|_| "expected a number or {\"input\": R, \"output\": R}".to_owned())?;
            if style == CorpusStyle::Sglang {
                return Err(
                    "--random-corpus-style sglang takes one ratio for both lengths: give a plain \
                     number (e.g. 0.3)"
                        .into(),
                );
            }
            let obj = value
                .as_object()
                .filter(|o| o.len() == 2)
                .ok_or("expected exactly the keys \"input\" and \"output\"")?;
            let get = |k: &str| {
                obj.get(k)
                    .and_then(serde_json::Value::as_f64)
                    .ok_or(format!("\"{k}\" must be a number"))
            };
            (get("input")?, get("output")?)
        }
    };
    for r in [ri, ro] {
        let ok = match style {
            CorpusStyle::Vllm => r.is_finite() && (0.0..1.0).contains(&r),
            CorpusStyle::Sglang => r.is_finite() && (0.0..=1.0).contains(&r),
        };
        if !ok {
            return Err(match style {
                CorpusStyle::Vllm => format!("{r} is not in [0, 1)"),
                CorpusStyle::Sglang => format!("{r} is not in [0, 1]"),
            });
        }
    }
    Ok((ri, ro))
}

/// `--ignore-trace-delays`, `--use-think-time-only`, `--max-context-length`,
/// `--allow-dataset-wrap` and `--trace-session-sample-ratio`. Returns whether delays are
/// dropped.
fn replay_flags(
    args: &ProfileArgs,
    file_kind: Option<DatasetFileKind>,
    fixed_schedule: Option<bool>,
) -> Result<bool, UsageError> {
    let a = &args.input;
    if a.use_think_time_only && a.ignore_trace_delays {
        return Err(UsageError::new(
            "--use-think-time-only and --ignore-trace-delays are mutually exclusive; keep one",
        ));
    }
    if a.max_context_length.is_some() {
        return Err(UsageError::new(
            "--max-context-length only applies to Weka trace replay (weka_trace), which this \
             tool does not read; drop it",
        ));
    }
    if a.trace_session_sample_ratio.is_some() {
        return Err(UsageError::new(
            "--trace-session-sample-ratio is only supported by the baseten_trace loader \
             (Parquet), which this tool does not read; drop it",
        ));
    }
    if a.use_think_time_only {
        tracing::warn!(
            "--use-think-time-only applies to weka_trace inputs only, which this tool does not \
             read; it has no effect"
        );
    }
    if a.allow_dataset_wrap || a.no_allow_dataset_wrap {
        tracing::warn!(
            "--allow-dataset-wrap/--no-allow-dataset-wrap apply to Weka and agentic replay only; \
             the datasets read here always wrap around, so it has no effect"
        );
    }
    if !a.ignore_trace_delays {
        return Ok(false);
    }
    match (file_kind, fixed_schedule) {
        (None, _) => {
            tracing::warn!(
                "--ignore-trace-delays applies to --input-file and --public-dataset rows; \
                 synthetic prompts have no recorded delays, so it has no effect"
            );
            Ok(false)
        }
        (Some(_), Some(true)) => {
            tracing::warn!(
                "--ignore-trace-delays has no effect with --fixed-schedule: the timestamps set \
                 the schedule (add --no-fixed-schedule to send rows back to back)"
            );
            Ok(false)
        }
        (Some(_), _) => Ok(true),
    }
}

/// `--synthesis-*`: checked, and kept for trace files when one differs from its default.
fn synthesis(
    args: &ProfileArgs,
    file_kind: Option<DatasetFileKind>,
) -> Result<Option<Synthesis>, UsageError> {
    let p = &args.prompt;
    for (flag, v) in [
        ("--synthesis-speedup-ratio", p.synthesis_speedup_ratio),
        (
            "--synthesis-prefix-len-multiplier",
            p.synthesis_prefix_len_multiplier,
        ),
        (
            "--synthesis-prompt-len-multiplier",
            p.synthesis_prompt_len_multiplier,
        ),
        (
            "--synthesis-output-len-multiplier",
            p.synthesis_output_len_multiplier,
        ),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(UsageError::new(format!(
                "{flag} must be zero or a positive number, got {v}"
            )));
        }
    }
    if p.synthesis_prefix_root_multiplier == 0 {
        return Err(UsageError::new(
            "--synthesis-prefix-root-multiplier must be at least 1 (the number of prefix trees)",
        ));
    }
    for (flag, v) in [
        ("--synthesis-max-isl", p.synthesis_max_isl),
        ("--synthesis-max-osl", p.synthesis_max_osl),
    ] {
        if v == Some(0) {
            return Err(UsageError::new(format!("{flag} must be at least 1 token")));
        }
    }
    let s = Synthesis {
        speedup_ratio: p.synthesis_speedup_ratio,
        prefix_len_multiplier: p.synthesis_prefix_len_multiplier,
        prefix_root_multiplier: p.synthesis_prefix_root_multiplier,
        prompt_len_multiplier: p.synthesis_prompt_len_multiplier,
        output_len_multiplier: p.synthesis_output_len_multiplier,
        max_isl: p.synthesis_max_isl,
        max_osl: p.synthesis_max_osl,
    };
    if s == Synthesis::default() {
        return Ok(None);
    }
    match file_kind {
        Some(kind) if kind.is_trace() => Ok(Some(s)),
        _ => {
            tracing::warn!(
                "--synthesis-* flags reshape trace files (--custom-dataset-type mooncake_trace, \
                 bailian_trace or burst_gpt_trace); they have no effect on this dataset"
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_dist_formats() {
        let semi = parse_seq_dist("128,64:25; 512|10,256|5:75").unwrap();
        assert_eq!(semi.len(), 2);
        assert_eq!(semi[1].isl.mean, 512.0);
        assert_eq!(semi[1].isl.stddev, 10.0);
        assert_eq!(semi[1].osl.stddev, 5.0);
        assert_eq!(semi[1].probability, 75.0);
        let bracket = parse_seq_dist("[(128,64):25,(512|10,256|5):75]").unwrap();
        assert_eq!(bracket, semi);
        let json = parse_seq_dist(
            r#"{"pairs": [{"isl": 128, "osl": 64, "prob": 25}, {"isl": 512, "isl_stddev": 10, "osl": 256, "osl_stddev": 5, "prob": 75}]}"#,
        )
        .unwrap();
        assert_eq!(json, semi);
        for (bad, needle) in [
            ("128,64:0.5;512,256:0.5", "add up to 1"),
            ("128:100", "is not ISL"),
            ("0,64:100", "at least 1"),
            ("128,64:150", "between 0 and 100"),
            ("", "empty"),
            ("[(1,2)]", "expected `:PROB`"),
            ("{\"x\": 1}", "not a JSON object"),
            ("128,-4:100", "is not ISL"),
        ] {
            let err = parse_seq_dist(bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn range_ratios() {
        assert_eq!(
            parse_range_ratio("0.25", CorpusStyle::Vllm).unwrap(),
            (0.25, 0.25)
        );
        assert_eq!(
            parse_range_ratio(r#"{"input": 0.1, "output": 0.5}"#, CorpusStyle::Vllm).unwrap(),
            (0.1, 0.5)
        );
        assert!(parse_range_ratio("1", CorpusStyle::Vllm).is_err());
        assert_eq!(
            parse_range_ratio("1", CorpusStyle::Sglang).unwrap(),
            (1.0, 1.0)
        );
        let err =
            parse_range_ratio(r#"{"input": 0.1, "output": 0.5}"#, CorpusStyle::Sglang).unwrap_err();
        assert!(err.contains("plain number"), "{err}");
        assert!(parse_range_ratio("abc", CorpusStyle::Vllm).is_err());
    }
}
