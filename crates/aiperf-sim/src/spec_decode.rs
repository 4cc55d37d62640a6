//! Speculative decoding as vLLM reports it. Each verification step drafts `num_spec_tokens`
//! tokens; the target model accepts a leading run of them (each draft position accepted with
//! `acceptance_rate`, until the first rejection) and adds one token of its own, so a step emits
//! `accepted + 1` tokens. A request's steps, drafts and acceptances are reported in its response
//! (`metrics.speculative_decoding`, vLLM's per-request spec-decode metrics) and added to
//! vLLM's `vllm:spec_decode_*` counters on `/metrics`. The acceptance is reported only: the
//! simulated timing is the same as without a draft model.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The draft model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpecDecodeConfig {
    /// Tokens drafted per verification step (`k`).
    pub num_spec_tokens: u32,
    /// The chance each draft position is accepted, given the ones before it were.
    pub acceptance_rate: f64,
}

/// One request's verification steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acceptance {
    num_spec_tokens: u32,
    /// Steps by how many draft tokens they accepted (index 0..=k).
    histogram: Vec<u64>,
    /// Accepted tokens by draft position.
    per_position: Vec<u64>,
}

impl Acceptance {
    /// The steps that produce `output_tokens` tokens; `seed` makes the draws repeatable.
    pub(crate) fn draw(config: SpecDecodeConfig, output_tokens: u32, seed: u64) -> Self {
        let k = config.num_spec_tokens as usize;
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut histogram = vec![0; k + 1];
        let mut per_position = vec![0; k];
        let mut emitted = 0u32;
        while emitted < output_tokens {
            let mut accepted = 0;
            while accepted < k && rng.random::<f64>() < config.acceptance_rate {
                accepted += 1;
            }
            // The last step stops at the requested length.
            accepted = accepted.min((output_tokens - emitted - 1) as usize);
            for slot in &mut per_position[..accepted] {
                *slot += 1;
            }
            histogram[accepted] += 1;
            emitted += accepted as u32 + 1;
        }
        Self {
            num_spec_tokens: config.num_spec_tokens,
            histogram,
            per_position,
        }
    }

    fn steps(&self) -> u64 {
        self.histogram.iter().sum()
    }

    fn accepted(&self) -> u64 {
        self.per_position.iter().sum()
    }

    fn drafted(&self) -> u64 {
        self.steps() * u64::from(self.num_spec_tokens)
    }

    /// `"metrics":{"speculative_decoding":{...}}`, to follow a response's `usage`.
    pub(crate) fn response_field(&self) -> String {
        let steps = self.steps();
        let (accepted, drafted) = (self.accepted(), self.drafted());
        let mean_length = if steps == 0 {
            1.0
        } else {
            1.0 + accepted as f64 / steps as f64
        };
        let rate = if drafted == 0 {
            0.0
        } else {
            accepted as f64 / drafted as f64
        };
        let histogram: Vec<String> = self.histogram.iter().map(u64::to_string).collect();
        format!(
            ",\"metrics\":{{\"speculative_decoding\":{{\"num_spec_tokens\":{},\
             \"num_spec_steps\":{steps},\"num_draft_tokens\":{drafted},\
             \"num_accepted_draft_tokens\":{accepted},\"acceptance_histogram\":[{}],\
             \"mean_acceptance_length\":{mean_length:?},\"draft_acceptance_rate\":{rate:?}}}}}",
            self.num_spec_tokens,
            histogram.join(",")
        )
    }
}

/// vLLM's speculative-decoding counters.
#[derive(Debug)]
pub(crate) struct SpecCounters {
    drafts: AtomicU64,
    draft_tokens: AtomicU64,
    accepted: AtomicU64,
    per_position: Vec<AtomicU64>,
}

impl SpecCounters {
    pub(crate) fn new(num_spec_tokens: u32) -> Self {
        Self {
            drafts: AtomicU64::new(0),
            draft_tokens: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            per_position: (0..num_spec_tokens).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(crate) fn add(&self, a: &Acceptance) {
        self.drafts.fetch_add(a.steps(), Relaxed);
        self.draft_tokens.fetch_add(a.drafted(), Relaxed);
        self.accepted.fetch_add(a.accepted(), Relaxed);
        for (counter, n) in self.per_position.iter().zip(&a.per_position) {
            counter.fetch_add(*n, Relaxed);
        }
    }

    /// The counters in the Prometheus text format, with the server's `labels`.
    pub(crate) fn render(&self, out: &mut String, labels: &str) {
        for (name, help, counter) in [
            (
                "vllm:spec_decode_num_drafts_total",
                "Number of spec decoding drafts.",
                &self.drafts,
            ),
            (
                "vllm:spec_decode_num_draft_tokens_total",
                "Number of draft tokens.",
                &self.draft_tokens,
            ),
            (
                "vllm:spec_decode_num_accepted_tokens_total",
                "Number of accepted tokens.",
                &self.accepted,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{labels}}} {}",
                counter.load(Relaxed)
            );
        }
        let name = "vllm:spec_decode_num_accepted_tokens_per_pos_total";
        let _ = writeln!(
            out,
            "# HELP {name} Accepted tokens per draft position.\n# TYPE {name} counter"
        );
        for (pos, counter) in self.per_position.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}{{{labels},position=\"{pos}\"}} {}",
                counter.load(Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_emit_exactly_the_output() {
        let config = SpecDecodeConfig {
            num_spec_tokens: 3,
            acceptance_rate: 0.7,
        };
        let a = Acceptance::draw(config, 100, 7);
        // Each step emits its accepted drafts plus one token of the target model.
        assert_eq!(a.steps() + a.accepted(), 100);
        assert_eq!(a.histogram.len(), 4);
        assert_eq!(a.drafted(), 3 * a.steps());
        // Position i is accepted at least as often as position i + 1.
        assert!(a.per_position.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(a, Acceptance::draw(config, 100, 7));
        let field = a.response_field();
        assert!(field.contains("\"num_spec_tokens\":3"), "{field}");
        let json: serde_json::Value =
            serde_json::from_str(&format!("{{{}}}", &field[1..])).unwrap();
        let spec = &json["metrics"]["speculative_decoding"];
        assert_eq!(spec["num_spec_steps"], a.steps());
    }

    #[test]
    fn nothing_accepted_is_one_token_per_step() {
        let config = SpecDecodeConfig {
            num_spec_tokens: 2,
            acceptance_rate: 0.0,
        };
        let a = Acceptance::draw(config, 10, 1);
        assert_eq!((a.steps(), a.accepted()), (10, 0));
        let c = SpecCounters::new(2);
        c.add(&a);
        let mut text = String::new();
        c.render(&mut text, "engine=\"0\"");
        assert!(text.contains("vllm:spec_decode_num_drafts_total{engine=\"0\"} 10"));
        assert!(text.contains("vllm:spec_decode_num_draft_tokens_total{engine=\"0\"} 20"));
        assert!(text.contains("position=\"1\"} 0"));
    }
}
