//! Where prompts come from and how they are shaped: synthetic lengths, sessions and shared
//! prefixes, or an input file (its type guessed from its first row).

use std::path::Path;

use serde_json::{Map, Value};

use super::DEFAULT_ISL;
use super::plan::first;
use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::*;

pub(super) fn resolve_input(args: &ProfileArgs) -> Result<InputConfig, UsageError> {
    let a = &args.input;
    let isl = first(&a.isl);
    let osl = first(&a.osl);
    if isl == Some(0) {
        return Err(UsageError::new("--isl must be at least 1 token"));
    }
    let max = crate::dataset::prompts::MAX_PROMPT_TOKENS;
    if let Some(too_long) = a.isl.iter().find(|v| **v > max) {
        return Err(UsageError::new(format!(
            "--isl {too_long} is larger than the supported {max} tokens"
        )));
    }
    if osl == Some(0) {
        return Err(UsageError::new("--osl must be at least 1 token"));
    }
    let isl_stddev = stddev("--isl-stddev", a.isl_stddev)?;
    let osl_stddev = stddev("--osl-stddev", a.osl_stddev)?;
    let osl = osl.map(|m| LengthDist {
        mean: f64::from(m),
        stddev: osl_stddev,
    });
    if let Some(name) = &a.public_dataset {
        let (path, _) = super::public::resolve_public(args, name)?;
        return Ok(InputConfig::File {
            path,
            kind: DatasetFileKind::PublicDataset,
            osl,
            sampling: a.dataset_sampling_strategy.unwrap_or(Sampling::Sequential),
            block_tokens: TRACE_BLOCK_TOKENS,
        });
    }
    for (flag, given) in [
        ("--hf-subset", a.hf_subset.is_some()),
        ("--dataset-filter", !a.dataset_filters.is_empty()),
    ] {
        if given {
            return Err(UsageError::new(format!(
                "{flag} requires --public-dataset: it selects rows of a public dataset"
            )));
        }
    }
    if let Some(path) = &a.input_file {
        let rankings_flag = rankings_flags(a).next();
        let synthetic_only = [
            ("--num-prefix-prompts", a.num_prefix_prompts != 0),
            ("--prefix-prompt-length", a.prefix_prompt_length != 0),
            (
                "--shared-system-prompt-length",
                a.shared_system_prompt_length != 0,
            ),
            ("--session-turns-mean", a.session_turns_mean != 1.0),
            ("--session-turns-stddev", a.session_turns_stddev != 0.0),
            (
                "--session-turn-delay-mean",
                a.session_turn_delay_mean != 0.0,
            ),
            (
                "--session-turn-delay-stddev",
                a.session_turn_delay_stddev != 0.0,
            ),
            (rankings_flag.unwrap_or_default(), rankings_flag.is_some()),
        ];
        if let Some((flag, _)) = synthetic_only.iter().find(|f| f.1) {
            return Err(UsageError::new(format!(
                "{flag} shapes synthetic prompts; --input-file brings its own (drop one of them)"
            )));
        }
        let kind = match &a.custom_dataset_type {
            Some(name) => parse_kind(name)?,
            None if path.is_dir() => DatasetFileKind::RandomPool,
            None => sniff_kind(path)?,
        };
        let directory_ok = matches!(
            kind,
            DatasetFileKind::RandomPool | DatasetFileKind::RawPayload
        );
        if !(path.is_file() || directory_ok && path.is_dir()) {
            return Err(UsageError::new(format!(
                "--input-file: {} does not exist or is not a file",
                path.display()
            )));
        }
        if a.isl_block_size == Some(0) {
            return Err(UsageError::new("--isl-block-size must be at least 1 token"));
        }
        let default_sampling = match kind {
            DatasetFileKind::RandomPool => Sampling::Shuffle,
            _ => Sampling::Sequential,
        };
        return Ok(InputConfig::File {
            path: path.clone(),
            kind,
            osl,
            sampling: a.dataset_sampling_strategy.unwrap_or(default_sampling),
            block_tokens: a.isl_block_size.unwrap_or(kind.default_block_tokens()),
        });
    }
    if a.custom_dataset_type.is_some() {
        return Err(UsageError::new(
            "--custom-dataset-type needs --input-file: name the file to read",
        ));
    }
    if a.num_dataset_entries == 0 {
        return Err(UsageError::new("--num-dataset-entries must be at least 1"));
    }
    Ok(InputConfig::Synthetic {
        entries: a.num_dataset_entries,
        isl: LengthDist {
            mean: f64::from(isl.unwrap_or(DEFAULT_ISL)),
            stddev: isl_stddev,
        },
        osl,
        sampling: a.dataset_sampling_strategy.unwrap_or(Sampling::Shuffle),
        batch: a.prompt_batch_size,
        sessions: session_shape(a)?,
        prefixes: prefix_shape(a)?,
        rankings: rankings_shape(args)?,
    })
}

