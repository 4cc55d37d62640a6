//! The HTTP timing metrics of a request (`http_req_*`) from the timeline the client measured,
//! and its `trace_data` for `--export-http-trace`.
//!
//! The phases follow one another without overlap: waiting for a connection from the pool
//! (blocked), resolving the host name and opening a new connection (DNS lookup, connecting),
//! writing the request (sending), until the first body chunk (waiting), until the last one
//! (receiving). `http_req_total` is their sum; `http_req_duration` leaves out the first three.

use std::net::SocketAddr;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::metrics::{Rec, Values};
use crate::record::{Clock, HttpTiming};

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn span_ms(span: Option<(u64, u64)>) -> Option<f64> {
    span.map(|(start, end)| ms(end.saturating_sub(start)))
}

/// Fills the `http_req_*` metrics of a request into `v`. A phase that cannot be told (no
/// response body, say) is left out, and counts as 0 in the sums, as the reference tool does.
pub(super) fn http_metrics(t: &HttpTiming, v: &mut Values) {
    let blocked = span_ms(t.pool_wait).unwrap_or(0.0);
    // A reused connection resolves and opens nothing.
    let dns = if t.reused {
        0.0
    } else {
        span_ms(t.dns).unwrap_or(0.0)
    };
    let connecting = if t.reused {
        Some(0.0)
    } else {
        span_ms(t.connect)
    };
    let sending = span_ms(t.send);
    let waiting = match (t.send, t.first_chunk_ns) {
        (Some((_, sent)), Some(first)) => Some(ms(first.saturating_sub(sent))),
        _ => None,
    };
    let receiving = match (t.chunks_received, t.first_chunk_ns, t.last_chunk_ns) {
        (0, ..) => None,
        (1, ..) => Some(0.0),
        (_, Some(first), Some(last)) => Some(ms(last.saturating_sub(first))),
        _ => None,
    };
    let duration = match (t.send, t.last_chunk_ns) {
        (Some((start, _)), Some(last)) => Some(ms(last.saturating_sub(start))),
        _ => None,
    };
    let mut set = |r: Rec, x: Option<f64>| {
        if let Some(x) = x {
            v[r as usize] = x;
        }
    };
    set(Rec::HttpBlocked, Some(blocked));
    set(Rec::HttpDnsLookup, Some(dns));
    set(Rec::HttpConnecting, connecting);
    set(Rec::HttpSending, sending);
    set(Rec::HttpWaiting, waiting);
    set(Rec::HttpReceiving, receiving);
    set(
        Rec::HttpConnectionReused,
        Some(f64::from(u8::from(t.reused))),
    );
    set(Rec::HttpDataSent, Some(t.bytes_sent as f64 / 1024.0));
    set(Rec::HttpChunksSent, Some(f64::from(t.chunks_sent)));
    set(
        Rec::HttpDataReceived,
        Some(t.bytes_received as f64 / 1024.0),
    );
    set(Rec::HttpChunksReceived, Some(f64::from(t.chunks_received)));
    let overhead = blocked + dns + connecting.unwrap_or(0.0);
    set(Rec::HttpConnectionOverhead, Some(overhead));
    set(Rec::HttpDuration, duration);
    let total =
        overhead + sending.unwrap_or(0.0) + waiting.unwrap_or(0.0) + receiving.unwrap_or(0.0);
    set(Rec::HttpTotal, Some(total));
}

/// Header names whose values carry credentials (besides values marked sensitive).
const CREDENTIAL_NAME_PARTS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "cookie",
    "apikey",
    "api-key",
    "api_key",
    "session",
    "signature",
    "sas-key",
    "access-key",
    "private-key",
];

/// Headers as a JSON object, credentials written as `<redacted>` and repeated headers joined
/// with `, `.
struct Headers<'a>(&'a http::HeaderMap);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let secret = CREDENTIAL_NAME_PARTS
                .iter()
                .any(|p| name.as_str().contains(p));
            let mut value = String::new();
            for v in self.0.get_all(name) {
                if !value.is_empty() {
                    value.push_str(", ");
                }
                if secret || v.is_sensitive() {
                    value.push_str(crate::settings::REDACTED);
                } else {
                    value.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
            }
            map.serialize_entry(name.as_str(), &value)?;
        }
        map.end()
    }
}

/// `trace_data` of a `profile_export.jsonl` line: the reference tool's trace export of an
/// HTTP client with a connection pool (its `aiohttp` trace type, whose fields it shares),
/// wall-clock nanoseconds, absent fields left out.
#[derive(Serialize)]
pub(super) struct TraceData<'a> {
    trace_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_send_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_headers: Option<Headers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_headers_sent_ns: Option<u64>,
    request_chunks: Vec<(u64, u32)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_send_end_ns: Option<u64>,
    request_chunks_count: u32,
    request_bytes_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_receive_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_headers: Option<Headers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_headers_received_ns: Option<u64>,
    response_chunks: Vec<(u64, u32)>,
    response_chunks_count: u32,
    response_bytes_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_receive_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_timestamp_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_pool_wait_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_pool_wait_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_connect_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_connect_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_reused_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_lookup_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_lookup_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_port: Option<u16>,
    // The phase durations, as the reference tool's export adds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    sending_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receiving_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_lookup_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connecting_ns: Option<u64>,
}

