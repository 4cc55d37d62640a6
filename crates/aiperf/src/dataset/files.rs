//! `--input-file` loaders: the JSON-lines formats of the reference tool.
//!
//! * `single_turn`: one request per line, `{"text": "..."}` or `{"texts": [...]}`, optional
//!   (`texts` may hold named texts, `{"name": "query", "contents": ["..."]}`, which the rankings
//!   endpoint types read by name),
//!   `timestamp` (ms, replayed on a fixed schedule), `delay` (ms), `role`.
//! * `multi_turn`: one session per line, `{"session_id": "...", "turns": [<single_turn>...]}`.
//! * `mooncake_trace`: one request per line, `{"timestamp": ms, "input_length": n,
//!   "output_length": m, "hash_ids": [...]}` (or `text_input` instead of a length). Each hash
//!   id stands for a 512-token block, so requests that share ids share a prompt prefix; lines
//!   with the same `session_id` form one multi-turn session.
//!
//! `single_turn` and `multi_turn` rows may carry `image`/`images`, `audio`/`audios` and
//! `video`/`videos` (URLs, data URIs, `wav,<base64>` or local files; see `media::row_media`),
//! with or without text.
//!
//! Errors name `--input-file`, the line and the field.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::prompts::{MAX_PROMPT_TOKENS, PromptGenerator};
use super::{Conversation, Turn, conversation_id};
use crate::UsageError;
use crate::settings::{DatasetFileKind, LengthDist};
use crate::tokenizer::Tokenizer;

impl DatasetFileKind {
    fn example(self) -> &'static str {
        match self {
            Self::SingleTurn => r#"{"text": "What is the capital of France?"}"#,
            Self::MultiTurn => {
                r#"{"session_id": "s1", "turns": [{"text": "Hi"}, {"text": "And then?", "delay": 500}]}"#
            }
            Self::MooncakeTrace => {
                r#"{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}"#
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SingleTurnRow {
    text: Option<String>,
    texts: Option<Vec<TextEntry>>,
    timestamp: Option<f64>,
    delay: Option<f64>,
    role: Option<String>,
    #[serde(rename = "type")]
    _kind: Option<String>,
    /// Requested output length for this turn (an extension: the reference tool only has --osl).
    output_length: Option<u32>,
    image: Option<serde_json::Value>,
    images: Option<serde_json::Value>,
    audio: Option<serde_json::Value>,
    audios: Option<serde_json::Value>,
    video: Option<serde_json::Value>,
    videos: Option<serde_json::Value>,
}

/// One entry of a row's `texts`: a plain text, or named texts.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a text, or named texts like {\"name\": \"query\", \"contents\": [\"...\"]}"
)]
enum TextEntry {
    Plain(String),
    Named(NamedTexts),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedTexts {
    #[serde(default)]
    name: String,
    #[serde(default)]
    contents: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MultiTurnRow {
    session_id: Option<String>,
    turns: Vec<SingleTurnRow>,
    #[serde(rename = "type")]
    _kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceRow {
    timestamp: Option<f64>,
    input_length: Option<u32>,
    text_input: Option<String>,
    output_length: Option<u32>,
    hash_ids: Option<Vec<u64>>,
    delay: Option<f64>,
    session_id: Option<String>,
}

/// Reads `path` as a `kind` dataset. `osl` is the `--osl` distribution for rows that do not
/// say how long their answer should be.
pub fn load_file(
    path: &Path,
    kind: DatasetFileKind,
    tokenizer: &Tokenizer,
    osl: Option<LengthDist>,
    block_tokens: u32,
    seed: u64,
) -> Result<Vec<Conversation>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("--input-file: cannot read {}: {e}", path.display()))
    })?;
    let mut loader = Loader {
        kind,
        tokenizer,
        prompts: PromptGenerator::new(tokenizer, seed),
        osl,
        osl_rng: rand::SeedableRng::seed_from_u64(seed ^ 0x006f_736c),
        seed,
        path,
        block_tokens,
    };
    let mut conversations = Vec::new();
    let mut sessions: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match kind {
            DatasetFileKind::SingleTurn => {
                let row: SingleTurnRow = loader.parse(line_no, line)?;
                let turn = loader.turn(line_no, row)?;
                conversations.push(loader.conversation(conversations.len(), None, vec![turn]));
            }
            DatasetFileKind::MultiTurn => {
                let row: MultiTurnRow = loader.parse(line_no, line)?;
                if row.turns.is_empty() {
                    return Err(loader.error(line_no, "`turns` is empty; give at least one turn"));
                }
                let turns = row
                    .turns
                    .into_iter()
                    .map(|t| loader.turn(line_no, t))
                    .collect::<Result<Vec<_>, _>>()?;
                conversations.push(loader.conversation(conversations.len(), row.session_id, turns));
            }
            DatasetFileKind::MooncakeTrace => {
                let row: TraceRow = loader.parse(line_no, line)?;
                let session = row.session_id.clone();
                let turn = loader.trace_turn(line_no, row)?;
                match session.as_ref().and_then(|s| sessions.get(s)) {
                    Some(&idx) => conversations[idx].turns.push(turn),
                    None => {
                        if let Some(s) = session.clone() {
                            sessions.insert(s, conversations.len());
                        }
                        conversations.push(loader.conversation(
                            conversations.len(),
                            session,
                            vec![turn],
                        ));
                    }
                }
            }
        }
    }
    if conversations.is_empty() {
        return Err(UsageError::new(format!(
            "--input-file: {} has no rows; each line should be a JSON object like {}",
            path.display(),
            kind.example()
        )));
    }
    Ok(conversations)
}

