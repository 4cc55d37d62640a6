//! Synthetic rankings data: each request is one query and a number of passages to rank
//! against it, every count and length drawn from its `--rankings-*` distribution. The texts
//! are named `query` and `passages`, as the rankings endpoint types read them.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::prompts::{MAX_PROMPT_TOKENS, PromptGenerator};
use super::{Conversation, Turn, conversation_id};
use crate::settings::RankingsShape;
use crate::tokenizer::Tokenizer;

/// `entries` single-turn conversations of a query and its passages, the same for the same
/// `seed`.
pub fn synthetic(
    tokenizer: &Tokenizer,
    entries: u32,
    shape: RankingsShape,
    seed: u64,
) -> Vec<Conversation> {
    let mut prompts = PromptGenerator::new(tokenizer, seed);
    // Counts and lengths each from their own stream, so changing one flag leaves the others'
    // draws as they were.
    let mut counts = Pcg64Mcg::seed_from_u64(seed ^ 0x7061_7373_6167_6573);
    let mut passage_lengths = Pcg64Mcg::seed_from_u64(seed ^ 0x0070_6c65_6e67_7468);
    let mut query_lengths = Pcg64Mcg::seed_from_u64(seed ^ 0x0071_6c65_6e67_7468);
    (0..entries)
        .map(|i| {
            let passages = shape.passages.sample(&mut counts);
            let query_tokens = shape
                .query_tokens
                .sample(&mut query_lengths)
                .min(MAX_PROMPT_TOKENS);
            let query = prompts.prompt(query_tokens);
            let passages: Vec<String> = (0..passages)
                .map(|_| {
                    let tokens = shape
                        .passage_tokens
                        .sample(&mut passage_lengths)
                        .min(MAX_PROMPT_TOKENS);
                    prompts.prompt(tokens)
                })
                .collect();
            let input_tokens: usize = std::iter::once(&query)
                .chain(&passages)
                .map(|t| tokenizer.count(t))
                .sum();
            let mut texts = Vec::with_capacity(passages.len() + 1);
            texts.push(query.clone());
            texts.extend(passages.iter().cloned());
            Conversation {
                id: conversation_id(seed, u64::from(i)),
                turns: vec![Turn {
                    texts,
                    role: "user".into(),
                    input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
                    named_texts: vec![("query".into(), vec![query]), ("passages".into(), passages)],
                    ..Turn::default()
                }],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Encoding, LengthDist};

    #[test]
    fn queries_and_passages_have_the_drawn_lengths() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let shape = RankingsShape {
            passages: LengthDist {
                mean: 4.0,
                stddev: 0.0,
            },
            passage_tokens: LengthDist {
                mean: 40.0,
                stddev: 0.0,
            },
            query_tokens: LengthDist {
                mean: 12.0,
                stddev: 0.0,
            },
        };
        let convs = synthetic(&tok, 5, shape, 3);
        assert_eq!(convs.len(), 5);
        for c in &convs {
            let turn = &c.turns[0];
            let query = turn.named(&["query"]);
            let passages = turn.named(&["passages"]);
            assert_eq!(query.len(), 1);
            assert_eq!(tok.count(query[0]), 12);
            assert_eq!(passages.len(), 4);
            assert!(passages.iter().all(|p| tok.count(p) == 40));
            assert_eq!(turn.input_tokens, 12 + 4 * 40);
            assert_eq!(turn.texts.len(), 5);
            assert_eq!(turn.max_tokens, None);
        }
        assert_ne!(convs[0].turns[0].texts, convs[1].turns[0].texts);
    }

    #[test]
    fn the_same_seed_gives_the_same_requests() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let shape = RankingsShape {
            passages: LengthDist {
                mean: 6.0,
                stddev: 3.0,
            },
            ..RankingsShape::default()
        };
        let a = synthetic(&tok, 20, shape, 9);
        assert_eq!(a, synthetic(&tok, 20, shape, 9));
        assert_ne!(a, synthetic(&tok, 20, shape, 10));
        let counts: Vec<usize> = a
            .iter()
            .map(|c| c.turns[0].named(&["passages"]).len())
            .collect();
        assert!(counts.iter().all(|&n| n >= 1), "{counts:?}");
        assert!(
            counts.iter().any(|&n| n != 6),
            "the count varies: {counts:?}"
        );
        let default = synthetic(&tok, 1, RankingsShape::default(), 1);
        assert_eq!(default[0].turns[0].input_tokens, 32 + 10 * 128);
    }
}
