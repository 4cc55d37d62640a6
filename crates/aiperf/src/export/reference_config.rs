//! The run's configuration in the reference tool's shape: `input_config` of
//! `profile_export_aiperf.json` and `cfg` of `run_config.json` (its `BenchmarkConfig`), and the
//! run's place in its plan (`run_info`, and the identity fields of `run_config.json`).
//!
//! As the reference tool writes its configuration, only what is set is written: a value at the
//! reference tool's default is left out, and nothing is written as `null`. Secrets are
//! redacted. Settings the reference tool cannot express stay in `aiperf_config`, the full
//! settings written beside it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::settings::{AudioGen, ImageGen, ImageSource, VideoGen};
use serde_json::{Map, Value};

pub use super::reference_dataset::{CacheBust, CorpusDoc, PublicDataset, SeqPairDoc, SynthesisDoc};
use super::reference_dataset::{cache_bust, corpus_name, prompt_options, synthesis};
use super::reference_phases::phase_list;
pub use super::reference_phases::{CancellationDoc, Phase, RampDoc, RateSeriesDoc};
use crate::settings::{
    ConnectionReuse, DatasetFileKind, Encoding, ExportLevel, HeaderValue, InputConfig, LengthDist,
    LoadMode, ModelSelection, ProfileConfig, REDACTED, Sampling, StopCondition, TokenizerSpec,
    UiMode,
};

/// The reference tool's default request timeout, seconds.
const DEFAULT_TIMEOUT_SECS: f64 = 21_600.0;
/// The name of the one dataset of a run.
const DATASET_NAME: &str = "main";

/// `BenchmarkConfig`: what one benchmark runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceConfig {
    pub models: Models,
    pub endpoint: EndpointSection,
    pub datasets: Vec<Dataset>,
    pub phases: Vec<Phase>,
    pub artifacts: Artifacts,
    /// Goodput targets, metric tag → threshold in the metric's display unit.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub slos: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<Tokenizer>,
    #[serde(default, skip_serializing_if = "Telemetry::is_default")]
    pub gpu_telemetry: Telemetry,
    #[serde(default, skip_serializing_if = "Telemetry::is_default")]
    pub server_metrics: Telemetry,
    /// Written when the network round trip is taken out (`--network-latency-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_latency: Option<NetworkLatencyDoc>,
    pub runtime: Runtime,
}

/// `network_latency`: on, with the probes' interval or the fixed mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkLatencyDoc {
    pub enabled: bool,
    /// Seconds, when measured and given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_interval: Option<f64>,
    /// Milliseconds, when fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Models {
    /// `random`; round robin (the default) is not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    pub items: Vec<ModelItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelItem {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSection {
    /// Credentials in a URL's user part are redacted.
    pub urls: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// Only a path other than the endpoint type's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Always redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub streaming: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_reuse: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_legacy_max_tokens: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_server_token_count: bool,
    /// Values of credential headers are redacted.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
    /// `--extra-inputs`, merged into every request body.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// The run's one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Dataset {
    Synthetic(Box<SyntheticDataset>),
    File(Box<FileDataset>),
    Public(PublicDataset),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticDataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    pub name: String,
    pub entries: u32,
    pub random_seed: u64,
    /// Sequential (the default) is not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<String>,
    pub prompts: Prompts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_prompts: Option<PrefixPrompts>,
    /// Turns per conversation, when not one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<Distribution>,
    /// Pause before each later turn, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_delay: Option<Distribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Images>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Audio>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Video>,
}

/// Synthetic images (`--image-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Images {
    pub batch_size: u32,
    pub width: Distribution,
    pub height: Distribution,
    pub format: String,
    /// `noise`, `assets` or a directory.
    pub source: String,
    pub source_sampling: String,
}

/// Synthetic audio (`--audio-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audio {
    pub batch_size: u32,
    /// Seconds.
    pub length: Distribution,
    pub format: String,
    /// kHz.
    pub sample_rates: Vec<f64>,
    pub depths: Vec<u16>,
    pub channels: u8,
}

/// Synthetic video (`--video-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Video {
    pub batch_size: u32,
    pub duration: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub codec: String,
    pub synth_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<VideoAudioDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoAudioDoc {
    pub sample_rate: u32,
    pub channels: u8,
    pub codec: String,
    pub depth: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isl: Option<Distribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osl: Option<Distribution>,
    /// Prompts per request, when not one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_bust: Option<CacheBust>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_distribution: Option<Vec<SeqPairDoc>>,
    /// As given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_range_ratio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_corpus_style: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixPrompts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_system_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context_length: Option<u32>,
}

