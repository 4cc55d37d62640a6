//! Kubernetes: sweeps and sharded benchmarks on its own primitives (Indexed Jobs,
//! ConfigMaps, PersistentVolumeClaims, headless Services).
//!
//! Plan once, execute anywhere: the plan of a sweep is a document, each pod executes one run
//! of it with `aiperf profile --plan … --cell $INDEX` (the same code path as a local sweep),
//! and the collection aggregates what the pods wrote exactly as the local sweep does. A search
//! runs in a controller pod whose iterations are child Jobs ([`controller::ChildJobs`], a
//! [`crate::sweep::Runner`]). The `aiperf kube` subcommands are wired in `commands::kube`.

pub mod api;
pub mod bundle;
pub mod controller;
pub mod manifests;
