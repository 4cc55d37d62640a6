//! `datasets:` (one entry): synthetic prompts, a file (or inline `records:`), or a public
//! dataset, and the sampling distributions of lengths, turns and media.

use super::keys::{join, unknown_key};
use super::map::{Mapper, Result, entries, number};
use super::sections::list_of_text;
use super::yaml::{Node, Value};
use super::{Files, Problem};

const COMMON: [&str; 12] = [
    "name",
    "type",
    "system_prompt",
    "system_prompt_file",
    "entries",
    "random_seed",
    "sampling",
    "prompts",
    "cache_bust",
    "osl",
    "synthesis",
    "max_context_length",
];
const SYNTHETIC: [&str; 9] = [
    "prefix_prompts",
    "turns",
    "turn_delay",
    "turn_delay_ratio",
    "images",
    "audio",
    "video",
    "rankings",
    "isl",
];
const FILE: [&str; 19] = [
    "path",
    "records",
    "format",
    "trace_session_sample_ratio",
    "inter_turn_delay_cap_seconds",
    "max_idle_gap_cap_seconds",
    "replay_speedup",
    "open_loop_replay",
    "open_loop_strict",
    "omit_kv_hints",
    "force_min_tokens",
    "prompt_batch_size",
    "image_batch_size",
    "audio_batch_size",
    "video_batch_size",
    "block_size",
    "trace_idle_gap_cap_seconds",
    "ignore_trace_delays",
    "use_think_time_only",
];
const PUBLIC: [&str; 8] = [
    "dataset",
    "hf_subset",
    "filters",
    "hf_weka_dataset",
    "inter_turn_delay_cap_seconds",
    "ignore_trace_delays",
    "trace_idle_gap_cap_seconds",
    "use_think_time_only",
];

pub(super) fn datasets(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let Some(items) = node.as_seq() else {
        return Err(m.refuse(node, path, "expected a list of named datasets"));
    };
    match items {
        [] => Ok(()),
        [one] => dataset(m, one, &format!("{path}[0]")),
        [_, second, ..] => Err(m.refuse(
            second,
            &format!("{path}[1]"),
            "one dataset per benchmark (as in the Python AIPerf)",
        )),
    }
}

