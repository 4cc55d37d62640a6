//! A simulated OpenAI-compatible LLM inference server.
//!
//! The server answers `/v1/chat/completions` and `/v1/completions` (streaming or not), TGI's
//! `/generate` and `/generate_stream`,
//! `/v1/models`, `/health`, a Prometheus `/metrics` with vLLM's metric names and
//! `/dcgm/metrics`, GPU telemetry in the DCGM exporter's format ([`gpu`]). Its timing
//! comes from a seeded model of a continuous-batching engine ([`engine`]), so load produces
//! the queueing, saturation and latency growth of a real deployment; a `fixed` model and a
//! zero-latency model serve measurement-accuracy tests and client benchmarks. Fault injection
//! makes it misbehave on purpose.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aiperf_sim::SimError> {
//! let config = aiperf_sim::presets::preset("small").expect("known preset");
//! let server = aiperf_sim::SimServer::start(config).await?;
//! println!("serving on {}", server.base_url());
//! server.shutdown().await
//! # }
//! ```

mod api;
mod audio;
pub mod config;
mod control;
mod driver;
mod embed;
pub mod engine;
mod form;
pub mod gpu;
mod images;
mod media;
mod messages;
mod metrics;
mod oneshot;
mod plan;
pub mod presets;
mod record;
mod rerank;
mod responses;
mod server;
mod solido;
pub mod spec_decode;
mod stream;
mod tgi;
mod tokenize;
mod tokens;
mod videos;
pub mod virtual_time;
mod wire;

pub use config::{ConfigError, FaultConfig, OutputConfig, SimConfig, Timing, TokenizerKind};
pub use engine::{EngineParams, StepCost};
pub use gpu::GpuConfig;
pub use server::{Server, SimError, SimServer, serve};
pub use spec_decode::SpecDecodeConfig;
