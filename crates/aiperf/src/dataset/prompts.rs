//! Synthetic prompt text of an exact token length.
//!
//! A corpus (by default common English words; see `corpus`) is tokenized once; a prompt of
//! `n` tokens is a window of `n` corpus tokens decoded back to text. Decoding and re-encoding
//! can merge or split tokens at the edges with some tokenizers, so the window is resized until
//! the text re-encodes to exactly `n` tokens (with the built-in encodings and the default
//! corpus the first try is exact, because every corpus word is a single token).

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::settings::{CorpusStyle, PromptCorpus};
use crate::tokenizer::Tokenizer;

/// The longest synthetic prompt, in tokens (well past any model's context window; building a
/// longer one would only exhaust memory).
pub const MAX_PROMPT_TOKENS: u32 = 1_000_000;

/// Builds prompts of exact token lengths from a seeded corpus.
#[derive(Debug)]
pub struct PromptGenerator<'t> {
    tokenizer: &'t Tokenizer,
    corpus: Vec<u32>,
    rng: Pcg64Mcg,
    seed: u64,
}

impl<'t> PromptGenerator<'t> {
    /// Prompts from the default corpus of single-token words.
    pub fn new(tokenizer: &'t Tokenizer, seed: u64) -> Self {
        Self::with_corpus(tokenizer, seed, None, CorpusStyle::Vllm)
    }

    /// Prompts from `corpus` (`--prompt-corpus`; `None` is the default corpus).
    pub fn with_corpus(
        tokenizer: &'t Tokenizer,
        seed: u64,
        corpus: Option<PromptCorpus>,
        style: CorpusStyle,
    ) -> Self {
        Self {
            corpus: super::corpus::tokens(tokenizer, corpus, style),
            tokenizer,
            rng: Pcg64Mcg::seed_from_u64(seed),
            seed,
        }
    }

    /// A fresh prompt of `tokens` tokens.
    pub fn prompt(&mut self, tokens: u32) -> String {
        let start = self.rng.random_range(0..self.corpus.len());
        self.window(start, tokens)
    }

    /// The text of trace block `hash_id`: the same id always gives the same text, so requests
    /// that share blocks share a prompt prefix (what a KV cache can reuse).
    pub fn block(&self, hash_id: u64, tokens: u32) -> String {
        let mut rng =
            Pcg64Mcg::seed_from_u64(self.seed ^ hash_id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let start = rng.random_range(0..self.corpus.len());
        self.window(start, tokens)
    }

    /// Text of about `tokens` corpus tokens from `start`, resized until it re-encodes exactly.
    fn window(&self, start: usize, tokens: u32) -> String {
        if tokens == 0 {
            return String::new();
        }
        let target = tokens as usize;
        let mut len = target;
        let mut best: Option<(usize, String)> = None;
        for _ in 0..8 {
            let ids: Vec<u32> = (start..start + len)
                .map(|i| self.corpus[i % self.corpus.len()])
                .collect();
            let text = self.tokenizer.decode(&ids);
            let count = self.tokenizer.count(&text);
            if count == target {
                return text;
            }
            let miss = count.abs_diff(target);
            if best.as_ref().is_none_or(|(m, _)| miss < *m) {
                best = Some((miss, text));
            }
            len = if count > target {
                len.saturating_sub(count - target).max(1)
            } else {
                len + (target - count)
            };
        }
        best.map(|(_, text)| text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    #[test]
    fn prompts_have_the_exact_length_with_builtin_encodings() {
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let tok = Tokenizer::builtin(encoding);
            let mut generator = PromptGenerator::new(&tok, 7);
            for n in [1, 2, 17, 128, 550, 3000, 70_000] {
                let text = generator.prompt(n);
                assert_eq!(
                    tok.count(&text),
                    n as usize,
                    "{} tokens with {}",
                    n,
                    encoding.name()
                );
            }
        }
    }

    #[test]
    fn same_seed_same_prompts_and_blocks_are_stable() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let mut a = PromptGenerator::new(&tok, 3);
        let mut b = PromptGenerator::new(&tok, 3);
        assert_eq!(a.prompt(50), b.prompt(50));
        assert_ne!(a.prompt(50), PromptGenerator::new(&tok, 4).prompt(50));
        assert_eq!(a.block(11, 512), b.block(11, 512));
        assert_ne!(a.block(11, 512), a.block(12, 512));
        assert_eq!(tok.count(&a.block(11, 512)), 512);
    }
}