fn dataset(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let kind = match node.get("type") {
        Some(t) => m.text(t, &join(path, "type"))?,
        None => "synthetic".to_owned(),
    };
    let specific: &[&str] = match kind.as_str() {
        "synthetic" => &SYNTHETIC,
        "file" => &FILE,
        "public" => &PUBLIC,
        _ => {
            return Err(Problem::at(
                node.get("type").map_or(node.line, |t| t.line),
                format!("{path}.type: {kind:?} is not a dataset type (synthetic, file, public)"),
            ));
        }
    };
    let known: Vec<&str> = COMMON.iter().chain(specific).copied().collect();
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        let snake = key.snake();
        if !known.contains(&snake.as_str()) {
            return Err(unknown_key(key, path, &known));
        }
        match snake.as_str() {
            "name" | "type" => {}
            "system_prompt" => m.text_flag("system-prompt", value, &p)?,
            "system_prompt_file" => m.text_flag("system-prompt-file", value, &p)?,
            "entries" => m.int_flag("num-dataset-entries", value, &p)?,
            "random_seed" => m.int_flag("random-seed", value, &p)?,
            "sampling" => m.text_flag("dataset-sampling-strategy", value, &p)?,
            "prompts" => prompts(m, value, &p)?,
            "cache_bust" => cache_bust(m, value, &p)?,
            "osl" => lengths(m, None, Some(dist(m, value, &p)?), value, &p)?,
            "synthesis" => synthesis(m, value, &p)?,
            "prefix_prompts" => prefix_prompts(m, value, &p)?,
            "turns" => pair(m, value, &p, "session-turns-mean", "session-turns-stddev")?,
            "turn_delay" => pair(
                m,
                value,
                &p,
                "session-turn-delay-mean",
                "session-turn-delay-stddev",
            )?,
            "turn_delay_ratio" => m.num_flag("session-delay-ratio", value, &p)?,
            "images" => media(m, value, &p, IMAGES)?,
            "audio" => media(m, value, &p, AUDIO)?,
            "video" => video(m, value, &p)?,
            "rankings" => media(m, value, &p, RANKINGS)?,
            "path" => m.text_flag("input-file", value, &p)?,
            "records" => records(m, value, &p)?,
            "format" => m.text_flag("custom-dataset-type", value, &p)?,
            "dataset" => m.text_flag("public-dataset", value, &p)?,
            "hf_subset" => m.text_flag("hf-subset", value, &p)?,
            "hf_weka_dataset" => m.text_flag("hf-weka-dataset", value, &p)?,
            "filters" => {
                let items: Vec<String> = entries(value, &p)?
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.name, v.scalar_text()))
                    .collect();
                if !items.is_empty() {
                    m.push("dataset-filter", items, value, &p);
                }
            }
            "block_size" => m.int_flag("prompt-input-tokens-block-size", value, &p)?,
            "prompt_batch_size" => m.int_flag("prompt-batch-size", value, &p)?,
            "image_batch_size" => m.int_flag("image-batch-size", value, &p)?,
            "audio_batch_size" => m.int_flag("audio-batch-size", value, &p)?,
            "video_batch_size" => m.int_flag("video-batch-size", value, &p)?,
            "trace_session_sample_ratio" | "replay_speedup" => {
                m.num_flag(&snake.replace('_', "-"), value, &p)?;
            }
            "max_context_length" => m.int_flag("max-context-length", value, &p)?,
            "inter_turn_delay_cap_seconds"
            | "max_idle_gap_cap_seconds"
            | "trace_idle_gap_cap_seconds" => {
                m.seconds_flag(&snake.replace('_', "-"), value, &p)?;
            }
            "open_loop_replay"
            | "open_loop_strict"
            | "omit_kv_hints"
            | "force_min_tokens"
            | "ignore_trace_delays"
            | "use_think_time_only" => {
                m.switch(&snake.replace('_', "-"), value, &p)?;
            }
            _ => return Err(unknown_key(key, path, &known)),
        }
    }
    if kind == "file" && node.get("path").is_some() == node.get("records").is_some() {
        return Err(Problem::at(
            node.line,
            format!(
                "{path}: a file dataset needs exactly one of `path:` (a file) or `records:` (inline rows)"
            ),
        ));
    }
    if kind == "public" && node.get("dataset").is_none() && node.get("hf_weka_dataset").is_none() {
        return Err(Problem::at(
            node.line,
            format!("{path}.dataset: required for a public dataset (e.g. sharegpt)"),
        ));
    }
    Ok(())
}

/// A sampling distribution, told apart by its keys as the Python AIPerf does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Dist {
    /// Mean and standard deviation (a fixed value has 0).
    Normal(f64, f64),
    /// Weighted components, each a normal (or fixed) distribution.
    Mixture(Vec<(f64, f64, f64)>),
}

pub(super) fn dist(m: &Mapper, node: &Node, path: &str) -> Result<Dist> {
    if !matches!(node.value, Value::Map(_)) {
        return Ok(Dist::Normal(m.num(node, path)?, 0.0));
    }
    let has = |k: &str| node.get(k).is_some();
    for clamp in ["min", "max"] {
        if let Some(v) = node.get(clamp) {
            return Err(m.refuse(
                v,
                &join(path, clamp),
                "min/max clamps on a distribution are not offered; lengths follow the mean and \
                 standard deviation",
            ));
        }
    }
    let explicit = node
        .get("type")
        .map(|t| m.text(t, &join(path, "type")))
        .transpose()?;
    let kind = explicit.unwrap_or_else(|| {
        if has("peaks") {
            "multimodal"
        } else if has("points") {
            "empirical"
        } else if has("p50") || has("p99") {
            "percentile"
        } else if has("median") {
            "lognormal"
        } else if has("stddev") || has("mean") {
            "normal"
        } else {
            "fixed"
        }
        .to_owned()
    });
    let field = |k: &str| -> Result<f64> {
        node.get(k)
            .map(|v| m.num(v, &join(path, k)))
            .transpose()
            .map(|v| v.unwrap_or(0.0))
    };
    match kind.as_str() {
        "fixed" => Ok(Dist::Normal(field("value")?, 0.0)),
        "normal" => Ok(Dist::Normal(field("mean")?, field("stddev")?)),
        "multimodal" | "empirical" => {
            let list_key = if kind == "multimodal" {
                "peaks"
            } else {
                "points"
            };
            let items = node
                .get(list_key)
                .and_then(Node::as_seq)
                .ok_or_else(|| m.refuse(node, path, &format!("{list_key}: expected a list")))?;
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}.{list_key}[{i}]");
                let weight = match item.get("weight") {
                    Some(w) => m.num(w, &join(&p, "weight"))?,
                    None => 1.0,
                };
                let component = if kind == "empirical" {
                    Dist::Normal(
                        m.num(item.get("value").unwrap_or(item), &join(&p, "value"))?,
                        0.0,
                    )
                } else {
                    let mut stripped = item.clone();
                    stripped.take("weight");
                    dist(m, &stripped, &p)?
                };
                match component {
                    Dist::Normal(mean, sd) => parts.push((mean, sd, weight)),
                    Dist::Mixture(_) => {
                        return Err(m.refuse(item, &p, "nested mixtures are not offered"));
                    }
                }
            }
            Ok(Dist::Mixture(parts))
        }
        "lognormal" | "percentile" => Err(m.refuse(
            node,
            path,
            &format!(
                "{kind} distributions are not offered; give a mean and stddev (normal), or peaks \
                 of them (a mixture)"
            ),
        )),
        other => Err(m.refuse(node, path, &format!("unknown distribution type {other:?}"))),
    }
}

