//! The gates a request passes before it is sent: a session slot (the session concurrency,
//! held from a conversation's first turn to its last) and a prefill slot (held from a
//! request's send to its first token), each possibly ramped up from one slot.
//!
//! A prefill slot is given back when the answer's first token arrives, as the collector
//! measures it (the first event carrying content), or when the request ends without one.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ramp;
use crate::endpoints::Endpoint;
use crate::settings::PhaseShape;

/// A concurrency limit that may grow over time.
#[derive(Debug)]
struct Limit {
    slots: Arc<Semaphore>,
    ramp: Option<JoinHandle<()>>,
}

impl Limit {
    /// `target` slots, or one growing to `target` over `ramp` (started now).
    fn new(target: u32, ramp: Option<f64>) -> Self {
        let duration = ramp.and_then(|s| Duration::try_from_secs_f64(s).ok());
        let Some(duration) = duration.filter(|_| target > 1) else {
            return Self {
                slots: Arc::new(Semaphore::new(target as usize)),
                ramp: None,
            };
        };
        let slots = Arc::new(Semaphore::new(1));
        let steps = ramp::step_times(target, duration);
        let grow = slots.clone();
        let start = tokio::time::Instant::now();
        let ramp = tokio::spawn(async move {
            for at in steps {
                tokio::time::sleep_until(start + at).await;
                grow.add_permits(1);
            }
        });
        Self {
            slots,
            ramp: Some(ramp),
        }
    }
}

impl Drop for Limit {
    fn drop(&mut self) {
        if let Some(r) = &self.ramp {
            r.abort();
        }
    }
}

/// The session and prefill limits of one phase.
#[derive(Debug, Default)]
pub struct Gates {
    sessions: Option<Limit>,
    prefill: Option<Limit>,
}

impl Gates {
    /// The phase's limits, their ramps starting now: `sessions` slots (when the phase caps
    /// its sessions) and the prefill slots of `shape`.
    pub fn start(shape: &PhaseShape, sessions: Option<u32>) -> Self {
        Self {
            sessions: sessions.map(|n| Limit::new(n, shape.concurrency_ramp_secs)),
            prefill: shape
                .prefill_concurrency
                .map(|n| Limit::new(n, shape.prefill_ramp_secs)),
        }
    }

    /// The session semaphore, when sessions are capped.
    pub fn sessions(&self) -> Option<Arc<Semaphore>> {
        self.sessions.as_ref().map(|l| l.slots.clone())
    }

    /// Waits for a session slot; `Err` when `stop` fires first. `Ok(None)` when sessions
    /// are not capped.
    pub async fn session_slot(
        &self,
        stop: &CancellationToken,
    ) -> Result<Option<OwnedSemaphorePermit>, Stopped> {
        match &self.sessions {
            None => Ok(None),
            Some(l) => acquire(&l.slots, stop).await.map(Some),
        }
    }

    /// Waits for a prefill slot; `Err` when `stop` fires first. `Ok(None)` when prefill is
    /// not gated.
    pub async fn prefill_slot(
        &self,
        stop: &CancellationToken,
    ) -> Result<Option<PrefillSlot>, Stopped> {
        match &self.prefill {
            None => Ok(None),
            Some(l) => Ok(Some(PrefillSlot {
                permit: Some(acquire(&l.slots, stop).await?),
            })),
        }
    }
}

/// The phase stopped issuing while a request waited at a gate.
#[derive(Debug, Clone, Copy)]
pub struct Stopped;

async fn acquire(
    slots: &Arc<Semaphore>,
    stop: &CancellationToken,
) -> Result<OwnedSemaphorePermit, Stopped> {
    tokio::select! {
        biased;
        () = stop.cancelled() => Err(Stopped),
        p = slots.clone().acquire_owned() => p.map_err(|_| Stopped),
    }
}

/// Runs `send` (a request's exchange) holding `slot` until the answer carries its first token
/// as `api` decodes it (or until the exchange ends).
pub(super) async fn until_first_token<F, A>(mut slot: PrefillSlot, api: A, send: F) -> F::Output
where
    F: std::future::Future,
    A: std::ops::Deref<Target = dyn Endpoint> + Send + 'static,
{
    crate::client::Client::watching(move |body| slot.on_body(&*api, body), send).await
}

