//! Every key of the Python AIPerf's schema 2.0 (its sections' properties, snake_case) is
//! read here: mapped, refused with a reason, or warned about, never "unknown key".

use std::path::Path;

use super::{Files, load_str};

/// (how to place the key in a document, the section's keys).
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "benchmark:\n  endpoint: {K: 1}",
        &[
            "api_key",
            "connection_reuse",
            "download_video_content",
            "extra",
            "headers",
            "path",
            "per_chunk_usage",
            "request_content_type",
            "reset_kv_cache",
            "server_profiler",
            "session_header",
            "streaming",
            "template",
            "timeout",
            "transport",
            "url",
            "url_strategy",
            "urls",
            "use_legacy_max_tokens",
            "use_server_token_count",
            "uuid_and_strip",
            "wait_for_model_interval",
            "wait_for_model_mode",
            "wait_for_model_timeout",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, type: synthetic, K: 1}]",
        &[
            "audio",
            "entries",
            "images",
            "isl",
            "osl",
            "prefix_prompts",
            "prompts",
            "random_seed",
            "rankings",
            "sampling",
            "system_prompt",
            "system_prompt_file",
            "turn_delay",
            "turn_delay_ratio",
            "turns",
            "video",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, type: file, path: x, K: 1}]",
        &[
            "audio_batch_size",
            "block_size",
            "cache_bust",
            "entries",
            "force_min_tokens",
            "format",
            "ignore_trace_delays",
            "image_batch_size",
            "inter_turn_delay_cap_seconds",
            "max_context_length",
            "max_idle_gap_cap_seconds",
            "omit_kv_hints",
            "open_loop_replay",
            "open_loop_strict",
            "osl",
            "prompt_batch_size",
            "prompts",
            "random_seed",
            "records",
            "replay_speedup",
            "sampling",
            "synthesis",
            "system_prompt",
            "system_prompt_file",
            "trace_idle_gap_cap_seconds",
            "trace_session_sample_ratio",
            "use_think_time_only",
            "video_batch_size",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, type: public, dataset: sharegpt, K: 1}]",
        &[
            "cache_bust",
            "entries",
            "filters",
            "hf_subset",
            "hf_weka_dataset",
            "ignore_trace_delays",
            "inter_turn_delay_cap_seconds",
            "max_context_length",
            "osl",
            "prompts",
            "random_seed",
            "sampling",
            "synthesis",
            "system_prompt",
            "system_prompt_file",
            "trace_idle_gap_cap_seconds",
            "use_think_time_only",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, prompts: {K: 1}}]",
        &[
            "batch_size",
            "block_size",
            "cache_bust",
            "corpus",
            "isl",
            "osl",
            "random_corpus_style",
            "random_range_ratio",
            "sequence_distribution",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, prefix_prompts: {K: 1}}]",
        &[
            "length",
            "pool_size",
            "shared_system_length",
            "user_context_length",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, images: {K: 1}}]",
        &[
            "batch_size",
            "format",
            "height",
            "source",
            "source_sampling",
            "width",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, audio: {K: 1}}]",
        &[
            "batch_size",
            "channels",
            "depths",
            "format",
            "length",
            "sample_rates",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, video: {K: 1}}]",
        &[
            "audio",
            "batch_size",
            "codec",
            "duration",
            "format",
            "fps",
            "height",
            "synth_type",
            "width",
        ],
    ),
    (
        "benchmark:\n  datasets: [{name: d, rankings: {K: 1}}]",
        &["passage_tokens", "passages", "query_tokens"],
    ),
    (
        "benchmark:\n  datasets: [{name: d, type: file, path: x, synthesis: {K: 1}}]",
        &[
            "allow_dataset_wrap",
            "max_isl",
            "max_osl",
            "output_len_multiplier",
            "prefix_len_multiplier",
            "prefix_root_multiplier",
            "prompt_len_multiplier",
            "speedup_ratio",
        ],
    ),
    (
        "benchmark:\n  artifacts: {K: 1}",
        &[
            "auto_plot",
            "dir",
            "export_outputs_json",
            "plot_required",
            "prefix",
            "raw",
            "records",
            "show_trace_timing",
            "slice_duration",
            "summary",
            "trace",
            "user_files",
        ],
    ),
    (
        "benchmark:\n  tokenizer: {K: 1}",
        &[
            "apply_chat_template",
            "name",
            "revision",
            "trust_remote_code",
        ],
    ),
    (
        "benchmark:\n  runtime: {K: 1}",
        &[
            "api_host",
            "api_port",
            "communication",
            "dataset_api_base_url",
            "record_processors",
            "record_processors_per_pod",
            "service_run_type",
            "stats_interval",
            "ui",
            "workers",
            "workers_min",
            "workers_per_pod",
        ],
    ),
    (
        "benchmark: {K: 1}",
        &[
            "accuracy",
            "artifacts",
            "endpoint",
            "gpu_telemetry",
            "logging",
            "metrics",
            "mlflow",
            "model",
            "models",
            "network_latency",
            "otel",
            "runtime",
            "scenario",
            "server_metrics",
            "slos",
            "tokenizer",
            "unsafe_override",
            "wandb",
        ],
    ),
    (
        "multiRun: {K: 1}\nbenchmark: {}",
        &[
            "confidence_level",
            "convergence",
            "cooldown_seconds",
            "disable_warmup_after_first",
            "num_runs",
            "set_consistent_seed",
            "vary_seed_per_trial",
        ],
    ),
    (
        "sweep: {type: grid, parameters: {concurrency: [1]}, K: 1}\nbenchmark:\n  phases: {type: concurrency, requests: 1}",
        &[
            "cooldown_seconds",
            "iteration_order",
            "post_process",
            "recipe_name",
            "same_seed",
            "sla_filters",
        ],
    ),
];

