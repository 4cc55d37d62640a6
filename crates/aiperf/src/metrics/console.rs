//! Which metrics the console table shows, and in what order.

/// Rows of the console table, in display order.
pub const CONSOLE_ORDER: &[&str] = &[
    "time_to_first_token",
    "network_adjusted_time_to_first_token",
    "time_to_second_token",
    "time_to_first_output_token",
    "network_adjusted_time_to_first_output_token",
    "request_latency",
    "network_adjusted_request_latency",
    "network_rtt",
    "video_inference_time",
    "video_peak_memory",
    "decode_duration",
    "inter_token_latency",
    "output_token_throughput_per_user",
    "e2e_output_token_throughput",
    "output_sequence_length",
    "input_sequence_length",
    "num_images",
    "image_throughput",
    "image_latency",
    "audio_duration",
    "rtfx",
    "schedule_lag",
    "scheduled_time_to_first_token",
    "scheduled_request_latency",
    "output_token_throughput",
    // Shown only when nothing is generated (embeddings).
    "input_token_throughput",
    "request_throughput",
    "goodput",
    "good_request_count",
    "completed_request_count",
    "request_count",
    "error_request_count",
    "request_error_rate",
    "cancelled_request_count",
];

/// Rows of the console's table of time-weighted figures ("Effective"), in display order.
pub const EFFECTIVE_ORDER: &[&str] = &[
    "effective_concurrency",
    "effective_decode_throughput",
    "effective_prefill_throughput",
    "effective_decode_concurrency",
    "effective_prefill_concurrency",
    "effective_total_throughput",
    "effective_decode_throughput_per_user",
    "effective_prefill_throughput_per_user",
    "tokens_in_flight",
    "effective_latency",
];

/// Rows of the console's speculative-decoding table ("Spec Decode"), in display order.
pub const SPEC_DECODE_ORDER: &[&str] = &[
    "spec_decode_acceptance_length",
    "spec_decode_token_weighted_acceptance_length",
    "spec_decode_draft_acceptance_rate",
    "spec_decode_overall_draft_acceptance_rate",
    "spec_decode_accepted_per_verified",
    "spec_decode_steps",
];

/// Rows of the console's table of rates while their phase was active ("Active").
pub const ACTIVE_ORDER: &[&str] = &[
    "active_decode_throughput",
    "active_prefill_throughput",
    "active_decode_throughput_per_user",
    "active_prefill_throughput_per_user",
    "active_total_throughput",
];
