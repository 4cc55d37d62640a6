//! `random_pool`: a file of `single_turn`-shaped rows (one pool), or a directory whose files
//! are pools of their own (named after the file, e.g. `queries.jsonl` and `passages.jsonl`
//! for rankings). `--num-dataset-entries` conversations (default 100) each take one row of
//! every pool, drawn with replacement, merged into one turn.

use std::path::PathBuf;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::rows::{self, SingleTurnRow};
use super::{FileOptions, Loader, lines};
use crate::UsageError;
use crate::dataset::{Conversation, Turn};

/// The conversations drawn from the pools at `loader.path`.
pub(super) fn load(
    loader: &mut Loader<'_, '_>,
    opts: &FileOptions<'_>,
) -> Result<Vec<Conversation>, UsageError> {
    let named = loader.path.is_dir();
    let files: Vec<PathBuf> = if named {
        let mut files: Vec<PathBuf> = std::fs::read_dir(loader.path)
            .map_err(|e| {
                UsageError::new(format!(
                    "--input-file: cannot read the directory {}: {e}",
                    loader.path.display()
                ))
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![loader.path.to_owned()]
    };
    let mut pools: Vec<(String, Vec<Turn>)> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            UsageError::new(format!("--input-file: cannot read {}: {e}", file.display()))
        })?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut pool = Vec::new();
        for (line, l) in lines(&text) {
            let row: SingleTurnRow = loader.parse(line, l).map_err(|e| in_file(&e, file))?;
            let plain = row.texts.is_none();
            let mut turn = rows::turn(loader, line, row).map_err(|e| in_file(&e, file))?;
            turn.timestamp_ms = None;
            turn.delay_ms = None;
            if named && plain && !turn.texts.is_empty() && turn.named_texts.is_empty() {
                turn.named_texts = vec![(name.clone(), turn.texts.clone())];
            }
            pool.push(turn);
        }
        if !pool.is_empty() {
            pools.push((name, pool));
        }
    }
    if pools.is_empty() {
        return Ok(Vec::new());
    }
    let count = opts.options.file_entries.unwrap_or(100) as usize;
    let mut rng = Pcg64Mcg::seed_from_u64(opts.seed ^ 0x0070_6f6f_6c73);
    let turns: Vec<Turn> = (0..count)
        .map(|_| {
            let picks = pools
                .iter()
                .map(|(_, pool)| &pool[rng.random_range(0..pool.len())]);
            merge(picks)
        })
        .collect();
    Ok(turns
        .into_iter()
        .enumerate()
        .map(|(i, mut turn)| {
            if turn.max_tokens.is_none() {
                turn.max_tokens = loader.osl();
            }
            loader.conversation(i, None, vec![turn])
        })
        .collect())
}

fn in_file(e: &UsageError, file: &std::path::Path) -> UsageError {
    UsageError::new(format!("{} ({})", e.0, file.display()))
}

/// One turn holding the texts and media of `turns`.
fn merge<'a>(turns: impl Iterator<Item = &'a Turn>) -> Turn {
    let mut out = Turn {
        role: "user".into(),
        ..Turn::default()
    };
    for t in turns {
        out.texts.extend(t.texts.iter().cloned());
        out.named_texts.extend(t.named_texts.iter().cloned());
        out.images.extend(t.images.iter().cloned());
        out.audios.extend(t.audios.iter().cloned());
        out.videos.extend(t.videos.iter().cloned());
        out.audio_secs = out.audio_secs.or(t.audio_secs);
        out.input_tokens = out.input_tokens.saturating_add(t.input_tokens);
        out.max_tokens = out.max_tokens.or(t.max_tokens);
    }
    out
}
