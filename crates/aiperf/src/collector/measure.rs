//! The metrics of one request, from its record and what its response decoded to, as the
//! reference tool defines them (TTFT = first content event − send; latency = last content
//! event − send; ITL = (latency − TTFT) / (OSL − 1)).

use aiperf_openai::view::ResponseView;

use super::CollectorConfig;
use crate::endpoints::{Decoded, http_error};
use crate::metrics::{N_REC, Rec, Values};
use crate::record::{ErrorDetails, Outcome, RawRecord};

/// Content events of one answer that, all arriving within [`BUFFERED_SPAN_NS`], mark the
/// stream as buffered: two may share a read by chance on a fast server, but three or more
/// within a millisecond (over 2,000 tokens a second for one stream) is not streaming. (The
/// events of one read are separate HTTP chunks, microseconds apart, not one timestamp.)
const BUFFERED_MIN_EVENTS: usize = 3;
const BUFFERED_SPAN_NS: u64 = 1_000_000;

/// The measurements of one request.
#[derive(Debug)]
pub struct Measured {
    pub values: Values,
    pub inter_chunk: Vec<f64>,
    pub last_content_ns: u64,
    pub error: Option<ErrorDetails>,
    /// A streamed answer of several tokens arrived at once: something between the server
    /// and the client (a buffering proxy) held the stream back, so its inter-token latency
    /// reads 0 and its time to first token is its whole latency.
    pub buffered: bool,
    /// `--use-server-token-count`, but the answer had no `usage`: counted by the tokenizer.
    pub without_usage: bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Computes every per-request metric of `record`, or why it failed.
pub fn measure(config: &CollectorConfig, record: &RawRecord) -> Measured {
    let mut m = Measured {
        values: [f64::NAN; N_REC],
        inter_chunk: Vec::new(),
        last_content_ns: record.end_ns,
        error: None,
        buffered: false,
        without_usage: false,
    };
    let parsed = match &record.outcome {
        Outcome::Ok => config.api.decode(&record.frames, config.streaming),
        Outcome::Http { status } => Err(http_error(*status, &record.frames)),
        Outcome::Timeout => Err(ErrorDetails::new(
            None,
            "RequestTimeout",
            // The same text for every timeout, so error_summary groups them.
            format!(
                "no complete response within --request-timeout-seconds ({} s)",
                config.timeout_secs
            ),
        )),
        Outcome::Transport { message } => {
            Err(ErrorDetails::new(None, "TransportError", message.clone()))
        }
        Outcome::Undecodable { message } => {
            Err(ErrorDetails::new(None, "InvalidResponse", message.clone()))
        }
        Outcome::Cancelled => Err(ErrorDetails::new(
            Some(499),
            "RequestCancellationError",
            "cancelled before the response was complete (grace period over, or interrupted)",
        )),
        Outcome::Abandoned => Err(ErrorDetails::new(
            Some(499),
            "RequestCancellationError",
            "cancelled by the client on purpose (--request-cancellation-rate)",
        )),
        Outcome::Unsendable(why) => Err(why.clone()),
    };
    let parsed = match parsed {
        Ok(p) if p.times.is_empty() && config.api.generates() => Err(ErrorDetails::new(
            None,
            "EmptyResponse",
            "the server answered without any generated text",
        )),
        other => other,
    };
    match parsed {
        Ok(p) if config.api.generates() => {
            generated(config, record, &p, &mut m);
            super::spec_decode::spec_decode_metrics(&record.frames, &mut m.values);
            media_metrics(record, &mut m.values);
            super::http_trace::http_metrics(&record.http, &mut m.values);
            type_metrics(config, record, &mut m.values);
        }
        Ok(p) => {
            answered(config, record, &p, &mut m);
            media_metrics(record, &mut m.values);
            super::http_trace::http_metrics(&record.http, &mut m.values);
            type_metrics(config, record, &mut m.values);
        }
        Err(e) => {
            if config.api.inputs().tokenized {
                m.values[Rec::ErrorIsl as usize] = f64::from(record.input_tokens);
            }
            m.error = Some(e);
        }
    }
    m
}

/// The metrics of a generated answer: time to first token, inter-token latency, lengths.
fn generated(config: &CollectorConfig, record: &RawRecord, p: &Decoded, m: &mut Measured) {
    let set = |v: &mut Values, r: Rec, x: f64| v[r as usize] = x;
    let v = &mut m.values;
    let start = record.start_ns;
    let first = p.times[0].0;
    let last = p.times[p.times.len() - 1].0;
    m.last_content_ns = last;

    let (output, reasoning) = (&p.output, &p.reasoning);
    let usage = p.usage.as_ref();
    m.without_usage = config.use_server_token_count && usage.is_none();
    m.buffered = config.streaming
        && p.times.len() >= BUFFERED_MIN_EVENTS
        && last - first <= BUFFERED_SPAN_NS;
    let (isl, out_tokens, reasoning_tokens) = match usage {
        Some(u) if config.use_server_token_count => {
            let r = u.reasoning();
            (
                u.prompt_tokens
                    .map_or(f64::from(record.input_tokens), |p| p as f64),
                u.completion_tokens.unwrap_or(0).saturating_sub(r) as f64,
                (r > 0).then_some(r as f64),
            )
        }
        _ => (
            f64::from(record.input_tokens),
            config.tokenizer.count(output) as f64,
            (!reasoning.is_empty()).then(|| config.tokenizer.count(reasoning) as f64),
        ),
    };
    let osl = out_tokens + reasoning_tokens.unwrap_or(0.0);
    let latency = ms(last - start);
    set(v, Rec::InputSequenceLength, isl);
    set(v, Rec::OutputTokenCount, out_tokens);
    if let Some(r) = reasoning_tokens {
        set(v, Rec::ReasoningTokenCount, r);
    }
    set(v, Rec::OutputSequenceLength, osl);
    set(v, Rec::RequestLatency, latency);
    if latency > 0.0 {
        set(v, Rec::E2eOutputTokenThroughput, osl / (latency / 1e3));
    }
    if config.streaming {
        let ttft = ms(first - start);
        set(v, Rec::TimeToFirstToken, ttft);
        if let Some(second) = p.times.get(1) {
            set(v, Rec::TimeToSecondToken, ms(second.0 - first));
        }
        if let Some(c) = p.times.iter().find(|c| c.1) {
            set(v, Rec::TimeToFirstOutputToken, ms(c.0 - start));
        }
        set(v, Rec::DecodeDuration, latency - ttft);
        if ttft > 0.0 {
            set(v, Rec::PrefillThroughputPerUser, isl / (ttft / 1e3));
        }
        if osl >= 2.0 {
            let itl = (latency - ttft) / (osl - first_chunk_tokens(config, record, osl));
            set(v, Rec::InterTokenLatency, itl);
            if itl > 0.0 {
                set(v, Rec::OutputTokenThroughputPerUser, 1e3 / itl);
            }
        }
        m.inter_chunk = p.times.windows(2).map(|w| ms(w[1].0 - w[0].0)).collect();
    }
    if config.open_loop {
        let scheduled = record.scheduled_ns;
        set(v, Rec::ScheduleLag, ms(start.saturating_sub(scheduled)));
        set(
            v,
            Rec::ScheduledTimeToFirstToken,
            ms(first.saturating_sub(scheduled)),
        );
        set(
            v,
            Rec::ScheduledRequestLatency,
            ms(last.saturating_sub(scheduled)),
        );
    }
    if let Some(u) = usage {
        if let Some(x) = u.prompt_tokens {
            set(v, Rec::UsagePromptTokens, x as f64);
        }
        if let Some(x) = u.completion_tokens {
            set(v, Rec::UsageCompletionTokens, x as f64);
        }
        if let Some(x) = u.total_tokens {
            set(v, Rec::UsageTotalTokens, x as f64);
        }
        if u.reasoning() > 0 {
            set(v, Rec::UsageReasoningTokens, u.reasoning() as f64);
        }
        // How far the server's counts are from ours (none when ours are the server's).
        if !config.use_server_token_count {
            let diff = |server: Option<u64>, client: f64| {
                server
                    .filter(|_| client > 0.0)
                    .map(|s| ((s as f64 - client) / client).abs() * 100.0)
            };
            if let Some(d) = diff(u.prompt_tokens, isl) {
                set(v, Rec::UsagePromptTokensDiffPct, d);
            }
            if let Some(d) = diff(u.completion_tokens, osl) {
                set(v, Rec::UsageCompletionTokensDiffPct, d);
            }
            let r = u.reasoning();
            if let Some(d) = diff((r > 0).then_some(r), reasoning_tokens.unwrap_or(0.0)) {
                set(v, Rec::UsageReasoningTokensDiffPct, d);
            }
        }
    }
    if let Some(requested) = record.requested_osl.filter(|r| *r > 0) {
        let requested = f64::from(requested);
        set(v, Rec::RequestedOsl, requested);
        set(
            v,
            Rec::OslMismatchDiffPct,
            (osl - requested) / requested * 100.0,
        );
    }
}

/// The tokens of the first content chunk, which inter-token latency leaves out: 1, or with
/// `--per-chunk-usage` the server's cumulative `completion_tokens` on the first chunk that
/// carries content and usage (reasoning included, as OSL), unless it is out of 1..OSL.
fn first_chunk_tokens(config: &CollectorConfig, record: &RawRecord, osl: f64) -> f64 {
    if !config.per_chunk_usage {
        return 1.0;
    }
    let mut first: Option<Option<u64>> = None;
    let _ = crate::endpoints::sse_events(&record.frames, |data, _| {
        if first.is_none()
            && let Ok(chunk) = serde_json::from_str::<ResponseView<'_>>(data)
            && let (Some(usage), Some(choice)) = (chunk.usage, chunk.choices)
        {
            let (content, reasoning) = choice.into_texts();
            if !content.is_empty() || !reasoning.is_empty() {
                first = Some(usage.completion_tokens);
            }
        }
        Ok(())
    });
    match first.flatten() {
        Some(n) if n >= 1 && (n as f64) < osl => n as f64,
        _ => 1.0,
    }
}

/// Request latency and input size of an answer that generates nothing (embeddings).
fn answered(config: &CollectorConfig, record: &RawRecord, p: &Decoded, m: &mut Measured) {
    let end = p.times.last().map_or(record.end_ns, |t| t.0);
    m.last_content_ns = end;
    let v = &mut m.values;
    let usage = p.usage.as_ref();
    let isl = match usage.and_then(|u| u.prompt_tokens) {
        Some(n) if config.use_server_token_count => n as f64,
        _ => f64::from(record.input_tokens),
    };
    v[Rec::InputSequenceLength as usize] = isl;
    v[Rec::RequestLatency as usize] = ms(end - record.start_ns);
    if config.open_loop {
        let scheduled = record.scheduled_ns;
        v[Rec::ScheduleLag as usize] = ms(record.start_ns.saturating_sub(scheduled));
        v[Rec::ScheduledRequestLatency as usize] = ms(end.saturating_sub(scheduled));
    }
    if let Some(u) = usage {
        if let Some(x) = u.prompt_tokens {
            v[Rec::UsagePromptTokens as usize] = x as f64;
        }
        if let Some(x) = u.total_tokens {
            v[Rec::UsageTotalTokens as usize] = x as f64;
        }
    }
}

/// Per-image and per-second-of-audio figures of a request that carried images or audio: how
/// many images, images per second of request latency and its inverse; the clip's length and
/// how many times faster than real time it was answered (RTFx).
fn media_metrics(record: &RawRecord, v: &mut Values) {
    let latency_ms = v[Rec::RequestLatency as usize];
    if latency_ms.is_nan() || latency_ms <= 0.0 {
        return;
    }
    if record.images > 0 {
        let n = f64::from(record.images);
        v[Rec::NumImages as usize] = n;
        v[Rec::ImageThroughput as usize] = n / (latency_ms / 1e3);
        v[Rec::ImageLatency as usize] = latency_ms / n;
    }
    if let Some(secs) = record.audio_secs.filter(|s| *s > 0.0) {
        v[Rec::AudioDuration as usize] = secs;
        v[Rec::Rtfx as usize] = secs / (latency_ms / 1e3);
    }
}

/// What depends on the endpoint type: the input it measures (an input sequence length only
/// where its text is sent and tokenized; image figures only where the Python AIPerf counts the
/// images, which image generation and image edit requests it does not), and what the server
/// reported of its work (a video job's inference time and peak memory).
fn type_metrics(config: &CollectorConfig, record: &RawRecord, v: &mut Values) {
    let inputs = config.api.inputs();
    if !inputs.tokenized {
        v[Rec::InputSequenceLength as usize] = f64::NAN;
    }
    if !inputs.images_counted {
        for rec in [Rec::NumImages, Rec::ImageThroughput, Rec::ImageLatency] {
            v[rec as usize] = f64::NAN;
        }
    }
    let figures = config.api.server_figures(&record.frames);
    if let Some(secs) = figures
        .inference_secs
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        v[Rec::VideoInferenceTime as usize] = secs * 1e3;
    }
    if let Some(mb) = figures
        .peak_memory_mb
        .filter(|m| m.is_finite() && *m >= 0.0)
    {
        v[Rec::VideoPeakMemory as usize] = mb;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::dataset::Dataset;
    use crate::record::{Clock, Phase};
    use crate::settings::Encoding;
    use crate::tokenizer::Tokenizer;

    #[test]
    fn metrics_follow_the_definitions() {
        let tokenizer = Arc::new(Tokenizer::builtin(Encoding::O200kBase));
        let config = CollectorConfig {
            tokenizer,
            dataset: Arc::new(Dataset::new(
                vec![],
                crate::settings::Sampling::Sequential,
                0,
            )),
            streaming: true,
            api: crate::endpoints::by_name("chat").unwrap().shared(),
            timeout_secs: 10.0,
            use_server_token_count: false,
            open_loop: true,
            clock: Clock::new(),
            records_path: None,
            raw_path: None,
            outputs_path: None,
            http_trace: false,
            progress: Arc::default(),
            process: crate::collector::RecordOrigin::new(None, false),
            per_chunk_usage: false,
        };
        let chunk = |t: u64, text: &str| {
            (
                t,
                Bytes::from(format!(
                    "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
                )),
            )
        };
        let record = RawRecord {
            phase: Phase::Profiling,
            request_num: 0,
            session_num: 0,
            conversation: 0,
            turn_index: 0,
            x_request_id: uuid::Uuid::nil(),
            x_correlation_id: uuid::Uuid::nil(),
            scheduled_ns: 0,
            start_ns: 1_000_000,
            ack_ns: Some(2_000_000),
            end_ns: 40_000_000,
            status: Some(200),
            // " the" " of" " and" " to": one token each; 10 ms to the first, then 5 ms apart.
            frames: vec![
                chunk(11_000_000, " the"),
                chunk(16_000_000, " of"),
                chunk(21_000_000, " and"),
                chunk(26_000_000, " to"),
                (30_000_000, Bytes::from_static(b"data: [DONE]\n\n")),
            ],
            outcome: Outcome::Ok,
            body: Bytes::new(),
            input_tokens: 100,
            requested_osl: None,
            images: 2,
            audio_secs: Some(0.5),
            retries: 0,
            http: Default::default(),
        };
        let m = measure(&config, &record);
        assert!(m.error.is_none());
        let v = |r: Rec| m.values[r as usize];
        assert_eq!(v(Rec::TimeToFirstToken), 10.0);
        assert_eq!(v(Rec::TimeToSecondToken), 5.0);
        assert_eq!(v(Rec::RequestLatency), 25.0);
        assert_eq!(v(Rec::OutputSequenceLength), 4.0);
        assert_eq!(v(Rec::InterTokenLatency), 5.0);
        assert_eq!(v(Rec::OutputTokenThroughputPerUser), 200.0);
        assert_eq!(v(Rec::PrefillThroughputPerUser), 10_000.0);
        assert_eq!(v(Rec::ScheduleLag), 1.0);
        assert_eq!(v(Rec::ScheduledRequestLatency), 26.0);
        assert_eq!(m.inter_chunk, [5.0, 5.0, 5.0]);
        assert_eq!(m.last_content_ns, 26_000_000);
        // Two images and half a second of audio answered in 25 ms.
        assert_eq!(v(Rec::NumImages), 2.0);
        assert_eq!(v(Rec::ImageThroughput), 80.0);
        assert_eq!(v(Rec::ImageLatency), 12.5);
        assert_eq!(v(Rec::AudioDuration), 0.5);
        assert_eq!(v(Rec::Rtfx), 20.0);
    }

    #[test]
    fn endpoint_types_choose_their_input_and_server_figures() {
        let config = |api: &str| CollectorConfig {
            tokenizer: Arc::new(Tokenizer::builtin(Encoding::O200kBase)),
            dataset: Arc::new(Dataset::new(
                vec![],
                crate::settings::Sampling::Sequential,
                0,
            )),
            streaming: false,
            api: crate::endpoints::by_name(api).unwrap().shared(),
            timeout_secs: 10.0,
            use_server_token_count: false,
            open_loop: false,
            clock: Clock::new(),
            records_path: None,
            raw_path: None,
            outputs_path: None,
            http_trace: false,
            progress: Arc::default(),
            process: crate::collector::RecordOrigin::new(None, false),
            per_chunk_usage: false,
        };
        let record = |body: &'static str, outcome: Outcome| RawRecord {
            phase: Phase::Profiling,
            request_num: 0,
            session_num: 0,
            conversation: 0,
            turn_index: 0,
            x_request_id: uuid::Uuid::nil(),
            x_correlation_id: uuid::Uuid::nil(),
            scheduled_ns: 0,
            start_ns: 0,
            ack_ns: Some(1_000_000),
            end_ns: 500_000_000,
            status: Some(200),
            frames: vec![(400_000_000, Bytes::from_static(body.as_bytes()))],
            outcome,
            body: Bytes::new(),
            input_tokens: 12,
            requested_osl: None,
            images: 2,
            audio_secs: None,
            retries: 0,
            http: Default::default(),
        };
        // A video job: timed to the end of the exchange, with the server's own figures.
        let job =
            r#"{"id":"v","status":"completed","inference_time_s":0.25,"peak_memory_mb":2048}"#;
        let m = measure(&config("video_generation"), &record(job, Outcome::Ok));
        let v = |r: Rec| m.values[r as usize];
        assert!(m.error.is_none(), "{:?}", m.error);
        assert_eq!(v(Rec::RequestLatency), 500.0);
        assert_eq!(v(Rec::VideoInferenceTime), 250.0);
        assert_eq!(v(Rec::VideoPeakMemory), 2048.0);
        assert_eq!(v(Rec::InputSequenceLength), 12.0);
        assert!(v(Rec::NumImages).is_nan() && v(Rec::ImageLatency).is_nan());
        // Image retrieval sends no text; its images are counted.
        let answer = r#"{"data":[{"index":0},{"index":1}]}"#;
        let m = measure(&config("image_retrieval"), &record(answer, Outcome::Ok));
        let v = |r: Rec| m.values[r as usize];
        assert!(v(Rec::InputSequenceLength).is_nan());
        assert_eq!((v(Rec::NumImages), v(Rec::ImageLatency)), (2.0, 200.0));
        assert!(v(Rec::VideoInferenceTime).is_nan());
        let failed = measure(
            &config("image_retrieval"),
            &record("{}", Outcome::Http { status: 500 }),
        );
        assert!(failed.error.is_some() && failed.values[Rec::ErrorIsl as usize].is_nan());
        // A turn the endpoint type could not send fails with its reason, its input counted.
        let why = ErrorDetails::new(None, "NotImplementedError", "no video here");
        let unsent = measure(
            &config("messages"),
            &record("", Outcome::Unsendable(why.clone())),
        );
        assert_eq!(unsent.error, Some(why));
        assert_eq!(unsent.values[Rec::ErrorIsl as usize], 12.0);
        assert!(unsent.values[Rec::RequestLatency as usize].is_nan());
    }
}
