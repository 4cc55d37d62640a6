//! What gets sent: conversations of one or more turns, from synthetic prompts or input files,
//! and the order in which the load generator draws them.

mod files;
pub mod media;
pub mod prompts;
pub mod rankings;

use aiperf_stats::derive_seed;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

pub use files::load_file;
use prompts::PromptGenerator;

use crate::settings::{LengthDist, Sampling};
use crate::settings::{PrefixShape, SessionShape};
use crate::tokenizer::Tokenizer;

/// A conversation: one turn for single-turn datasets, several for multi-turn sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub turns: Vec<Turn>,
}

/// One request's worth of input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    /// Message content; several texts become several content parts.
    pub texts: Vec<String>,
    pub role: String,
    /// Input tokens of `texts`, counted with the run's tokenizer.
    pub input_tokens: u32,
    /// Requested output length (`max_completion_tokens` / `max_tokens`).
    pub max_tokens: Option<u32>,
    /// Trace time of the request, milliseconds (fixed-schedule replay).
    pub timestamp_ms: Option<f64>,
    /// Pause before this turn, milliseconds (multi-turn sessions).
    pub delay_ms: Option<f64>,
    /// A system prompt sent before this turn (the first turn of a conversation): a system
    /// message in chat, text before the prompt in completions.
    pub system: Option<String>,
    /// Texts an input file names for an endpoint that reads them by name (rankings: `query`
    /// or `queries`, `passages`), in file order.
    pub named_texts: Vec<(String, Vec<String>)>,
    /// Images: URLs or `data:image/...;base64,` URIs.
    pub images: Vec<String>,
    /// Audio clips: `format,base64` (`wav,UklGR...`) or `data:audio/...;base64,` URIs.
    pub audios: Vec<String>,
    /// Videos: URLs or `data:video/...;base64,` URIs.
    pub videos: Vec<String>,
    /// Length of the first audio clip, in seconds, when known (speech metrics).
    pub audio_secs: Option<f64>,
}

impl Turn {
    /// The contents of the texts named `name` (an input file's `{"name": ..., "contents": [...]}`).
    pub fn named(&self, names: &[&str]) -> Vec<&str> {
        (self.named_texts.iter())
            .filter(|(n, _)| names.contains(&n.as_str()))
            .flat_map(|(_, c)| c.iter().map(String::as_str))
            .collect()
    }
}

/// All conversations of a run and how to pick among them.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub conversations: Vec<Conversation>,
    order: Order,
}

#[derive(Debug, Clone)]
enum Order {
    Sequential,
    Permutation(Vec<usize>),
    Random(u64),
}

impl Dataset {
    pub fn new(conversations: Vec<Conversation>, sampling: Sampling, seed: u64) -> Self {
        let order = match sampling {
            Sampling::Sequential => Order::Sequential,
            Sampling::Shuffle => {
                let mut perm: Vec<usize> = (0..conversations.len()).collect();
                perm.shuffle(&mut Pcg64Mcg::seed_from_u64(seed ^ 0x73_6875_6666));
                Order::Permutation(perm)
            }
            Sampling::Random => Order::Random(seed),
        };
        Self {
            conversations,
            order,
        }
    }

    /// The conversation used by the `credit`-th session of a run. A pure function of
    /// `credit`, so every worker agrees without sharing state.
    pub fn index(&self, credit: u64) -> usize {
        let n = self.conversations.len() as u64;
        let i = match &self.order {
            Order::Sequential => credit % n,
            Order::Permutation(perm) => perm[(credit % n) as usize] as u64,
            Order::Random(seed) => derive_seed(*seed, credit) % n,
        };
        i as usize
    }

    /// `true` when every first turn carries a trace timestamp (fixed-schedule replay).
    pub fn has_timestamps(&self) -> bool {
        !self.conversations.is_empty()
            && self
                .conversations
                .iter()
                .all(|c| c.turns.first().is_some_and(|t| t.timestamp_ms.is_some()))
    }

    /// Number of turns over all conversations.
    pub fn total_turns(&self) -> usize {
        self.conversations.iter().map(|c| c.turns.len()).sum()
    }
}