/// Mean and standard deviation flags of a distribution that must be one normal.
fn pair(m: &mut Mapper, node: &Node, path: &str, mean: &str, stddev: &str) -> Result<()> {
    match dist(m, node, path)? {
        Dist::Normal(mu, sd) => {
            m.flag(mean, number(mu), node, path);
            if sd > 0.0 {
                m.flag(stddev, number(sd), node, path);
            }
            Ok(())
        }
        Dist::Mixture(_) => Err(m.refuse(
            node,
            path,
            "mixtures are offered for prompt lengths only; give a mean and stddev",
        )),
    }
}

/// `prompts:` of a dataset.
fn prompts(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    const KEYS: [&str; 9] = [
        "isl",
        "osl",
        "block_size",
        "batch_size",
        "cache_bust",
        "corpus",
        "sequence_distribution",
        "random_range_ratio",
        "random_corpus_style",
    ];
    let mut isl = None;
    let mut osl = None;
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "isl" => isl = Some(dist(m, value, &p)?),
            "osl" => osl = Some(dist(m, value, &p)?),
            "block_size" => m.int_flag("prompt-input-tokens-block-size", value, &p)?,
            "batch_size" => m.int_flag("prompt-batch-size", value, &p)?,
            "cache_bust" => cache_bust(m, value, &p)?,
            "corpus" => m.text_flag("prompt-corpus", value, &p)?,
            "random_range_ratio" => match &value.value {
                Value::Map(_) => {
                    m.flag("random-range-ratio", value.to_json().to_string(), value, &p);
                }
                _ => m.text_flag("random-range-ratio", value, &p)?,
            },
            "random_corpus_style" => m.text_flag("random-corpus-style", value, &p)?,
            "sequence_distribution" => sequence_distribution(m, value, &p)?,
            _ => return Err(unknown_key(key, path, &KEYS)),
        }
    }
    lengths(m, isl, osl, node, path)
}

/// `--isl`/`--osl` (and their standard deviations), or `--seq-dist` when either is a mixture
/// (its components paired independently: every ISL peak with every OSL peak).
fn lengths(
    m: &mut Mapper,
    isl: Option<Dist>,
    osl: Option<Dist>,
    node: &Node,
    path: &str,
) -> Result<()> {
    let mixture = matches!(isl, Some(Dist::Mixture(_))) || matches!(osl, Some(Dist::Mixture(_)));
    if !mixture {
        for (d, mean, sd) in [(isl, "isl", "isl-stddev"), (osl, "osl", "osl-stddev")] {
            if let Some(Dist::Normal(mu, s)) = d {
                m.flag(mean, number(mu), node, path);
                if s > 0.0 {
                    m.flag(sd, number(s), node, path);
                }
            }
        }
        return Ok(());
    }
    let parts = |d: Option<Dist>| -> Option<Vec<(f64, f64, f64)>> {
        match d {
            Some(Dist::Normal(mu, sd)) => Some(vec![(mu, sd, 1.0)]),
            Some(Dist::Mixture(p)) => Some(p),
            None => None,
        }
    };
    let (Some(isl), Some(osl)) = (parts(isl), parts(osl)) else {
        return Err(m.refuse(
            node,
            path,
            "a mixture of prompt lengths needs both isl and osl (they become --seq-dist pairs)",
        ));
    };
    let isl_total: f64 = isl.iter().map(|p| p.2).sum();
    let osl_total: f64 = osl.iter().map(|p| p.2).sum();
    let mut pairs = Vec::new();
    for (im, isd, iw) in &isl {
        for (om, osd, ow) in &osl {
            let prob = 100.0 * iw / isl_total * ow / osl_total;
            pairs.push(format!(
                "{}|{},{}|{}:{}",
                number(im.round()),
                number(*isd),
                number(om.round()),
                number(*osd),
                prob
            ));
        }
    }
    m.flag("seq-dist", pairs.join(";"), node, path);
    Ok(())
}

