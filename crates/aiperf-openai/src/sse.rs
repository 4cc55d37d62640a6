//! Incremental server-sent-events codec (WHATWG HTML "Server-sent events" §9.2.6).
//!
//! [`SseDecoder`] is fed bytes as they arrive and hands out complete events. It separates the
//! three answers a streaming client needs:
//!
//! * `Ok(Some(event))`: a complete event;
//! * `Ok(None)`: the bytes so far end in the middle of an event: feed more;
//! * `Err(_)`: the stream is not valid SSE (bad UTF-8, an unknown field in strict mode, an
//!   oversized event) or, from [`SseDecoder::finish`], it ended in the middle of an event.
//!
//! Lines may end in `\n`, `\r\n` or `\r`; comments (`:`) are skipped; several `data:` lines of
//! one event are joined with `\n`. The OpenAI end marker `data: [DONE]` is an ordinary event
//! that answers `true` to [`SseEvent::is_done`].
//!
//! The encoder functions write the same format.

use thiserror::Error;

/// Largest event the decoder buffers before reporting [`SseError::EventTooLarge`].
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The data of the OpenAI end-of-stream event.
pub const DONE_DATA: &str = "[DONE]";

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event type.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, when present.
    pub id: Option<String>,
    /// The `retry:` field, when present and a valid number of milliseconds.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// A plain data event.
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            ..Self::default()
        }
    }

    /// `true` for OpenAI's `data: [DONE]` end marker.
    pub fn is_done(&self) -> bool {
        self.data == DONE_DATA
    }
}

/// Why a byte stream is not valid SSE.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SseError {
    #[error("the event stream is not valid UTF-8 (line starting at byte {offset})")]
    InvalidUtf8 { offset: u64 },
    #[error(
        "unexpected line in the event stream: {line:?} (expected `data:`, `event:`, `id:`, `retry:` or a `:` comment)"
    )]
    UnknownField { line: String },
    #[error("an event is larger than {limit} bytes")]
    EventTooLarge { limit: usize },
    #[error(
        "the event stream ended in the middle of an event ({pending} bytes not terminated by a blank line)"
    )]
    Truncated { pending: usize },
}

/// Incremental SSE decoder. See the [module docs](self).
#[derive(Debug)]
pub struct SseDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    /// Stream offset of `buf[0]`, for error messages.
    base_offset: u64,
    started: bool,
    pending: PendingEvent,
    strict: bool,
    max_event_bytes: usize,
}

#[derive(Debug, Default)]
struct PendingEvent {
    data: String,
    has_data: bool,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    /// Bytes of field lines taken into this event so far.
    bytes: usize,
}

impl PendingEvent {
    fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    fn take(&mut self) -> Option<SseEvent> {
        let pending = std::mem::take(self);
        if !pending.has_data {
            // The spec drops events without data; a lone `event:` or `id:` line is not an event.
            return None;
        }
        let mut data = pending.data;
        data.pop(); // the `\n` appended after the last data line
        Some(SseEvent {
            event: pending.event,
            data,
            id: pending.id,
            retry: pending.retry,
        })
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A strict decoder: lines that are not an SSE field or comment are errors, which catches a
    /// server answering with HTML or plain JSON where an event stream was expected.
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            base_offset: 0,
            started: false,
            pending: PendingEvent::default(),
            strict: true,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }

    /// A decoder that ignores unknown fields, as the SSE specification says browsers do.
    pub fn lenient() -> Self {
        Self {
            strict: false,
            ..Self::new()
        }
    }

