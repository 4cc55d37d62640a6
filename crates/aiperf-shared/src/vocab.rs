//! Lower-case words that are exactly one token, with their leading space, in both
//! `o200k_base` and `cl100k_base` (`vocab.txt`, made by `examples/gen_vocab.rs`). Those
//! encodings split text into words before merging bytes, so a string of `n` such words is
//! exactly `n` tokens: the simulator writes its answers with them (a client counting the text
//! gets the server's `usage`), and the client builds synthetic prompts of exact lengths.

const VOCAB: &str = include_str!("vocab.txt");

/// The single-token words, without their leading space.
pub fn single_token_words() -> impl Iterator<Item = &'static str> {
    VOCAB.lines()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_one_token_in_both_encodings() {
        let words: Vec<String> = single_token_words().map(|w| format!(" {w}")).collect();
        assert!(words.len() >= 1000);
        for bpe in [
            tiktoken_rs::o200k_base_singleton(),
            tiktoken_rs::cl100k_base_singleton(),
        ] {
            for word in &words {
                assert_eq!(bpe.encode_ordinary(word).len(), 1, "{word:?}");
            }
            let text: String = words.iter().take(3000).map(String::as_str).collect();
            assert_eq!(bpe.encode_ordinary(&text).len(), words.len().min(3000));
        }
    }
}
