//! `single_turn` and `multi_turn` files.
//!
//! * `single_turn`: one request per line, `{"text": "..."}` or `{"texts": [...]}` (`texts`
//!   may hold named texts, `{"name": "query", "contents": ["..."]}`, which the rankings
//!   endpoint types read by name), optional `timestamp` (ms, replayed on a fixed schedule),
//!   `delay` (ms), `role`, `output_length`.
//! * `multi_turn`: one session per line, `{"session_id": "...", "turns": [<single_turn>...]}`.
//!
//! Rows may carry `image`/`images`, `audio`/`audios` and `video`/`videos` (URLs, data URIs,
//! `wav,<base64>` or local files; see `media::row_media`), with or without text.

use serde::Deserialize;

use super::{Loader, lines};
use crate::UsageError;
use crate::dataset::{Conversation, Turn};
use crate::settings::DatasetFileKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SingleTurnRow {
    text: Option<String>,
    pub(super) texts: Option<Vec<TextEntry>>,
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
pub(super) enum TextEntry {
    Plain(String),
    Named(NamedTexts),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NamedTexts {
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

/// The conversations of a `single_turn` or `multi_turn` file.
pub(super) fn load(
    loader: &mut Loader<'_, '_>,
    text: &str,
) -> Result<Vec<Conversation>, UsageError> {
    let mut conversations = Vec::new();
    for (line_no, line) in lines(text) {
        if loader.kind == DatasetFileKind::MultiTurn {
            let row: MultiTurnRow = loader.parse(line_no, line)?;
            if row.turns.is_empty() {
                return Err(loader.error(line_no, "`turns` is empty; give at least one turn"));
            }
            let turns = row
                .turns
                .into_iter()
                .map(|t| turn(loader, line_no, t))
                .collect::<Result<Vec<_>, _>>()?;
            conversations.push(loader.conversation(conversations.len(), row.session_id, turns));
        } else {
            let row: SingleTurnRow = loader.parse(line_no, line)?;
            let turn = turn(loader, line_no, row)?;
            conversations.push(loader.conversation(conversations.len(), None, vec![turn]));
        }
    }
    Ok(conversations)
}

/// One row as a turn: its texts, media, role, lengths and timing.
pub(super) fn turn(
    loader: &mut Loader<'_, '_>,
    line: usize,
    row: SingleTurnRow,
) -> Result<Turn, UsageError> {
    let media = crate::dataset::media::row_media([
        ("image", row.image.as_ref()),
        ("images", row.images.as_ref()),
        ("audio", row.audio.as_ref()),
        ("audios", row.audios.as_ref()),
        ("video", row.video.as_ref()),
        ("videos", row.videos.as_ref()),
    ])
    .map_err(|e| loader.error(line, e))?;
    let has_media =
        !(media.images.is_empty() && media.audios.is_empty() && media.videos.is_empty());
    let (texts, named_texts) = match (row.text, row.texts) {
        (Some(text), None) => (vec![text], Vec::new()),
        (None, Some(entries)) if !entries.is_empty() => split_texts(entries),
        (Some(_), Some(_)) => return Err(loader.error(line, "give `text` or `texts`, not both")),
        (None, None) if has_media => (Vec::new(), Vec::new()),
        _ => return Err(loader.error(line, "missing field `text` (or a non-empty `texts`)")),
    };
    if texts.is_empty() && !has_media {
        return Err(loader.error(line, "`texts` has no contents; give at least one text"));
    }
    let input_tokens = texts
        .iter()
        .map(|t| loader.tokenizer.count(t))
        .sum::<usize>();
    let max_tokens = match row.output_length {
        Some(n) => Some(n),
        None => loader.osl(),
    };
    Ok(Turn {
        texts,
        named_texts,
        role: row.role.unwrap_or_else(|| "user".into()),
        input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
        max_tokens,
        timestamp_ms: loader.nonnegative(line, "timestamp", row.timestamp)?,
        delay_ms: loader.nonnegative(line, "delay", row.delay)?,
        images: media.images,
        audios: media.audios,
        videos: media.videos,
        audio_secs: media.audio_secs,
        ..Turn::default()
    })
}

/// All the texts of a row's `texts` in order, and the named ones by name.
pub(super) fn split_texts(entries: Vec<TextEntry>) -> (Vec<String>, Vec<(String, Vec<String>)>) {
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
