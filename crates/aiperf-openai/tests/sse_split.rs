//! Property: however a valid event stream is split into reads, the decoder yields the same events.

use aiperf_openai::sse::{LineEnding, SseDecoder, SseEvent, write_comment, write_event};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Item {
    Event(SseEvent),
    Comment(String),
}

fn event() -> impl Strategy<Value = SseEvent> {
    (
        proptest::option::of("[a-z_.]{1,12}"),
        // Any text without `\r` (SSE cannot carry it), including line feeds and non-ASCII.
        "[^\r]{0,40}",
    )
        .prop_map(|(event, data)| SseEvent {
            event,
            data,
            ..SseEvent::default()
        })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => event().prop_map(Item::Event),
        1 => "[^\r\n]{0,20}".prop_map(Item::Comment),
    ]
}

fn encode(items: &[Item], ending: LineEnding) -> (Vec<u8>, Vec<SseEvent>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Item::Event(e) => {
                write_event(&mut bytes, e.event.as_deref(), &e.data, ending);
                expected.push(e.clone());
            }
            Item::Comment(c) => write_comment(&mut bytes, c, ending),
        }
    }
    (bytes, expected)
}

fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut got = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        decoder.feed(&bytes[start..cut]);
        start = cut;
        while let Some(e) = decoder.next_event().expect("valid stream") {
            got.push(e);
        }
    }
    got.extend(decoder.finish().expect("stream ends on an event boundary"));
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_decodes_to_the_same_events(
        items in proptest::collection::vec(item(), 0..12),
        crlf in any::<bool>(),
        cut_seeds in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let ending = if crlf { LineEnding::CrLf } else { LineEnding::Lf };
        let (bytes, expected) = encode(&items, ending);
        let mut cuts: Vec<usize> = cut_seeds.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(&decode_in_pieces(&bytes, &cuts), &expected);
        // One byte at a time is the harshest split of all.
        let every_byte: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(decode_in_pieces(&bytes, &every_byte), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(bytes.len() + 1);
        let mut decoder = SseDecoder::new();
        decoder.feed(&bytes[..cut]);
        while let Ok(Some(_)) = decoder.next_event() {}
        decoder.feed(&bytes[cut..]);
        while let Ok(Some(_)) = decoder.next_event() {}
        let _ = decoder.finish();
    }
}
