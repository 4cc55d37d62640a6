//! The texts synthetic prompts are cut from (`--prompt-corpus`): common single-token words
//! (the default), Shakespeare's sonnets, code-like text, or random token ids.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::settings::{CorpusStyle, PromptCorpus};
use crate::tokenizer::Tokenizer;

/// Words in the default corpus; long enough that windows rarely overlap.
const CORPUS_WORDS: usize = 60_000;

/// Tokens in the random corpus.
const RANDOM_TOKENS: usize = 200_000;

/// Shakespeare's sonnets (public domain), punctuation removed.
const SONNETS: &str = include_str!("assets/sonnets.txt");

/// The token ids of the corpus `corpus` under `tokenizer`. Each corpus is fixed (its own
/// seed), so prompts differ by seed only in where their windows start.
pub(super) fn tokens(
    tokenizer: &Tokenizer,
    corpus: Option<PromptCorpus>,
    style: CorpusStyle,
) -> Vec<u32> {
    match corpus {
        None => tokenizer.encode(&words()),
        Some(PromptCorpus::Sonnet) => tokenizer.encode(SONNETS),
        Some(PromptCorpus::Coding) => tokenizer.encode(&coding()),
        Some(PromptCorpus::Random) => random(tokenizer, style),
    }
}

/// Common words, each a single token of the built-in encodings.
fn words() -> String {
    let words: Vec<&str> = aiperf_shared::vocab::single_token_words().collect();
    let mut rng = Pcg64Mcg::seed_from_u64(0x636f_7270_7573);
    let mut text = String::with_capacity(CORPUS_WORDS * 8);
    for _ in 0..CORPUS_WORDS {
        text.push(' ');
        text.push_str(words[rng.random_range(0..words.len())]);
    }
    text
}

/// Random token ids of the vocabulary: the ids that decode to text; for the vllm style not
/// the special ones (what `vllm bench serve` draws), for sglang every id.
fn random(tokenizer: &Tokenizer, style: CorpusStyle) -> Vec<u32> {
    let pool: Vec<u32> = match tokenizer {
        Tokenizer::Hf { tokenizer, .. } => {
            let size = tokenizer.get_vocab_size(true) as u32;
            let special: std::collections::HashSet<u32> = tokenizer
                .get_added_vocabulary()
                .get_added_tokens_decoder()
                .iter()
                .filter(|(_, t)| t.special)
                .map(|(id, _)| *id)
                .collect();
            (0..size)
                .filter(|id| style == CorpusStyle::Sglang || !special.contains(id))
                .collect()
        }
        // The built-in encodings' special tokens are the ids that decode to `<|...|>`.
        _ => (0..300_000)
            .filter(|id| {
                let text = tokenizer.decode(&[*id]);
                let special = text.starts_with("<|") && text.ends_with("|>");
                !text.is_empty() && (style == CorpusStyle::Sglang || !special)
            })
            .collect(),
    };
    if pool.is_empty() {
        return tokenizer.encode(&words());
    }
    let mut rng = Pcg64Mcg::seed_from_u64(0x7261_6e64_6f6d);
    (0..RANDOM_TOKENS)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect()
}

