//! `aiperf analyze-trace`: the input and output length distributions of a mooncake trace, how
//! much of each prompt is a prefix other requests share, and the cache hit rates an infinite
//! prefix cache would see, as the Python AIPerf reports them.
//!
//! Each `hash_ids` entry stands for one KV-cache block of `block_size` tokens. A block counts as
//! shared context when the same id sits at the same position in another request; a request's
//! theoretical hit rate is the share of its leading blocks that earlier requests already sent.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::numeric;
use crate::UsageError;

/// Seven figures of one distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricStats {
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
    pub max: f64,
}

impl MetricStats {
    /// The figures of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let sorted = numeric::sorted(values);
        Some(Self {
            mean: numeric::mean(values),
            std_dev: numeric::std(values),
            min: sorted[0],
            p25: numeric::percentile(&sorted, 25.0),
            median: numeric::median(&sorted),
            p75: numeric::percentile(&sorted, 75.0),
            max: sorted[sorted.len() - 1],
        })
    }

    /// The figures in the order of [`STAT_COLUMNS`].
    pub fn row(&self) -> [f64; 7] {
        [
            self.mean,
            self.std_dev,
            self.min,
            self.p25,
            self.median,
            self.p75,
            self.max,
        ]
    }
}

/// The column heads of the statistics table.
pub const STAT_COLUMNS: [&str; 7] = ["Mean", "Std Dev", "Min", "P25", "Median", "P75", "Max"];

/// The analysis report (`--output-file`), field for field as the Python AIPerf writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisStats {
    pub total_requests: usize,
    /// Distinct leading runs of `hash_ids` (every prefix of every request).
    pub unique_prefixes: usize,
    /// First blocks that start two or more requests.
    pub num_prefix_groups: usize,
    /// The mean of the per-request theoretical hit rates.
    pub cache_hit_rate: f64,
    pub min_isl: i64,
    pub max_isl: i64,
    pub avg_isl: f64,
    pub min_osl: i64,
    pub max_osl: i64,
    pub avg_osl: f64,
    /// The share of prefix occurrences whose prefix occurs more than once.
    pub prefix_reuse_ratio: f64,
    pub isl_stats: Option<MetricStats>,
    pub osl_stats: Option<MetricStats>,
    pub context_length_stats: Option<MetricStats>,
    pub unique_prompt_length_stats: Option<MetricStats>,
    pub hit_rate_stats: Option<MetricStats>,
}

impl AnalysisStats {
    /// The rows of the statistics table: a name and its figures (`None`: no values).
    pub fn table_rows(&self) -> Vec<(&'static str, Option<[f64; 7]>)> {
        [
            ("Input Length", &self.isl_stats),
            ("Context Length", &self.context_length_stats),
            ("Unique Prompt Length", &self.unique_prompt_length_stats),
            ("Output Length", &self.osl_stats),
            ("Theoretical Hit Rates", &self.hit_rate_stats),
        ]
        .into_iter()
        .map(|(name, stats)| (name, stats.as_ref().map(MetricStats::row)))
        .collect()
    }
}

/// The fields of a trace row the analysis reads; the rest of the row is ignored.
#[derive(Debug, Deserialize)]
struct Row {
    #[serde(default)]
    input_length: Option<i64>,
    #[serde(default)]
    output_length: Option<i64>,
    #[serde(default)]
    hash_ids: Option<Vec<i64>>,
}

/// One request of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub input_length: i64,
    pub output_length: i64,
    pub hash_ids: Vec<i64>,
}

/// Reads the requests of a mooncake trace file (JSON lines; blank lines skipped). A row without
/// `input_length` or `output_length` counts them as 0.
pub fn read_trace(path: &Path) -> Result<Vec<Request>, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!(
            "INPUT-FILE: cannot read {}: {e}; give a mooncake trace (JSON lines)",
            path.display()
        ))
    })?;
    let mut requests = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(line).map_err(|e| {
            UsageError::new(format!(
                "INPUT-FILE: {} line {}: {e}; each line should be a JSON object like \
                 {{\"input_length\": 655, \"output_length\": 52, \"hash_ids\": [46, 47]}}",
                path.display(),
                i + 1
            ))
        })?;
        requests.push(Request {
            input_length: row.input_length.unwrap_or(0),
            output_length: row.output_length.unwrap_or(0),
            hash_ids: row.hash_ids.unwrap_or_default(),
        });
    }
    Ok(requests)
}

/// Analyzes `requests` with blocks of `block_size` tokens.
pub fn analyze(requests: &[Request], block_size: i64) -> AnalysisStats {
    let isls: Vec<f64> = requests.iter().map(|r| r.input_length as f64).collect();
    let osls: Vec<f64> = requests.iter().map(|r| r.output_length as f64).collect();
    let (context, unique) = context_lengths(requests, block_size);
    let hit_rates = hit_rates(requests);
    let (unique_prefixes, prefix_reuse_ratio) = prefix_counts(requests);
    let minmax = |f: fn(&Request) -> i64| {
        let min = requests.iter().map(f).min().unwrap_or(0);
        let max = requests.iter().map(f).max().unwrap_or(0);
        (min, max)
    };
    let (min_isl, max_isl) = minmax(|r| r.input_length);
    let (min_osl, max_osl) = minmax(|r| r.output_length);
    let plain_mean = |f: fn(&Request) -> i64| {
        if requests.is_empty() {
            0.0
        } else {
            requests.iter().map(f).sum::<i64>() as f64 / requests.len() as f64
        }
    };
    AnalysisStats {
        total_requests: requests.len(),
        unique_prefixes,
        num_prefix_groups: prefix_groups(requests),
        cache_hit_rate: if hit_rates.is_empty() {
            0.0
        } else {
            numeric::exact_mean(&hit_rates)
        },
        min_isl,
        max_isl,
        avg_isl: plain_mean(|r| r.input_length),
        min_osl,
        max_osl,
        avg_osl: plain_mean(|r| r.output_length),
        prefix_reuse_ratio,
        isl_stats: MetricStats::of(&isls),
        osl_stats: MetricStats::of(&osls),
        context_length_stats: MetricStats::of(&context),
        unique_prompt_length_stats: MetricStats::of(&unique),
        hit_rate_stats: MetricStats::of(&hit_rates),
    }
}

