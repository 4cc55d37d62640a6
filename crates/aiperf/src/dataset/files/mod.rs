//! `--input-file` loaders, one file per format of the reference tool:
//!
//! * `rows`: `single_turn` (one request per line) and `multi_turn` (one session per line);
//! * `mooncake`, `bailian`, `burst_gpt`: traces of token counts, whose prompts are built from
//!   `hash_ids` blocks (see `trace`, which also applies `--synthesis-*`);
//! * `random_pool`: pools of prompts sampled into conversations;
//! * `payloads`: whole request bodies (`raw_payload`, `inputs_json`).
//!
//! Errors name `--input-file`, the line and the field.

mod bailian;
mod burst_gpt;
mod mooncake;
mod payloads;
mod random_pool;
mod rows;
mod trace;

use std::path::Path;

use super::prompts::PromptGenerator;
use super::{Conversation, conversation_id};
use crate::UsageError;
use crate::settings::{DatasetFileKind, DatasetOptions, LengthDist};
use crate::tokenizer::Tokenizer;

/// How an input file is read beyond its format.
#[derive(Debug, Clone, Copy)]
pub struct FileOptions<'a> {
    /// The `--osl` distribution, for rows that do not say how long their answer should be.
    pub osl: Option<LengthDist>,
    /// Tokens per `hash_ids` block of a trace (`--isl-block-size`).
    pub block_tokens: u32,
    pub seed: u64,
    /// The corpus, synthesis, and the number of `random_pool` conversations.
    pub options: &'a DatasetOptions,
}

/// Reads `path` as a `kind` dataset. `osl` is the `--osl` distribution for rows that do not
/// say how long their answer should be; `block_tokens` the tokens of a trace's hash block.
pub fn load_file(
    path: &Path,
    kind: DatasetFileKind,
    tokenizer: &Tokenizer,
    osl: Option<LengthDist>,
    block_tokens: u32,
    seed: u64,
) -> Result<Vec<Conversation>, UsageError> {
    let options = DatasetOptions::default();
    load_file_with(
        path,
        kind,
        tokenizer,
        &FileOptions {
            osl,
            block_tokens,
            seed,
            options: &options,
        },
    )
}

/// [`load_file`] with every option.
pub fn load_file_with(
    path: &Path,
    kind: DatasetFileKind,
    tokenizer: &Tokenizer,
    opts: &FileOptions<'_>,
) -> Result<Vec<Conversation>, UsageError> {
    let read = || {
        std::fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!("--input-file: cannot read {}: {e}", path.display()))
        })
    };
    let mut loader = Loader {
        kind,
        tokenizer,
        prompts: PromptGenerator::with_corpus(
            tokenizer,
            opts.seed,
            opts.options.corpus,
            opts.options.corpus_style,
        ),
        osl: opts.osl,
        osl_rng: rand::SeedableRng::seed_from_u64(opts.seed ^ 0x006f_736c),
        seed: opts.seed,
        path,
        block_tokens: opts.block_tokens,
    };
    let conversations = match kind {
        DatasetFileKind::SingleTurn | DatasetFileKind::MultiTurn => {
            rows::load(&mut loader, &read()?)?
        }
        DatasetFileKind::MooncakeTrace => {
            let rows = mooncake::rows(&loader, &read()?)?;
            trace::build(&mut loader, rows, opts.options.synthesis.as_ref())?
        }
        DatasetFileKind::BailianTrace => {
            let rows = bailian::rows(&loader, &read()?)?;
            trace::build(&mut loader, rows, opts.options.synthesis.as_ref())?
        }
        DatasetFileKind::BurstGptTrace => {
            let rows = burst_gpt::rows(&loader, &read()?)?;
            trace::build(&mut loader, rows, opts.options.synthesis.as_ref())?
        }
        DatasetFileKind::RandomPool => random_pool::load(&mut loader, opts)?,
        DatasetFileKind::RawPayload => payloads::raw(&mut loader)?,
        DatasetFileKind::InputsJson => payloads::inputs_json(&mut loader, &read()?)?,
        DatasetFileKind::PublicDataset => {
            return Err(UsageError::new(
                "--public-dataset files are read by dataset::public, not as an --input-file",
            ));
        }
    };
    if conversations.is_empty() {
        return Err(UsageError::new(format!(
            "--input-file: {} has no rows; each line should be a JSON object like {}",
            path.display(),
            example(kind)
        )));
    }
    Ok(conversations)
}

/// A row of each format, for error messages.
fn example(kind: DatasetFileKind) -> &'static str {
    match kind {
        DatasetFileKind::SingleTurn | DatasetFileKind::RandomPool => {
            r#"{"text": "What is the capital of France?"}"#
        }
        DatasetFileKind::MultiTurn => {
            r#"{"session_id": "s1", "turns": [{"text": "Hi"}, {"text": "And then?", "delay": 500}]}"#
        }
        DatasetFileKind::MooncakeTrace => {
            r#"{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}"#
        }
        DatasetFileKind::BailianTrace => {
            r#"{"chat_id": 1, "parent_chat_id": -1, "timestamp": 61.1, "input_length": 521, "output_length": 132, "type": "text", "turn": 1, "hash_ids": [1089, 1090]}"#
        }
        DatasetFileKind::BurstGptTrace => "Timestamp,Model,Request tokens,Response tokens (CSV)",
        DatasetFileKind::RawPayload => r#"{"messages": [{"role": "user", "content": "Hi"}]}"#,
        DatasetFileKind::InputsJson => r#"{"data": [{"session_id": "s1", "payloads": [{...}]}]}"#,
        DatasetFileKind::PublicDataset => "a row of the public dataset",
    }
}

/// What every format's reader shares: the file, the tokenizer, prompts for traces, `--osl`.
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
                    self.kind.name(),
                    example(self.kind)
                ),
            )
        })
    }

    fn osl(&mut self) -> Option<u32> {
        self.osl.map(|d| d.sample(&mut self.osl_rng))
    }

    fn conversation(
        &self,
        index: usize,
        session: Option<String>,
        turns: Vec<super::Turn>,
    ) -> Conversation {
        Conversation {
            id: session.unwrap_or_else(|| conversation_id(self.seed, index as u64)),
            turns,
        }
    }

    fn nonnegative(
        &self,
        line: usize,
        field: &str,
        value: Option<f64>,
    ) -> Result<Option<f64>, UsageError> {
        match value {
            Some(v) if !(v.is_finite() && v >= 0.0) => Err(self.error(
                line,
                format!("`{field}` must be a non-negative number of milliseconds, got {v}"),
            )),
            other => Ok(other),
        }
    }
}

/// The non-empty lines of `text`, numbered from 1.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
}

#[cfg(test)]
mod tests;
