//! The dataset settings of `run_config.json` beyond lengths and turns, in the reference
//! tool's shape: public datasets, cache busting, the corpus and length plans of prompts.

use serde::{Deserialize, Serialize};

use super::reference_config::{Distribution, Prompts};
use crate::settings::{CacheBustTarget, CorpusStyle, DatasetOptions, LengthPlan, PromptCorpus};

/// `--public-dataset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicDataset {
    pub name: String,
    pub dataset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_subset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osl: Option<Distribution>,
}

/// `--cache-bust`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheBust {
    pub target: String,
}

/// One pair of `--seq-dist`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqPairDoc {
    pub isl: Distribution,
    pub osl: Distribution,
    pub probability: f64,
}

/// `--synthesis-*`: the values that differ from their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthesisDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_len_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_root_multiplier: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_len_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_len_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_isl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_osl: Option<u32>,
}

/// `--prompt-corpus` of an input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusDoc {
    pub corpus: String,
}

pub(super) fn cache_bust(options: &DatasetOptions) -> Option<CacheBust> {
    (options.cache_bust != CacheBustTarget::None).then(|| CacheBust {
        target: options.cache_bust.name().to_owned(),
    })
}

pub(super) fn corpus_name(options: &DatasetOptions) -> Option<String> {
    options.corpus.map(|c| {
        match c {
            PromptCorpus::Sonnet => "sonnet",
            PromptCorpus::Coding => "coding",
            PromptCorpus::Random => "random",
        }
        .to_owned()
    })
}

/// The synthetic prompt settings beyond the lengths: cache busting, the corpus, the length
/// plan.
pub(super) fn prompt_options(options: &DatasetOptions) -> Prompts {
    let (pairs, ratio) = match &options.lengths {
        Some(LengthPlan::Pairs { pairs }) => (Some(pairs), None),
        Some(LengthPlan::Window { given, .. }) => (None, Some(given.clone())),
        None => (None, None),
    };
    Prompts {
        isl: None,
        osl: None,
        batch_size: None,
        cache_bust: cache_bust(options),
        corpus: corpus_name(options),
        sequence_distribution: pairs.map(|pairs| {
            pairs
                .iter()
                .map(|p| SeqPairDoc {
                    isl: Distribution {
                        mean: p.isl.mean,
                        stddev: Some(p.isl.stddev),
                    },
                    osl: Distribution {
                        mean: p.osl.mean,
                        stddev: Some(p.osl.stddev),
                    },
                    probability: p.probability,
                })
                .collect()
        }),
        random_range_ratio: ratio,
        random_corpus_style: (options.corpus_style == CorpusStyle::Sglang)
            .then(|| "sglang".to_owned()),
    }
}

pub(super) fn synthesis(options: &DatasetOptions) -> Option<SynthesisDoc> {
    let s = options.synthesis?;
    let set = |v: f64| (v != 1.0).then_some(v);
    Some(SynthesisDoc {
        speedup_ratio: set(s.speedup_ratio),
        prefix_len_multiplier: set(s.prefix_len_multiplier),
        prefix_root_multiplier: (s.prefix_root_multiplier != 1).then_some(s.prefix_root_multiplier),
        prompt_len_multiplier: set(s.prompt_len_multiplier),
        output_len_multiplier: set(s.output_len_multiplier),
        max_isl: s.max_isl,
        max_osl: s.max_osl,
    })
}
