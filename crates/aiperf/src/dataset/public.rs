//! `--public-dataset`: the well-known datasets the Python AIPerf downloads, read here from a
//! local copy (nothing is downloaded): ShareGPT's JSON, SpecBench's JSON lines, and Hugging
//! Face datasets whose rows are JSON lines (in the Hugging Face cache, or exported once and
//! given with `--input-file`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Conversation, Turn, conversation_id};
use crate::UsageError;
use crate::tokenizer::Tokenizer;

/// A public dataset this tool reads.
#[derive(Debug, Clone, Copy)]
pub struct PublicSpec {
    /// Its `--public-dataset` name.
    pub name: &'static str,
    pub source: Source,
    pub format: PublicFormat,
}

/// Where the Python AIPerf gets a dataset.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// One file from a URL (cached by the Python AIPerf as `.cache/aiperf/datasets/<file>`),
    /// and where the Hugging Face hub holds the same file, if it does.
    Url {
        url: &'static str,
        file: &'static str,
        hub: Option<(&'static str, &'static str)>,
    },
    /// A Hugging Face dataset: its repository, config (subset) and split.
    Hub {
        repo: &'static str,
        subset: Option<&'static str>,
        split: &'static str,
    },
}

/// How rows become conversations.
#[derive(Debug, Clone, Copy)]
pub enum PublicFormat {
    /// ShareGPT: every human → gpt pair of a conversation is a turn, asking for the length of
    /// the recorded answer.
    ShareGpt,
    /// One turn per row: the text of a column.
    Column(&'static str),
    /// One turn per row: a template filled with the row's columns (`{name}`).
    Template(&'static str),
    /// One turn per row: the first string of a list column.
    FirstOf(&'static str),
    /// One turn per string of a list column.
    AllOf(&'static str),
}

const BLAZEDIT: &str = "Given a code file, please apply the change requests and generate the \
new file.\n\nOriginal file:\n```python\n{code}\n```\n\nChange request:\n{change_request}\n\n\
Please generate the new code file in the \"New file\" section below.";

const fn hub(repo: &'static str, subset: Option<&'static str>, split: &'static str) -> Source {
    Source::Hub {
        repo,
        subset,
        split,
    }
}

/// The public datasets read here.
pub const PUBLIC_DATASETS: &[PublicSpec] = &[
    PublicSpec {
        name: "sharegpt",
        source: Source::Url {
            url: "https://huggingface.co/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered/resolve/main/ShareGPT_V3_unfiltered_cleaned_split.json",
            file: "ShareGPT_V3_unfiltered_cleaned_split.json",
            hub: Some((
                "anon8231489123/ShareGPT_Vicuna_unfiltered",
                "ShareGPT_V3_unfiltered_cleaned_split.json",
            )),
        },
        format: PublicFormat::ShareGpt,
    },
    PublicSpec {
        name: "spec_bench",
        source: Source::Url {
            url: "https://raw.githubusercontent.com/hemingkx/Spec-Bench/fd2c1cd7d2201ef71db4c5f4e455008f017967bf/data/spec_bench/question.jsonl",
            file: "spec_bench.jsonl",
            hub: None,
        },
        format: PublicFormat::FirstOf("turns"),
    },
    PublicSpec {
        name: "aimo",
        source: hub("AI-MO/NuminaMath-TIR", None, "train"),
        format: PublicFormat::Column("problem"),
    },
    PublicSpec {
        name: "aimo_aime",
        source: hub("AI-MO/aimo-validation-aime", None, "train"),
        format: PublicFormat::Column("problem"),
    },
    PublicSpec {
        name: "aimo_numina_cot",
        source: hub("AI-MO/NuminaMath-CoT", None, "train"),
        format: PublicFormat::Column("problem"),
    },
    PublicSpec {
        name: "aimo_numina_1_5",
        source: hub("AI-MO/NuminaMath-1.5", None, "train"),
        format: PublicFormat::Column("problem"),
    },
    PublicSpec {
        name: "spec_al_gsm8k",
        source: hub("openai/gsm8k", Some("main"), "test"),
        format: PublicFormat::Column("question"),
    },
    PublicSpec {
        name: "spec_al_math500",
        source: hub("HuggingFaceH4/MATH-500", None, "test"),
        format: PublicFormat::Column("problem"),
    },
    PublicSpec {
        name: "spec_al_humaneval",
        source: hub("openai/openai_humaneval", None, "test"),
        format: PublicFormat::Column("prompt"),
    },
    PublicSpec {
        name: "spec_al_mbpp",
        source: hub("google-research-datasets/mbpp", Some("full"), "test"),
        format: PublicFormat::Column("text"),
    },
    PublicSpec {
        name: "spec_al_mtbench",
        source: hub("HuggingFaceH4/mt_bench_prompts", None, "train"),
        format: PublicFormat::AllOf("prompt"),
    },
    PublicSpec {
        name: "instruct_coder",
        source: hub("likaixin/InstructCoder", None, "train"),
        format: PublicFormat::Column("instruction"),
    },
    PublicSpec {
        name: "blazedit_5k",
        source: hub("vdaita/edit_5k_char", None, "train"),
        format: PublicFormat::Template(BLAZEDIT),
    },
    PublicSpec {
        name: "blazedit_10k",
        source: hub("vdaita/edit_10k_char", None, "train"),
        format: PublicFormat::Template(BLAZEDIT),
    },
];

/// Public datasets of the Python AIPerf that are not read here, and why.
const NOT_READ: &[(&str, &str)] = &[
    (
        "exgentic",
        "its agent traces replay recorded message and tool snapshots",
    ),
    (
        "exgentic_v2",
        "its agent traces replay recorded message and tool snapshots",
    ),
    ("mmstar", "its images are stored inside Parquet files"),
    ("mmvu", "its videos are listed in Parquet files"),
    ("vision_arena", "its images are stored inside Parquet files"),
    (
        "llava_onevision",
        "its images are stored inside Parquet files",
    ),
    ("librispeech", "its audio is stored inside Parquet files"),
    ("voxpopuli", "its audio is stored inside Parquet files"),
    ("gigaspeech", "its audio is stored inside Parquet files"),
    ("ami", "its audio is stored inside Parquet files"),
    ("spgispeech", "its audio is stored inside Parquet files"),
    ("weka_hf", "Weka agentic traces are not replayed here"),
    ("semianalysis", "Weka agentic traces are not replayed here"),
];

/// Names compared without case, `-` and `_` (the Python AIPerf prints `spec-al-gsm8-k` for
/// `spec_al_gsm8k`).
fn key(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The dataset called `name`, or an error saying why it cannot be read.
pub fn find(name: &str) -> Result<&'static PublicSpec, String> {
    let k = key(name);
    if let Some(spec) = PUBLIC_DATASETS.iter().find(|s| key(s.name) == k) {
        return Ok(spec);
    }
    if let Some((known, why)) = NOT_READ.iter().find(|(n, _)| k.starts_with(&key(n))) {
        return Err(format!(
            "--public-dataset {name} is not supported here ({known}: {why}); export its rows \
             as single_turn JSON lines and pass them with --input-file"
        ));
    }
    let names: Vec<&str> = PUBLIC_DATASETS.iter().map(|s| s.name).collect();
    Err(format!(
        "--public-dataset {name:?} is not a known dataset (read here: {})",
        names.join(", ")
    ))
}

/// Where the local copy of `spec` is: `given` (`--input-file`), the Python AIPerf's cache
/// under `work_dir` (`.cache/aiperf/datasets/`), or the Hugging Face cache at `hub_cache`.
pub fn locate(
    spec: &PublicSpec,
    given: Option<&Path>,
    subset: Option<&str>,
    work_dir: &Path,
    hub_cache: &Path,
) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(format!(
                "--input-file: {} (the copy of --public-dataset {}) does not exist or is not a \
                 file",
                path.display(),
                spec.name
            ))
        };
    }
    match spec.source {
        Source::Url { url, file, hub } => {
            let cached = work_dir.join(".cache/aiperf/datasets").join(file);
            if cached.is_file() {
                return Ok(cached);
            }
            let in_hub = hub.and_then(|(repo, path)| {
                snapshot_files(hub_cache, repo)
                    .into_iter()
                    .find(|f| f.ends_with(path))
            });
            if let Some(path) = in_hub {
                return Ok(path);
            }
            let hub_hint = hub.map_or(String::new(), |(repo, path)| {
                format!(
                    ", or `huggingface-cli download --repo-type dataset {repo} {path}` (into \
                     the Hugging Face cache at {})",
                    hub_cache.display()
                )
            });
            Err(format!(
                "--public-dataset {}: no local copy of {file} (nothing is downloaded here). \
                 Download it once: `mkdir -p .cache/aiperf/datasets && curl -L -o \
                 .cache/aiperf/datasets/{file} {url}` (run where aiperf runs){hub_hint}; or \
                 pass the file with --input-file",
                spec.name
            ))
        }
        Source::Hub {
            repo,
            subset: default_subset,
            split,
        } => {
            let subset = subset.or(default_subset);
            let files = snapshot_files(hub_cache, repo);
            let wanted = |f: &&PathBuf| {
                let text = f.to_string_lossy();
                text.contains(split) && subset.is_none_or(|s| text.contains(s))
            };
            let json = files.iter().filter(wanted).find(|f| {
                f.extension()
                    .is_some_and(|e| e == "jsonl" || e == "json" || e == "ndjson")
            });
            if let Some(path) = json {
                return Ok(path.clone());
            }
            let parquet = files
                .iter()
                .any(|f| f.extension().is_some_and(|e| e == "parquet"));
            let found = if parquet {
                format!(
                    "the Hugging Face cache at {} holds it as Parquet, which is not read here",
                    hub_cache.display()
                )
            } else {
                format!(
                    "it is not in the Hugging Face cache at {}",
                    hub_cache.display()
                )
            };
            let config = subset.map_or(String::new(), |s| format!(", '{s}'"));
            Err(format!(
                "--public-dataset {}: no JSON-lines copy of the Hugging Face dataset {repo} \
                 (split {split}): {found} (nothing is downloaded here). Export it once: \
                 `python -c \"from datasets import load_dataset; load_dataset('{repo}'{config}, \
                 split='{split}').to_json('{}.jsonl')\"` and pass --input-file {}.jsonl",
                spec.name, spec.name, spec.name
            ))
        }
    }
}

/// The files of a dataset repository's snapshots in the Hugging Face cache, sorted.
fn snapshot_files(hub_cache: &Path, repo: &str) -> Vec<PathBuf> {
    let dir = hub_cache
        .join(format!("datasets--{}", repo.replace('/', "--")))
        .join("snapshots");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Reads the local copy of `spec` at `path` into conversations. `osl_given`: `--osl` is set
/// (ShareGPT then keeps answers shorter than 4 tokens).
pub fn load_public(
    spec: &PublicSpec,
    path: &Path,
    tokenizer: &Tokenizer,
    osl_given: bool,
    seed: u64,
) -> Result<Vec<Conversation>, UsageError> {
    let error = |m: String| {
        UsageError::new(format!(
            "--public-dataset {} ({}): {m}",
            spec.name,
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let rows: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(rows)) => rows,
        Ok(Value::Object(doc)) if doc.get("rows").is_some_and(Value::is_array) => {
            // The datasets server's JSON: {"rows": [{"row": {...}}, ...]}.
            let Some(Value::Array(rows)) = doc.get("rows") else {
                unreachable!()
            };
            rows.iter()
                .map(|r| r.get("row").cloned().unwrap_or(Value::Null))
                .collect()
        }
        _ => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| error(format!("line {} is not a JSON object: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut conversations = Vec::new();
    for row in &rows {
        let turns = match spec.format {
            PublicFormat::ShareGpt => sharegpt_turns(row, tokenizer, osl_given),
            _ => {
                let Some(obj) = row.as_object() else {
                    continue;
                };
                row_texts(spec.format, obj)
                    .map_err(error)?
                    .into_iter()
                    .map(|t| text_turn(t, tokenizer))
                    .collect()
            }
        };
        if !turns.is_empty() {
            conversations.push(Conversation {
                id: conversation_id(seed, conversations.len() as u64),
                turns,
            });
        }
    }
    if conversations.is_empty() {
        return Err(error(format!(
            "none of its {} rows holds a usable prompt",
            rows.len()
        )));
    }
    Ok(conversations)
}

fn text_turn(text: String, tokenizer: &Tokenizer) -> Turn {
    Turn {
        input_tokens: u32::try_from(tokenizer.count(&text)).unwrap_or(u32::MAX),
        texts: vec![text],
        role: "user".into(),
        ..Turn::default()
    }
}

/// The prompts of one row of a column-shaped dataset.
fn row_texts(format: PublicFormat, row: &Map<String, Value>) -> Result<Vec<String>, String> {
    let column = |name: &str| {
        row.get(name).ok_or_else(|| {
            let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
            keys.sort_unstable();
            format!(
                "rows have no column {name:?} (columns: {})",
                keys.join(", ")
            )
        })
    };
    let string = |v: &Value| match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let texts = match format {
        PublicFormat::ShareGpt => unreachable!("ShareGPT rows are read by sharegpt_turns"),
        PublicFormat::Column(name) => vec![string(column(name)?)],
        PublicFormat::Template(template) => vec![fill(template, row)?],
        PublicFormat::FirstOf(name) => match column(name)? {
            Value::Array(items) => items.first().map(string).into_iter().collect(),
            _ => Vec::new(),
        },
        PublicFormat::AllOf(name) => match column(name)? {
            Value::Array(items) => items.iter().map(string).collect(),
            _ => Vec::new(),
        },
    };
    Ok(texts.into_iter().filter(|t| !t.is_empty()).collect())
}

/// `template` with each `{column}` replaced by the row's value.
fn fill(template: &str, row: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "unclosed { in the prompt template".to_owned())?;
        let name = &after[..close];
        match row.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => {
                return Err(format!(
                    "rows have no column {name:?} (the template needs it)"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The turns of one ShareGPT entry: each human → gpt pair, if every pair passes the length
/// checks (4 to 1024 prompt tokens, at most 2048 with the answer, answers of 4 tokens or
/// more unless `--osl` is given), else none.
fn sharegpt_turns(entry: &Value, tokenizer: &Tokenizer, osl_given: bool) -> Vec<Turn> {
    let messages: Vec<&Map<String, Value>> = entry
        .get("conversations")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let value = |m: &Map<String, Value>| {
        m.get("value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    fn from(m: &Map<String, Value>) -> &str {
        m.get("from").and_then(Value::as_str).unwrap_or("")
    }
    let mut pairs = Vec::new();
    if messages.len() < 2 {
        return Vec::new();
    }
    if messages.iter().any(|m| matches!(from(m), "human" | "gpt")) {
        let roles: Vec<_> = messages
            .iter()
            .filter(|m| matches!(from(m), "human" | "gpt"))
            .collect();
        let mut i = 0;
        while i + 1 < roles.len() {
            if from(roles[i]) == "human" && from(roles[i + 1]) == "gpt" {
                if let (Some(p), Some(c)) = (value(roles[i]), value(roles[i + 1])) {
                    pairs.push((p, c));
                }
                i += 2;
            } else {
                i += 1;
            }
        }
    } else if let (Some(p), Some(c)) = (value(messages[0]), value(messages[1])) {
        pairs.push((p, c));
    }
    let mut turns = Vec::with_capacity(pairs.len());
    for (prompt, completion) in pairs {
        let prompt_len = tokenizer.count(&prompt);
        let completion_len = tokenizer.count(&completion);
        let valid = (4..=1024).contains(&prompt_len)
            && (osl_given || completion_len >= 4)
            && prompt_len + completion_len <= 2048;
        if !valid {
            return Vec::new();
        }
        turns.push(Turn {
            texts: vec![prompt],
            role: "user".into(),
            input_tokens: u32::try_from(prompt_len).unwrap_or(u32::MAX),
            max_tokens: Some(u32::try_from(completion_len).unwrap_or(u32::MAX).max(1)),
            ..Turn::default()
        });
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    #[test]
    fn names_match_as_the_python_aiperf_prints_them() {
        assert_eq!(find("spec-al-gsm8-k").unwrap().name, "spec_al_gsm8k");
        assert_eq!(find("ShareGPT").unwrap().name, "sharegpt");
        assert!(find("mmstar").unwrap_err().contains("Parquet"));
        assert!(
            find("semianalysis-cc-traces-weka-061326")
                .unwrap_err()
                .contains("Weka")
        );
        assert!(find("nope").unwrap_err().contains("not a known dataset"));
    }

    #[test]
    fn sharegpt_pairs_become_turns_and_short_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sg.json");
        let long = ["word"; 10].join(" ");
        let doc = serde_json::json!([
            {"id": "a", "conversations": [
                {"from": "human", "value": long},
                {"from": "gpt", "value": long},
                {"from": "human", "value": long},
                {"from": "gpt", "value": "ok ok ok ok ok"},
            ]},
            {"id": "b", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": long}]},
            {"id": "c", "conversations": [{"from": "human", "value": long}]},
        ]);
        std::fs::write(&path, doc.to_string()).unwrap();
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let spec = find("sharegpt").unwrap();
        let convs = load_public(spec, &path, &tok, false, 1).unwrap();
        assert_eq!(convs.len(), 1, "b's prompt is too short, c has no answer");
        assert_eq!(convs[0].turns.len(), 2);
        assert_eq!(convs[0].turns[0].input_tokens, 10);
        assert_eq!(convs[0].turns[0].max_tokens, Some(10));
        assert_eq!(convs[0].turns[1].max_tokens, Some(5));
    }

    #[test]
    fn hub_rows_and_templates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.jsonl");
        std::fs::write(
            &path,
            "{\"code\": \"x = 1\", \"change_request\": \"add y\"}\n\n{\"code\": \"z\", \"change_request\": \"\"}\n",
        )
        .unwrap();
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let convs = load_public(find("blazedit_5k").unwrap(), &path, &tok, false, 1).unwrap();
        assert_eq!(convs.len(), 2);
        assert!(convs[0].turns[0].texts[0].contains("```python\nx = 1\n```"));
        let err = load_public(find("aimo").unwrap(), &path, &tok, false, 1).unwrap_err();
        assert!(err.to_string().contains("no column \"problem\""), "{err}");
        std::fs::write(&path, "{\"prompt\": [\"one\", \"two\"]}\n").unwrap();
        let convs = load_public(find("spec_al_mtbench").unwrap(), &path, &tok, false, 1).unwrap();
        assert_eq!(convs[0].turns.len(), 2);
    }

    #[test]
    fn locating_copies() {
        let dir = tempfile::tempdir().unwrap();
        let hub = dir.path().join("hub");
        let spec = find("sharegpt").unwrap();
        let err = locate(spec, None, None, dir.path(), &hub).unwrap_err();
        assert!(
            err.contains("curl -L -o .cache/aiperf/datasets/ShareGPT_V3"),
            "{err}"
        );
        assert!(
            err.contains("huggingface-cli download --repo-type dataset"),
            "{err}"
        );
        let snap = hub.join("datasets--anon8231489123--ShareGPT_Vicuna_unfiltered/snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("ShareGPT_V3_unfiltered_cleaned_split.json"), "[]").unwrap();
        assert!(locate(spec, None, None, dir.path(), &hub).is_ok());
        let gsm = find("spec_al_gsm8k").unwrap();
        let snap = hub.join("datasets--openai--gsm8k/snapshots/r/main");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("test-00000-of-00001.parquet"), "").unwrap();
        let err = locate(gsm, None, None, dir.path(), &hub).unwrap_err();
        assert!(err.contains("as Parquet"), "{err}");
        assert!(
            err.contains("load_dataset('openai/gsm8k', 'main', split='test')"),
            "{err}"
        );
        std::fs::write(snap.join("test.jsonl"), "").unwrap();
        assert!(
            locate(gsm, None, None, dir.path(), &hub)
                .unwrap()
                .ends_with("main/test.jsonl")
        );
        assert!(locate(gsm, None, Some("other"), dir.path(), &hub).is_err());
    }
}