const PHASE_KEYS: &[&str] = &[
    "adaptive_assessment_period",
    "adaptive_control_max",
    "adaptive_control_min",
    "adaptive_control_variable",
    "adaptive_min_completed_requests",
    "adaptive_scale",
    "adaptive_scale_base_step",
    "adaptive_scale_max_step_multiplier",
    "adaptive_scale_step_percent",
    "adaptive_scale_step_policy",
    "adaptive_scale_strategy_type",
    "adaptive_sustain_duration",
    "agentic_cache_warmup_duration",
    "agentic_warmup_grace_period",
    "burst_phase_starts",
    "cancellation",
    "concurrency",
    "concurrency_ramp",
    "duration",
    "exclude_from_results",
    "failed_request_threshold",
    "grace_period",
    "kind",
    "prefill_concurrency",
    "prefill_ramp",
    "seamless",
    "sessions",
    "sla",
    "system_idle_gap_cap_seconds",
    "timing_mode",
    "trajectory_start_max_ratio",
    "trajectory_start_min_ratio",
];

const PHASE_TYPE_KEYS: &[(&str, &[&str])] = &[
    ("concurrency", &[]),
    ("poisson", &["rate", "rate_ramp", "rate_series"]),
    ("gamma", &["rate", "rate_ramp", "rate_series", "smoothness"]),
    ("constant", &["rate", "rate_ramp", "rate_series"]),
    ("user_centric", &["rate", "rate_ramp", "users"]),
    (
        "fixed_schedule",
        &["auto_offset", "end_offset", "start_offset"],
    ),
];

fn problem(text: &str) -> Option<String> {
    load_str(text, Path::new("t.yaml"), &|_| None, Files::Skip)
        .err()
        .map(|e| e.0)
}

#[test]
fn every_key_of_the_schema_is_read() {
    let mut unknown = Vec::new();
    for (shape, keys) in SECTIONS {
        for key in *keys {
            let text = shape.replace('K', key);
            if let Some(e) = problem(&text)
                && e.contains("unknown key")
            {
                unknown.push(e);
            }
        }
    }
    for (kind, extra) in PHASE_TYPE_KEYS {
        for key in PHASE_KEYS.iter().chain(extra.iter()) {
            let text = format!(
                "benchmark:\n  phases: [{{name: profiling, type: {kind}, requests: 1, {key}: 1}}]"
            );
            if let Some(e) = problem(&text)
                && e.contains("unknown key")
            {
                unknown.push(e);
            }
        }
    }
    assert!(unknown.is_empty(), "{unknown:#?}");
}

#[test]
fn keys_of_another_phase_type_are_unknown() {
    let e = problem("benchmark:\n  phases: {type: concurrency, requests: 1, rate: 5}").unwrap();
    assert!(e.contains("phases[0].rate: unknown key"), "{e}");
}