/// A normal distribution; a zero deviation is not written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub mean: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    pub name: String,
    pub path: PathBuf,
    pub format: String,
    /// Conversations drawn from a `random_pool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<String>,
    pub random_seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osl: Option<Distribution>,
    /// Tokens per `hash_ids` block of a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u32>,
    /// `--synthesis-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<SynthesisDoc>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_trace_delays: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_bust: Option<CacheBust>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<CorpusDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    pub dir: PathBuf,
    /// `false` at the summary export level; per-request records are the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw: bool,
    /// `--slice-duration`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_duration: Option<f64>,
    /// `--profile-export-prefix`, as the export names take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `--export-outputs-json`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub export_outputs_json: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tokenizer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// GPU telemetry or server metrics: written when off, or when given endpoints or formats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// Only `false` is written (collection is on by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<String>,
    /// GPU telemetry: the metrics file of DCGM fields read besides the standard ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<PathBuf>,
    /// GPU telemetry: `pynvml` when this machine's GPUs are read (DCGM is the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<String>,
}

impl Telemetry {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    pub ui: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a run decided once its dataset was known: each phase's load pattern and stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedPhases {
    pub profiling: LoadMode,
    pub stop: StopCondition,
    pub warmup: Option<(LoadMode, StopCondition)>,
}

/// Where a benchmark sits in its plan (a sweep, repeated runs, a search).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunIdentity {
    /// One UUID for every run of the plan.
    pub sweep_id: String,
    pub variation: Variation,
    /// Zero-based trial of the variation.
    pub trial: u32,
    /// `run_0001`: the trial, one-based.
    pub label: String,
}

/// The reference tool's `SweepVariation`: the point of the plan a run measures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Variation {
    pub index: usize,
    /// `phases.profiling.concurrency=8`, `search_iter_0002`, or `base` (repeated runs).
    pub label: String,
    /// Configuration path → value.
    pub values: Map<String, Value>,
}

/// `run_info` of `profile_export_aiperf.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfoDoc<'a> {
    pub benchmark_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_id: Option<&'a str>,
    pub random_seed: u64,
    pub trial: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_values: Option<&'a Map<String, Value>>,
    pub cli_command: &'a str,
}

/// `run_info`: the run's identity, seed and command line.
pub fn run_info<'a>(
    benchmark_id: &'a str,
    config: &'a ProfileConfig,
    identity: Option<&'a RunIdentity>,
) -> RunInfoDoc<'a> {
    RunInfoDoc {
        benchmark_id,
        sweep_id: identity.map(|i| i.sweep_id.as_str()),
        random_seed: config.random_seed,
        trial: identity.map_or(0, |i| i.trial),
        run_label: identity.map(|i| i.label.as_str()),
        variation_label: identity.map(|i| i.variation.label.as_str()),
        variation_index: identity.map(|i| i.variation.index),
        variation_values: identity.map(|i| &i.variation.values),
        cli_command: &config.cli_command,
    }
}

/// The configuration of a run writing into `artifact_dir`, with the phases it resolved.
pub fn reference_config(
    config: &ProfileConfig,
    phases: &ResolvedPhases,
    artifact_dir: &Path,
) -> ReferenceConfig {
    let fixed_schedule = matches!(phases.profiling, LoadMode::FixedSchedule { .. });
    ReferenceConfig {
        models: Models {
            strategy: (config.model_selection == ModelSelection::Random)
                .then(|| "random".to_owned()),
            items: config
                .models
                .iter()
                .map(|m| ModelItem { name: m.clone() })
                .collect(),
        },
        endpoint: endpoint(config),
        datasets: vec![dataset(config, fixed_schedule)],
        phases: phase_list(config, phases),
        artifacts: Artifacts {
            dir: artifact_dir.to_path_buf(),
            records: (config.output.export_level == ExportLevel::Summary).then_some(false),
            raw: config.output.export_level == ExportLevel::Raw,
            slice_duration: config.output.slice_duration_secs,
            prefix: config.output.export_prefix.clone(),
            export_outputs_json: config.output.export_outputs_json,
        },
        slos: config
            .goodput
            .iter()
            .map(|g| (g.tag.clone(), Value::from(g.threshold)))
            .collect(),
        tokenizer: tokenizer(&config.tokenizer),
        gpu_telemetry: Telemetry {
            metrics_file: config.output.gpu_telemetry.metrics_file.clone(),
            collector: (config.output.gpu_telemetry.collector
                == crate::settings::GpuCollector::Nvml)
                .then(|| "pynvml".to_owned()),
            ..telemetry(
                config.output.gpu_telemetry.enabled,
                &config.output.gpu_telemetry.urls,
                false,
            )
        },
        server_metrics: telemetry(
            config.output.server_metrics.enabled,
            &config.output.server_metrics.urls,
            config.output.server_metrics.jsonl,
        ),
        network_latency: network_latency(&config.network_latency),
        runtime: Runtime {
            ui: match config.ui {
                UiMode::Simple => "simple",
                UiMode::None => "none",
                UiMode::Dashboard => "dashboard",
            }
            .to_owned(),
        },
    }
}

