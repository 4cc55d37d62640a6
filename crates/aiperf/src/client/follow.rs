//! Requests answered with a job (`video_generation`): the first answer names a job, whose
//! status is asked for until it ends, and whose content may then be fetched, as the endpoint
//! type's [`Endpoint::follow_up`] says. All of it is one request: timed from the first send to
//! the last answer read, with the HTTP timeline of the first exchange, within one
//! `--request-timeout-seconds`.

use std::time::Duration;

use http::uri::PathAndQuery;
use tokio_util::sync::CancellationToken;

use super::connection::Target;
use super::{Affinity, Call, Client, Exchange};
use crate::endpoints::{Endpoint, FollowUp, Location};
use crate::record::Outcome;
use crate::settings::Polling;

impl Client {
    /// Follows `ex`, the answer to a request of `api` (on the conversation's target), until the endpoint type is done
    /// with it, a follow-up fails, `cancel` fires or the request's time is up. The result is
    /// the last answer polled, ending when the last follow-up was read; a request whose answer
    /// needs no follow-up comes back as it was.
    #[allow(clippy::too_many_arguments)]
    pub async fn follow(
        &self,
        api: &dyn Endpoint,
        polling: &Polling,
        affinity: &mut Affinity,
        mut ex: Exchange,
        ids: (&str, &str),
        cancel: &CancellationToken,
    ) -> Exchange {
        let target = self.pool.target(self.pool.target_of(affinity));
        // The request's time left, once it turns out to need a follow-up.
        let mut deadline = None;
        loop {
            if ex.outcome != Outcome::Ok {
                return ex;
            }
            let (at, wait, fetch) = match api.follow_up(polling, &ex.frames) {
                FollowUp::Done => return ex,
                FollowUp::Poll { at, wait } => (at, wait, false),
                FollowUp::Fetch { at } => (at, Duration::ZERO, true),
            };
            let deadline = *deadline.get_or_insert_with(|| {
                let spent = Duration::from_nanos(self.clock.now().saturating_sub(ex.start_ns));
                tokio::time::Instant::now() + self.timeout.saturating_sub(spent)
            });
            let path = match resolve(target, &at) {
                Ok(path) => path,
                Err(message) => return ended(ex, Outcome::Transport { message }, &self.clock),
            };
            if !wait.is_zero() {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return ended(ex, Outcome::Cancelled, &self.clock),
                    () = tokio::time::sleep_until(deadline) => {
                        return ended(ex, Outcome::Timeout, &self.clock);
                    }
                    () = tokio::time::sleep(wait) => {}
                }
            }
            let next = self
                .call(affinity, Call::Get(&path), ids, cancel, None, deadline)
                .await;
            if fetch {
                return fetched(ex, next);
            }
            ex = polled(ex, next);
        }
    }
}

/// The request's exchange so far, then a polled answer: the new answer is the one decoded.
fn polled(first: Exchange, next: Exchange) -> Exchange {
    Exchange {
        start_ns: first.start_ns,
        ack_ns: first.ack_ns,
        retries: first.retries + next.retries,
        http: first.http,
        ..next
    }
}

/// A job's final answer, then its content: read and dropped when it came, the reason the
/// request failed when it did not.
fn fetched(job: Exchange, content: Exchange) -> Exchange {
    let retries = job.retries + content.retries;
    if content.outcome == Outcome::Ok {
        Exchange {
            end_ns: content.end_ns,
            retries,
            ..job
        }
    } else {
        Exchange {
            retries,
            ..polled(job, content)
        }
    }
}

/// The request, stopped before a follow-up was sent.
fn ended(ex: Exchange, outcome: Outcome, clock: &crate::record::Clock) -> Exchange {
    Exchange {
        end_ns: clock.now(),
        outcome,
        ..ex
    }
}

/// The path a follow-up asks for on `target`'s server.
fn resolve(target: &Target, at: &Location) -> Result<PathAndQuery, String> {
    let path = match at {
        Location::Below(suffix) => format!(
            "{}/{}",
            target.origin_form.path().trim_end_matches('/'),
            suffix.trim_start_matches('/')
        ),
        Location::Url(url) if url.starts_with('/') => url.clone(),
        Location::Url(url) => {
            let uri: http::Uri = url
                .parse()
                .map_err(|e| format!("the server named {url:?} to fetch, not a URL ({e})"))?;
            if uri.scheme() != target.uri.scheme() || uri.authority() != target.uri.authority() {
                return Err(format!(
                    "the server named {url} to fetch, on another server than the one benchmarked \
                     ({}); only the benchmarked server is asked",
                    target.host_header.to_str().unwrap_or("?")
                ));
            }
            uri.path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
        }
    };
    path.parse()
        .map_err(|e| format!("cannot request the path {path:?} ({e})"))
}