    /// Limits how many bytes one event (or one unterminated line) may take.
    pub fn with_max_event_bytes(mut self, limit: usize) -> Self {
        self.max_event_bytes = limit;
        self
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.base_offset += self.pos as u64;
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.base_offset += self.pos as u64;
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, `Ok(None)` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            if !self.started {
                // A UTF-8 byte-order mark may open the stream.
                const BOM: &[u8] = b"\xEF\xBB\xBF";
                let rest = &self.buf[self.pos..];
                if rest.len() < BOM.len() && BOM.starts_with(rest) {
                    return Ok(None);
                }
                if rest.starts_with(BOM) {
                    self.pos += BOM.len();
                }
                self.started = true;
            }
            let Some((line_end, next)) = self.find_line_end() else {
                let unterminated = self.buf.len() - self.pos;
                if self.pending.bytes + unterminated > self.max_event_bytes {
                    return Err(SseError::EventTooLarge {
                        limit: self.max_event_bytes,
                    });
                }
                return Ok(None);
            };
            let start = self.pos;
            self.pos = next;
            if line_end == start {
                if let Some(event) = self.pending.take() {
                    return Ok(Some(event));
                }
                continue;
            }
            self.take_line(start, line_end)?;
        }
    }

    /// Call at end of stream: returns an event that was complete but for the final line break,
    /// and reports an error when the stream stopped in the middle of an event.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        let rest = self.buf.len() - self.pos;
        if rest == 1 && self.buf[self.pos] == b'\r' {
            // A trailing `\r` is a complete line end once no `\n` can follow.
            self.pos += 1;
            if let Some(event) = self.pending.take() {
                return Ok(Some(event));
            }
        }
        let pending = self.buf.len() - self.pos + self.pending.bytes;
        self.pos = self.buf.len();
        self.pending = PendingEvent::default();
        if pending > 0 {
            Err(SseError::Truncated { pending })
        } else {
            Ok(None)
        }
    }

    /// `true` when no partial event or line is buffered.
    pub fn is_idle(&self) -> bool {
        self.pos == self.buf.len() && self.pending.is_empty()
    }

    /// Finds the end of the next line: `(end of content, start of next line)`.
    fn find_line_end(&self) -> Option<(usize, usize)> {
        let rest = &self.buf[self.pos..];
        let i = memchr::memchr2(b'\n', b'\r', rest)?;
        let at = self.pos + i;
        if rest[i] == b'\n' {
            return Some((at, at + 1));
        }
        match rest.get(i + 1) {
            // `\r` as the last byte: a `\n` may still follow in the next read.
            None => None,
            Some(b'\n') => Some((at, at + 2)),
            Some(_) => Some((at, at + 1)),
        }
    }

    fn take_line(&mut self, start: usize, end: usize) -> Result<(), SseError> {
        let line =
            std::str::from_utf8(&self.buf[start..end]).map_err(|_| SseError::InvalidUtf8 {
                offset: self.base_offset + start as u64,
            })?;
        if line.starts_with(':') {
            // Comments are not part of any event (a lone comment leaves nothing pending).
            return Ok(());
        }
        self.pending.bytes += end - start + 1;
        if self.pending.bytes > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.pending.data.push_str(value);
                self.pending.data.push('\n');
                self.pending.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>()
                    && value.bytes().all(|b| b.is_ascii_digit())
                {
                    self.pending.retry = Some(ms);
                }
            }
            "id" => {}
            _ if self.strict => {
                return Err(SseError::UnknownField {
                    line: line.chars().take(120).collect(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// Decodes a whole byte stream at once.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
    let mut decoder = SseDecoder::new();
    decoder.feed(bytes);
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event()? {
        events.push(event);
    }
    events.extend(decoder.finish()?);
    Ok(events)
}

/// Line terminator the encoder writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineEnding {
    #[default]
    Lf,
    CrLf,
}

impl LineEnding {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lf => "\n",
            Self::CrLf => "\r\n",
        }
    }
}

/// Appends a data-only event: one `data:` line per line of `data`, then a blank line.
///
/// `data` must not contain `\r`: SSE has no way to carry it.
pub fn write_data(out: &mut Vec<u8>, data: &str) {
    write_event(out, None, data, LineEnding::Lf);
}

/// Appends an event with an optional `event:` name, using `ending` for every line.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &str, ending: LineEnding) {
    let eol = ending.as_str().as_bytes();
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(eol);
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
}

/// Appends a comment line (ignored by decoders; servers use it as a keep-alive).
pub fn write_comment(out: &mut Vec<u8>, text: &str, ending: LineEnding) {
    for line in text.split('\n') {
        out.push(b':');
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(ending.as_str().as_bytes());
    }
}

