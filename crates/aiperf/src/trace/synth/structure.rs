//! What the reports show of the sessions: `cache_structure.json` (each turn's blocks by layer
//! and cache status, for the first 50 sessions) and the per-turn and per-session figures the
//! dashboard charts (lengths, estimated latency, prefix reuse and cache hit rates).

use std::collections::HashSet;

use serde::Serialize;

use super::prefix::PrefixAllocator;
use super::quality::{DECODE_TPS, PREFILL_TPS};
use super::sessions::Session;

/// Sessions `cache_structure.json` describes.
const STRUCTURE_SESSIONS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start: usize,
    pub count: usize,
    pub layer: &'static str,
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnBlocks {
    pub turn_index: usize,
    /// Tokens the turn adds.
    pub input_length: u64,
    pub output_length: u64,
    pub num_blocks: usize,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionBlocks {
    pub session_id: String,
    pub turns: Vec<TurnBlocks>,
}

/// `cache_structure.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheStructure {
    pub block_size: u64,
    pub l1_blocks: u64,
    pub l15_blocks: u64,
    pub sessions: Vec<SessionBlocks>,
}

/// Each turn's blocks as runs of (layer, status): L1 and L1.5 are cached; on the first turn
/// the rest is the session's new L2; later, blocks the previous turn had are cached L2 and the
/// others new L3.
pub fn cache_structure(
    sessions: &[Session],
    prefix: &PrefixAllocator,
    block: u64,
) -> CacheStructure {
    let (l1, prefix_blocks) = (prefix.l1_blocks() as usize, prefix.prefix_blocks() as usize);
    let described = sessions.iter().take(STRUCTURE_SESSIONS).map(|s| {
        let mut previous: Option<HashSet<u64>> = None;
        let turns = s
            .turns
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut segments: Vec<Segment> = Vec::new();
                for (pos, id) in t.hash_ids.iter().enumerate() {
                    let (layer, status) = if pos < l1 {
                        ("L1", "cached")
                    } else if pos < prefix_blocks {
                        ("L1.5", "cached")
                    } else {
                        match &previous {
                            None => ("L2", "new"),
                            Some(p) if p.contains(id) => ("L2", "cached"),
                            Some(_) => ("L3", "new"),
                        }
                    };
                    match segments.last_mut() {
                        Some(seg) if seg.layer == layer && seg.status == status => seg.count += 1,
                        _ => segments.push(Segment {
                            start: pos,
                            count: 1,
                            layer,
                            status,
                        }),
                    }
                }
                previous = Some(t.hash_ids.iter().copied().collect());
                TurnBlocks {
                    turn_index: i,
                    input_length: t.new_tokens,
                    output_length: t.output_length,
                    num_blocks: t.hash_ids.len(),
                    segments,
                }
            })
            .collect();
        SessionBlocks {
            session_id: s.id.clone(),
            turns,
        }
    });
    CacheStructure {
        block_size: block,
        l1_blocks: prefix.l1_blocks(),
        l15_blocks: prefix.l15_blocks(),
        sessions: described.collect(),
    }
}

/// The figures the dashboard charts, per turn or per session.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub total_isl: Vec<f64>,
    pub total_osl: Vec<f64>,
    pub initial_context: Vec<f64>,
    pub new_tokens_per_turn: Vec<f64>,
    pub inter_turn_delay_s: Vec<f64>,
    pub turns_per_session: Vec<f64>,
    pub hash_id_block_count: Vec<f64>,
    pub request_latency_s: Vec<f64>,
    pub session_duration_min: Vec<f64>,
    pub prefix_length: Vec<f64>,
    pub unique_prompt_length: Vec<f64>,
    pub prefix_ratio: Vec<f64>,
    pub sequential_cache_hit_rate: Vec<f64>,
    pub per_session_cache_hit_rate: Vec<f64>,
}

/// The figures of `sessions`, each turn counted by the tokens it adds; latencies estimated at
/// [`PREFILL_TPS`] and [`DECODE_TPS`].
pub fn figures(sessions: &[Session], block: u64) -> Figures {
    let mut f = Figures::default();
    let mut seen_anywhere: HashSet<u64> = HashSet::new();
    for s in sessions {
        f.turns_per_session.push(s.turns.len() as f64);
        let mut session_ms = 0.0;
        let mut seen_in_session: HashSet<u64> = HashSet::new();
        for (i, t) in s.turns.iter().enumerate() {
            let isl = t.new_tokens as f64;
            f.total_isl.push(isl);
            f.total_osl.push(t.output_length as f64);
            f.hash_id_block_count.push(t.hash_ids.len() as f64);
            let latency_ms = (isl / PREFILL_TPS + t.output_length as f64 / DECODE_TPS) * 1000.0;
            f.request_latency_s.push(latency_ms / 1000.0);
            session_ms += t.delay_ms + latency_ms;
            if i == 0 {
                f.initial_context.push(isl);
            } else {
                f.new_tokens_per_turn.push(isl);
                f.inter_turn_delay_s.push(t.delay_ms / 1000.0);
            }
            let cached = leading_cached(&t.hash_ids, &seen_anywhere);
            let prefix_tokens = if !t.hash_ids.is_empty() && cached == t.hash_ids.len() {
                t.new_tokens
            } else {
                (cached as u64 * block).min(t.new_tokens)
            };
            f.prefix_length.push(prefix_tokens as f64);
            f.unique_prompt_length
                .push(t.new_tokens.saturating_sub(prefix_tokens) as f64);
            f.prefix_ratio.push(if t.new_tokens > 0 {
                prefix_tokens as f64 / isl
            } else {
                0.0
            });
            f.sequential_cache_hit_rate
                .push(hit_rate(&t.hash_ids, &seen_anywhere));
            seen_anywhere.extend(t.hash_ids.iter().copied());
            f.per_session_cache_hit_rate
                .push(hit_rate(&t.hash_ids, &seen_in_session));
            seen_in_session.extend(t.hash_ids.iter().copied());
        }
        f.session_duration_min.push(session_ms / 1000.0 / 60.0);
    }
    f
}

/// How many leading blocks of `ids` are in `seen`.
fn leading_cached(ids: &[u64], seen: &HashSet<u64>) -> usize {
    ids.iter()
        .position(|id| !seen.contains(id))
        .unwrap_or(ids.len())
}

fn hit_rate(ids: &[u64], seen: &HashSet<u64>) -> f64 {
    if ids.is_empty() {
        0.0
    } else {
        leading_cached(ids, seen) as f64 / ids.len() as f64
    }
}
