//! What gets sent: conversations of one or more turns, from synthetic prompts, input files
//! or public datasets, and the order in which the load generator draws them.

pub mod cache_bust;
mod corpus;
mod files;
pub mod media;
pub mod prompts;
pub mod public;
pub mod rankings;
pub mod synthesis;
pub mod synthetic;

use std::sync::Arc;

use aiperf_stats::derive_seed;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

pub use files::{FileOptions, load_file, load_file_with};

use crate::UsageError;
use crate::settings::{
    DatasetFileKind, DatasetOptions, InputConfig, LengthDist, PrefixShape, Sampling, SessionShape,
};
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
    /// A user message sent before this turn's own (the first turn of a synthetic
    /// conversation, `--user-context-prompt-length`).
    pub user_context: Option<String>,
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
    /// `--cache-bust`: each session's marker.
    cache_bust: Option<cache_bust::CacheBust>,
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
            cache_bust: None,
        }
    }

    /// Marks each session's first turn as `--cache-bust` asks.
    pub fn with_cache_bust(mut self, bust: Option<cache_bust::CacheBust>) -> Self {
        self.cache_bust = bust;
        self
    }

    /// Conversation `conversation` as session `session` of its phase (`warmup` or not)
    /// sends it: a marked copy under `--cache-bust`, or `None` to send it as stored.
    pub fn for_session(
        &self,
        conversation: usize,
        session: u64,
        warmup: bool,
    ) -> Option<Conversation> {
        let bust = self.cache_bust.as_ref()?;
        bust.apply(&self.conversations[conversation], session, warmup)
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

/// Synthetic conversations with normally distributed lengths from the default corpus (see
/// [`synthetic::conversations`] for every option).
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
    let spec = synthetic::SyntheticSpec {
        entries,
        isl,
        osl,
        batch,
        sessions,
        prefixes,
    };
    synthetic::conversations(tokenizer, &spec, &DatasetOptions::default(), seed)
}

/// Builds the conversations of a run and the order they are used in: synthetic prompts, an
/// input file or a public dataset, then what applies to every dataset (the verbatim system
/// prompt, dropped trace delays). Cache-busting markers are added per session (see
/// [`Dataset::for_session`]).
pub fn build(
    tokenizer: &Arc<Tokenizer>,
    input: &InputConfig,
    options: &DatasetOptions,
    seed: u64,
) -> Result<(Vec<Conversation>, Sampling), UsageError> {
    let bust = cache_bust::CacheBust::new(options.cache_bust, seed, tokenizer.clone());
    let (mut conversations, sampling) = match input {
        InputConfig::Synthetic {
            entries,
            sampling,
            rankings: Some(shape),
            ..
        } => (
            rankings::synthetic(tokenizer, *entries, *shape, seed),
            *sampling,
        ),
        InputConfig::Synthetic {
            entries,
            isl,
            osl,
            sampling,
            batch,
            sessions,
            prefixes,
            ..
        } => {
            let has_system = prefixes.system_length > 0 || options.system_prompt.is_some();
            let (first_trim, system_trim) = bust.as_ref().map_or((0, 0), |b| b.trims(has_system));
            let mut first_isl = *isl;
            first_isl.mean = (first_isl.mean - f64::from(first_trim)).max(1.0);
            let mut prefixes = *prefixes;
            if prefixes.system_length > 0 {
                prefixes.system_length = prefixes.system_length.saturating_sub(system_trim).max(1);
            }
            let spec = synthetic::SyntheticSpec {
                entries: *entries,
                isl: if first_trim > 0 && sessions.turns.mean <= 1.0 {
                    first_isl
                } else {
                    *isl
                },
                osl: *osl,
                batch: *batch,
                sessions: *sessions,
                prefixes,
            };
            (
                synthetic::conversations(tokenizer, &spec, options, seed),
                *sampling,
            )
        }
        InputConfig::File {
            path,
            kind: DatasetFileKind::PublicDataset,
            osl,
            sampling,
            ..
        } => {
            let name = options.public.as_ref().map_or("", |p| p.name.as_str());
            let spec = public::find(name).map_err(UsageError::new)?;
            let mut convs = public::load_public(spec, path, tokenizer, osl.is_some(), seed)?;
            fill_osl(&mut convs, *osl, seed);
            (convs, *sampling)
        }
        InputConfig::File {
            path,
            kind,
            osl,
            sampling,
            block_tokens,
        } => {
            let opts = FileOptions {
                osl: *osl,
                block_tokens: *block_tokens,
                seed,
                options,
            };
            (load_file_with(path, *kind, tokenizer, &opts)?, *sampling)
        }
    };
    if let Some(system) = &options.system_prompt {
        add_system_prompt(&mut conversations, system, tokenizer);
    }
    if options.ignore_trace_delays {
        for turn in conversations.iter_mut().flat_map(|c| c.turns.iter_mut()) {
            turn.timestamp_ms = None;
            turn.delay_ms = None;
        }
    }
    Ok((conversations, sampling))
}

/// `--osl` for the turns that do not say how long their answer should be.
fn fill_osl(conversations: &mut [Conversation], osl: Option<LengthDist>, seed: u64) {
    let Some(osl) = osl else { return };
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x006f_736c);
    for turn in conversations.iter_mut().flat_map(|c| c.turns.iter_mut()) {
        if turn.max_tokens.is_none() {
            turn.max_tokens = Some(osl.sample(&mut rng));
        }
    }
}

/// Puts `system` before every conversation's own system prompt (joined by a blank line), or
/// makes it the system prompt; its tokens count in the first turn's input length.
fn add_system_prompt(conversations: &mut [Conversation], system: &str, tokenizer: &Tokenizer) {
    let tokens = u32::try_from(tokenizer.count(system)).unwrap_or(u32::MAX);
    for first in conversations.iter_mut().filter_map(|c| c.turns.first_mut()) {
        first.system = Some(match first.system.take() {
            Some(own) => {
                let own_tokens = u32::try_from(tokenizer.count(&own)).unwrap_or(u32::MAX);
                let joined = format!("{system}\n\n{own}");
                let joined_tokens = u32::try_from(tokenizer.count(&joined)).unwrap_or(u32::MAX);
                first.input_tokens = first
                    .input_tokens
                    .saturating_sub(own_tokens)
                    .saturating_add(joined_tokens);
                joined
            }
            None => {
                first.input_tokens = first.input_tokens.saturating_add(tokens);
                system.to_owned()
            }
        });
    }
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