/// Each request's shared context and unique prompt, in tokens: a block is context when its
/// (position, id) pair occurs in more than one request; a request made only of such blocks is
/// context as a whole.
fn context_lengths(requests: &[Request], block_size: i64) -> (Vec<f64>, Vec<f64>) {
    let mut seen: HashMap<(usize, i64), u32> = HashMap::new();
    for r in requests {
        for (pos, id) in r.hash_ids.iter().enumerate() {
            *seen.entry((pos, *id)).or_default() += 1;
        }
    }
    let repeated = |pos: usize, id: i64| seen.get(&(pos, id)).is_some_and(|n| *n > 1);
    let mut context = Vec::with_capacity(requests.len());
    let mut unique = Vec::with_capacity(requests.len());
    for r in requests {
        let shared = r
            .hash_ids
            .iter()
            .enumerate()
            .filter(|(pos, id)| repeated(*pos, **id))
            .count() as i64;
        let (c, u) = if r.hash_ids.is_empty() {
            (0, r.input_length)
        } else if shared as usize == r.hash_ids.len() {
            (r.input_length, 0)
        } else {
            let c = shared * block_size;
            (c, r.input_length - c)
        };
        context.push(c as f64);
        unique.push(u as f64);
    }
    (context, unique)
}

/// Per request with blocks, the share of its leading blocks an infinite cache holds from the
/// requests before it (up to the first block never sent before).
fn hit_rates(requests: &[Request]) -> Vec<f64> {
    let mut cached: HashSet<i64> = HashSet::new();
    let mut rates = Vec::new();
    for r in requests.iter().filter(|r| !r.hash_ids.is_empty()) {
        let hits = r
            .hash_ids
            .iter()
            .position(|id| !cached.contains(id))
            .unwrap_or(r.hash_ids.len());
        rates.push(hits as f64 / r.hash_ids.len() as f64);
        cached.extend(r.hash_ids.iter().copied());
    }
    rates
}

/// The number of distinct prefixes and the share of prefix occurrences that repeat.
fn prefix_counts(requests: &[Request]) -> (usize, f64) {
    let mut counts: HashMap<&[i64], u64> = HashMap::new();
    for r in requests {
        for end in 1..=r.hash_ids.len() {
            *counts.entry(&r.hash_ids[..end]).or_default() += 1;
        }
    }
    let total: u64 = counts.values().sum();
    let reused: u64 = counts.values().filter(|n| **n > 1).sum();
    let ratio = if total == 0 {
        0.0
    } else {
        reused as f64 / total as f64
    };
    (counts.len(), ratio)
}

/// First blocks shared by two or more requests.
fn prefix_groups(requests: &[Request]) -> usize {
    let mut firsts: HashMap<i64, u32> = HashMap::new();
    for r in requests {
        if let Some(first) = r.hash_ids.first() {
            *firsts.entry(*first).or_default() += 1;
        }
    }
    firsts.values().filter(|n| **n > 1).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(isl: i64, osl: i64, ids: &[i64]) -> Request {
        Request {
            input_length: isl,
            output_length: osl,
            hash_ids: ids.to_vec(),
        }
    }

    #[test]
    fn shared_blocks_and_hit_rates_by_hand() {
        let trace = [
            req(1000, 10, &[1, 2]),
            req(1500, 20, &[1, 2, 3]),
            req(600, 30, &[4, 5]),
            req(700, 40, &[]),
        ];
        let s = analyze(&trace, 512);
        assert_eq!(s.total_requests, 4);
        // Prefixes: [1], [1,2], [1,2,3], [4], [4,5]; [1] and [1,2] occur twice: 4 of 7.
        assert_eq!(s.unique_prefixes, 5);
        assert_eq!(s.prefix_reuse_ratio, 4.0 / 7.0);
        assert_eq!(s.num_prefix_groups, 1);
        // Hit rates: 0, 2/3 (blocks 1 and 2 were sent), 0; the row without blocks has none.
        assert_eq!(s.hit_rate_stats.as_ref().unwrap().max, 2.0 / 3.0);
        assert_eq!(s.cache_hit_rate, 2.0 / 9.0);
        // Context: all of request 1 is shared; 2 blocks of request 2; nothing of 3 and 4.
        let (c, u) = context_lengths(&trace, 512);
        assert_eq!(c, [1000.0, 1024.0, 0.0, 0.0]);
        assert_eq!(u, [0.0, 476.0, 600.0, 700.0]);
        assert_eq!((s.min_isl, s.max_isl, s.avg_isl), (600, 1500, 950.0));
        assert_eq!(s.isl_stats.unwrap().p75, 1125.0);
    }

    #[test]
    fn an_empty_trace_has_no_distributions() {
        let s = analyze(&[], 512);
        assert_eq!(s.total_requests, 0);
        assert!(s.isl_stats.is_none() && s.hit_rate_stats.is_none());
        assert_eq!(s.cache_hit_rate, 0.0);
    }
}