/// The `--rankings-*` flags given.
fn rankings_flags(a: &crate::cli::profile::InputArgs) -> impl Iterator<Item = &'static str> {
    [
        ("--rankings-passages-mean", a.rankings_passages_mean),
        ("--rankings-passages-stddev", a.rankings_passages_stddev),
        (
            "--rankings-passages-prompt-token-mean",
            a.rankings_passages_prompt_token_mean,
        ),
        (
            "--rankings-passages-prompt-token-stddev",
            a.rankings_passages_prompt_token_stddev,
        ),
        (
            "--rankings-query-prompt-token-mean",
            a.rankings_query_prompt_token_mean,
        ),
        (
            "--rankings-query-prompt-token-stddev",
            a.rankings_query_prompt_token_stddev,
        ),
    ]
    .into_iter()
    .filter_map(|(flag, value)| value.map(|_| flag))
}

/// Synthetic rankings requests (`--rankings-*`) for the rankings endpoint types (their names
/// end in `rankings`, as the Python AIPerf tells them apart); `None` for the others. A flag
/// left unset keeps the default of [`RankingsShape`]; a standard deviation needs its mean, as
/// in the Python AIPerf.
fn rankings_shape(args: &ProfileArgs) -> Result<Option<RankingsShape>, UsageError> {
    let a = &args.input;
    let kind = &args.endpoint.endpoint_type;
    if !kind.contains("rankings") {
        return match rankings_flags(a).next() {
            Some(flag) => Err(UsageError::new(format!(
                "{flag} shapes synthetic rankings requests; --endpoint-type {kind} sends no \
                 passages (use --endpoint-type nim_rankings, hf_tei_rankings or \
                 cohere_rankings, or drop {flag})"
            ))),
            None => Ok(None),
        };
    }
    let dist = |mean_flag: &str,
                mean: Option<u32>,
                stddev_flag: &str,
                stddev: Option<u32>,
                default: LengthDist|
     -> Result<LengthDist, UsageError> {
        match (mean, stddev) {
            (Some(0), _) => Err(UsageError::new(format!("{mean_flag} must be at least 1"))),
            (None, Some(_)) => Err(UsageError::new(format!(
                "{stddev_flag} needs {mean_flag}: give the mean it varies around (e.g. \
                 {mean_flag} {})",
                default.mean
            ))),
            (Some(mean), stddev) => Ok(LengthDist {
                mean: f64::from(mean),
                stddev: f64::from(stddev.unwrap_or(0)),
            }),
            (None, None) => Ok(default),
        }
    };
    let default = RankingsShape::default();
    Ok(Some(RankingsShape {
        passages: dist(
            "--rankings-passages-mean",
            a.rankings_passages_mean,
            "--rankings-passages-stddev",
            a.rankings_passages_stddev,
            default.passages,
        )?,
        passage_tokens: dist(
            "--rankings-passages-prompt-token-mean",
            a.rankings_passages_prompt_token_mean,
            "--rankings-passages-prompt-token-stddev",
            a.rankings_passages_prompt_token_stddev,
            default.passage_tokens,
        )?,
        query_tokens: dist(
            "--rankings-query-prompt-token-mean",
            a.rankings_query_prompt_token_mean,
            "--rankings-query-prompt-token-stddev",
            a.rankings_query_prompt_token_stddev,
            default.query_tokens,
        )?,
    }))
}

/// `--num-prefix-prompts`, `--prefix-prompt-length`, `--shared-system-prompt-length`.
pub(super) fn prefix_shape(a: &crate::cli::profile::InputArgs) -> Result<PrefixShape, UsageError> {
    match (a.num_prefix_prompts, a.prefix_prompt_length) {
        (0, 0) => {}
        (0, _) => {
            return Err(UsageError::new(
                "--prefix-prompt-length needs --num-prefix-prompts: how many distinct prefixes \
                 to share (e.g. --num-prefix-prompts 4)",
            ));
        }
        (_, 0) => {
            return Err(UsageError::new(
                "--num-prefix-prompts needs --prefix-prompt-length: the tokens of each prefix \
                 (e.g. --prefix-prompt-length 512)",
            ));
        }
        _ => {}
    }
    Ok(PrefixShape {
        count: a.num_prefix_prompts,
        length: a.prefix_prompt_length,
        system_length: a.shared_system_prompt_length,
    })
}

/// `--session-turns-*` and `--session-turn-delay-*`: the shape of synthetic conversations.
pub(super) fn session_shape(
    a: &crate::cli::profile::InputArgs,
) -> Result<SessionShape, UsageError> {
    let non_negative = |flag: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(UsageError::new(format!(
                "{flag} must be zero or a positive number, got {v}"
            )))
        }
    };
    if !(a.session_turns_mean.is_finite() && a.session_turns_mean >= 1.0) {
        return Err(UsageError::new(format!(
            "--session-turns-mean must be at least 1 (turns per conversation), got {}",
            a.session_turns_mean
        )));
    }
    let ratio = non_negative("--session-delay-ratio", a.session_delay_ratio)?;
    Ok(SessionShape {
        turns: LengthDist {
            mean: a.session_turns_mean,
            stddev: non_negative("--session-turns-stddev", a.session_turns_stddev)?,
        },
        delay_ms_mean: non_negative("--session-turn-delay-mean", a.session_turn_delay_mean)?
            * ratio,
        delay_ms_stddev: non_negative("--session-turn-delay-stddev", a.session_turn_delay_stddev)?
            * ratio,
    })
}

