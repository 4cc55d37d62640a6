//! Search recipes: named questions ("the highest concurrency that meets this SLA") answered by
//! a sweep or a search plus a post-processing step that writes the answer file.

pub mod post_process;
