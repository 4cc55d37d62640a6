//! A pure, seeded model of an iteration-level continuous-batching inference engine.
//!
//! The model follows the scheduler of vLLM's V1 engine closely enough that load produces the
//! effects users look for in benchmarks: a throughput that rises with concurrency and then
//! saturates, time to first token that grows with prompt length and with queueing, and
//! inter-token latency that grows with batch size and context.
//!
//! Each call to [`Engine::step`] is one forward pass:
//!
//! 1. Every running sequence asks for the tokens it still has to compute: one for a sequence
//!    that is decoding, the rest of its prompt (in chunks) for one that is prefilling. Requests
//!    are served in arrival order under a budget of `max_num_batched_tokens` per step
//!    (chunked prefill).
//! 2. Each scheduled token needs a slot in the paged KV cache (`num_kv_blocks` blocks of
//!    `block_size` tokens). When the cache is full the most recently admitted sequence is
//!    preempted: its blocks are freed and it goes back to the head of the queue, to be
//!    recomputed from scratch later (vLLM's recompute preemption).
//! 3. If nothing was preempted, waiting requests are admitted while fewer than `max_num_seqs`
//!    run and both the token budget and the KV cache have room.
//! 4. The step takes
//!    `base + prefill·P + prefill_sq·Σchunk² + decode·B + kv·ΣKV` milliseconds, where `P` is
//!    the number of prefill tokens, `chunk` each prefill chunk's length, `B` the number of
//!    decoding sequences and `ΣKV` their total context length. The quadratic term is
//!    attention over the chunk (as in Vidur's prefill attention model); the `ΣKV` term is the
//!    memory traffic of decode attention. An optional log-normal jitter makes repeated runs
//!    differ the way real ones do.
//! 5. At the end of the step each sequence whose computed length reached its full length
//!    emits one token; a prefill that completes emits the first token.
//!
//! No clock, no I/O: the caller decides what a millisecond means (real time in the server,
//! virtual time in [`crate::virtual_time`]).

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Identifies a sequence (one request) inside the engine.
pub type SeqId = u64;

/// Capacity and cost coefficients of the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineParams {
    /// Most sequences in one batch.
    pub max_num_seqs: u32,
    /// Most tokens (prefill chunks plus one per decoding sequence) in one step.
    pub max_num_batched_tokens: u32,
    /// Tokens per KV-cache block.
    pub block_size: u32,
    /// KV-cache blocks available.
    pub num_kv_blocks: u32,
    /// Step-time coefficients.
    pub cost: StepCost,
    /// Coefficient of variation of a log-normal factor applied to each step (0 = exact).
    pub jitter_cv: f64,
}

/// Step time `base + prefill·P + prefill_sq·Σchunk² + decode·B + kv·ΣKV`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// `c0`: fixed cost of a forward pass (weights read, launch and scheduling overhead).
    pub base_ms: f64,
    /// `a`: per prefill token (the matrix multiplications).
    pub prefill_ms_per_token: f64,
    /// `b`: per squared prefill-chunk length (attention within the chunk).
    pub prefill_ms_per_token_sq: f64,
    /// `d`: per decoding sequence (sampling, per-sequence compute).
    pub decode_ms_per_seq: f64,
    /// `e`: per token of decode context (reading the KV cache).
    pub kv_ms_per_token: f64,
}

impl StepCost {
    /// Milliseconds of one step with this work, before jitter.
    pub fn step_ms(&self, work: &StepWork) -> f64 {
        self.base_ms
            + self.prefill_ms_per_token * work.prefill_tokens as f64
            + self.prefill_ms_per_token_sq * work.prefill_chunk_sq as f64
            + self.decode_ms_per_seq * work.decode_seqs as f64
            + self.kv_ms_per_token * work.decode_kv_tokens as f64
    }
}

impl EngineParams {
    /// Total tokens the KV cache holds.
    pub fn kv_capacity_tokens(&self) -> u64 {
        u64::from(self.num_kv_blocks) * u64::from(self.block_size)
    }

