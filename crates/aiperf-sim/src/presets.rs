//! Named server profiles.
//!
//! The two engine presets are first-principles estimates for vLLM on NVIDIA H100 SXM
//! (3.35 TB/s HBM3, ~989 TFLOP/s dense BF16), not measurements. How each number is derived:
//!
//! * `base_ms` — a decode step is memory-bound: the weights are read once per step.
//!   8B in BF16 is 16 GB → 16 GB / 3.35 TB/s ≈ 4.8 ms, plus ~1.2 ms of launch, sampling and
//!   scheduling overhead ≈ 6 ms. 70B on 4 GPUs (tensor parallel) reads 35 GB per GPU
//!   ≈ 10.5 ms, plus all-reduce and overhead ≈ 13 ms.
//! * `prefill_ms_per_token` — ≈ 2 × parameters FLOPs per token at ~65 % utilisation
//!   (large batched matrix multiplications): 8B: 16 GFLOP / 640 TFLOP/s ≈ 0.025 ms;
//!   70B: 140 GFLOP / (4 × 640 TFLOP/s) ≈ 0.055 ms.
//! * `prefill_ms_per_token_sq` — causal attention over a chunk of `n` tokens costs about
//!   `2 · n² · d_model · layers` FLOPs: 8B (4096 × 32) ≈ 2.6e5·n² FLOP ≈ 4e-7 ms·n²;
//!   70B (8192 × 80, over 4 GPUs) ≈ 1.3e6·n² FLOP ≈ 5e-7 ms·n² (attention kernels run at a
//!   lower utilisation than the projections).
//! * `kv_ms_per_token` — decode attention reads the KV cache: 8B keeps 128 KiB per token
//!   (32 layers × 8 KV heads × 128 × 2 × 2 bytes) → 128 KiB / 3.35 TB/s ≈ 4e-5 ms, a bit less
//!   with the L2 cache (3e-5); 70B keeps 320 KiB per token over 4 GPUs ≈ 2.5e-5 ms (2e-5).
//! * `decode_ms_per_seq` — per-sequence sampling and bookkeeping, set so that a full batch
//!   of 256 short sequences roughly doubles the step time of a single one, which matches
//!   the shape of published vLLM latency-vs-concurrency curves.
//! * KV cache — 80 GB × 0.9 utilisation minus weights and activations: ≈ 50 GB for 8B
//!   (≈ 400 k tokens) and ≈ 125 GB across 4 GPUs for 70B (≈ 390 k tokens), in 16-token blocks.
//! * `max_num_seqs` 256 and `max_num_batched_tokens` 8192 are vLLM's usual online-serving
//!   settings on H100.
//!
//! Every coefficient can be overridden, so a user with real measurements can fit their own.

use std::time::Duration;

use crate::config::{FaultConfig, OutputConfig, SimConfig, Timing, TokenizerKind};
use crate::engine::{EngineParams, StepCost};
use crate::gpu::GpuConfig;
use crate::spec_decode::SpecDecodeConfig;

/// A named starting point for [`SimConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// Model name the server answers to unless told otherwise.
    pub model: &'static str,
    pub description: &'static str,
}

/// All presets, the default first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "llama-8b-h100",
        aliases: &["small", "8b"],
        model: "llama-3.1-8b-instruct-sim",
        description: "8B-class model on one H100 (continuous batching)",
    },
    Preset {
        name: "llama-70b-h100x4",
        aliases: &["large", "70b"],
        model: "llama-3.1-70b-instruct-sim",
        description: "70B-class model on four H100s, tensor parallel (continuous batching)",
    },
    Preset {
        name: "spec-decode",
        aliases: &["eagle"],
        model: "llama-3.1-8b-instruct-eagle3-sim",
        description: "the 8B H100 engine with a speculative-decoding draft model (3 draft \
                      tokens per step, each accepted 70% of the time), reported in responses \
                      and vllm:spec_decode_* metrics",
    },
    Preset {
        name: "fixed",
        aliases: &[],
        model: "fixed-latency-sim",
        description: "constant 20 ms TTFT and 5 ms inter-token time, no batching effects",
    },
    Preset {
        name: "zero",
        aliases: &["zero-latency", "instant"],
        model: "zero-latency-sim",
        description: "no simulated latency at all, for benchmarking the client",
    },
];

/// The default preset's name.
pub const DEFAULT_PRESET: &str = "llama-8b-h100";

/// Looks a preset up by name or alias.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// The configuration of a named preset, or `None` for an unknown name.
pub fn preset(name: &str) -> Option<SimConfig> {
    let p = find(name)?;
    let (timing, max_model_len) = match p.name {
        "llama-8b-h100" | "spec-decode" => (
            Timing::Engine(EngineParams {
                max_num_seqs: 256,
                max_num_batched_tokens: 8192,
                block_size: 16,
                num_kv_blocks: 25_000,
                cost: StepCost {
                    base_ms: 6.0,
                    prefill_ms_per_token: 0.025,
                    prefill_ms_per_token_sq: 4e-7,
                    decode_ms_per_seq: 0.02,
                    kv_ms_per_token: 3e-5,
                },
                jitter_cv: 0.02,
            }),
            131_072,
        ),
        "llama-70b-h100x4" => (
            Timing::Engine(EngineParams {
                max_num_seqs: 256,
                max_num_batched_tokens: 8192,
                block_size: 16,
                num_kv_blocks: 24_000,
                cost: StepCost {
                    base_ms: 13.0,
                    prefill_ms_per_token: 0.055,
                    prefill_ms_per_token_sq: 5e-7,
                    decode_ms_per_seq: 0.045,
                    kv_ms_per_token: 2e-5,
                },
                jitter_cv: 0.02,
            }),
            131_072,
        ),
        "fixed" => (
            Timing::Fixed {
                ttft: Duration::from_millis(20),
                itl: Duration::from_millis(5),
            },
            131_072,
        ),
        "zero" => (Timing::Zero, 131_072),
        _ => unreachable!("every preset in PRESETS has a configuration"),
    };
    Some(SimConfig {
        served_models: vec![p.model.to_owned()],
        timing,
        max_model_len,
        speedup: 1.0,
        output: OutputConfig::default(),
        tokenizer: TokenizerKind::default(),
        faults: FaultConfig::default(),
        seed: 0,
        record_requests: None,
        shutdown_grace: Duration::from_secs(5),
        gpus: GpuConfig {
            count: if p.name == "llama-70b-h100x4" { 4 } else { 1 },
            ..GpuConfig::default()
        },
        spec_decode: (p.name == "spec-decode").then_some(SpecDecodeConfig {
            num_spec_tokens: 3,
            acceptance_rate: 0.7,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(find("small").unwrap().name, "llama-8b-h100");
        assert_eq!(find("70b").unwrap().name, "llama-70b-h100x4");
        assert!(find("nope").is_none());
        assert!(preset(DEFAULT_PRESET).is_some());
        for p in PRESETS {
            assert!(preset(p.name).is_some());
            for alias in p.aliases {
                assert_eq!(preset(alias), preset(p.name));
            }
        }
    }

    #[test]
    fn large_preset_is_slower_than_small() {
        let cost = |name| match preset(name).unwrap().timing {
            Timing::Engine(p) => p.cost,
            _ => unreachable!(),
        };
        let (small, large) = (cost("small"), cost("large"));
        assert!(large.base_ms > small.base_ms);
        assert!(large.prefill_ms_per_token > small.prefill_ms_per_token);
    }
}
