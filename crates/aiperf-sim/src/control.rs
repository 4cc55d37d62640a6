//! vLLM's control routes: `POST /reset_prefix_cache`, `POST /start_profile` and
//! `POST /stop_profile`, each answered 200 with an empty body, as vLLM answers them. The
//! simulator keeps no prefix cache, so a reset changes nothing of its timing; each call is
//! logged and written to `--record-requests` (endpoint = the path, no model, no tokens), so
//! a client's control requests can be checked against its benchmark requests in time.

use std::time::Instant;

use hyper::Response;

use crate::record::{Ending, RequestRecord};
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const RESET_PREFIX_CACHE: &str = "/reset_prefix_cache";
pub(crate) const START_PROFILE: &str = "/start_profile";
pub(crate) const STOP_PROFILE: &str = "/stop_profile";

/// The control route at `path`, if it is one.
pub(crate) fn route(path: &str) -> Option<&'static str> {
    [RESET_PREFIX_CACHE, START_PROFILE, STOP_PROFILE]
        .into_iter()
        .find(|r| *r == path)
}

/// Answers the control route at `path` (one of the three), arrived at `arrival`.
pub(crate) fn control(state: &State, path: &str, arrival: Instant) -> Response<SimBody> {
    let Some(path) = route(path) else {
        return crate::api::ApiError::new(404, "NotFoundError", format!("no route for {path}"))
            .into_response();
    };
    tracing::info!("POST {path}");
    let clock = state.clock();
    let arrival_ns = clock.ns(arrival);
    state.record(|| RequestRecord {
        request_id: format!("{}-{arrival_ns}", path.trim_start_matches('/')),
        client_request_id: None,
        endpoint: path,
        model: String::new(),
        stream: false,
        status: 200,
        ending: Ending::Completed,
        fault: None,
        arrival_ns,
        first_token_ns: None,
        last_token_ns: None,
        end_ns: clock.ns(Instant::now()),
        prompt_tokens: 0,
        completion_tokens: 0,
        reasoning_tokens: 0,
        tokens_sent: 0,
    });
    Response::new(SimBody::empty())
}
