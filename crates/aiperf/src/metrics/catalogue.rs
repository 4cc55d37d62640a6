//! The metric catalogue: tags, headers and units as the reference tool's, for the metrics of
//! each request (stored in [`Values`]) and for the run-level figures the summary derives.

/// Per-request metrics, in the order their values are stored in [`Values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Rec {
    TimeToFirstToken,
    TimeToSecondToken,
    TimeToFirstOutputToken,
    RequestLatency,
    VideoInferenceTime,
    VideoPeakMemory,
    DecodeDuration,
    InterTokenLatency,
    OutputTokenThroughputPerUser,
    PrefillThroughputPerUser,
    E2eOutputTokenThroughput,
    InputSequenceLength,
    OutputTokenCount,
    ReasoningTokenCount,
    OutputSequenceLength,
    UsagePromptTokens,
    UsageCompletionTokens,
    UsageTotalTokens,
    UsageReasoningTokens,
    UsagePromptTokensDiffPct,
    UsageCompletionTokensDiffPct,
    UsageReasoningTokensDiffPct,
    RequestedOsl,
    OslMismatchDiffPct,
    ScheduleLag,
    ScheduledTimeToFirstToken,
    ScheduledRequestLatency,
    HttpBlocked,
    HttpDnsLookup,
    HttpConnecting,
    HttpSending,
    HttpWaiting,
    HttpReceiving,
    HttpConnectionReused,
    HttpDataSent,
    HttpChunksSent,
    HttpDataReceived,
    HttpChunksReceived,
    HttpConnectionOverhead,
    HttpDuration,
    HttpTotal,
    NumImages,
    ImageThroughput,
    ImageLatency,
    AudioDuration,
    Rtfx,
    SpecDecodeAcceptanceLength,
    SpecDecodeDraftAcceptanceRate,
    SpecDecodeAcceptedPerVerified,
    SpecDecodeSteps,
    SpecDecodeAcceptedDraftTokens,
    SpecDecodeDraftTokens,
    ErrorIsl,
}

pub const N_REC: usize = Rec::ErrorIsl as usize + 1;

/// Per-request values; `NaN` means "not applicable to this request".
pub type Values = [f64; N_REC];

/// Static facts about one metric.
#[derive(Debug)]
pub struct MetricDef {
    pub tag: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    /// Whether the value is an integer count (printed without decimals per request).
    pub integer: bool,
    /// Larger values are better (for goodput targets).
    pub larger_is_better: bool,
    /// Failed requests count as +inf in its error-adjusted percentiles.
    pub adjusted: bool,
}

impl MetricDef {
    /// A metric with no special traits (not a count, smaller is not better, no adjustment).
    pub(super) const fn plain(tag: &'static str, header: &'static str, unit: &'static str) -> Self {
        def(tag, header, unit)
    }
}

const fn def(tag: &'static str, header: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        tag,
        header,
        unit,
        integer: false,
        larger_is_better: false,
        adjusted: false,
    }
}

const fn latency(tag: &'static str, header: &'static str) -> MetricDef {
    MetricDef {
        adjusted: true,
        ..def(tag, header, "ms")
    }
}

const fn rate(tag: &'static str, header: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        larger_is_better: true,
        ..def(tag, header, unit)
    }
}

/// A whole number of `unit` (chunks, or 0/1 for a yes/no).
const fn whole(tag: &'static str, header: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        integer: true,
        ..def(tag, header, unit)
    }
}

const fn tokens(tag: &'static str, header: &'static str) -> MetricDef {
    MetricDef {
        integer: true,
        ..def(tag, header, "tokens")
    }
}

