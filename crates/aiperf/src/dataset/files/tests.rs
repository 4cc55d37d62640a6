//! The loaders' tests: rows, errors naming the file, line and field, and fuzzing.

use super::*;
use crate::settings::Encoding;
use crate::settings::TRACE_BLOCK_TOKENS;

fn load(kind: DatasetFileKind, content: &str) -> Result<Vec<Conversation>, UsageError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.jsonl");
    std::fs::write(&path, content).unwrap();
    let tok = Tokenizer::builtin(Encoding::O200kBase);
    load_file(&path, kind, &tok, None, TRACE_BLOCK_TOKENS, 1)
}

#[test]
fn trace_blocks_follow_the_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    std::fs::write(
        &path,
        "{\"input_length\": 40, \"hash_ids\": [7, 8, 9]}\n{\"input_length\": 20, \"hash_ids\": [7, 5]}\n",
    )
    .unwrap();
    let tok = Tokenizer::builtin(Encoding::O200kBase);
    let convs = load_file(&path, DatasetFileKind::MooncakeTrace, &tok, None, 16, 1).unwrap();
    let (a, b) = (&convs[0].turns[0], &convs[1].turns[0]);
    assert_eq!((a.input_tokens, b.input_tokens), (40, 20));
    // Block 7 is the same 16 tokens at the start of both prompts.
    let shared: String = a.texts[0]
        .chars()
        .zip(b.texts[0].chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect();
    assert!(tok.count(&shared) >= 16, "{shared:?}");
    // With mooncake's 512-token blocks, 40 tokens cannot fill two whole blocks.
    let err = load_file(&path, DatasetFileKind::MooncakeTrace, &tok, None, 512, 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("too short for 3 hash_ids of 512 tokens (--isl-block-size)"),
        "{err}"
    );
}

#[test]
fn single_turn_rows() {
    let convs = load(
        DatasetFileKind::SingleTurn,
        "{\"text\": \"hello world\"}\n\n{\"texts\": [\"a\", \"b\"], \"timestamp\": 5, \"output_length\": 9}\n",
    )
    .unwrap();
    assert_eq!(convs.len(), 2);
    assert_eq!(convs[0].turns[0].input_tokens, 2);
    assert_eq!(convs[1].turns[0].texts, ["a", "b"]);
    assert_eq!(convs[1].turns[0].timestamp_ms, Some(5.0));
    assert_eq!(convs[1].turns[0].max_tokens, Some(9));
}

