//! Prompt token counting and output text generation.
//!
//! Output text is made of words from the shared `vocab.txt`, each of which is a single token (with its
//! leading space) in both `o200k_base` and `cl100k_base`. Those encodings split text into
//! words before merging bytes, so a string of `n` such words is exactly `n` tokens: a client
//! that counts the text it received gets the same number as the server's
//! `usage.completion_tokens`.

use rand::RngExt;
use tiktoken_rs::CoreBPE;

use crate::config::TokenizerKind;

use aiperf_shared::vocab::single_token_words;

/// The single-token words output text is drawn from.
#[derive(Debug)]
pub(crate) struct Vocabulary {
    /// Each word with its leading space, ready to send.
    words: Vec<String>,
}

impl Vocabulary {
    pub(crate) fn load() -> Self {
        Self {
            words: single_token_words().map(|w| format!(" {w}")).collect(),
        }
    }

    /// The text of one output token.
    pub(crate) fn sample<'a>(&'a self, rng: &mut impl rand::Rng) -> &'a str {
        &self.words[rng.random_range(0..self.words.len())]
    }
}

/// Counts prompt tokens the way the configured tokenizer would.
#[derive(Clone)]
pub(crate) enum PromptTokenizer {
    Bpe(&'static CoreBPE),
    Approx,
}

impl std::fmt::Debug for PromptTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bpe(_) => f.write_str("PromptTokenizer::Bpe"),
            Self::Approx => f.write_str("PromptTokenizer::Approx"),
        }
    }
}

impl PromptTokenizer {
    /// Loads the tokenizer; the BPE tables take a moment to build the first time.
    pub(crate) fn load(kind: TokenizerKind) -> Self {
        match kind {
            TokenizerKind::O200kBase => Self::Bpe(tiktoken_rs::o200k_base_singleton()),
            TokenizerKind::Cl100kBase => Self::Bpe(tiktoken_rs::cl100k_base_singleton()),
            TokenizerKind::Approx => Self::Approx,
        }
    }

    /// The token ids of `text` (`None`: the approximate counter has no ids).
    pub(crate) fn encode(&self, text: &str) -> Option<Vec<u32>> {
        match self {
            Self::Bpe(bpe) => Some(bpe.encode_ordinary(text)),
            Self::Approx => None,
        }
    }

    /// The text of `ids` (`None` with the approximate counter, or ids it does not know).
    pub(crate) fn decode(&self, ids: &[u32]) -> Option<String> {
        match self {
            Self::Bpe(bpe) => bpe
                .decode_bytes(ids)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            Self::Approx => None,
        }
    }

    pub(crate) fn count(&self, text: &str) -> u32 {
        let n = match self {
            Self::Bpe(bpe) => bpe.encode_ordinary(text).len(),
            Self::Approx => text.len().div_ceil(4),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    use super::*;

    #[test]
    fn generated_text_retokenizes_to_its_length() {
        let vocab = Vocabulary::load();
        let mut rng = Pcg64Mcg::seed_from_u64(9);
        let text: String = (0..5000).map(|_| vocab.sample(&mut rng)).collect();
        for kind in [TokenizerKind::O200kBase, TokenizerKind::Cl100kBase] {
            assert_eq!(
                PromptTokenizer::load(kind).count(&text),
                5000,
                "{}",
                kind.name()
            );
        }
    }

    #[test]
    fn approx_counts_four_bytes_per_token() {
        let tok = PromptTokenizer::load(TokenizerKind::Approx);
        assert_eq!(tok.count(""), 0);
        assert_eq!(tok.count("abcd"), 1);
        assert_eq!(tok.count("abcde"), 2);
    }
}
