//! One connection to a server: TCP (and TLS with ALPN for `https://`), an HTTP/1.1 or HTTP/2
//! handshake, and byte counters on the socket.
//!
//! The counters tell the pool whether any byte of a response arrived before a request failed:
//! only a request whose connection stayed silent may be sent again. They also give each
//! request its bytes and writes on the wire and the time its last byte was written.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::body::RequestBody;
use crate::record::Clock;

/// Where requests go: one `--url`, split into what connecting needs.
#[derive(Debug)]
pub(crate) struct Target {
    /// The whole request URI (HTTP/2 sends scheme and authority as pseudo-headers).
    pub uri: http::Uri,
    /// `/path?query`, the request line of HTTP/1.1.
    pub origin_form: http::Uri,
    /// The `Host` header of HTTP/1.1.
    pub host_header: http::HeaderValue,
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Target {
    pub(crate) fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse()?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => anyhow::bail!("{url}: unsupported scheme {other:?} (use http:// or https://)"),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("{url}: no host"))?
            .clone();
        let host = authority.host().trim_matches(['[', ']']).to_owned();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let origin_form = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
            .parse()?;
        Ok(Self {
            host_header: http::HeaderValue::from_str(authority.as_str())?,
            uri,
            origin_form,
            host,
            port,
            tls,
        })
    }
}

/// Bytes read from and written to one socket, its writes and when the last one ended.
#[derive(Debug)]
pub(crate) struct IoCounters {
    pub read: AtomicU64,
    pub written: AtomicU64,
    pub writes: AtomicU64,
    /// [`Clock`] nanoseconds at the end of the latest write.
    pub last_write_ns: AtomicU64,
    clock: Clock,
    /// Every write (time, bytes), kept only for `--export-http-trace`.
    pub write_log: Option<Mutex<Vec<(u64, u32)>>>,
}

impl IoCounters {
    pub(crate) fn new(clock: Clock, log_writes: bool) -> Self {
        Self {
            read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            last_write_ns: AtomicU64::new(0),
            clock,
            write_log: log_writes.then(Mutex::default),
        }
    }

    fn wrote(&self, n: usize) {
        let now = self.clock.now();
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.last_write_ns.store(now, Ordering::Relaxed);
        if let Some(log) = &self.write_log {
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((now, u32::try_from(n).unwrap_or(u32::MAX)));
        }
    }
}

/// A socket that counts its bytes.
#[derive(Debug)]
struct Metered<T> {
    io: T,
    counters: Arc<IoCounters>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            self.counters.wrote(*n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &poll {
            self.counters.wrote(*n);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The request half of a connection.
#[derive(Debug)]
pub(crate) enum Sender {
    Http1(http1::SendRequest<RequestBody>),
    Http2(http2::SendRequest<RequestBody>),
}

/// An open connection, idle or carrying one request (HTTP/1.1) or many (HTTP/2).
#[derive(Debug)]
pub(crate) struct Conn {
    pub sender: Sender,
    pub counters: Arc<IoCounters>,
    /// Responses it has carried.
    pub served: u32,
    /// When it last finished a response.
    pub idle_since: Instant,
    /// How long the server keeps it open while idle (`Keep-Alive: timeout=N`).
    pub idle_timeout: Option<Duration>,
    /// How it was opened: when, and its addresses.
    pub opened: Opened,
}

/// The opening of a connection ([`Clock`] nanoseconds).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Opened {
    /// Resolving the host name (none for an address).
    pub dns: Option<(u64, u64)>,
    /// TCP, TLS and the HTTP handshake.
    pub connect: (u64, u64),
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
}

impl Conn {
    pub(crate) fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }

    pub(crate) fn is_http2(&self) -> bool {
        matches!(self.sender, Sender::Http2(_))
    }

    /// The server's keep-alive timeout has passed (or nearly: a request sent in its last
    /// moments races the server's close).
    pub(crate) fn idled_out(&self, now: Instant) -> bool {
        self.idle_timeout.is_some_and(|t| {
            now.saturating_duration_since(self.idle_since) + Duration::from_millis(500) >= t
        })
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("connecting to {0} timed out")]
    Timeout(String),
    #[error("connecting to {0}: {1}")]
    Io(String, io::Error),
    #[error("TLS handshake with {0}: {1}")]
    Tls(String, io::Error),
    #[error("HTTP handshake with {0}: {1}")]
    Handshake(String, hyper::Error),
}

/// How connections are opened: the TLS settings, the time allowed, the run's clock.
#[derive(Debug)]
pub(crate) struct Connector {
    pub tls: Arc<rustls::ClientConfig>,
    pub timeout: Duration,
    pub clock: Clock,
    /// Log every socket write (`--export-http-trace`).
    pub log_writes: bool,
}

/// The addresses of `target`'s host, resolved (timed) unless it is an address already.
async fn resolve(
    target: &Target,
    clock: Clock,
) -> io::Result<(Vec<SocketAddr>, Option<(u64, u64)>)> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok((vec![SocketAddr::new(ip, target.port)], None));
    }
    let start = clock.now();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await?
        .collect();
    Ok((addrs, Some((start, clock.now()))))
}