    pub(crate) fn validate(&self, max_model_len: u32) -> Result<(), ConfigError> {
        let positive = [
            ("--max-num-seqs", self.max_num_seqs),
            ("--max-num-batched-tokens", self.max_num_batched_tokens),
            ("--block-size", self.block_size),
            ("--num-kv-blocks", self.num_kv_blocks),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(flag, "must be at least 1"));
            }
        }
        let c = &self.cost;
        for (flag, value) in [
            ("--step-base-ms", c.base_ms),
            ("--prefill-ms-per-token", c.prefill_ms_per_token),
            ("--prefill-ms-per-token-sq", c.prefill_ms_per_token_sq),
            ("--decode-ms-per-seq", c.decode_ms_per_seq),
            ("--kv-ms-per-token", c.kv_ms_per_token),
            ("--step-jitter-cv", self.jitter_cv),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::new(
                    flag,
                    format!("must be a finite number ≥ 0, got {value}"),
                ));
            }
        }
        if c.base_ms + c.prefill_ms_per_token + c.decode_ms_per_seq <= 0.0 {
            return Err(ConfigError::new(
                "--step-base-ms",
                "a step must cost something: set --step-base-ms, --prefill-ms-per-token or \
                 --decode-ms-per-seq above 0 (or use --preset zero for no latency)",
            ));
        }
        if self.kv_capacity_tokens() < u64::from(max_model_len) {
            return Err(ConfigError::new(
                "--num-kv-blocks",
                format!(
                    "the KV cache ({} blocks × {} tokens = {} tokens) must hold at least one \
                     full-length sequence (--max-model-len {max_model_len})",
                    self.num_kv_blocks,
                    self.block_size,
                    self.kv_capacity_tokens()
                ),
            ));
        }
        Ok(())
    }
}

/// What one step computed; the inputs of the step-time formula.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepWork {
    /// New prompt (or recomputed) tokens.
    pub prefill_tokens: u64,
    /// Sum of squared prefill-chunk lengths.
    pub prefill_chunk_sq: u64,
    /// Sequences that decoded one token.
    pub decode_seqs: u64,
    /// Total context length of the decoding sequences.
    pub decode_kv_tokens: u64,
}

/// The result of one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutcome {
    /// How long the step takes, in simulated milliseconds.
    pub duration_ms: f64,
    pub work: StepWork,
    /// Sequences that produced one output token at the end of the step.
    pub emitted: Vec<SeqId>,
    /// Sequences that produced their last token and left the engine.
    pub finished: Vec<SeqId>,
    /// Sequences admitted from the queue for the first time in this step.
    pub admitted: Vec<SeqId>,
    /// Sequences preempted (sent back to the queue) in this step.
    pub preempted: Vec<SeqId>,
}

/// Why a request cannot enter the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the request needs {needed} tokens of KV cache but the cache holds {capacity}")]
    TooLong { needed: u64, capacity: u64 },
    #[error("the request must generate at least one token")]
    NoOutput,
    #[error("sequence {0} is already in the engine")]
    Duplicate(SeqId),
}

#[derive(Debug, Clone)]
struct Seq {
    id: SeqId,
    prompt_tokens: u32,
    output_tokens: u32,
    generated: u32,
    /// Tokens whose KV entries are computed and cached.
    computed: u32,
    blocks: u32,
    admitted_once: bool,
}

impl Seq {
    /// Prompt plus output so far: what must be in the cache before the next token.
    fn known_len(&self) -> u32 {
        self.prompt_tokens + self.generated
    }
}

/// The engine state. See the [module docs](self).
#[derive(Debug)]
pub struct Engine {
    params: EngineParams,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    free_blocks: u32,
    jitter: Option<LogNormal<f64>>,
    rng: Pcg64Mcg,
    preemptions: u64,
}

impl Engine {
    pub fn new(params: EngineParams, seed: u64) -> Self {
        let jitter = (params.jitter_cv > 0.0).then(|| {
            // Mean 1: sigma² = ln(1 + cv²), mu = -sigma²/2.
            let sigma2 = (1.0 + params.jitter_cv * params.jitter_cv).ln();
            LogNormal::new(-sigma2 / 2.0, sigma2.sqrt()).expect("finite, non-negative sigma")
        });
        Self {
            free_blocks: params.num_kv_blocks,
            params,
            waiting: VecDeque::new(),
            running: Vec::new(),
            jitter,
            rng: Pcg64Mcg::seed_from_u64(seed),
            preemptions: 0,
        }
    }