fn sequence_distribution(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let Some(items) = node.as_seq() else {
        return m.text_flag("seq-dist", node, path);
    };
    let mut pairs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let get =
            |k: &str| -> Result<f64> { item.get(k).map_or(Ok(0.0), |v| m.num(v, &join(&p, k))) };
        let (isl, isd, osl, osd, prob) = (
            get("isl")?,
            get("isl_stddev")?,
            get("osl")?,
            get("osl_stddev")?,
            get("probability")?,
        );
        for (key, _) in entries(item, &p)? {
            if !["isl", "isl_stddev", "osl", "osl_stddev", "probability"]
                .contains(&key.snake().as_str())
            {
                return Err(unknown_key(
                    key,
                    &p,
                    &["isl", "isl_stddev", "osl", "osl_stddev", "probability"],
                ));
            }
        }
        pairs.push(format!(
            "{}|{},{}|{}:{}",
            number(isl),
            number(isd),
            number(osl),
            number(osd),
            number(prob)
        ));
    }
    m.flag("seq-dist", pairs.join(";"), node, path);
    Ok(())
}

fn cache_bust(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    match node.get("target") {
        Some(t) => m.text_flag("cache-bust", t, &join(path, "target")),
        None if node.as_map().is_some() => Ok(()),
        None => m.text_flag("cache-bust", node, path),
    }
}

fn synthesis(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    const KEYS: [&str; 8] = [
        "speedup_ratio",
        "prefix_len_multiplier",
        "prefix_root_multiplier",
        "prompt_len_multiplier",
        "output_len_multiplier",
        "max_isl",
        "max_osl",
        "allow_dataset_wrap",
    ];
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        let snake = key.snake();
        match snake.as_str() {
            "allow_dataset_wrap" => m.switch("allow-dataset-wrap", value, &p)?,
            "max_isl" | "max_osl" => {
                m.int_flag(&format!("synthesis-{}", snake.replace('_', "-")), value, &p)?;
            }
            s if KEYS.contains(&s) => {
                m.num_flag(&format!("synthesis-{}", s.replace('_', "-")), value, &p)?;
            }
            _ => return Err(unknown_key(key, path, &KEYS)),
        }
    }
    Ok(())
}

fn prefix_prompts(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let table: [(&str, &str); 4] = [
        ("pool_size", "prompt-prefix-pool-size"),
        ("length", "prompt-prefix-length"),
        ("shared_system_length", "shared-system-prompt-length"),
        ("user_context_length", "user-context-prompt-length"),
    ];
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        let Some((_, flag)) = table.iter().find(|(k, _)| *k == key.snake()) else {
            let known: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            return Err(unknown_key(key, path, &known));
        };
        match dist(m, value, &p)? {
            Dist::Normal(mu, 0.0) => m.flag(flag, number(mu), value, &p),
            _ => return Err(m.refuse(value, &p, "a fixed number of tokens is offered here")),
        }
    }
    Ok(())
}

/// A media section: (key, flag, how): `D` a distribution (flag is the `-mean` flag's stem),
/// `N` a number, `T` text, `L` a list.
type MediaTable = &'static [(&'static str, &'static str, char)];