#[test]
fn single_turn_named_texts() {
    let convs = load(
        DatasetFileKind::SingleTurn,
        r#"{"texts": [{"name": "query", "contents": ["hello world"]}, {"name": "passages", "contents": ["a b", "c"]}]}"#,
    )
    .unwrap();
    let turn = &convs[0].turns[0];
    assert_eq!(turn.named(&["query", "queries"]), ["hello world"]);
    assert_eq!(turn.named(&["passages"]), ["a b", "c"]);
    assert_eq!(turn.texts, ["hello world", "a b", "c"]);
    assert_eq!(turn.input_tokens, 5);
    for (row, needle) in [
        (
            r#"{"texts": [{"name": "query"}]}"#,
            "`texts` has no contents",
        ),
        (
            r#"{"texts": [{"name": "q", "text": "x"}]}"#,
            "named texts like",
        ),
        (r#"{"texts": [7]}"#, "named texts like"),
    ] {
        let err = load(DatasetFileKind::SingleTurn, row)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{row}: {err}");
    }
}

#[test]
fn multi_turn_sessions() {
    let convs = load(
        DatasetFileKind::MultiTurn,
        r#"{"session_id": "s1", "turns": [{"text": "Hi"}, {"text": "More", "delay": 250}]}"#,
    )
    .unwrap();
    assert_eq!(convs[0].id, "s1");
    assert_eq!(convs[0].turns.len(), 2);
    assert_eq!(convs[0].turns[1].delay_ms, Some(250.0));
}

#[test]
fn mooncake_blocks_share_prefixes_and_hit_lengths() {
    let convs = load(
        DatasetFileKind::MooncakeTrace,
        "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 10, \"hash_ids\": [1, 2]}\n\
         {\"timestamp\": 30, \"input_length\": 700, \"output_length\": 5, \"hash_ids\": [1, 3]}\n\
         {\"timestamp\": 50, \"input_length\": 40}\n",
    )
    .unwrap();
    assert_eq!(convs.len(), 3);
    let (a, b) = (&convs[0].turns[0], &convs[1].turns[0]);
    assert_eq!(a.input_tokens, 600);
    assert_eq!(b.input_tokens, 700);
    assert_eq!(convs[2].turns[0].input_tokens, 40);
    let shared = a.texts[0]
        .chars()
        .zip(b.texts[0].chars())
        .take_while(|(x, y)| x == y)
        .count();
    assert!(shared > 1000, "block 1 is a shared prefix ({shared} chars)");
    assert_eq!(a.max_tokens, Some(10));
    assert_eq!(b.timestamp_ms, Some(30.0));
}

#[test]
fn errors_name_the_file_line_and_field() {
    let cases = [
        (
            DatasetFileKind::SingleTurn,
            "{\"txt\": \"typo\"}",
            "line 1: unknown field `txt`",
        ),
        (DatasetFileKind::SingleTurn, "not json", "line 1"),
        (
            DatasetFileKind::SingleTurn,
            "{\"role\": \"user\"}",
            "missing field `text`",
        ),
        (
            DatasetFileKind::SingleTurn,
            "{\"text\": \"x\", \"image\": \"/no/such/a.png\"}",
            "field `image`",
        ),
        (
            DatasetFileKind::SingleTurn,
            "{\"text\": \"x\", \"delay\": -5}",
            "`delay` must be",
        ),
        (
            DatasetFileKind::MultiTurn,
            "{\"turns\": []}",
            "`turns` is empty",
        ),
        (
            DatasetFileKind::MooncakeTrace,
            "{\"timestamp\": 1}",
            "missing field `input_length`",
        ),
        (
            DatasetFileKind::MooncakeTrace,
            "{\"input_length\": 100, \"hash_ids\": [1, 2]}",
            "too short",
        ),
        (DatasetFileKind::SingleTurn, "\n\n", "has no rows"),
    ];
    for (kind, content, needle) in cases {
        let err = load(kind, content).unwrap_err().to_string();
        assert!(err.starts_with("--input-file:"), "{err}");
        assert!(err.contains(needle), "{content:?}: {err}");
    }
    let tok = Tokenizer::builtin(Encoding::O200kBase);
    let err = load_file(
        Path::new("/nonexistent.jsonl"),
        DatasetFileKind::SingleTurn,
        &tok,
        None,
        TRACE_BLOCK_TOKENS,
        1,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot read /nonexistent.jsonl"));
}

#[cfg(test)]
mod fuzz {
    //! Fuzzing the input-file loaders: any file content gives rows or an error naming the
    //! file, never a panic.

    use proptest::prelude::*;

    use super::*;
    use crate::settings::Encoding;
    use crate::settings::TRACE_BLOCK_TOKENS;

    /// Lines that are often almost-valid rows of each format.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{\"text\": \"hello\"}".to_owned()),
            Just("{\"texts\": []}".to_owned()),
            Just("{\"turns\": [{\"text\": \"a\", \"delay\": -1}]}".to_owned()),
            Just("{\"timestamp\": 5, \"input_length\": 10, \"hash_ids\": [1]}".to_owned()),
            Just("{\"input_length\": 4294967295, \"hash_ids\": [1, 2, 3]}".to_owned()),
            Just("{\"timestamp\": 1e308, \"input_length\": 1}".to_owned()),
            "\\{\"[a-z_]{1,12}\": (null|true|-?[0-9]{1,6}|\"[a-z]{0,5}\"|\\[\\])\\}",
            "[^\n]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn loaders_never_panic(lines in proptest::collection::vec(line(), 0..6)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.jsonl");
            std::fs::write(&path, lines.join("\n")).unwrap();
            let tok = Tokenizer::builtin(Encoding::O200kBase);
            for kind in [DatasetFileKind::SingleTurn, DatasetFileKind::MultiTurn, DatasetFileKind::MooncakeTrace] {
                match load_file(&path, kind, &tok, None, TRACE_BLOCK_TOKENS, 1) {
                    Ok(convs) => prop_assert!(!convs.is_empty()),
                    Err(e) => prop_assert!(e.to_string().starts_with("--input-file:"), "{}", e),
                }
            }
        }
    }
}
