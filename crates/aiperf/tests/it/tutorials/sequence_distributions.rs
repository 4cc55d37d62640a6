//! docs/tutorials/sequence-distributions.md: `--sequence-distribution` draws each request's
//! input and output length from one of several weighted (ISL, OSL) pairs, each normal.
//!
//! The tutorial prints the same command twice (the first copy ends with a stray `\`); neither
//! sets a request count, so the default applies. The mixture is read from `inputs.json`, whose
//! dataset (100 entries by default) holds the drawn lengths.

use super::{Tutorial, metric, payloads, records};

const BASIC: &str = r#"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url localhost:8000 \
    --sequence-distribution "64|10,32|8:70;256|40,128|20:20;1024|100,512|50:10" \
"#;

const CHATBOT: &str = r#"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url localhost:8000 \
    --sequence-distribution "64|10,32|8:70;256|40,128|20:20;1024|100,512|50:10""#;

/// Which of the three pairs an input length was drawn from: the thresholds are at least 3.5
/// standard deviations from every mean.
fn bucket(isl: f64) -> usize {
    if isl < 115.0 {
        0
    } else if isl > 550.0 {
        2
    } else {
        1
    }
}

#[test]
fn requests_mix_three_length_pairs() {
    assert_eq!(Tutorial::parse(BASIC), Tutorial::parse(CHATBOT));
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(CHATBOT)
        .on_sim("fixed", 20.0)
        .run_in(tmp.path())
        .ok();
    let dir = run.dir();
    let mut counts = [0usize; 3];
    let mut osl_sums = [0.0; 3];
    for p in payloads(&dir) {
        // The prompt's words are its tokens here (the built-in tokenizer's vocabulary).
        let content = p["messages"][0]["content"].as_str().unwrap();
        let b = bucket(content.split_whitespace().count() as f64);
        counts[b] += 1;
        osl_sums[b] += p["max_completion_tokens"].as_f64().unwrap();
    }
    assert_eq!(counts.iter().sum::<usize>(), 100);
    // Each input length comes with its own pair's output length.
    for (b, (want, within)) in [(32.0, 6.0), (128.0, 15.0), (512.0, 50.0)]
        .iter()
        .enumerate()
    {
        let mean = osl_sums[b] / counts[b] as f64;
        assert!((mean - want).abs() < *within, "pair {b}: mean OSL {mean}");
    }
    // 70 %, 20 % and 10 % of 100 entries.
    assert!((55..=85).contains(&counts[0]), "{counts:?}");
    assert!((8..=35).contains(&counts[1]), "{counts:?}");
    assert!((3..=20).contains(&counts[2]), "{counts:?}");
    // Ten requests, the default count, each sent with one of the dataset's prompts.
    let recs = records(&dir);
    assert_eq!(recs.len(), 10);
    for r in recs {
        let isl = metric(&r, "input_sequence_length");
        assert!((1.0..1600.0).contains(&isl), "{isl}");
    }
}