struct Loader<'a, 't> {
    kind: DatasetFileKind,
    tokenizer: &'t Tokenizer,
    prompts: PromptGenerator<'t>,
    osl: Option<LengthDist>,
    osl_rng: rand_pcg::Pcg64Mcg,
    seed: u64,
    path: &'a Path,
    /// Tokens per `hash_ids` block of a trace (`--isl-block-size`).
    block_tokens: u32,
}

impl Loader<'_, '_> {
    fn error(&self, line: usize, message: impl std::fmt::Display) -> UsageError {
        UsageError::new(format!(
            "--input-file: {} line {line}: {message}",
            self.path.display()
        ))
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        line_no: usize,
        line: &str,
    ) -> Result<T, UsageError> {
        serde_json::from_str(line).map_err(|e| {
            self.error(
                line_no,
                format!(
                    "{e} (expected a --custom-dataset-type {} row like {})",
                    serde_json::to_value(self.kind)
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    self.kind.example()
                ),
            )
        })
    }

    fn osl(&mut self) -> Option<u32> {
        self.osl.map(|d| d.sample(&mut self.osl_rng))
    }

    fn turn(&mut self, line: usize, row: SingleTurnRow) -> Result<Turn, UsageError> {
        let media = super::media::row_media([
            ("image", row.image.as_ref()),
            ("images", row.images.as_ref()),
            ("audio", row.audio.as_ref()),
            ("audios", row.audios.as_ref()),
            ("video", row.video.as_ref()),
            ("videos", row.videos.as_ref()),
        ])
        .map_err(|e| self.error(line, e))?;
        let has_media =
            !(media.images.is_empty() && media.audios.is_empty() && media.videos.is_empty());
        let (texts, named_texts) = match (row.text, row.texts) {
            (Some(text), None) => (vec![text], Vec::new()),
            (None, Some(entries)) if !entries.is_empty() => split_texts(entries),
            (Some(_), Some(_)) => return Err(self.error(line, "give `text` or `texts`, not both")),
            (None, None) if has_media => (Vec::new(), Vec::new()),
            _ => return Err(self.error(line, "missing field `text` (or a non-empty `texts`)")),
        };
        if texts.is_empty() && !has_media {
            return Err(self.error(line, "`texts` has no contents; give at least one text"));
        }
        let input_tokens = texts.iter().map(|t| self.tokenizer.count(t)).sum::<usize>();
        let max_tokens = match row.output_length {
            Some(n) => Some(n),
            None => self.osl(),
        };
        Ok(Turn {
            texts,
            named_texts,
            role: row.role.unwrap_or_else(|| "user".into()),
            input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
            max_tokens,
            timestamp_ms: nonnegative(self, line, "timestamp", row.timestamp)?,
            delay_ms: nonnegative(self, line, "delay", row.delay)?,
            images: media.images,
            audios: media.audios,
            videos: media.videos,
            audio_secs: media.audio_secs,
            ..Turn::default()
        })
    }

