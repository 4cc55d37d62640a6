//! Regenerates `src/vocab.txt`: lower-case words that are exactly one token, with their
//! leading space, in both `o200k_base` and `cl100k_base`. Any sequence of them tokenizes to one
//! token per word in both encodings, so the simulator's output text re-tokenizes to exactly
//! the `usage.completion_tokens` it reports.
//!
//! `cargo run -p aiperf-shared --example gen_vocab > crates/aiperf-shared/src/vocab.txt`

use std::collections::BTreeSet;
use std::io::Write;

/// Left out: benchmark prompts and answers are sent to real servers, some behind content
/// filters, and read by people.
const EXCLUDED: &[&str] = &[
    "anal", "ass", "bomb", "cock", "cum", "escort", "fuck", "kill", "murder", "porn", "sex",
    "sexy", "shoot", "teen", "terror", "tit", "weapon", "xxx",
];

fn main() {
    let o200k = tiktoken_rs::o200k_base_singleton();
    let cl100k = tiktoken_rs::cl100k_base_singleton();
    let mut words = BTreeSet::new();
    // Lower token ids are merged earlier by BPE, so they are the more common words.
    for id in 0..200_000u32 {
        let Ok(bytes) = cl100k.decode_bytes(&[id]) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let Some(word) = text.strip_prefix(' ') else {
            continue;
        };
        if !(3..=10).contains(&word.len())
            || !word.bytes().all(|b| b.is_ascii_lowercase())
            || EXCLUDED.contains(&word)
        {
            continue;
        }
        let spaced = format!(" {word}");
        if o200k.encode_ordinary(&spaced).len() == 1 && cl100k.encode_ordinary(&spaced).len() == 1 {
            words.insert((id, word.to_owned()));
        }
        if words.len() == 4096 {
            break;
        }
    }
    let mut out = std::io::stdout().lock();
    for (_, word) in words {
        writeln!(out, "{word}").unwrap();
    }
}
