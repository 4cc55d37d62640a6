//! Synthetic conversations: prompts of sampled lengths (normal distributions, `--seq-dist`
//! pairs or a `--random-range-ratio` window), shared prefixes and system prompts, per-session
//! context, turns and the pauses between them.

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

use super::prompts::{self, PromptGenerator};
use super::{Conversation, Turn, conversation_id};
use crate::settings::{DatasetOptions, LengthDist, LengthPlan, PrefixShape, SessionShape};
use crate::tokenizer::Tokenizer;

/// The shape of a synthetic dataset (`InputConfig::Synthetic` without its order).
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    pub entries: u32,
    pub isl: LengthDist,
    pub osl: Option<LengthDist>,
    /// Prompts per turn (embeddings batches), each of its own sampled length.
    pub batch: u32,
    pub sessions: SessionShape,
    pub prefixes: PrefixShape,
}

/// Draws each turn's input and output lengths.
struct Lengths<'a> {
    isl: LengthDist,
    osl: Option<LengthDist>,
    plan: Option<&'a LengthPlan>,
    rng: Pcg64Mcg,
    /// `--seq-dist` and `--random-range-ratio` draw from their own stream, so the normal
    /// lengths are the same as before those flags existed.
    plan_rng: Pcg64Mcg,
}

impl Lengths<'_> {
    /// The input length of each of `batch` prompts, and the output length, of one turn.
    fn turn(&mut self, batch: u32) -> (Vec<u32>, Option<u32>) {
        let cap = |n: u32| n.min(prompts::MAX_PROMPT_TOKENS);
        match self.plan {
            None => {
                let isl: Vec<u32> = (0..batch.max(1))
                    .map(|_| cap(self.isl.sample(&mut self.rng)))
                    .collect();
                (isl, self.osl.map(|d| d.sample(&mut self.rng)))
            }
            Some(LengthPlan::Window { isl, osl, .. }) => {
                let i = self.plan_rng.random_range(isl.0..=isl.1);
                let o = self.plan_rng.random_range(osl.0..=osl.1);
                (vec![cap(i); batch.max(1) as usize], Some(o.max(1)))
            }
            Some(LengthPlan::Pairs { pairs }) => {
                let x: f64 = self.plan_rng.random::<f64>() * 100.0;
                let mut total = 0.0;
                let pair = pairs
                    .iter()
                    .find(|p| {
                        total += p.probability;
                        x < total
                    })
                    .or(pairs.last())
                    .expect("a --seq-dist has pairs");
                let i = pair.isl.sample(&mut self.plan_rng);
                let o = pair.osl.sample(&mut self.plan_rng);
                (vec![cap(i); batch.max(1) as usize], Some(o))
            }
        }
    }
}