    fn trace_turn(&mut self, line: usize, row: TraceRow) -> Result<Turn, UsageError> {
        if let Some(length) = row.input_length
            && length > MAX_PROMPT_TOKENS
        {
            return Err(self.error(
                line,
                format!(
                    "input_length {length} is larger than the supported {MAX_PROMPT_TOKENS} tokens"
                ),
            ));
        }
        if row.hash_ids.as_ref().is_some_and(|ids| {
            ids.len() as u64 * u64::from(self.block_tokens)
                > u64::from(MAX_PROMPT_TOKENS) + u64::from(self.block_tokens)
        }) {
            return Err(self.error(
                line,
                "too many hash_ids: the prompt would exceed the supported length",
            ));
        }
        let text = match (row.text_input, row.input_length, &row.hash_ids) {
            (Some(text), _, _) => text,
            (None, Some(length), Some(ids)) if !ids.is_empty() => {
                // All blocks are full except the last, which holds the remainder.
                let full = (ids.len() as u32 - 1) * self.block_tokens;
                if length <= full {
                    return Err(self.error(
                        line,
                        format!(
                            "input_length {length} is too short for {} hash_ids of {} tokens \
                             (--isl-block-size)",
                            ids.len(),
                            self.block_tokens
                        ),
                    ));
                }
                let last = length - full;
                ids.iter()
                    .enumerate()
                    .map(|(i, &id)| {
                        let tokens = if i + 1 == ids.len() {
                            last
                        } else {
                            self.block_tokens
                        };
                        self.prompts.block(id, tokens)
                    })
                    .collect()
            }
            (None, Some(length), _) => self.prompts.prompt(length.max(1)),
            (None, None, _) => {
                return Err(self.error(line, "missing field `input_length` (or `text_input`)"));
            }
        };
        let input_tokens = self.tokenizer.count(&text);
        let max_tokens = match row.output_length {
            Some(n) => Some(n),
            None => self.osl(),
        };
        Ok(Turn {
            texts: vec![text],
            role: "user".into(),
            input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
            max_tokens,
            timestamp_ms: nonnegative(self, line, "timestamp", row.timestamp)?,
            delay_ms: nonnegative(self, line, "delay", row.delay)?,
            ..Turn::default()
        })
    }

    fn conversation(
        &self,
        index: usize,
        session: Option<String>,
        turns: Vec<Turn>,
    ) -> Conversation {
        Conversation {
            id: session.unwrap_or_else(|| conversation_id(self.seed, index as u64)),
            turns,
        }
    }
}

/// All the texts of a row's `texts` in order, and the named ones by name.
fn split_texts(entries: Vec<TextEntry>) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let mut texts = Vec::new();
    let mut named = Vec::new();
    for entry in entries {
        match entry {
            TextEntry::Plain(text) => texts.push(text),
            TextEntry::Named(NamedTexts { name, contents }) => {
                texts.extend(contents.iter().cloned());
                named.push((name, contents));
            }
        }
    }
    (texts, named)
}