/// Synthetic conversations with normally distributed lengths. Each turn holds `batch` prompts
/// (embeddings batches), each of its own sampled length; a conversation has
/// `sessions.turns` turns, the later ones after a sampled pause.
#[allow(clippy::too_many_arguments)]
pub fn synthetic(
    tokenizer: &Tokenizer,
    entries: u32,
    isl: LengthDist,
    osl: Option<LengthDist>,
    batch: u32,
    sessions: SessionShape,
    prefixes: PrefixShape,
    seed: u64,
) -> Vec<Conversation> {
    let mut generator = PromptGenerator::new(tokenizer, seed);
    let mut lengths = Pcg64Mcg::seed_from_u64(seed ^ 0x6c65_6e67_7468);
    // Shared text comes from its own generator, so prompts are the same with or without it.
    let mut shared = PromptGenerator::new(tokenizer, seed ^ 0x0000_7072_6566_6978);
    let pool: Vec<String> = (0..prefixes.count)
        .map(|_| shared.prompt(prefixes.length))
        .collect();
    let system = (prefixes.system_length > 0).then(|| shared.prompt(prefixes.system_length));
    let system_tokens = system.as_ref().map_or(0, |s| tokenizer.count(s));
    let mut picks = Pcg64Mcg::seed_from_u64(seed ^ 0x7069_636b);
    // Their own stream, so single-turn datasets are the same as before turns existed.
    let mut shapes = Pcg64Mcg::seed_from_u64(seed ^ 0x0074_7572_6e73);
    let delay = Normal::new(sessions.delay_ms_mean, sessions.delay_ms_stddev).ok();
    (0..entries)
        .map(|i| {
            let turns = sessions.turns.sample(&mut shapes);
            let prefix = (!pool.is_empty()).then(|| &pool[picks.random_range(0..pool.len())]);
            let turns = (0..turns)
                .map(|t| {
                    let mut texts: Vec<String> = (0..batch.max(1))
                        .map(|_| {
                            let input_tokens =
                                isl.sample(&mut lengths).min(prompts::MAX_PROMPT_TOKENS);
                            generator.prompt(input_tokens)
                        })
                        .collect();
                    if t == 0
                        && let Some(prefix) = prefix
                    {
                        texts[0] = format!("{prefix}{}", texts[0]);
                    }
                    let max_tokens = osl.map(|d| d.sample(&mut lengths));
                    let system = system.clone().filter(|_| t == 0);
                    let input_tokens: usize =
                        texts.iter().map(|t| tokenizer.count(t)).sum::<usize>()
                            + if system.is_some() { system_tokens } else { 0 };
                    let delay_ms = (t > 0).then(|| match delay {
                        Some(d) if sessions.delay_ms_stddev > 0.0 => d.sample(&mut shapes).max(0.0),
                        _ => sessions.delay_ms_mean,
                    });
                    Turn {
                        input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
                        texts,
                        role: "user".into(),
                        max_tokens,
                        timestamp_ms: None,
                        delay_ms,
                        system,
                        ..Turn::default()
                    }
                })
                .collect();
            Conversation {
                id: conversation_id(seed, u64::from(i)),
                turns,
            }
        })
        .collect()
}