    pub fn params(&self) -> &EngineParams {
        &self.params
    }

    /// Queues a request with a known prompt length that will generate `output_tokens`.
    pub fn add(
        &mut self,
        id: SeqId,
        prompt_tokens: u32,
        output_tokens: u32,
    ) -> Result<(), AdmissionError> {
        if output_tokens == 0 {
            return Err(AdmissionError::NoOutput);
        }
        // The last output token is emitted without ever being written to the cache.
        let needed = u64::from(prompt_tokens) + u64::from(output_tokens) - 1;
        let capacity = self.params.kv_capacity_tokens();
        if needed > capacity {
            return Err(AdmissionError::TooLong { needed, capacity });
        }
        if self.contains(id) {
            return Err(AdmissionError::Duplicate(id));
        }
        self.waiting.push_back(Seq {
            id,
            prompt_tokens: prompt_tokens.max(1),
            output_tokens,
            generated: 0,
            computed: 0,
            blocks: 0,
            admitted_once: false,
        });
        Ok(())
    }

    /// Removes a request (client gone), freeing its cache. `false` when it was not there.
    pub fn abort(&mut self, id: SeqId) -> bool {
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            let seq = self.running.remove(i);
            self.free_blocks += seq.blocks;
            return true;
        }
        if let Some(i) = self.waiting.iter().position(|s| s.id == id) {
            // Waiting sequences hold no blocks.
            self.waiting.remove(i);
            return true;
        }
        false
    }

    pub fn contains(&self, id: SeqId) -> bool {
        self.running.iter().any(|s| s.id == id) || self.waiting.iter().any(|s| s.id == id)
    }

    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.waiting.is_empty()
    }

    pub fn num_running(&self) -> usize {
        self.running.len()
    }

    pub fn num_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Fraction of KV-cache blocks in use, in `[0, 1]`.
    pub fn kv_usage(&self) -> f64 {
        let total = self.params.num_kv_blocks;
        f64::from(total - self.free_blocks) / f64::from(total)
    }

    /// Preemptions since the engine started.
    pub fn preemptions(&self) -> u64 {
        self.preemptions
    }

    /// Running sequence ids, in scheduling priority order.
    pub fn running_ids(&self) -> impl Iterator<Item = SeqId> + '_ {
        self.running.iter().map(|s| s.id)
    }

    fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.params.block_size)
    }

    /// Runs one step; `None` when there is nothing to do.
    pub fn step(&mut self) -> Option<StepOutcome> {
        if self.is_idle() {
            return None;
        }
        let mut outcome = StepOutcome::default();
        let mut budget = self.params.max_num_batched_tokens;
        // (index into `running`, tokens scheduled); indices stay valid because preemption
        // only removes sequences after the current one.
        let mut scheduled: Vec<(usize, u32)> = Vec::with_capacity(self.running.len() + 4);

        let mut i = 0;
        'running: while i < self.running.len() && budget > 0 {
            let seq = &self.running[i];
            let n = (seq.known_len() - seq.computed).min(budget);
            loop {
                let seq = &self.running[i];
                let extra = self.blocks_for(seq.computed + n).saturating_sub(seq.blocks);
                if extra <= self.free_blocks {
                    self.free_blocks -= extra;
                    self.running[i].blocks += extra;
                    break;
                }
                // Out of cache: preempt the lowest-priority (latest) sequence, possibly this one.
                let victim_is_self = self.running.len() - 1 == i;
                let mut victim = self.running.pop().expect("running is not empty");
                self.free_blocks += victim.blocks;
                victim.blocks = 0;
                victim.computed = 0;
                outcome.preempted.push(victim.id);
                self.preemptions += 1;
                self.waiting.push_front(victim);
                if victim_is_self {
                    break 'running;
                }
            }
            scheduled.push((i, n));
            budget -= n;
            i += 1;
        }

        if outcome.preempted.is_empty() {
            while budget > 0 && self.running.len() < self.params.max_num_seqs as usize {
                let Some(front) = self.waiting.front() else {
                    break;
                };
                let n = (front.known_len() - front.computed).min(budget);
                let blocks = self.blocks_for(n);
                if blocks > self.free_blocks {
                    break;
                }
                let mut seq = self.waiting.pop_front().expect("front exists");
                self.free_blocks -= blocks;
                seq.blocks = blocks;
                if !seq.admitted_once {
                    seq.admitted_once = true;
                    outcome.admitted.push(seq.id);
                }
                self.running.push(seq);
                scheduled.push((self.running.len() - 1, n));
                budget -= n;
            }
        }

        if scheduled.is_empty() {
            // Everything was preempted this step; the next step re-admits.
            return Some(outcome);
        }

        let work = &mut outcome.work;
        for &(idx, n) in &scheduled {
            let seq = &mut self.running[idx];
            let decoding = n == 1 && seq.generated > 0 && seq.computed + 1 == seq.known_len();
            if decoding {
                work.decode_seqs += 1;
                work.decode_kv_tokens += u64::from(seq.computed);
            } else {
                work.prefill_tokens += u64::from(n);
                work.prefill_chunk_sq += u64::from(n) * u64::from(n);
            }
            seq.computed += n;
            if seq.computed == seq.known_len() {
                seq.generated += 1;
                outcome.emitted.push(seq.id);
                if seq.generated == seq.output_tokens {
                    outcome.finished.push(seq.id);
                }
            }
        }
        if !outcome.finished.is_empty() {
            let mut freed = 0;
            self.running.retain(|s| {
                let done = s.generated == s.output_tokens;
                if done {
                    freed += s.blocks;
                }
                !done
            });
            self.free_blocks += freed;
        }

        let mut ms = self.params.cost.step_ms(&outcome.work);
        if let Some(jitter) = &self.jitter {
            ms *= jitter.sample(&mut self.rng);
        }
        outcome.duration_ms = ms;
        Some(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> EngineParams {
        EngineParams {
            max_num_seqs: 8,
            max_num_batched_tokens: 512,
            block_size: 16,
            num_kv_blocks: 1024,
            cost: StepCost {
                base_ms: 5.0,
                prefill_ms_per_token: 0.02,
                prefill_ms_per_token_sq: 1e-6,
                decode_ms_per_seq: 0.05,
                kv_ms_per_token: 1e-4,
            },
            jitter_cv: 0.0,
        }
    }

    /// Runs the engine to completion, returning (id, emitted token count) per step.
    fn drain(engine: &mut Engine) -> Vec<StepOutcome> {
        let mut steps = Vec::new();
        while let Some(outcome) = engine.step() {
            steps.push(outcome);
            assert!(steps.len() < 100_000, "engine does not make progress");
        }
        steps
    }

    fn tokens_per_seq(steps: &[StepOutcome]) -> std::collections::BTreeMap<SeqId, u32> {
        let mut counts = std::collections::BTreeMap::new();
        for s in steps {
            for id in &s.emitted {
                *counts.entry(*id).or_default() += 1;
            }
        }
        counts
    }

    #[test]
    fn single_request_prefills_in_chunks_then_decodes() {
        let mut engine = Engine::new(params(), 1);
        engine.add(1, 1200, 4).unwrap();
        let steps = drain(&mut engine);
        // 1200 prompt tokens at 512 per step: 512, 512, 176 (the last emits token 1), then 3 decodes.
        let prefill: Vec<u64> = steps.iter().map(|s| s.work.prefill_tokens).collect();
        assert_eq!(prefill, [512, 512, 176, 0, 0, 0]);
        let emitted: Vec<usize> = steps.iter().map(|s| s.emitted.len()).collect();
        assert_eq!(emitted, [0, 0, 1, 1, 1, 1]);
        assert_eq!(steps.last().unwrap().finished, [1]);
        assert_eq!(steps[0].admitted, [1]);
        // Decode step cost: base + one sequence + its context (1200, 1201, 1202 tokens).
        let expected = 5.0 + 0.05 + 1e-4 * 1200.0;
        assert!((steps[3].duration_ms - expected).abs() < 1e-9);
        assert!(engine.is_idle());
        assert_eq!(engine.kv_usage(), 0.0);
    }

    #[test]
    fn time_to_first_token_grows_with_prompt_length() {
        let ttft = |prompt| {
            let mut engine = Engine::new(params(), 1);
            engine.add(1, prompt, 2).unwrap();
            let mut t = 0.0;
            loop {
                let s = engine.step().unwrap();
                t += s.duration_ms;
                if !s.emitted.is_empty() {
                    return t;
                }
            }
        };
        let times: Vec<f64> = [16, 128, 512, 2048, 8192].into_iter().map(ttft).collect();
        assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    }

    #[test]
    fn batch_is_capped_by_max_num_seqs() {
        let mut engine = Engine::new(params(), 1);
        for id in 0..20 {
            engine.add(id, 10, 50).unwrap();
        }
        let first = engine.step().unwrap();
        assert_eq!(first.admitted.len(), 8);
        assert_eq!(engine.num_running(), 8);
        assert_eq!(engine.num_waiting(), 12);
        let steps = drain(&mut engine);
        assert!(steps.iter().all(|s| s.work.decode_seqs <= 8));
        let counts = tokens_per_seq(&steps);
        // Each of the first eight already emitted its first token in `first`.
        for id in 0..20 {
            let expected = if id < 8 { 49 } else { 50 };
            assert_eq!(counts[&id], expected, "sequence {id}");
        }
    }

    #[test]
    fn full_cache_preempts_and_every_request_still_finishes() {
        let mut p = params();
        p.num_kv_blocks = 40; // 640 tokens: not enough for 8 × (64 + 100)
        p.max_num_seqs = 8;
        let mut engine = Engine::new(p, 1);
        for id in 0..8 {
            engine.add(id, 64, 100).unwrap();
        }
        let steps = drain(&mut engine);
        let preempted: usize = steps.iter().map(|s| s.preempted.len()).sum();
        assert!(preempted > 0, "the cache was meant to run out");
        assert_eq!(engine.preemptions(), preempted as u64);
        let counts = tokens_per_seq(&steps);
        assert!(counts.values().all(|&n| n == 100), "{counts:?}");
        let finished: usize = steps.iter().map(|s| s.finished.len()).sum();
        assert_eq!(finished, 8);
        assert_eq!(engine.kv_usage(), 0.0, "all blocks are returned");
    }

    #[test]
    fn kv_blocks_never_exceed_capacity() {
        let mut p = params();
        p.num_kv_blocks = 64;
        let mut engine = Engine::new(p, 7);
        for id in 0..30 {
            engine
                .add(id, 10 + (id as u32 * 37) % 300, 1 + (id as u32 * 13) % 90)
                .unwrap();
        }
        while engine.step().is_some() {
            assert!((0.0..=1.0).contains(&engine.kv_usage()));
        }
    }

    #[test]
    fn abort_frees_the_cache() {
        let mut engine = Engine::new(params(), 1);
        engine.add(1, 100, 10).unwrap();
        engine.add(2, 100, 10).unwrap();
        engine.step().unwrap();
        assert!(engine.kv_usage() > 0.0);
        assert!(engine.abort(1));
        assert!(!engine.abort(1));
        assert!(engine.abort(2));
        assert!(engine.is_idle());
        assert_eq!(engine.kv_usage(), 0.0);
    }

    #[test]
    fn rejects_impossible_requests() {
        let mut engine = Engine::new(params(), 1);
        assert_eq!(engine.add(1, 10, 0), Err(AdmissionError::NoOutput));
        assert!(matches!(
            engine.add(1, 16 * 1024, 2),
            Err(AdmissionError::TooLong { .. })
        ));
        engine.add(1, 10, 1).unwrap();
        assert_eq!(engine.add(1, 10, 1), Err(AdmissionError::Duplicate(1)));
    }

    #[test]
    fn same_seed_same_steps_and_jitter_changes_durations() {
        let run = |seed, cv| {
            let mut p = params();
            p.jitter_cv = cv;
            let mut engine = Engine::new(p, seed);
            for id in 0..10 {
                engine.add(id, 50 + id as u32, 20).unwrap();
            }
            drain(&mut engine)
        };
        assert_eq!(run(3, 0.1), run(3, 0.1));
        let (a, b) = (run(3, 0.1), run(4, 0.1));
        assert_eq!(a.len(), b.len(), "jitter changes time, not scheduling");
        assert_ne!(a, b);
        let mean = |steps: &[StepOutcome]| {
            steps.iter().map(|s| s.duration_ms).sum::<f64>() / steps.len() as f64
        };
        let exact = mean(&run(3, 0.0));
        assert!((mean(&a) / exact - 1.0).abs() < 0.1);
    }
}