fn endpoint(config: &ProfileConfig) -> EndpointSection {
    let e = &config.endpoint;
    let own_path =
        crate::endpoints::by_name(e.kind.name()).map(|api| api.default_path(e.streaming));
    EndpointSection {
        urls: e.urls.iter().map(|u| redact_url(u)).collect(),
        kind: e.kind.name().to_owned(),
        path: (own_path != Some(e.path.as_str())).then(|| e.path.clone()),
        api_key: e.api_key.as_ref().map(|_| REDACTED.to_owned()),
        timeout: (e.timeout_secs != DEFAULT_TIMEOUT_SECS).then_some(e.timeout_secs),
        streaming: e.streaming,
        connection_reuse: match e.connection_reuse {
            ConnectionReuse::Pooled => None,
            ConnectionReuse::Never => Some("never".to_owned()),
            ConnectionReuse::StickyUserSessions => Some("sticky-user-sessions".to_owned()),
        },
        use_legacy_max_tokens: e.use_legacy_max_tokens,
        use_server_token_count: e.use_server_token_count,
        headers: e
            .headers
            .iter()
            .map(|h| {
                let value = match &h.value {
                    HeaderValue::Plain(v) => v.as_str(),
                    HeaderValue::Secret(_) => REDACTED,
                };
                (h.name.clone(), Value::from(value))
            })
            .collect(),
        extra: e.extra_inputs.clone(),
    }
}

/// `scheme://user:password@host` → `scheme://<redacted>@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{REDACTED}{}", &rest[at..]),
        None => url.to_owned(),
    }
}

fn distribution(d: LengthDist) -> Distribution {
    Distribution {
        mean: d.mean,
        stddev: (d.stddev != 0.0).then_some(d.stddev),
    }
}

fn sampling(s: Sampling) -> Option<String> {
    match s {
        Sampling::Sequential => None,
        Sampling::Shuffle => Some("shuffle".to_owned()),
        Sampling::Random => Some("random".to_owned()),
    }
}

fn dataset(config: &ProfileConfig, fixed_schedule: bool) -> Dataset {
    let nonzero = |n: u32| (n != 0).then_some(n);
    match &config.input {
        InputConfig::Synthetic {
            entries,
            isl,
            osl,
            sampling: order,
            batch,
            sessions,
            prefixes,
            ..
        } => Dataset::Synthetic(Box::new(SyntheticDataset {
            system_prompt: config.dataset.system_prompt.clone(),
            name: DATASET_NAME.to_owned(),
            entries: *entries,
            random_seed: config.random_seed,
            sampling: sampling(*order),
            prompts: Prompts {
                isl: Some(distribution(*isl)),
                osl: osl.map(distribution),
                batch_size: (*batch != 1).then_some(*batch),
                ..prompt_options(&config.dataset)
            },
            prefix_prompts: (prefixes.count != 0
                || prefixes.system_length != 0
                || config.dataset.user_context_length.is_some())
            .then(|| PrefixPrompts {
                pool_size: nonzero(prefixes.count),
                length: nonzero(prefixes.length),
                shared_system_length: nonzero(prefixes.system_length),
                user_context_length: config.dataset.user_context_length,
            }),
            turns: (sessions.turns.mean != 1.0 || sessions.turns.stddev != 0.0)
                .then(|| distribution(sessions.turns)),
            turn_delay: (sessions.delay_ms_mean != 0.0).then_some(Distribution {
                mean: sessions.delay_ms_mean,
                stddev: (sessions.delay_ms_stddev != 0.0).then_some(sessions.delay_ms_stddev),
            }),
            images: config.media.image.as_ref().map(images),
            audio: config.media.audio.as_ref().map(audio),
            video: config.media.video.as_ref().map(video),
        })),
        InputConfig::File {
            kind: DatasetFileKind::PublicDataset,
            osl,
            sampling: order,
            ..
        } => Dataset::Public(PublicDataset {
            name: DATASET_NAME.to_owned(),
            dataset: (config.dataset.public.as_ref()).map_or(String::new(), |p| p.name.clone()),
            system_prompt: config.dataset.system_prompt.clone(),
            sampling: sampling(*order),
            hf_subset: (config.dataset.public.as_ref()).and_then(|p| p.subset.clone()),
            osl: osl.map(distribution),
        }),
        InputConfig::File {
            path,
            kind,
            osl,
            sampling: order,
            block_tokens,
        } => Dataset::File(Box::new(FileDataset {
            system_prompt: config.dataset.system_prompt.clone(),
            name: DATASET_NAME.to_owned(),
            path: path.clone(),
            format: kind.name().to_owned(),
            entries: config.dataset.file_entries,
            // A replay follows the timestamps: the order of rows is the file's.
            sampling: if fixed_schedule {
                None
            } else {
                sampling(*order)
            },
            random_seed: config.random_seed,
            osl: osl.map(distribution),
            block_size: (kind.is_trace() && *block_tokens != kind.default_block_tokens())
                .then_some(*block_tokens),
            synthesis: synthesis(&config.dataset),
            ignore_trace_delays: config.dataset.ignore_trace_delays,
            cache_bust: cache_bust(&config.dataset),
            prompts: corpus_name(&config.dataset).map(|corpus| CorpusDoc { corpus }),
        })),
    }
}