/// Appends OpenAI's `data: [DONE]` end marker.
pub fn write_done(out: &mut Vec<u8>) {
    write_data(out, DONE_DATA);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(bytes: &[u8]) -> Vec<SseEvent> {
        decode_all(bytes).unwrap()
    }

    #[test]
    fn decodes_openai_stream() {
        let stream = b"data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n";
        let got = events(stream);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].data, "{\"a\":1}");
        assert!(!got[1].is_done());
        assert!(got[2].is_done());
    }

    #[test]
    fn handles_crlf_and_cr_line_endings() {
        let got = events(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n");
        let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["a", "b", "c"]);
    }

    #[test]
    fn joins_multiline_data_and_skips_comments() {
        let got = events(b": keep-alive\nevent: delta\ndata: one\n: mid comment\ndata: two\nid: 7\nretry: 50\n\n");
        assert_eq!(
            got,
            [SseEvent {
                event: Some("delta".into()),
                data: "one\ntwo".into(),
                id: Some("7".into()),
                retry: Some(50),
            }]
        );
    }

    #[test]
    fn field_without_space_and_empty_data() {
        let got = events(b"data:x\n\ndata\n\ndata:  two spaces\n\n");
        let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["x", "", " two spaces"]);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert!(events(b"event: ping\n\n: only a comment\n\n").is_empty());
    }

    #[test]
    fn partial_input_needs_more_bytes() {
        let mut d = SseDecoder::new();
        d.feed(b"data: hel");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"lo\n");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"\n");
        assert_eq!(d.next_event(), Ok(Some(SseEvent::data("hello"))));
        assert_eq!(d.next_event(), Ok(None));
        assert!(d.is_idle());
    }

    #[test]
    fn trailing_cr_waits_for_a_possible_lf() {
        let mut d = SseDecoder::new();
        d.feed(b"data: a\r\n\r");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"\ndata: b\r\n\r");
        assert_eq!(d.next_event(), Ok(Some(SseEvent::data("a"))));
        assert_eq!(d.next_event(), Ok(None));
        // At end of stream the lone `\r` does end the event.
        assert_eq!(d.finish(), Ok(Some(SseEvent::data("b"))));
    }

    #[test]
    fn truncated_stream_is_an_error_at_finish() {
        let mut d = SseDecoder::new();
        d.feed(b"data: {\"a\":1}\n\ndata: {\"a\"");
        assert!(d.next_event().unwrap().is_some());
        assert_eq!(d.next_event(), Ok(None));
        assert_eq!(d.finish(), Err(SseError::Truncated { pending: 10 }));

        let mut d = SseDecoder::new();
        d.feed(b"data: complete line but no blank line\n");
        assert_eq!(d.next_event(), Ok(None));
        assert!(matches!(d.finish(), Err(SseError::Truncated { .. })));
    }

    #[test]
    fn invalid_input_is_an_error_not_a_wait() {
        assert!(matches!(
            decode_all(b"<html><body>502 Bad Gateway</body></html>\n"),
            Err(SseError::UnknownField { .. })
        ));
        assert_eq!(
            decode_all(b"data: ok\n\ndata: \xff\xfe\n\n"),
            Err(SseError::InvalidUtf8 { offset: 10 })
        );
        let mut lenient = SseDecoder::lenient();
        lenient.feed(b"garbage\ndata: x\n\n");
        assert_eq!(lenient.next_event(), Ok(Some(SseEvent::data("x"))));
    }

    #[test]
    fn oversized_event_is_rejected_even_without_a_line_end() {
        let mut d = SseDecoder::new().with_max_event_bytes(16);
        d.feed(&[b'a'; 32]);
        assert_eq!(d.next_event(), Err(SseError::EventTooLarge { limit: 16 }));
        let mut d = SseDecoder::new().with_max_event_bytes(16);
        d.feed(b"data: 0123456789\ndata: 0123456789\n");
        assert_eq!(d.next_event(), Err(SseError::EventTooLarge { limit: 16 }));
    }

    #[test]
    fn byte_order_mark_is_skipped_even_when_split() {
        let mut d = SseDecoder::new();
        d.feed(b"\xEF\xBB");
        assert_eq!(d.next_event(), Ok(None));
        d.feed(b"\xBFdata: x\n\n");
        assert_eq!(d.next_event(), Ok(Some(SseEvent::data("x"))));
    }

    #[test]
    fn encoder_writes_what_the_decoder_reads() {
        let mut out = Vec::new();
        write_comment(&mut out, "hi", LineEnding::Lf);
        write_data(&mut out, "line1\nline2");
        write_event(&mut out, Some("e"), "x", LineEnding::CrLf);
        write_done(&mut out);
        assert_eq!(
            out,
            b":hi\ndata: line1\ndata: line2\n\nevent: e\r\ndata: x\r\n\r\ndata: [DONE]\n\n"
        );
        let got = events(&out);
        assert_eq!(got[0].data, "line1\nline2");
        assert_eq!(got[1].event.as_deref(), Some("e"));
        assert!(got[2].is_done());
    }

    #[test]
    fn long_streams_compact_the_buffer() {
        let mut d = SseDecoder::new();
        let mut n = 0;
        for i in 0..10_000 {
            d.feed(format!("data: {i}\n\n").as_bytes());
            d.feed(b"data: par");
            while let Some(e) = d.next_event().unwrap() {
                assert!(e.data.starts_with("par") || e.data.parse::<u32>().is_ok());
                n += 1;
            }
            d.feed(b"tial\n\n");
        }
        assert_eq!(n, 19_999);
        assert!(d.buf.len() < 64 * 1024, "buffer grew to {}", d.buf.len());
    }
}
