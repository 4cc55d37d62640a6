//! OpenAI-compatible wire protocol used by the aiperf client and the simulated server.
//!
//! * [`chat`] and [`completions`] hold the request, response and streaming-chunk types of
//!   `/v1/chat/completions` and `/v1/completions`, including the extensions inference servers
//!   such as vLLM accept (`ignore_eos`, `min_tokens`, `reasoning_content`).
//! * [`embeddings`] holds the request and response of `/v1/embeddings`.
//! * [`sse`] is an incremental server-sent-events decoder that tells "need more bytes" apart from
//!   "invalid", and the matching encoder.
//! * [`view`] reads responses fast, borrowing from the bytes: what a client measures.
//!
//! The crate has no async runtime dependency: it is plain data and byte handling.

pub mod chat;
pub mod common;
pub mod completions;
pub mod embeddings;
pub mod sse;
pub mod view;

pub use common::{
    CompletionTokensDetails, ErrorBody, ErrorDetail, FinishReason, Model, ModelList,
    PromptTokensDetails, StreamOptions, Usage,
};