/// What a request's trace knows besides its timeline.
pub(super) struct Exchange {
    pub status: Option<u16>,
    pub ack_ns: Option<u64>,
    /// When it failed on the wire (timeout, transport error, cancellation).
    pub failed_ns: Option<u64>,
}

fn duration(span: Option<(u64, u64)>) -> Option<u64> {
    span.map(|(start, end)| end.saturating_sub(start))
}

/// The `trace_data` of a request with timeline `t`.
pub(super) fn trace_data<'a>(clock: &Clock, t: &'a HttpTiming, ex: &Exchange) -> TraceData<'a> {
    let wall = |ns: u64| clock.wall_ns(ns);
    let detail = t.detail.as_deref();
    let chunks = |c: Option<&Vec<(u64, u32)>>| {
        c.map(|c| c.iter().map(|&(at, n)| (wall(at), n)).collect())
            .unwrap_or_default()
    };
    let request_chunks: Vec<(u64, u32)> = chunks(detail.map(|d| &d.request_chunks));
    let (send_start, send_end) = (t.send.map(|s| s.0), t.send.map(|s| s.1));
    let new = |span: Option<(u64, u64)>| span.filter(|_| !t.reused);
    let (connect, dns) = (new(t.connect), new(t.dns));
    let local = detail.and_then(|d| d.local);
    let remote = detail.and_then(|d| d.remote);
    let ip = |a: Option<SocketAddr>| a.map(|a| a.ip().to_string());
    let port = |a: Option<SocketAddr>| a.map(|a| a.port()).filter(|p| *p > 0);
    TraceData {
        trace_type: "aiohttp",
        request_send_start_ns: send_start.map(wall),
        request_headers: detail.map(|d| Headers(&d.request_headers)),
        // The first write carries the request line and headers.
        request_headers_sent_ns: request_chunks.first().map(|c| c.0),
        request_chunks,
        request_send_end_ns: send_end.map(wall),
        request_chunks_count: t.chunks_sent,
        request_bytes_total: t.bytes_sent,
        response_status_code: ex.status,
        response_reason: ex
            .status
            .and_then(|s| http::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason()),
        response_receive_start_ns: t.first_chunk_ns.map(wall),
        response_headers: detail
            .filter(|_| ex.status.is_some())
            .map(|d| Headers(&d.response_headers)),
        response_headers_received_ns: ex.ack_ns.map(wall),
        response_chunks: chunks(detail.map(|d| &d.response_chunks)),
        response_chunks_count: t.chunks_received,
        response_bytes_total: t.bytes_received,
        response_receive_end_ns: t.last_chunk_ns.map(wall),
        error_timestamp_ns: ex.failed_ns.map(wall),
        connection_pool_wait_start_ns: t.pool_wait.map(|p| wall(p.0)),
        connection_pool_wait_end_ns: t.pool_wait.map(|p| wall(p.1)),
        tcp_connect_start_ns: connect.map(|c| wall(c.0)),
        tcp_connect_end_ns: connect.map(|c| wall(c.1)),
        connection_reused_ns: t.pool_wait.filter(|_| t.reused).map(|p| wall(p.1)),
        dns_lookup_start_ns: dns.map(|d| wall(d.0)),
        dns_lookup_end_ns: dns.map(|d| wall(d.1)),
        local_ip: ip(local),
        local_port: port(local),
        remote_ip: ip(remote),
        remote_port: port(remote),
        sending_ns: duration(t.send),
        waiting_ns: send_end
            .zip(t.first_chunk_ns)
            .map(|(sent, first)| first.saturating_sub(sent)),
        receiving_ns: match t.chunks_received {
            0 => None,
            1 => Some(0),
            _ => duration(t.first_chunk_ns.zip(t.last_chunk_ns)),
        },
        duration_ns: duration(send_start.zip(t.last_chunk_ns)),
        blocked_ns: duration(t.pool_wait),
        dns_lookup_ns: duration(dns),
        connecting_ns: duration(connect),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{N_REC, RECORD_METRICS};
    use crate::record::HttpDetail;

    fn timeline(reused: bool) -> HttpTiming {
        HttpTiming {
            pool_wait: Some((1_000_000, 1_500_000)),
            dns: Some((1_500_000, 2_000_000)),
            connect: Some((2_000_000, 4_000_000)),
            reused,
            send: Some((4_000_000, 4_250_000)),
            first_chunk_ns: Some(14_250_000),
            last_chunk_ns: Some(54_250_000),
            chunks_sent: 1,
            bytes_sent: 512,
            chunks_received: 9,
            bytes_received: 3072,
            detail: None,
        }
    }

    fn metrics(t: &HttpTiming) -> impl Fn(&str) -> f64 + use<> {
        let mut v = [f64::NAN; N_REC];
        http_metrics(t, &mut v);
        move |tag: &str| {
            v[RECORD_METRICS
                .iter()
                .position(|d| d.tag == tag)
                .unwrap_or_else(|| panic!("{tag}"))]
        }
    }

    #[test]
    fn phases_of_a_new_connection_add_up() {
        let m = metrics(&timeline(false));
        assert_eq!(m("http_req_blocked"), 0.5);
        assert_eq!(m("http_req_dns_lookup"), 0.5);
        assert_eq!(m("http_req_connecting"), 2.0);
        assert_eq!(m("http_req_sending"), 0.25);
        assert_eq!(m("http_req_waiting"), 10.0);
        assert_eq!(m("http_req_receiving"), 40.0);
        assert_eq!(m("http_req_duration"), 50.25);
        assert_eq!(m("http_req_connection_overhead"), 3.0);
        assert_eq!(m("http_req_total"), 53.25);
        assert_eq!(m("http_req_connection_reused"), 0.0);
        assert_eq!(m("http_req_data_sent"), 0.5);
        assert_eq!(m("http_req_data_received"), 3.0);
        assert_eq!(m("http_req_chunks_sent"), 1.0);
        assert_eq!(m("http_req_chunks_received"), 9.0);
    }

    #[test]
    fn a_reused_connection_resolves_and_opens_nothing() {
        let m = metrics(&timeline(true));
        assert_eq!(m("http_req_dns_lookup"), 0.0);
        assert_eq!(m("http_req_connecting"), 0.0);
        assert_eq!(m("http_req_connection_reused"), 1.0);
        assert_eq!(m("http_req_connection_overhead"), 0.5);
        assert_eq!(m("http_req_total"), 50.75);
    }

    #[test]
    fn one_chunk_receives_in_no_time_and_none_leaves_the_phase_out() {
        let mut t = timeline(true);
        t.chunks_received = 1;
        t.last_chunk_ns = t.first_chunk_ns;
        assert_eq!(metrics(&t)("http_req_receiving"), 0.0);
        t.chunks_received = 0;
        t.first_chunk_ns = None;
        t.last_chunk_ns = None;
        let m = metrics(&t);
        assert!(m("http_req_receiving").is_nan());
        assert!(m("http_req_waiting").is_nan());
        assert!(m("http_req_duration").is_nan());
        // Missing phases count as nothing in the sum.
        assert_eq!(m("http_req_total"), 0.75);
    }

    #[test]
    fn trace_data_has_wall_clock_times_and_redacted_credentials() {
        let clock = Clock::new();
        let mut t = timeline(false);
        let mut detail = HttpDetail {
            request_chunks: vec![(4_250_000, 512)],
            remote: Some("127.0.0.1:8000".parse().unwrap()),
            ..HttpDetail::default()
        };
        detail
            .request_headers
            .insert("x-api-key", "sk-1".parse().unwrap());
        let mut auth: http::HeaderValue = "Bearer sk-2".parse().unwrap();
        auth.set_sensitive(true);
        detail.request_headers.insert("x-custom", auth);
        detail
            .request_headers
            .insert("accept", "text/event-stream".parse().unwrap());
        t.detail = Some(Box::new(detail));
        let ex = Exchange {
            status: Some(200),
            ack_ns: Some(5_000_000),
            failed_ns: None,
        };
        let doc = serde_json::to_value(trace_data(&clock, &t, &ex)).unwrap();
        let wall = |ns: u64| serde_json::json!(clock.wall_ns(ns));
        assert_eq!(doc["trace_type"], "aiohttp");
        assert_eq!(doc["request_send_start_ns"], wall(4_000_000));
        assert_eq!(doc["request_headers_sent_ns"], wall(4_250_000));
        assert_eq!(
            doc["request_chunks"],
            serde_json::json!([[clock.wall_ns(4_250_000), 512]])
        );
        assert_eq!(doc["response_reason"], "OK");
        assert_eq!(doc["request_headers"]["x-api-key"], "<redacted>");
        assert_eq!(doc["request_headers"]["x-custom"], "<redacted>");
        assert_eq!(doc["request_headers"]["accept"], "text/event-stream");
        assert_eq!(doc["dns_lookup_ns"], 500_000);
        assert_eq!(doc["connecting_ns"], 2_000_000);
        assert_eq!(doc["duration_ns"], 50_250_000);
        assert_eq!(doc["remote_port"], 8000);
        assert!(doc.get("connection_reused_ns").is_none());
        assert!(doc.get("error_timestamp_ns").is_none());
    }
}