/// Synthetic conversations with prompts from `options.corpus`. Each turn holds `batch`
/// prompts; a conversation has `sessions.turns` turns, the later ones after a sampled pause.
pub fn conversations(
    tokenizer: &Tokenizer,
    spec: &SyntheticSpec,
    options: &DatasetOptions,
    seed: u64,
) -> Vec<Conversation> {
    let (corpus, style) = (options.corpus, options.corpus_style);
    let mut generator = PromptGenerator::with_corpus(tokenizer, seed, corpus, style);
    let mut lengths = Lengths {
        isl: spec.isl,
        osl: spec.osl,
        plan: options.lengths.as_ref(),
        rng: Pcg64Mcg::seed_from_u64(seed ^ 0x6c65_6e67_7468),
        plan_rng: Pcg64Mcg::seed_from_u64(seed ^ 0x0070_6c61_6e73),
    };
    // Shared text comes from its own generator, so prompts are the same with or without it.
    let mut shared =
        PromptGenerator::with_corpus(tokenizer, seed ^ 0x0000_7072_6566_6978, corpus, style);
    let prefixes = spec.prefixes;
    let pool: Vec<String> = (0..prefixes.count)
        .map(|_| shared.prompt(prefixes.length))
        .collect();
    let system = (prefixes.system_length > 0).then(|| shared.prompt(prefixes.system_length));
    let system_tokens = system.as_ref().map_or(0, |s| tokenizer.count(s));
    let mut contexts = options.user_context_length.map(|length| {
        (
            PromptGenerator::with_corpus(tokenizer, seed ^ 0x0063_6f6e_7465_7874, corpus, style),
            length,
        )
    });
    let mut picks = Pcg64Mcg::seed_from_u64(seed ^ 0x7069_636b);
    // Their own stream, so single-turn datasets are the same as before turns existed.
    let mut shapes = Pcg64Mcg::seed_from_u64(seed ^ 0x0074_7572_6e73);
    let sessions = spec.sessions;
    let delay = Normal::new(sessions.delay_ms_mean, sessions.delay_ms_stddev).ok();
    (0..spec.entries)
        .map(|i| {
            let turns = sessions.turns.sample(&mut shapes);
            let prefix = (!pool.is_empty()).then(|| &pool[picks.random_range(0..pool.len())]);
            let context = contexts
                .as_mut()
                .map(|(generator, length)| generator.prompt(*length));
            let turns = (0..turns)
                .map(|t| {
                    let (isl, max_tokens) = lengths.turn(spec.batch);
                    let mut texts: Vec<String> =
                        isl.into_iter().map(|n| generator.prompt(n)).collect();
                    if t == 0
                        && let Some(prefix) = prefix
                    {
                        texts[0] = format!("{prefix}{}", texts[0]);
                    }
                    let system = system.clone().filter(|_| t == 0);
                    let user_context = context.clone().filter(|_| t == 0);
                    let input_tokens: usize =
                        texts.iter().map(|t| tokenizer.count(t)).sum::<usize>()
                            + if system.is_some() { system_tokens } else { 0 }
                            + user_context.as_deref().map_or(0, |c| tokenizer.count(c));
                    let delay_ms = (t > 0).then(|| match delay {
                        Some(d) if sessions.delay_ms_stddev > 0.0 => d.sample(&mut shapes).max(0.0),
                        _ => sessions.delay_ms_mean,
                    });
                    Turn {
                        input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
                        texts,
                        role: "user".into(),
                        max_tokens,
                        delay_ms,
                        system,
                        user_context,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Encoding, PromptCorpus, SeqPair};

    fn spec(entries: u32, isl: f64) -> SyntheticSpec {
        SyntheticSpec {
            entries,
            isl: LengthDist {
                mean: isl,
                stddev: 0.0,
            },
            osl: None,
            batch: 1,
            sessions: SessionShape::default(),
            prefixes: PrefixShape::default(),
        }
    }

    #[test]
    fn seq_dist_pairs_set_both_lengths_by_their_probabilities() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let fixed = |mean: f64| LengthDist { mean, stddev: 0.0 };
        let options = DatasetOptions {
            lengths: Some(LengthPlan::Pairs {
                pairs: vec![
                    SeqPair {
                        isl: fixed(20.0),
                        osl: fixed(5.0),
                        probability: 25.0,
                    },
                    SeqPair {
                        isl: fixed(60.0),
                        osl: fixed(9.0),
                        probability: 75.0,
                    },
                ],
            }),
            ..DatasetOptions::default()
        };
        let convs = conversations(&tok, &spec(400, 100.0), &options, 3);
        let short = convs
            .iter()
            .filter(|c| c.turns[0].input_tokens == 20)
            .inspect(|c| assert_eq!(c.turns[0].max_tokens, Some(5)))
            .count();
        let long = convs
            .iter()
            .filter(|c| c.turns[0].input_tokens == 60)
            .inspect(|c| assert_eq!(c.turns[0].max_tokens, Some(9)))
            .count();
        assert_eq!(short + long, 400);
        assert!((60..140).contains(&short), "{short} of 400 at 25%");
    }

    #[test]
    fn range_windows_and_user_context() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let options = DatasetOptions {
            lengths: Some(LengthPlan::Window {
                isl: (50, 150),
                osl: (10, 30),
                ratio: (0.5, 0.5),
                given: "0.5".into(),
            }),
            user_context_length: Some(12),
            corpus: Some(PromptCorpus::Sonnet),
            ..DatasetOptions::default()
        };
        let convs = conversations(&tok, &spec(200, 100.0), &options, 9);
        let mut contexts = std::collections::HashSet::new();
        for c in &convs {
            let t = &c.turns[0];
            let context = t.user_context.as_deref().unwrap();
            assert_eq!(tok.count(context), 12);
            contexts.insert(context.to_owned());
            let body = tok.count(&t.texts[0]);
            assert!((50..=150).contains(&body), "{body}");
            assert_eq!(t.input_tokens as usize, body + 12);
            assert!((10..=30).contains(&t.max_tokens.unwrap()));
        }
        assert_eq!(contexts.len(), 200, "a context per conversation");
        let lengths: std::collections::HashSet<_> =
            convs.iter().map(|c| c.turns[0].input_tokens).collect();
        assert!(lengths.len() > 40, "uniform over the window");
    }
}