/// The tokenizer by the name `--tokenizer` takes; none for the server's own `/tokenize`, which
/// the reference tool cannot name.
fn tokenizer(spec: &TokenizerSpec) -> Option<Tokenizer> {
    let (name, revision) = match spec {
        TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase,
        } => ("builtin".to_owned(), None),
        TokenizerSpec::Builtin { encoding } => (encoding.name().to_owned(), None),
        TokenizerSpec::File { path } => (path.display().to_string(), None),
        TokenizerSpec::Hub { repo, revision } => {
            (repo.clone(), (revision != "main").then(|| revision.clone()))
        }
        TokenizerSpec::Server { .. } => return None,
    };
    Some(Tokenizer { name, revision })
}

fn network_latency(n: &crate::settings::NetworkLatency) -> Option<NetworkLatencyDoc> {
    use crate::settings::{NetworkLatency, Probing};
    match n {
        NetworkLatency::Off => None,
        NetworkLatency::Fixed { mean_ms } => Some(NetworkLatencyDoc {
            enabled: true,
            ping_interval: None,
            mean_ms: Some(*mean_ms),
        }),
        NetworkLatency::Automatic(p) => Some(NetworkLatencyDoc {
            enabled: true,
            ping_interval: (p.interval_secs != Probing::DEFAULT_INTERVAL_SECS)
                .then_some(p.interval_secs),
            mean_ms: None,
        }),
    }
}

fn telemetry(enabled: bool, urls: &[String], jsonl: bool) -> Telemetry {
    Telemetry {
        metrics_file: None,
        collector: None,
        enabled: (!enabled).then_some(false),
        urls: if enabled { urls.to_vec() } else { Vec::new() },
        formats: if enabled && jsonl {
            ["json", "csv", "jsonl"].map(str::to_owned).to_vec()
        } else {
            Vec::new()
        },
    }
}

/// A setting's value as clap spells it.
fn clap_name(v: &impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_owned())
}

fn images(i: &ImageGen) -> Images {
    Images {
        batch_size: i.batch,
        width: distribution(i.width),
        height: distribution(i.height),
        format: clap_name(&i.format),
        source: match &i.source {
            ImageSource::Noise => "noise".to_owned(),
            ImageSource::Assets => "assets".to_owned(),
            ImageSource::Dir(dir) => dir.display().to_string(),
        },
        source_sampling: clap_name(&i.sampling),
    }
}

fn audio(a: &AudioGen) -> Audio {
    Audio {
        batch_size: a.batch,
        length: distribution(a.length),
        format: a.format.name().to_owned(),
        sample_rates: a
            .sample_rates
            .iter()
            .map(|hz| f64::from(*hz) / 1000.0)
            .collect(),
        depths: a.depths.clone(),
        channels: a.channels,
    }
}

fn video(v: &VideoGen) -> Video {
    Video {
        batch_size: v.batch,
        duration: v.duration_secs,
        fps: v.fps,
        width: v.width,
        height: v.height,
        format: v.format.name().to_owned(),
        codec: v.codec.clone(),
        synth_type: clap_name(&v.synth).replace('-', "_"),
        audio: v.audio.as_ref().map(|a| VideoAudioDoc {
            sample_rate: a.sample_rate,
            channels: a.channels,
            codec: a.codec.clone(),
            depth: a.depth,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_url("http://user:pw@host:8000/v1?x=a@b"),
            "http://<redacted>@host:8000/v1?x=a@b"
        );
        assert_eq!(redact_url("http://host:8000"), "http://host:8000");
        assert_eq!(redact_url("host:8000"), "host:8000");
    }
}
