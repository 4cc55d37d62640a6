//! `--public-dataset`, `--hf-subset` and `--dataset-filter`: which public dataset, and where
//! its local copy is (the working directory's `.cache/aiperf/datasets/`, the Hugging Face
//! cache of the environment, or `--input-file`).

use std::path::PathBuf;

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::dataset::public::{self, PublicSpec, Source};
use crate::settings::PublicSource;

pub(super) fn resolve_public(
    args: &ProfileArgs,
    name: &str,
) -> Result<(PathBuf, &'static PublicSpec), UsageError> {
    let a = &args.input;
    if a.custom_dataset_type.is_some() {
        return Err(UsageError::new(
            "--public-dataset and --custom-dataset-type are mutually exclusive: a public \
             dataset has its own format (give --input-file alone to name its local copy)",
        ));
    }
    let synthetic_only = [
        ("--prompt-prefix-pool-size", a.num_prefix_prompts != 0),
        ("--prompt-prefix-length", a.prefix_prompt_length != 0),
        (
            "--shared-system-prompt-length",
            a.shared_system_prompt_length != 0,
        ),
        ("--session-turns-mean", a.session_turns_mean != 1.0),
        ("--session-turns-stddev", a.session_turns_stddev != 0.0),
    ];
    if let Some((flag, _)) = synthetic_only.iter().find(|f| f.1) {
        return Err(UsageError::new(format!(
            "{flag} shapes synthetic prompts; --public-dataset brings its own (drop one of them)"
        )));
    }
    let spec = public::find(name).map_err(UsageError::new)?;
    source(args, spec)?;
    if a.hf_subset.is_some() && matches!(spec.source, Source::Url { .. }) {
        tracing::warn!(
            "--hf-subset applies to Hugging Face datasets; {} is one file, so it has no effect",
            spec.name
        );
    }
    let work_dir = std::env::current_dir().unwrap_or_default();
    let hub_cache = hf_hub::Cache::from_env().path().clone();
    let path = public::locate(
        spec,
        a.input_file.as_deref(),
        a.hf_subset.as_deref(),
        &work_dir,
        &hub_cache,
    )
    .map_err(UsageError::new)?;
    Ok((path, spec))
}

/// The `--public-dataset` settings recorded for the run: its name, `--hf-subset` and
/// `--dataset-filter` (checked: the datasets read here declare no filters).
pub(super) fn source(args: &ProfileArgs, spec: &PublicSpec) -> Result<PublicSource, UsageError> {
    let a = &args.input;
    let mut filters: Vec<(String, String)> = Vec::new();
    for item in &a.dataset_filters {
        let (key, value) = item
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| {
                UsageError::new(format!(
                    "--dataset-filter {item:?}: expected a non-empty key=value"
                ))
            })?;
        if filters.iter().any(|(k, _)| k == key) {
            return Err(UsageError::new(format!(
                "--dataset-filter: the key {key:?} is given twice"
            )));
        }
        filters.push((key.to_owned(), value.to_owned()));
    }
    if !filters.is_empty() {
        return Err(UsageError::new(format!(
            "--dataset-filter: public dataset {} does not support filters",
            spec.name
        )));
    }
    Ok(PublicSource {
        name: spec.name.to_owned(),
        subset: a.hf_subset.clone(),
        filters,
    })
}