/// A TCP connection to the first of `addrs` that accepts one.
async fn tcp_connect(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        )
    }))
}

/// Opens a connection to `target`, with TLS when it is `https://` (HTTP/2 when the server
/// offers it through ALPN, HTTP/1.1 otherwise), timing its name lookup and its opening.
pub(crate) async fn connect(target: &Target, c: &Connector) -> Result<Conn, ConnectError> {
    let name = format!("{}:{}", target.host, target.port);
    let deadline = tokio::time::Instant::now() + c.timeout;
    let (addrs, dns) = tokio::time::timeout_at(deadline, resolve(target, c.clock))
        .await
        .map_err(|_| ConnectError::Timeout(name.clone()))?
        .map_err(|e| ConnectError::Io(name.clone(), e))?;
    let start = c.clock.now();
    let tcp = tokio::time::timeout_at(deadline, tcp_connect(&addrs))
        .await
        .map_err(|_| ConnectError::Timeout(name.clone()))?
        .map_err(|e| ConnectError::Io(name.clone(), e))?;
    // Small writes (a request, then nothing) must not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    let mut opened = Opened {
        dns,
        connect: (start, start),
        local: tcp.local_addr().ok(),
        remote: tcp.peer_addr().ok(),
    };
    let counters = Arc::new(IoCounters::new(c.clock, c.log_writes));
    if !target.tls {
        let io = Metered {
            io: tcp,
            counters: counters.clone(),
        };
        let mut conn = handshake(io, false, counters)
            .await
            .map_err(|e| ConnectError::Handshake(name, e))?;
        opened.connect.1 = c.clock.now();
        conn.opened = opened;
        return Ok(conn);
    }
    let tls = &c.tls;
    let server_name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| ConnectError::Tls(name.clone(), io::Error::other(e)))?;
    let stream = tokio::time::timeout_at(
        deadline,
        tokio_rustls::TlsConnector::from(tls.clone()).connect(server_name, tcp),
    )
    .await
    .map_err(|_| ConnectError::Timeout(name.clone()))?
    .map_err(|e| ConnectError::Tls(name.clone(), e))?;
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = Metered {
        io: stream,
        counters: counters.clone(),
    };
    let mut conn = handshake(io, h2, counters)
        .await
        .map_err(|e| ConnectError::Handshake(name, e))?;
    opened.connect.1 = c.clock.now();
    conn.opened = opened;
    Ok(conn)
}

async fn handshake<T>(io: T, h2: bool, counters: Arc<IoCounters>) -> hyper::Result<Conn>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let sender = if h2 {
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .handshake(io)
            .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Sender::Http2(sender)
    } else {
        let (sender, conn) = http1::Builder::new().handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Sender::Http1(sender)
    };
    Ok(Conn {
        sender,
        counters,
        served: 0,
        idle_since: Instant::now(),
        idle_timeout: None,
        opened: Opened::default(),
    })
}

/// The TLS settings of the benchmark client: the Mozilla root store, HTTP/2 and HTTP/1.1
/// offered through ALPN.
pub(crate) fn tls_config() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `Keep-Alive: timeout=N, max=M` → N seconds.
pub(crate) fn keep_alive_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("keep-alive")?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (key, n) = part.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("timeout"))
            .then(|| n.trim().parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// The response says the server closes the connection after it.
pub(crate) fn closes_after(response: &http::response::Parts) -> bool {
    let says = |token: &str| {
        response
            .headers
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    // HTTP/1.0 closes unless asked to keep the connection.
    says("close") || (response.version == http::Version::HTTP_10 && !says("keep-alive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_connection_parts() {
        let t = Target::parse("http://localhost:8000/v1/chat/completions").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("localhost", 8000, false));
        assert_eq!(t.origin_form, "/v1/chat/completions");
        assert_eq!(t.host_header, "localhost:8000");
        let t = Target::parse("https://[::1]/v1/completions?x=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("::1", 443, true));
        assert_eq!(t.origin_form, "/v1/completions?x=1");
        assert!(Target::parse("ftp://x/y").is_err());
    }

    #[test]
    fn keep_alive_and_close_headers() {
        let mut h = http::HeaderMap::new();
        h.insert("keep-alive", "timeout=5, max=100".parse().unwrap());
        assert_eq!(keep_alive_timeout(&h), Some(Duration::from_secs(5)));
        h.insert("keep-alive", "max=100".parse().unwrap());
        assert_eq!(keep_alive_timeout(&h), None);
        let (mut parts, ()) = http::Response::new(()).into_parts();
        assert!(!closes_after(&parts));
        parts.headers.insert(
            http::header::CONNECTION,
            "keep-alive, Close".parse().unwrap(),
        );
        assert!(closes_after(&parts));
    }
}