pub(super) fn stddev(flag: &str, v: f64) -> Result<f64, UsageError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(UsageError::new(format!(
            "{flag} must be zero or positive, got {v}"
        )))
    }
}

/// `--custom-dataset-type` (snake_case or kebab-case, as the Python AIPerf takes it).
pub(super) fn parse_kind(name: &str) -> Result<DatasetFileKind, UsageError> {
    use clap::ValueEnum;
    let normalized = name.trim().to_ascii_lowercase().replace('-', "_");
    if let Ok(kind) = DatasetFileKind::from_str(&normalized, false) {
        return Ok(kind);
    }
    let why = match normalized.as_str() {
        "baseten_trace" => "its Parquet and Arrow files are not read here",
        "weka_trace" | "tracelab" | "dag_jsonl" => {
            "agentic replay (subagent sessions spawned and joined) is not offered here"
        }
        "sagemaker_data_capture" => "SageMaker capture files are not read here",
        n if n.starts_with("speed_bench") => {
            "SPEED-Bench is read from Hugging Face Parquet files, which are not read here"
        }
        _ => {
            let known: Vec<_> = DatasetFileKind::value_variants()
                .iter()
                .filter_map(|k| k.to_possible_value())
                .map(|v| v.get_name().to_owned())
                .collect();
            return Err(UsageError::new(format!(
                "--custom-dataset-type {name:?} is not a known type (known: {})",
                known.join(", ")
            )));
        }
    };
    Err(UsageError::new(format!(
        "--custom-dataset-type {name} is not supported: {why}; convert the rows to \
         single_turn or multi_turn JSON lines (or mooncake_trace for token counts and hash_ids)"
    )))
}

/// The dataset type of a file given without `--custom-dataset-type`, from its first row.
pub(super) fn sniff_kind(path: &Path) -> Result<DatasetFileKind, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("--input-file: cannot read {}: {e}", path.display()))
    })?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.contains("Request tokens") && first.contains("Response tokens") {
        return Ok(DatasetFileKind::BurstGptTrace);
    }
    if serde_json::from_str::<Map<String, Value>>(first).is_err()
        && serde_json::from_str::<Map<String, Value>>(&text)
            .is_ok_and(|doc| doc.get("data").is_some_and(Value::is_array))
    {
        return Ok(DatasetFileKind::InputsJson);
    }
    let row: Map<String, Value> = serde_json::from_str(first).map_err(|e| {
        UsageError::new(format!(
            "--input-file: {} line 1 is not a JSON object ({e}); each line should be one \
             row, or set --custom-dataset-type",
            path.display()
        ))
    })?;
    Ok(if row.contains_key("turns") {
        DatasetFileKind::MultiTurn
    } else if row.contains_key("chat_id") && row.contains_key("parent_chat_id") {
        DatasetFileKind::BailianTrace
    } else if row.get("messages").is_some_and(Value::is_array) {
        DatasetFileKind::RawPayload
    } else if row.contains_key("input_length") || row.contains_key("hash_ids") {
        DatasetFileKind::MooncakeTrace
    } else {
        DatasetFileKind::SingleTurn
    })
}

/// `--tokenizer` (or its absence) for the run's first model.
pub(super) fn resolve_tokenizer(
    args: &ProfileArgs,
    sim: Option<&SimTarget>,
    endpoint: &EndpointConfig,
    models: &[String],
) -> Result<TokenizerSpec, UsageError> {
    if args.tokenizer.tokenizer_trust_remote_code {
        tracing::warn!(
            "--tokenizer-trust-remote-code has no effect here: tokenizers are read from \
             tokenizer.json files, which never run code"
        );
    }
    Ok(match (&args.tokenizer.tokenizer, sim) {
        (None, Some(_)) => TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase,
        },
        (Some(name), Some(_)) if name == "server" => {
            return Err(UsageError::new(
                "--tokenizer server: the built-in simulator counts with o200k_base, which aiperf \
                 already uses with --sim; drop --tokenizer (or run `aiperf sim` and point --url \
                 at it)",
            ));
        }
        (Some(name), None) if name == "server" => TokenizerSpec::Server {
            url: endpoint.urls[0].clone(),
            model: models[0].clone(),
        },
        (name, _) => TokenizerSpec::resolve(
            name.as_deref(),
            &models[0],
            &args.tokenizer.tokenizer_revision,
        ),
    })
}
