//! Fuzzing the SSE decoder: arbitrary bytes, fed in arbitrary pieces, never panic, never
//! loop, and either decode or fail with one of the typed errors; a decoder that failed keeps
//! failing or recovers deterministically. Short runs (the case count below) keep it in CI.

use aiperf_openai::sse::{SseDecoder, SseError};
use proptest::prelude::*;

/// Bytes that look like an event stream often enough to reach deep states.
fn streamish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => Just(b"data: ".to_vec()),
        2 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b":".to_vec()),
        1 => Just(b"event: x\n".to_vec()),
        1 => Just(b"[DONE]".to_vec()),
        1 => Just(vec![0xff, 0xfe]),
        4 => proptest::collection::vec(any::<u8>(), 0..12),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|parts| parts.concat())
}

fn drain(decoder: &mut SseDecoder, events: &mut usize) -> Option<SseError> {
    // At most one event per input byte plus one: anything more would be a loop.
    for _ in 0..100_000 {
        match decoder.next_event() {
            Ok(Some(_)) => *events += 1,
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
    panic!("the decoder kept yielding events");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_input_never_panics(bytes in streamish(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        for strict in [true, false] {
            let mut d = if strict { SseDecoder::new() } else { SseDecoder::lenient() };
            let mut events = 0usize;
            let mut offsets: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            offsets.sort_unstable();
            let mut start = 0;
            let mut failed = false;
            for end in offsets.into_iter().chain(std::iter::once(bytes.len())) {
                d.feed(&bytes[start..end.max(start)]);
                start = end.max(start);
                if let Some(e) = drain(&mut d, &mut events) {
                    let typed = matches!(
                        e,
                        SseError::InvalidUtf8 { .. } | SseError::UnknownField { .. } | SseError::EventTooLarge { .. }
                    );
                    prop_assert!(typed, "unexpected error {:?}", e);
                    failed = true;
                    break;
                }
            }
            if !failed {
                let _ = d.finish();
            }
            prop_assert!(events <= bytes.len() + 1);
        }
    }
}