const IMAGES: MediaTable = &[
    ("batch_size", "image-batch-size", 'N'),
    ("width", "image-width", 'D'),
    ("height", "image-height", 'D'),
    ("format", "image-format", 'T'),
    ("source", "image-source", 'T'),
    ("source_sampling", "image-source-sampling", 'T'),
];
const AUDIO: MediaTable = &[
    ("batch_size", "audio-batch-size", 'N'),
    ("length", "audio-length", 'D'),
    ("format", "audio-format", 'T'),
    ("sample_rates", "audio-sample-rates", 'L'),
    ("depths", "audio-depths", 'L'),
    ("channels", "audio-num-channels", 'N'),
];
const RANKINGS: MediaTable = &[
    ("passages", "rankings-passages", 'D'),
    ("passage_tokens", "rankings-passages-prompt-token", 'D'),
    ("query_tokens", "rankings-query-prompt-token", 'D'),
];
const VIDEO: MediaTable = &[
    ("batch_size", "video-batch-size", 'N'),
    ("duration", "video-duration", 'N'),
    ("fps", "video-fps", 'N'),
    ("width", "video-width", 'N'),
    ("height", "video-height", 'N'),
    ("format", "video-format", 'T'),
    ("codec", "video-codec", 'T'),
    ("synth_type", "video-synth-type", 'T'),
];
const VIDEO_AUDIO: MediaTable = &[
    ("sample_rate", "video-audio-sample-rate", 'N'),
    ("channels", "video-audio-num-channels", 'N'),
    ("codec", "video-audio-codec", 'T'),
    ("depth", "video-audio-depth", 'N'),
];

fn media(m: &mut Mapper, node: &Node, path: &str, table: MediaTable) -> Result<()> {
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        let Some((_, flag, how)) = table.iter().find(|(k, _, _)| *k == key.snake()) else {
            let known: Vec<&str> = table.iter().map(|(k, _, _)| *k).collect();
            return Err(unknown_key(key, path, &known));
        };
        match how {
            'D' => pair(
                m,
                value,
                &p,
                &format!("{flag}-mean"),
                &format!("{flag}-stddev"),
            )?,
            'N' => m.num_flag(flag, value, &p)?,
            'L' => {
                let items = list_of_text(m, value, &p)?;
                m.push(flag, items, value, &p);
            }
            _ => m.text_flag(flag, value, &p)?,
        }
    }
    Ok(())
}

fn video(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let mut rest = node.clone();
    if let Some((key, audio)) = rest.take("audio") {
        media(m, &audio, &join(path, &key.name), VIDEO_AUDIO)?;
    }
    media(m, &rest, path, VIDEO)
}

/// Inline `records:` written as a JSON-lines file (a mapping of lists: one file per pool, in
/// a directory) whose path becomes `--input-file`.
fn records(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let dir = std::env::temp_dir().join("aiperf-inline-records");
    let lines = |items: &[Node]| -> String {
        items
            .iter()
            .map(|r| r.to_json().to_string() + "\n")
            .collect::<String>()
    };
    let (hash_source, target) = match &node.value {
        Value::Seq(items) => {
            let text = lines(items);
            (text.clone(), vec![(None, text)])
        }
        Value::Map(pools) => {
            let mut files = Vec::new();
            for (key, value) in pools {
                let items = value.as_seq().ok_or_else(|| {
                    m.refuse(value, &join(path, &key.name), "expected a list of records")
                })?;
                files.push((Some(format!("{}.jsonl", key.name)), lines(items)));
            }
            (format!("{files:?}"), files)
        }
        _ => return Err(m.refuse(node, path, "expected a list of records")),
    };
    if let Some(items) = node.as_seq()
        && items.len() > 500
    {
        m.warn(format!(
            "{path}: {} inline records; a JSON-lines file (path:) is easier to review",
            items.len()
        ));
    }
    let name = format!("{:016x}", fnv(&hash_source));
    let single = target.len() == 1 && target[0].0.is_none();
    let location = if single {
        dir.join(format!("{name}.jsonl"))
    } else {
        dir.join(&name)
    };
    if m.files == Files::Write {
        let write = || -> std::io::Result<()> {
            let parent = if single {
                dir.clone()
            } else {
                location.clone()
            };
            std::fs::create_dir_all(&parent)?;
            for (file, text) in &target {
                let to = match file {
                    Some(f) => location.join(f),
                    None => location.clone(),
                };
                std::fs::write(to, text)?;
            }
            Ok(())
        };
        write().map_err(|e| {
            Problem::at(
                node.line,
                format!(
                    "{path}: cannot write the records to {}: {e}",
                    location.display()
                ),
            )
        })?;
    }
    m.flag("input-file", location.display().to_string(), node, path);
    Ok(())
}

/// A stable 64-bit hash of text (FNV-1a), naming files by their content.
pub(super) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
