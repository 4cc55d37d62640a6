//! What the benchmark client and the simulated server both use, so that neither takes it
//! from the other: a timer with sub-millisecond resolution for async code ([`timer`]) and the
//! words that are one token each in OpenAI's encodings ([`vocab`]).

pub mod timer;
pub mod vocab;