/// Definitions of the per-request metrics, indexed by [`Rec`].
pub static RECORD_METRICS: [MetricDef; N_REC] = [
    latency("time_to_first_token", "Time to First Token"),
    def("time_to_second_token", "Time to Second Token", "ms"),
    latency("time_to_first_output_token", "Time to First Output Token"),
    latency("request_latency", "Request Latency"),
    def("video_inference_time", "Video Inference Time", "ms"),
    def("video_peak_memory", "Video Peak Memory", "MB"),
    def("decode_duration", "Decode Duration", "ms"),
    latency("inter_token_latency", "Inter Token Latency"),
    rate(
        "output_token_throughput_per_user",
        "Output Token Throughput Per User",
        "tokens/sec/user",
    ),
    rate(
        "prefill_throughput_per_user",
        "Prefill Throughput Per User",
        "tokens/sec/user",
    ),
    rate(
        "e2e_output_token_throughput",
        "E2E Output Token Throughput",
        "tokens/sec/user",
    ),
    tokens("input_sequence_length", "Input Sequence Length"),
    tokens("output_token_count", "Output Token Count"),
    tokens("reasoning_token_count", "Reasoning Token Count"),
    tokens("output_sequence_length", "Output Sequence Length"),
    tokens("usage_prompt_tokens", "Usage Prompt Tokens"),
    tokens("usage_completion_tokens", "Usage Completion Tokens"),
    tokens("usage_total_tokens", "Usage Total Tokens"),
    tokens("usage_reasoning_tokens", "Usage Reasoning Tokens"),
    def("usage_prompt_tokens_diff_pct", "Usage Prompt Diff %", "%"),
    def(
        "usage_completion_tokens_diff_pct",
        "Usage Completion Diff %",
        "%",
    ),
    def(
        "usage_reasoning_tokens_diff_pct",
        "Usage Reasoning Diff %",
        "%",
    ),
    tokens("requested_osl", "Requested Output Sequence Length"),
    def("osl_mismatch_diff_pct", "OSL Mismatch Diff %", "%"),
    def("schedule_lag", "Schedule Lag", "ms"),
    latency(
        "scheduled_time_to_first_token",
        "Scheduled Time to First Token",
    ),
    latency("scheduled_request_latency", "Scheduled Request Latency"),
    def("http_req_blocked", "HTTP Blocked", "ms"),
    def("http_req_dns_lookup", "HTTP DNS Lookup", "ms"),
    def("http_req_connecting", "HTTP Connecting", "ms"),
    def("http_req_sending", "HTTP Sending", "ms"),
    def("http_req_waiting", "HTTP Waiting (TTFB)", "ms"),
    def("http_req_receiving", "HTTP Receiving", "ms"),
    whole(
        "http_req_connection_reused",
        "HTTP Connection Reused",
        "ratio",
    ),
    def("http_req_data_sent", "HTTP Data Sent", "KB"),
    whole("http_req_chunks_sent", "HTTP Chunks Sent", "count"),
    def("http_req_data_received", "HTTP Data Received", "KB"),
    whole("http_req_chunks_received", "HTTP Chunks Received", "count"),
    def(
        "http_req_connection_overhead",
        "HTTP Connection Overhead",
        "ms",
    ),
    def("http_req_duration", "HTTP Duration (excl. conn)", "ms"),
    def("http_req_total", "HTTP Total Time", "ms"),
    whole("num_images", "Number of Images", "images"),
    rate("image_throughput", "Image Throughput", "images/sec"),
    def("image_latency", "Image Latency", "ms/image"),
    def("audio_duration", "Audio Duration", "sec"),
    rate("rtfx", "Inverse Real-Time Factor (RTFx)", "ratio"),
    rate(
        "spec_decode_acceptance_length",
        "Acceptance Length",
        "ratio",
    ),
    rate(
        "spec_decode_draft_acceptance_rate",
        "Draft Acceptance Rate",
        "%",
    ),
    rate(
        "spec_decode_accepted_per_verified",
        "Accepted per Verified",
        "ratio",
    ),
    whole("spec_decode_steps", "Spec Decode Steps", "count"),
    tokens("spec_decode_accepted_draft_tokens", "Accepted Draft Tokens"),
    tokens("spec_decode_draft_tokens", "Draft Tokens"),
    tokens("error_isl", "Error Input Sequence Length"),
];

/// The HTTP timing metrics, in the order of their console table (`--show-trace-timing`).
pub const HTTP_TRACE_METRICS: [Rec; 14] = [
    Rec::HttpBlocked,
    Rec::HttpDnsLookup,
    Rec::HttpConnecting,
    Rec::HttpSending,
    Rec::HttpWaiting,
    Rec::HttpReceiving,
    Rec::HttpConnectionReused,
    Rec::HttpDataSent,
    Rec::HttpChunksSent,
    Rec::HttpDataReceived,
    Rec::HttpChunksReceived,
    Rec::HttpConnectionOverhead,
    Rec::HttpDuration,
    Rec::HttpTotal,
];

/// Metrics a `--goodput` target may name, and whether larger is better.
pub const GOODPUT_METRICS: &[(&str, bool)] = &[
    ("time_to_first_token", false),
    ("time_to_second_token", false),
    ("time_to_first_output_token", false),
    ("inter_token_latency", false),
    ("request_latency", false),
    ("decode_duration", false),
    ("output_token_throughput_per_user", true),
    ("prefill_throughput_per_user", true),
    ("e2e_output_token_throughput", true),
];

/// The position of a per-request metric in [`Values`], by tag.
pub fn record_index(tag: &str) -> Option<usize> {
    RECORD_METRICS.iter().position(|d| d.tag == tag)
}

// Run-level figures, in the summary's order of keys.
pub(super) const REQUEST_THROUGHPUT: MetricDef =
    def("request_throughput", "Request Throughput", "requests/sec");
pub(super) const REQUEST_COUNT: MetricDef = def("request_count", "Request Count", "requests");
pub(super) const OUTPUT_TOKEN_THROUGHPUT: MetricDef = def(
    "output_token_throughput",
    "Output Token Throughput",
    "tokens/sec",
);
pub(super) const GOODPUT: MetricDef = def("goodput", "Goodput", "requests/sec");
pub(super) const GOOD_REQUEST_COUNT: MetricDef =
    def("good_request_count", "Good Request Count", "requests");
pub(super) const USAGE_DISCREPANCY_COUNT: MetricDef = def(
    "usage_discrepancy_count",
    "Usage Discrepancy Count",
    "requests",
);
pub(super) const OSL_MISMATCH_COUNT: MetricDef =
    def("osl_mismatch_count", "OSL Mismatch Count", "requests");
