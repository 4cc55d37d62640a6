//! docs/tutorials/sharegpt.md: `--public-dataset sharegpt`, conversations of real users.
//!
//! The tutorial says the dataset is downloaded from Hugging Face and cached; nothing is
//! downloaded here. The test puts a small file in ShareGPT's format where the Python AIPerf
//! caches its download (`.cache/aiperf/datasets/` under the working directory), and the
//! command, unchanged but for its URL and request count, reads it from there.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Tutorial, payloads, phases, records};

const SHAREGPT: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --streaming \
    --url localhost:8000 \
    --public-dataset sharegpt \
    --request-count 20 \
    --concurrency 4";

/// Writes a ShareGPT file where the Python AIPerf keeps its copy; each prompt that a run may
/// send, with the length of its recorded answer (the output length it asks for).
pub(super) fn write_sharegpt(cwd: &Path) -> BTreeMap<String, u64> {
    let mut rows = Vec::new();
    let mut sent = BTreeMap::new();
    for i in 1..=8u64 {
        let prompt = format!("Question {i}: how do tides depend on the moon and the sun?");
        let answer = vec!["word"; 10 + i as usize].join(" ");
        rows.push(serde_json::json!({
            "id": format!("conv{i}"),
            "conversations": [
                {"from": "human", "value": prompt},
                {"from": "gpt", "value": answer},
            ],
        }));
        sent.insert(prompt, 10 + i);
    }
    // Too short a prompt (under 4 tokens): left out, as the Python AIPerf leaves it out.
    rows.push(serde_json::json!({
        "id": "short",
        "conversations": [
            {"from": "human", "value": "hi"},
            {"from": "gpt", "value": "word word word word word"},
        ],
    }));
    let dir = cwd.join(".cache/aiperf/datasets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ShareGPT_V3_unfiltered_cleaned_split.json"),
        serde_json::Value::from(rows).to_string(),
    )
    .unwrap();
    sent
}

/// Every payload of the run is one of the file's prompts, asking for its answer's length.
pub(super) fn only_sharegpt_prompts(dir: &Path, sent: &BTreeMap<String, u64>) {
    let all = payloads(dir);
    assert_eq!(all.len(), sent.len(), "every usable conversation, once");
    for p in all {
        let text = p["messages"][0]["content"].as_str().unwrap();
        let osl = sent
            .get(text)
            .unwrap_or_else(|| panic!("{text:?} is not in the file"));
        assert_eq!(p["max_completion_tokens"], *osl, "{p}");
    }
}

#[test]
fn sharegpt_is_read_from_the_local_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let sent = write_sharegpt(tmp.path());
    let run = Tutorial::parse(SHAREGPT)
        .on_sim("fixed", 10.0)
        .with("--request-count", "12")
        .run_in(tmp.path())
        .ok();
    let dir = run.dir();
    only_sharegpt_prompts(&dir, &sent);
    assert_eq!(records(&dir).len(), 12);
    assert_eq!(phases(&dir)[0]["concurrency"], 4);
}