/// A request's prefill slot: given back at its first token, or when dropped.
#[derive(Debug)]
pub struct PrefillSlot {
    permit: Option<OwnedSemaphorePermit>,
}

impl PrefillSlot {
    /// Looks at the answer so far, as `api` decodes it; gives the slot back once it carries
    /// a token.
    pub fn on_body(&mut self, api: &dyn Endpoint, body: &[u8]) {
        if self.permit.is_some() && carries_token(api, body) {
            self.permit = None;
        }
    }
}

/// Whether the complete events of a streamed answer so far carry content (a token), as the
/// endpoint's decoder reads them.
pub(super) fn carries_token(api: &dyn Endpoint, body: &[u8]) -> bool {
    let end = complete_events(body);
    if end == 0 {
        return false;
    }
    let frames = [(0, Bytes::copy_from_slice(&body[..end]))];
    match api.decode(&frames, true) {
        Ok(decoded) => !decoded.times.is_empty(),
        // A decoder that wants its stream's closing event counts the content events it saw.
        Err(e) if e.kind == "IncompleteStream" => content_events(&e.message) > 0,
        Err(_) => false,
    }
}

/// The length of the body's complete server-sent events (up to their last blank line).
fn complete_events(body: &[u8]) -> usize {
    let lf = body.windows(2).rposition(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = body
        .windows(4)
        .rposition(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    lf.max(crlf).unwrap_or(0)
}

/// The count in "... after N content events ..." (0 when there is none).
fn content_events(message: &str) -> usize {
    message
        .split_once("after ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(name: &str) -> &'static dyn Endpoint {
        crate::endpoints::by_name(name).unwrap()
    }

    #[test]
    fn chat_tokens_are_content_not_the_role_chunk() {
        let role = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
        let token = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
        let chat = api("chat");
        assert!(!carries_token(chat, role.as_bytes()));
        let both = format!("{role}{token}");
        assert!(carries_token(chat, both.as_bytes()));
        // An event cut in the middle is not read until it is whole.
        assert!(!carries_token(chat, &both.as_bytes()[..both.len() - 20]));
    }

    #[test]
    fn messages_count_content_before_the_stream_ends() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n";
        let block = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
        let delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n";
        let messages = api("messages");
        assert!(!carries_token(
            messages,
            format!("{start}{block}").as_bytes()
        ));
        assert!(carries_token(
            messages,
            format!("{start}{block}{delta}").as_bytes()
        ));
    }

    #[test]
    fn complete_events_end_at_the_last_blank_line() {
        assert_eq!(complete_events(b"data: a\n\ndata: b"), 9);
        assert_eq!(complete_events(b"data: a\r\n\r\n"), 11);
        assert_eq!(complete_events(b"data: a\n"), 0);
        assert_eq!(content_events("the stream ended after 3 content events"), 3);
        assert_eq!(content_events("cut short"), 0);
    }

    #[tokio::test]
    async fn a_ramped_limit_starts_at_one_slot_and_reaches_its_target() {
        let gates = Gates::start(
            &PhaseShape {
                concurrency_ramp_secs: Some(0.2),
                ..PhaseShape::default()
            },
            Some(4),
        );
        let slots = gates.sessions().unwrap();
        assert_eq!(slots.available_permits(), 1);
        let stop = CancellationToken::new();
        let held: Vec<_> = futures_collect(&gates, &stop, 4).await;
        assert_eq!(held.len(), 4, "all four slots open by the end of the ramp");
        assert_eq!(slots.available_permits(), 0);
        stop.cancel();
        assert!(
            gates.session_slot(&stop).await.is_err(),
            "a stop ends the wait"
        );
    }

    async fn futures_collect(
        gates: &Gates,
        stop: &CancellationToken,
        n: usize,
    ) -> Vec<OwnedSemaphorePermit> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(gates.session_slot(stop).await.unwrap().unwrap());
        }
        out
    }
}