pub(super) const INTER_CHUNK_LATENCY: MetricDef =
    def("inter_chunk_latency", "Inter Chunk Latency", "ms");
pub(super) const TOTAL_OUTPUT_TOKENS: MetricDef =
    def("total_output_tokens", "Total Output Tokens", "tokens");
pub(super) const TOTAL_REASONING_TOKENS: MetricDef =
    def("total_reasoning_tokens", "Total Reasoning Tokens", "tokens");
pub(super) const BENCHMARK_DURATION: MetricDef =
    def("benchmark_duration", "Benchmark Duration", "sec");
pub(super) const TOTAL_ISL: MetricDef = def("total_isl", "Total Input Sequence Length", "tokens");
pub(super) const TOTAL_OSL: MetricDef = def("total_osl", "Total Output Sequence Length", "tokens");
pub(super) const ERROR_REQUEST_COUNT: MetricDef =
    def("error_request_count", "Error Request Count", "requests");
pub(super) const TOTAL_ERROR_ISL: MetricDef = def(
    "total_error_isl",
    "Total Error Input Sequence Length",
    "tokens",
);
pub(super) const REQUEST_ERROR_RATE: MetricDef =
    def("request_error_rate", "Request Error Rate", "%");
pub(super) const COMPLETED_REQUEST_COUNT: MetricDef = def(
    "completed_request_count",
    "Completed Requests (Success + Error)",
    "requests",
);
pub(super) const CANCELLED_REQUEST_COUNT: MetricDef = def(
    "cancelled_request_count",
    "Cancelled Request Count",
    "requests",
);
pub(super) const TOTAL_USAGE_PROMPT_TOKENS: MetricDef = def(
    "total_usage_prompt_tokens",
    "Total Usage Prompt Tokens",
    "tokens",
);
pub(super) const TOTAL_USAGE_COMPLETION_TOKENS: MetricDef = def(
    "total_usage_completion_tokens",
    "Total Usage Completion Tokens",
    "tokens",
);
pub(super) const TOTAL_USAGE_TOTAL_TOKENS: MetricDef = def(
    "total_usage_total_tokens",
    "Total Usage Total Tokens",
    "tokens",
);
pub(super) const TOTAL_TOKEN_THROUGHPUT: MetricDef = def(
    "total_token_throughput",
    "Total Token Throughput",
    "tokens/sec",
);
pub(super) const INPUT_TOKEN_THROUGHPUT: MetricDef = def(
    "input_token_throughput",
    "Input Token Throughput",
    "tokens/sec",
);
pub(super) const CREDIT_TO_START_LATENCY: MetricDef =
    def("credit_to_start_latency", "Credit-to-Start Latency", "ms");
pub(super) const EFFECTIVE_LATENCY: MetricDef =
    def("effective_latency", "Effective Latency (CO-aware)", "ms");
pub(super) const TOTAL_SPEC_DECODE_STEPS: MetricDef = def(
    "total_spec_decode_steps",
    "Total Spec Decode Steps",
    "count",
);
pub(super) const TOTAL_ACCEPTED_DRAFT_TOKENS: MetricDef = def(
    "total_accepted_draft_tokens",
    "Total Accepted Draft Tokens",
    "tokens",
);
pub(super) const TOTAL_DRAFT_TOKENS: MetricDef =
    def("total_draft_tokens", "Total Draft Tokens", "tokens");
pub(super) const SPEC_DECODE_TOKEN_WEIGHTED_ACCEPTANCE_LENGTH: MetricDef = rate(
    "spec_decode_token_weighted_acceptance_length",
    "Token-Weighted Acceptance Length",
    "ratio",
);
pub(super) const SPEC_DECODE_OVERALL_DRAFT_ACCEPTANCE_RATE: MetricDef = rate(
    "spec_decode_overall_draft_acceptance_rate",
    "Overall Draft Acceptance Rate",
    "%",
);
pub(super) const GOOD_REQUEST_FRACTION: MetricDef =
    def("good_request_fraction", "Good Request Fraction", "ratio");

// Network-latency calibration (`--network-latency-*`): the round trip subtracted, and the
// latency metrics that start at the request's send with it taken out.
pub(super) const NETWORK_RTT: MetricDef = def("network_rtt", "Network RTT", "ms");
pub(super) const NETWORK_ADJUSTED_REQUEST_LATENCY: MetricDef = def(
    "network_adjusted_request_latency",
    "Network-Adjusted Request Latency",
    "ms",
);
pub(super) const NETWORK_ADJUSTED_TIME_TO_FIRST_TOKEN: MetricDef = def(
    "network_adjusted_time_to_first_token",
    "Network-Adjusted Time to First Token",
    "ms",
);
pub(super) const NETWORK_ADJUSTED_TIME_TO_FIRST_OUTPUT_TOKEN: MetricDef = def(
    "network_adjusted_time_to_first_output_token",
    "Network-Adjusted Time to First Output Token",
    "ms",
);