/// The URI of a follow-up's request line: the path alone (HTTP/1.1), or with the target's
/// scheme and authority (HTTP/2).
pub(super) fn uri(target: &Target, path: &PathAndQuery, absolute: bool) -> http::Uri {
    let mut parts = http::uri::Parts::default();
    if absolute {
        parts.scheme = target.uri.scheme().cloned();
        parts.authority = target.uri.authority().cloned();
    }
    parts.path_and_query = Some(path.clone());
    http::Uri::from_parts(parts).unwrap_or_else(|_| target.origin_form.clone())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::record::HttpTiming;

    fn exchange(start: u64, end: u64, outcome: Outcome, body: &str) -> Exchange {
        Exchange {
            start_ns: start,
            ack_ns: Some(start + 1),
            end_ns: end,
            status: Some(if outcome == Outcome::Ok { 200 } else { 404 }),
            frames: vec![(end, Bytes::from(body.to_owned()))],
            outcome,
            retries: 1,
            http: HttpTiming {
                chunks_received: u32::try_from(start).unwrap(),
                ..HttpTiming::default()
            },
        }
    }

    #[test]
    fn a_poll_keeps_the_start_and_timeline_and_takes_the_answer() {
        let first = exchange(10, 20, Outcome::Ok, "queued");
        let next = exchange(30, 40, Outcome::Ok, "completed");
        let ex = polled(first, next);
        assert_eq!((ex.start_ns, ex.ack_ns, ex.end_ns), (10, Some(11), 40));
        assert_eq!(ex.frames[0].1, "completed");
        assert_eq!((ex.retries, ex.http.chunks_received), (2, 10));
    }

    #[test]
    fn fetched_content_ends_the_request_but_the_job_is_the_answer() {
        let job = exchange(10, 40, Outcome::Ok, "completed");
        let content = exchange(50, 90, Outcome::Ok, "video bytes");
        let ex = fetched(job, content);
        assert_eq!((ex.start_ns, ex.end_ns, ex.status), (10, 90, Some(200)));
        assert_eq!(ex.frames[0].1, "completed");
        // A failed download is the request's error, with the server's words.
        let job = exchange(10, 40, Outcome::Ok, "completed");
        let missing = exchange(50, 60, Outcome::Http { status: 404 }, "not found");
        let ex = fetched(job, missing);
        assert_eq!(ex.outcome, Outcome::Http { status: 404 });
        assert_eq!((ex.start_ns, ex.end_ns), (10, 60));
        assert_eq!(ex.frames[0].1, "not found");
    }

    #[test]
    fn follow_ups_go_below_the_request_path_or_to_the_same_server() {
        let target = Target::parse("http://localhost:8000/api/v1/videos").unwrap();
        let path = |at: Location| resolve(&target, &at).map(|p| p.to_string());
        assert_eq!(
            path(Location::Below("video_1".into())).unwrap(),
            "/api/v1/videos/video_1"
        );
        assert_eq!(
            path(Location::Below("/video_1/content".into())).unwrap(),
            "/api/v1/videos/video_1/content"
        );
        assert_eq!(
            path(Location::Url("/files/v.mp4?x=1".into())).unwrap(),
            "/files/v.mp4?x=1"
        );
        assert_eq!(
            path(Location::Url("http://localhost:8000/files/v.mp4".into())).unwrap(),
            "/files/v.mp4"
        );
        let e = path(Location::Url("https://cdn.example.com/v.mp4".into())).unwrap_err();
        assert!(e.contains("another server"), "{e}");
        let e = path(Location::Below("a job id".into())).unwrap_err();
        assert!(e.contains("cannot request"), "{e}");
        let p: PathAndQuery = "/v1/videos/x".parse().unwrap();
        assert_eq!(
            uri(&target, &p, true).to_string(),
            "http://localhost:8000/v1/videos/x"
        );
        assert_eq!(uri(&target, &p, false).to_string(), "/v1/videos/x");
    }
}