fn nonnegative(
    loader: &Loader<'_, '_>,
    line: usize,
    field: &str,
    value: Option<f64>,
) -> Result<Option<f64>, UsageError> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err(loader.error(
            line,
            format!("`{field}` must be a non-negative number of milliseconds, got {v}"),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;
    use crate::settings::TRACE_BLOCK_TOKENS;

    fn load(kind: DatasetFileKind, content: &str) -> Result<Vec<Conversation>, UsageError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.jsonl");
        std::fs::write(&path, content).unwrap();
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        load_file(&path, kind, &tok, None, TRACE_BLOCK_TOKENS, 1)
    }

    #[test]
    fn trace_blocks_follow_the_block_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.jsonl");
        std::fs::write(
            &path,
            "{\"input_length\": 40, \"hash_ids\": [7, 8, 9]}\n{\"input_length\": 20, \"hash_ids\": [7, 5]}\n",
        )
        .unwrap();
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let convs = load_file(&path, DatasetFileKind::MooncakeTrace, &tok, None, 16, 1).unwrap();
        let (a, b) = (&convs[0].turns[0], &convs[1].turns[0]);
        assert_eq!((a.input_tokens, b.input_tokens), (40, 20));
        // Block 7 is the same 16 tokens at the start of both prompts.
        let shared: String = a.texts[0]
            .chars()
            .zip(b.texts[0].chars())
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x)
            .collect();
        assert!(tok.count(&shared) >= 16, "{shared:?}");
        // With mooncake's 512-token blocks, 40 tokens cannot fill two whole blocks.
        let err = load_file(&path, DatasetFileKind::MooncakeTrace, &tok, None, 512, 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("too short for 3 hash_ids of 512 tokens (--isl-block-size)"),
            "{err}"
        );
    }

    #[test]
    fn single_turn_rows() {
        let convs = load(
            DatasetFileKind::SingleTurn,
            "{\"text\": \"hello world\"}\n\n{\"texts\": [\"a\", \"b\"], \"timestamp\": 5, \"output_length\": 9}\n",
        )
        .unwrap();
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[0].turns[0].input_tokens, 2);
        assert_eq!(convs[1].turns[0].texts, ["a", "b"]);
        assert_eq!(convs[1].turns[0].timestamp_ms, Some(5.0));
        assert_eq!(convs[1].turns[0].max_tokens, Some(9));
    }

    #[test]
    fn single_turn_named_texts() {
        let convs = load(
            DatasetFileKind::SingleTurn,
            r#"{"texts": [{"name": "query", "contents": ["hello world"]}, {"name": "passages", "contents": ["a b", "c"]}]}"#,
        )
        .unwrap();
        let turn = &convs[0].turns[0];
        assert_eq!(turn.named(&["query", "queries"]), ["hello world"]);
        assert_eq!(turn.named(&["passages"]), ["a b", "c"]);
        assert_eq!(turn.texts, ["hello world", "a b", "c"]);
        assert_eq!(turn.input_tokens, 5);
        for (row, needle) in [
            (
                r#"{"texts": [{"name": "query"}]}"#,
                "`texts` has no contents",
            ),
            (
                r#"{"texts": [{"name": "q", "text": "x"}]}"#,
                "named texts like",
            ),
            (r#"{"texts": [7]}"#, "named texts like"),
        ] {
            let err = load(DatasetFileKind::SingleTurn, row)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{row}: {err}");
        }
    }

    #[test]
    fn multi_turn_sessions() {
        let convs = load(
            DatasetFileKind::MultiTurn,
            r#"{"session_id": "s1", "turns": [{"text": "Hi"}, {"text": "More", "delay": 250}]}"#,
        )
        .unwrap();
        assert_eq!(convs[0].id, "s1");
        assert_eq!(convs[0].turns.len(), 2);
        assert_eq!(convs[0].turns[1].delay_ms, Some(250.0));
    }

    #[test]
    fn mooncake_blocks_share_prefixes_and_hit_lengths() {
        let convs = load(
            DatasetFileKind::MooncakeTrace,
            "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 10, \"hash_ids\": [1, 2]}\n\
             {\"timestamp\": 30, \"input_length\": 700, \"output_length\": 5, \"hash_ids\": [1, 3]}\n\
             {\"timestamp\": 50, \"input_length\": 40}\n",
        )
        .unwrap();
        assert_eq!(convs.len(), 3);
        let (a, b) = (&convs[0].turns[0], &convs[1].turns[0]);
        assert_eq!(a.input_tokens, 600);
        assert_eq!(b.input_tokens, 700);
        assert_eq!(convs[2].turns[0].input_tokens, 40);
        let shared = a.texts[0]
            .chars()
            .zip(b.texts[0].chars())
            .take_while(|(x, y)| x == y)
            .count();
        assert!(shared > 1000, "block 1 is a shared prefix ({shared} chars)");
        assert_eq!(a.max_tokens, Some(10));
        assert_eq!(b.timestamp_ms, Some(30.0));
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let cases = [
            (
                DatasetFileKind::SingleTurn,
                "{\"txt\": \"typo\"}",
                "line 1: unknown field `txt`",
            ),
            (DatasetFileKind::SingleTurn, "not json", "line 1"),
            (
                DatasetFileKind::SingleTurn,
                "{\"role\": \"user\"}",
                "missing field `text`",
            ),
            (
                DatasetFileKind::SingleTurn,
                "{\"text\": \"x\", \"image\": \"/no/such/a.png\"}",
                "field `image`",
            ),
            (
                DatasetFileKind::SingleTurn,
                "{\"text\": \"x\", \"delay\": -5}",
                "`delay` must be",
            ),
            (
                DatasetFileKind::MultiTurn,
                "{\"turns\": []}",
                "`turns` is empty",
            ),
            (
                DatasetFileKind::MooncakeTrace,
                "{\"timestamp\": 1}",
                "missing field `input_length`",
            ),
            (
                DatasetFileKind::MooncakeTrace,
                "{\"input_length\": 100, \"hash_ids\": [1, 2]}",
                "too short",
            ),
            (DatasetFileKind::SingleTurn, "\n\n", "has no rows"),
        ];
        for (kind, content, needle) in cases {
            let err = load(kind, content).unwrap_err().to_string();
            assert!(err.starts_with("--input-file:"), "{err}");
            assert!(err.contains(needle), "{content:?}: {err}");
        }
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let err = load_file(
            Path::new("/nonexistent.jsonl"),
            DatasetFileKind::SingleTurn,
            &tok,
            None,
            TRACE_BLOCK_TOKENS,
            1,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot read /nonexistent.jsonl"));
    }
}

#[cfg(test)]
mod fuzz {
    //! Fuzzing the input-file loaders: any file content gives rows or an error naming the
    //! file, never a panic.

    use proptest::prelude::*;

    use super::*;
    use crate::settings::Encoding;
    use crate::settings::TRACE_BLOCK_TOKENS;

    /// Lines that are often almost-valid rows of each format.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{\"text\": \"hello\"}".to_owned()),
            Just("{\"texts\": []}".to_owned()),
            Just("{\"turns\": [{\"text\": \"a\", \"delay\": -1}]}".to_owned()),
            Just("{\"timestamp\": 5, \"input_length\": 10, \"hash_ids\": [1]}".to_owned()),
            Just("{\"input_length\": 4294967295, \"hash_ids\": [1, 2, 3]}".to_owned()),
            Just("{\"timestamp\": 1e308, \"input_length\": 1}".to_owned()),
            "\\{\"[a-z_]{1,12}\": (null|true|-?[0-9]{1,6}|\"[a-z]{0,5}\"|\\[\\])\\}",
            "[^\n]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn loaders_never_panic(lines in proptest::collection::vec(line(), 0..6)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.jsonl");
            std::fs::write(&path, lines.join("\n")).unwrap();
            let tok = Tokenizer::builtin(Encoding::O200kBase);
            for kind in [DatasetFileKind::SingleTurn, DatasetFileKind::MultiTurn, DatasetFileKind::MooncakeTrace] {
                match load_file(&path, kind, &tok, None, TRACE_BLOCK_TOKENS, 1) {
                    Ok(convs) => prop_assert!(!convs.is_empty()),
                    Err(e) => prop_assert!(e.to_string().starts_with("--input-file:"), "{}", e),
                }
            }
        }
    }
}