/// A stable, UUID-shaped conversation id derived from the seed.
pub fn conversation_id(seed: u64, index: u64) -> String {
    let a = derive_seed(seed, index);
    let b = derive_seed(a, index ^ 0x5eed);
    let bytes = (u128::from(a) << 64 | u128::from(b)).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl LengthDist {
    /// A seeded sample, rounded, at least 1.
    pub fn sample(&self, rng: &mut Pcg64Mcg) -> u32 {
        let value = match Normal::new(self.mean, self.stddev) {
            Ok(normal) if self.stddev > 0.0 => normal.sample(rng),
            _ => self.mean,
        };
        value.round().clamp(1.0, f64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    #[test]
    fn synthetic_prompts_hit_the_requested_lengths() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let isl = LengthDist {
            mean: 128.0,
            stddev: 0.0,
        };
        let osl = LengthDist {
            mean: 32.0,
            stddev: 4.0,
        };
        let convs = synthetic(
            &tok,
            20,
            isl,
            Some(osl),
            1,
            SessionShape::default(),
            PrefixShape::default(),
            1,
        );
        assert_eq!(convs.len(), 20);
        for c in &convs {
            let turn = &c.turns[0];
            assert_eq!(turn.input_tokens, 128);
            assert_eq!(tok.count(&turn.texts[0]), 128);
            assert!(turn.max_tokens.unwrap() >= 1);
        }
        let ids: std::collections::HashSet<_> = convs.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), 20, "conversation ids are unique");
        assert_eq!(
            synthetic(
                &tok,
                20,
                isl,
                Some(osl),
                1,
                SessionShape::default(),
                PrefixShape::default(),
                1
            ),
            convs,
            "seeded"
        );
    }

    #[test]
    fn prefixes_and_the_system_prompt_are_shared_and_counted() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let isl = LengthDist {
            mean: 40.0,
            stddev: 0.0,
        };
        let plain = synthetic(
            &tok,
            30,
            isl,
            None,
            1,
            SessionShape::default(),
            PrefixShape::default(),
            3,
        );
        let shape = PrefixShape {
            count: 3,
            length: 64,
            system_length: 16,
        };
        let convs = synthetic(&tok, 30, isl, None, 1, SessionShape::default(), shape, 3);
        let mut prefixes = std::collections::HashSet::new();
        for (c, p) in convs.iter().zip(&plain) {
            let turn = &c.turns[0];
            let system = turn.system.as_deref().unwrap();
            assert_eq!(tok.count(system), 16);
            assert_eq!(
                turn.system, convs[0].turns[0].system,
                "one system prompt for all"
            );
            // The prompt itself is the one the run would send without prefixes.
            let prefix = turn.texts[0]
                .strip_suffix(p.turns[0].texts[0].as_str())
                .unwrap();
            assert_eq!(tok.count(prefix), 64);
            prefixes.insert(prefix.to_owned());
            assert_eq!(turn.input_tokens, 16 + 64 + 40);
        }
        assert_eq!(prefixes.len(), 3, "every prefix of the pool is used");
    }

    #[test]
    fn synthetic_sessions_have_sampled_turns_and_pauses() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let isl = LengthDist {
            mean: 16.0,
            stddev: 0.0,
        };
        let shape = SessionShape {
            turns: LengthDist {
                mean: 4.0,
                stddev: 1.5,
            },
            delay_ms_mean: 100.0,
            delay_ms_stddev: 30.0,
        };
        let convs = synthetic(&tok, 400, isl, None, 1, shape, PrefixShape::default(), 7);
        let turns: Vec<usize> = convs.iter().map(|c| c.turns.len()).collect();
        let mean = turns.iter().sum::<usize>() as f64 / turns.len() as f64;
        assert!((mean - 4.0).abs() < 0.3, "{mean}");
        assert!(turns.iter().all(|&t| t >= 1) && turns.iter().any(|&t| t != 4));
        let delays: Vec<f64> = convs
            .iter()
            .flat_map(|c| {
                assert!(
                    c.turns[0].delay_ms.is_none(),
                    "no pause before the first turn"
                );
                c.turns[1..].iter().map(|t| t.delay_ms.unwrap())
            })
            .collect();
        let mean = delays.iter().sum::<f64>() / delays.len() as f64;
        assert!((mean - 100.0).abs() < 5.0, "{mean}");
        assert!(delays.iter().all(|d| *d >= 0.0));
        // One turn each: the same dataset as without sessions.
        let single = synthetic(
            &tok,
            5,
            isl,
            None,
            1,
            SessionShape::default(),
            PrefixShape::default(),
            7,
        );
        assert!(single.iter().all(|c| c.turns.len() == 1));
    }

    #[test]
    fn orders_visit_every_conversation() {
        let convs: Vec<Conversation> = (0..10)
            .map(|i| Conversation {
                id: i.to_string(),
                turns: vec![],
            })
            .collect();
        for sampling in [Sampling::Sequential, Sampling::Shuffle] {
            let ds = Dataset::new(convs.clone(), sampling, 5);
            let mut seen: Vec<usize> = (0..10).map(|c| ds.index(c)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>(), "{sampling:?}");
            assert_eq!(ds.index(3), ds.index(13), "wraps around");
        }
        let ds = Dataset::new(convs, Sampling::Random, 5);
        assert!((0..100).all(|c| ds.index(c) < 10));
    }

    #[test]
    fn length_samples_are_at_least_one() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let d = LengthDist {
            mean: 2.0,
            stddev: 10.0,
        };
        assert!((0..1000).all(|_| d.sample(&mut rng) >= 1));
    }
}
