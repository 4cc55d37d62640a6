//! End-to-end tests of the `aiperf` binary, run as users run it.

mod architecture;
mod common;
mod dashboard;
mod datasets;
mod endpoints;
mod faults;
mod kube;
mod load_shaping;
mod media;
mod option_effects;
mod plot;
mod profile;
mod prompts;
mod realserver;
mod reference;
mod reference_config;
mod reliability;
mod search;
mod sim;
mod subcommands;
mod sweep;
mod telemetry;
mod timeslices;
mod tokenizer;
mod wire;