/// Code, shell sessions, JSON, tracebacks and diffs, assembled from fixed pieces with seeded
/// names and numbers (the kind of text coding agents send).
fn coding() -> String {
    const NOUNS: [&str; 16] = [
        "user", "order", "cache", "request", "token", "session", "buffer", "config", "record",
        "worker", "queue", "shard", "batch", "metric", "stream", "client",
    ];
    const VERBS: [&str; 12] = [
        "load", "parse", "build", "merge", "flush", "fetch", "update", "resolve", "encode",
        "validate", "schedule", "render",
    ];
    const ERRORS: [&str; 6] = [
        "KeyError",
        "ValueError",
        "TimeoutError",
        "ConnectionResetError",
        "IndexError",
        "TypeError",
    ];
    let mut rng = Pcg64Mcg::seed_from_u64(0x636f_6469_6e67);
    let mut out = String::with_capacity(400_000);
    let pick = |rng: &mut Pcg64Mcg, list: &[&'static str]| list[rng.random_range(0..list.len())];
    while out.len() < 360_000 {
        let (noun, other, verb) = (
            pick(&mut rng, &NOUNS),
            pick(&mut rng, &NOUNS),
            pick(&mut rng, &VERBS),
        );
        let n: u32 = rng.random_range(1..5000);
        let piece = match rng.random_range(0..6) {
            0 => format!(
                "def {verb}_{noun}(self, {other}_id: int, limit: int = {n}) -> list[dict]:\n    \
                 \"\"\"{verb} the {noun} rows of one {other}.\"\"\"\n    rows = self.db.query(\
                 \"SELECT * FROM {noun}s WHERE {other}_id = %s LIMIT %s\", ({other}_id, limit))\n    \
                 if not rows:\n        raise {}(f\"no {noun} for {{{other}_id}}\")\n    return \
                 [self._{verb}(row) for row in rows]\n\n",
                pick(&mut rng, &ERRORS)
            ),
            1 => format!(
                "pub fn {verb}_{noun}(&mut self, {other}: &{}) -> Result<usize, Error> {{\n    \
                 let mut total = 0;\n    for item in self.{noun}s.iter_mut().take({n}) {{\n        \
                 total += item.{verb}({other})?;\n    }}\n    Ok(total)\n}}\n\n",
                capitalize(other)
            ),
            2 => format!(
                "$ cargo test {noun}::{verb} -- --nocapture\n   Compiling {other} v0.{} \
                 (/work/{other})\n    Finished test [unoptimized + debuginfo] target(s) in \
                 {}.{}s\n     Running unittests src/lib.rs\nrunning {} tests\ntest {noun}::\
                 tests::{verb}_empty ... ok\ntest {noun}::tests::{verb}_{other} ... FAILED\n\n",
                n % 40,
                n % 60,
                n % 100,
                n % 30 + 2
            ),
            3 => format!(
                "{{\"{noun}\": {{\"id\": {n}, \"{other}_ids\": [{}, {}, {}], \"status\": \
                 \"{verb}ed\", \"retries\": {}, \"labels\": {{\"tier\": \"{other}\", \"zone\": \
                 \"us-east-{}\"}}}}}}\n",
                n * 3,
                n * 7,
                n * 11,
                n % 5,
                n % 3 + 1
            ),
            4 => format!(
                "Traceback (most recent call last):\n  File \"/app/{noun}/service.py\", line {n}, \
                 in {verb}_{noun}\n    result = self.{other}_client.{verb}(payload)\n  File \
                 \"/app/{other}/client.py\", line {}, in {verb}\n    raise {}(key)\n{}: '{noun}_{}'\n\n",
                n % 300 + 10,
                pick(&mut rng, &ERRORS),
                pick(&mut rng, &ERRORS),
                n % 97
            ),
            _ => format!(
                "diff --git a/src/{noun}.rs b/src/{noun}.rs\nindex {n:07x}..{:07x} 100644\n--- \
                 a/src/{noun}.rs\n+++ b/src/{noun}.rs\n@@ -{},7 +{},8 @@ impl {} {{\n-        \
                 self.{other}.{verb}()\n+        let {other} = self.{other}.{verb}()?;\n+        \
                 {other}.check({n})?;\n         Ok(())\n     }}\n\n",
                n * 13 % 0xfff_ffff,
                n % 400,
                n % 400,
                capitalize(noun)
            ),
        };
        out.push_str(&piece);
    }
    out
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    #[test]
    fn corpora_are_fixed_and_distinct() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let sonnet = tokens(&tok, Some(PromptCorpus::Sonnet), CorpusStyle::Vllm);
        assert!(tok.decode(&sonnet[..8]).starts_with("THE SONNETS"));
        let coding = tokens(&tok, Some(PromptCorpus::Coding), CorpusStyle::Vllm);
        assert_eq!(
            coding,
            tokens(&tok, Some(PromptCorpus::Coding), CorpusStyle::Vllm)
        );
        let text = tok.decode(&coding);
        for needle in [
            "def ",
            "Traceback",
            "diff --git",
            "$ cargo test",
            "\"status\"",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        let random = tokens(&tok, Some(PromptCorpus::Random), CorpusStyle::Vllm);
        assert_eq!(random.len(), RANDOM_TOKENS);
        let distinct: std::collections::HashSet<_> = random.iter().collect();
        assert!(distinct.len() > 50_000, "{}", distinct.len());
    }
}
