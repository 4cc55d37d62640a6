//! Server metrics and GPU telemetry: what the server and its GPUs report about themselves,
//! scraped from Prometheus endpoints.

pub mod dcgm_csv;
pub mod energy;
pub mod gpu;
pub mod gpu_export;
pub mod gpu_fields;
mod histogram_estimate;
pub mod network;
pub mod nvml;
pub mod prometheus;
pub mod scrape;
pub mod server_csv;
pub mod server_export;
pub mod server_summary;
pub mod units;
