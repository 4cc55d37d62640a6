//! Trace synthesis (`--synthesis-*`): reshapes the rows of a trace before their prompts are
//! built, keeping its pattern of shared prefixes.
//!
//! A row's prefix is its leading `hash_ids` seen in other rows too (what a prefix cache can
//! reuse); the rest is its unique prompt. The prefix is stretched (new interleaved block ids,
//! so rows that shared a block still share its stretched blocks) or cut short by
//! `prefix_len_multiplier`; the unique part is resized by `prompt_len_multiplier` and gets
//! fresh blocks; `prefix_root_multiplier` moves each row to one of that many disjoint copies
//! of the block space (separate prefix trees); timestamps are divided by `speedup_ratio` and
//! output lengths multiplied by `output_len_multiplier` (capped by `max_osl`); input lengths
//! are capped by `max_isl`.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::settings::Synthesis;

/// The parts of a trace row that synthesis reads and rewrites.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthRow {
    pub hash_ids: Vec<u64>,
    /// `None` for rows that carry their own text (their length is the text's).
    pub input_length: Option<u32>,
    pub output_length: Option<u32>,
    /// Milliseconds.
    pub timestamp: Option<f64>,
}

/// Reshapes `rows` (all the rows of a trace, in order) for `params`, with blocks of
/// `block_tokens` tokens. Fails when a row's input length is shorter than its shared prefix.
pub fn synthesize(
    rows: &mut [SynthRow],
    params: &Synthesis,
    block_tokens: u32,
    seed: u64,
) -> Result<(), String> {
    let block = u64::from(block_tokens.max(1));
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for id in rows.iter().flat_map(|r| r.hash_ids.iter()) {
        *seen.entry(*id).or_default() += 1;
    }
    let shared = |id: &u64| seen.get(id).is_some_and(|n| *n > 1);
    let stretch = params.prefix_len_multiplier;
    let whole = if stretch > 1.0 { stretch as u64 } else { 1 };
    let mut next_id = (seen
        .keys()
        .filter(|id| shared(id))
        .max()
        .copied()
        .unwrap_or(0)
        + 1)
        * whole;
    for (i, row) in rows.iter_mut().enumerate() {
        if row.hash_ids.is_empty() {
            continue;
        }
        let prefix: Vec<u64> = row.hash_ids.iter().copied().take_while(shared).collect();
        let prefix_tokens = prefix.len() as u64 * block;
        let input = u64::from(row.input_length.unwrap_or(0));
        if row.input_length.is_some() && input < prefix_tokens {
            return Err(format!(
                "row {}: input_length {input} is shorter than its {} shared blocks of \
                 {block_tokens} tokens",
                i + 1,
                prefix.len()
            ));
        }
        let unique = input.saturating_sub(prefix_tokens);
        let mut ids: Vec<u64> = if stretch > 1.0 {
            let mut ids: Vec<u64> = prefix
                .iter()
                .flat_map(|h| (0..whole).map(move |j| h * whole + j))
                .collect();
            let target = (prefix.len() as f64 * stretch).ceil() as usize;
            while ids.len() < target {
                next_id += 1;
                ids.push(next_id);
            }
            ids
        } else if stretch < 1.0 {
            let keep = ((prefix.len() as f64 * stretch) as usize).max(1);
            prefix[..keep.min(prefix.len())].to_vec()
        } else {
            prefix
        };
        let new_prefix_tokens = ids.len() as u64 * block;
        let new_unique = (unique as f64 * params.prompt_len_multiplier) as u64;
        for _ in 0..new_unique.div_ceil(block) {
            next_id += 1;
            ids.push(next_id);
        }
        row.hash_ids = ids;
        if row.input_length.is_some() {
            let mut isl = new_prefix_tokens + new_unique;
            if let Some(max) = params.max_isl {
                isl = isl.min(u64::from(max));
            }
            row.input_length = Some(u32::try_from(isl).unwrap_or(u32::MAX));
        }
    }
    if params.prefix_root_multiplier > 1 {
        let offset = next_id + 1;
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x0074_7265_6573);
        for row in rows.iter_mut().filter(|r| !r.hash_ids.is_empty()) {
            let tree = u64::from(rng.random_range(0..params.prefix_root_multiplier));
            for id in &mut row.hash_ids {
                *id += tree * offset;
            }
        }
    }
    for row in rows.iter_mut() {
        if let Some(t) = row.timestamp.as_mut()
            && params.speedup_ratio > 0.0
        {
            *t = (*t / params.speedup_ratio).trunc();
        }
        if let Some(osl) = row.output_length.as_mut() {
            let mut scaled = (f64::from(*osl) * params.output_len_multiplier).round() as u64;
            if let Some(max) = params.max_osl {
                scaled = scaled.min(u64::from(max));
            }
            *osl = u32::try_from(scaled.max(1)).unwrap_or(u32::MAX);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ids: &[u64], isl: u32, osl: u32, ts: f64) -> SynthRow {
        SynthRow {
            hash_ids: ids.to_vec(),
            input_length: Some(isl),
            output_length: Some(osl),
            timestamp: Some(ts),
        }
    }

    #[test]
    fn prefixes_stretch_and_stay_shared() {
        let mut rows = vec![
            row(&[1, 2, 3], 40, 10, 1000.0),
            row(&[1, 2, 4], 44, 20, 3000.0),
        ];
        let params = Synthesis {
            prefix_len_multiplier: 2.0,
            speedup_ratio: 2.0,
            output_len_multiplier: 1.5,
            max_osl: Some(25),
            ..Synthesis::default()
        };
        synthesize(&mut rows, &params, 16, 1).unwrap();
        // Blocks 1 and 2 are shared: four blocks now, the same in both rows.
        assert_eq!(rows[0].hash_ids[..4], [2, 3, 4, 5]);
        assert_eq!(rows[0].hash_ids[..4], rows[1].hash_ids[..4]);
        assert_ne!(rows[0].hash_ids[4..], rows[1].hash_ids[4..]);
        // 64 prefix tokens, then the unique 8 (and 12) tokens.
        assert_eq!(rows[0].input_length, Some(72));
        assert_eq!(rows[1].input_length, Some(76));
        assert_eq!(rows[0].timestamp, Some(500.0));
        assert_eq!(rows[0].output_length, Some(15));
        assert_eq!(rows[1].output_length, Some(25), "capped");
    }

    #[test]
    fn unique_prompts_scale_and_roots_separate() {
        let mut rows = vec![row(&[7, 8], 64, 1, 0.0), row(&[7, 9], 64, 1, 0.0)];
        let params = Synthesis {
            prompt_len_multiplier: 2.0,
            max_isl: Some(90),
            ..Synthesis::default()
        };
        synthesize(&mut rows, &params, 32, 1).unwrap();
        assert_eq!(rows[0].hash_ids.len(), 3, "1 shared + 2 unique blocks");
        assert_eq!(rows[0].input_length, Some(90), "32 + 64, capped");
        let mut rows: Vec<SynthRow> = (0..40).map(|_| row(&[1, 2], 40, 1, 0.0)).collect();
        let params = Synthesis {
            prefix_root_multiplier: 4,
            ..Synthesis::default()
        };
        synthesize(&mut rows, &params, 16, 5).unwrap();
        let roots: std::collections::HashSet<u64> = rows.iter().map(|r| r.hash_ids[0]).collect();
        assert!(roots.len() > 1 && roots.len() <= 4, "{roots:?}");
        let mut bad = vec![row(&[1, 2], 10, 1, 0.0), row(&[1, 2], 10, 1, 0.0)];
        assert!(synthesize(&mut bad, &Synthesis::default(), 16, 1).is_err());
    }
}
