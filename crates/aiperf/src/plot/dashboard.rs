//! `aiperf plot --dashboard`: the report served from a local web server that follows the
//! results directories as they are written (a sweep or a search adds cell after cell).
//!
//! `GET /` is the report page ([`super::page`] with `live`), rebuilt only when the
//! fingerprint of the results changed (relative path, size and modification time of their
//! files) and otherwise served from a cache; while the directories hold no results yet, a
//! small page that waits for them. `GET /stamp` is the fingerprint, which the page's script
//! (`assets/report/live.js`) polls to reload itself. `GET /plots/NAME.png|.svg` (and
//! `/NAME.png|.svg`, where the page's download links point) are the chart files of the page
//! being served, written to a temporary directory removed at exit.

use std::collections::hash_map::DefaultHasher;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::{Options, html::esc};
use crate::UsageError;

/// The page's script in live mode, and the report's styles (for the waiting page).
const LIVE_JS: &str = include_str!("../../assets/report/live.js");
const REPORT_CSS: &str = include_str!("../../assets/report/report.css");

/// How deep the fingerprint looks into each results directory (a sweep of repeated runs
/// keeps its records four levels down).
const MAX_DEPTH: usize = 8;
/// At most this many entries are looked at per fingerprint, so a huge tree stays cheap.
const MAX_ENTRIES: usize = 50_000;

type Body = Full<Bytes>;

/// Serves the report of `paths` on `host:port` until Ctrl-C (or SIGTERM).
pub async fn serve(
    paths: Vec<PathBuf>,
    host: &str,
    port: u16,
    options: Options,
) -> anyhow::Result<()> {
    for path in &paths {
        if !path.is_dir() {
            return Err(UsageError::new(format!(
                "aiperf plot: {} is not a directory of results",
                path.display()
            ))
            .into());
        }
    }
    let listener = bind(host, port).await?;
    let bound = listener.local_addr()?;
    let charts = ChartsDir::create()?;
    let walk: Vec<PathBuf> = paths
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect();
    let state = Arc::new(State {
        paths,
        walk,
        options: Options {
            live: true,
            ..options
        },
        charts,
        cache: tokio::sync::Mutex::new(None),
        current: std::sync::Mutex::new(None),
    });
    // One write, never fatal: a server whose output is no longer read goes on serving.
    let _ = crate::ui::console::text(&format!("dashboard: http://{bound}/ (Ctrl-C to stop)\n"));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: back off, keep serving.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let state = Arc::clone(&state);
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handle(&state, req.method(), req.uri().path()).await) }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service);
                tokio::spawn(async move {
                    // A client that goes away ends only its connection.
                    let _ = conn.await;
                });
            }
        }
    }
    crate::ui::console::notice("dashboard stopped");
    Ok(())
}

/// Listens on `host:port`; what goes wrong names the flag to change.
async fn bind(host: &str, port: u16) -> Result<TcpListener, UsageError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            UsageError::new(format!(
                "--host: cannot resolve {host:?}: {e} (use an address of this machine, e.g. \
                 127.0.0.1, or 0.0.0.0 for every interface)"
            ))
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some((addr, e)) = last else {
        return Err(UsageError::new(format!(
            "--host: {host:?} resolves to no address"
        )));
    };
    Err(UsageError::new(match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "--port: {port} is already in use on {host} (choose another --port, or 0 for any \
             free port)"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "--host: {host} is not an address of this machine ({e}); use 127.0.0.1, or \
             0.0.0.0 for every interface"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "--port: not allowed to listen on port {port} ({e}); choose a port above 1023, \
             or 0 for any free port"
        ),
        _ => format!("--host/--port: cannot listen on {addr}: {e}"),
    }))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = interrupt => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = interrupt.await;
}

/// What the server knows: the results it follows and the page it last built.
struct State {
    /// The results directories as given (the page names them so).
    paths: Vec<PathBuf>,
    /// The same, resolved, for the fingerprint.
    walk: Vec<PathBuf>,
    options: Options,
    charts: ChartsDir,
    /// The last page built and the fingerprint it was built for; locked while a page is
    /// built, so that concurrent loads wait for one build instead of each starting one.
    cache: tokio::sync::Mutex<Option<Built>>,
    /// The chart files of the last report page.
    current: std::sync::Mutex<Option<PathBuf>>,
}

struct Built {
    stamp: String,
    page: Bytes,
}

async fn handle(state: &Arc<State>, method: &Method, path: &str) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/" | "/index.html" => match page(state).await {
            Ok(page) => reply(StatusCode::OK, "text/html; charset=utf-8", page, false),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
        },
        // Browsers ask for it; no icon, and no error in their console.
        "/favicon.ico" => reply(StatusCode::NO_CONTENT, "image/x-icon", Bytes::new(), true),
        "/stamp" => match stamp(state).await {
            Ok(stamp) => text(StatusCode::OK, &format!("{stamp}\n")),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
        },
        _ => {
            let name = path
                .strip_prefix("/plots/")
                .or_else(|| path.strip_prefix('/'))
                .unwrap_or(path);
            match chart_type(name) {
                Some(content_type) => chart(state, name, content_type).await,
                None => text(StatusCode::NOT_FOUND, "not found\n"),
            }
        }
    }
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    cache: bool,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if cache { "no-cache" } else { "no-store" }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    reply(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(body.to_owned()),
        false,
    )
}

/// The content type of a chart file's name; `None` for anything that is not a plain name
/// of a PNG or SVG in the charts directory (no `/`, no `..`, no hidden file).
fn chart_type(name: &str) -> Option<&'static str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !plain {
        return None;
    }
    if name.ends_with(".png") {
        Some("image/png")
    } else if name.ends_with(".svg") {
        Some("image/svg+xml")
    } else {
        None
    }
}

async fn chart(state: &State, name: &str, content_type: &'static str) -> Response<Body> {
    let dir = state.current.lock().ok().and_then(|d| d.clone());
    let Some(dir) = dir else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => reply(StatusCode::OK, content_type, Bytes::from(bytes), true),
        Err(_) => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The fingerprint of the results now.
async fn stamp(state: &Arc<State>) -> anyhow::Result<String> {
    let state = Arc::clone(state);
    Ok(tokio::task::spawn_blocking(move || fingerprint(&state.walk, &state.charts.0)).await?)
}

/// The page for the results as they are now: the cached one while they have not changed,
/// else a new one, built off the async threads so that other requests go on being served.
/// The build runs on its own task: a browser that gives up waiting does not cancel it, and
/// the next request finds the page ready.
async fn page(state: &Arc<State>) -> anyhow::Result<Bytes> {
    let state = Arc::clone(state);
    tokio::spawn(async move { current_page(&state).await }).await?
}

async fn current_page(state: &Arc<State>) -> anyhow::Result<Bytes> {
    let mut cache = state.cache.lock().await;
    let now = stamp(state).await?;
    if let Some(built) = cache.as_ref().filter(|b| b.stamp == now) {
        return Ok(built.page.clone());
    }
    let builder = Arc::clone(state);
    let stamp = now.clone();
    let page = tokio::task::spawn_blocking(move || build(&builder, &stamp)).await?;
    let page = Bytes::from(page);
    *cache = Some(Built {
        stamp: now,
        page: page.clone(),
    });
    Ok(page)
}

/// Builds the page for the results as they are now into a fresh charts directory (the page
/// being read may still link to the previous one's files, which are kept until the next).
fn build(state: &State, stamp: &str) -> String {
    let dir = state.charts.next();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return waiting_page(
            state,
            stamp,
            &format!("cannot write charts to {}: {e}", dir.display()),
        );
    }
    match super::page(&state.paths, &dir, &state.options) {
        Ok(page) => {
            if let Ok(mut current) = state.current.lock() {
                *current = Some(dir);
            }
            state.charts.prune();
            with_stamp(&page, stamp)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            waiting_page(state, stamp, &format!("{e:#}"))
        }
    }
}

/// `page` with `data-stamp` on its `<html>` element, for the script to compare.
fn with_stamp(page: &str, stamp: &str) -> String {
    let attr = format!("<html data-stamp=\"{}\"", esc(stamp));
    if page.contains("<html ") || page.contains("<html>") {
        page.replacen("<html", &attr, 1)
    } else {
        page.to_owned()
    }
}

/// While the directories hold no results: a page that says so and reloads once they do.
fn waiting_page(state: &State, stamp: &str, why: &str) -> String {
    let theme = state.options.theme.name();
    let mut names = String::new();
    for path in &state.paths {
        let _ = write!(
            names,
            "<li><code>{}</code></li>",
            esc(&path.display().to_string())
        );
    }
    format!(
        "<!DOCTYPE html>\n<html data-stamp=\"{stamp}\" data-theme=\"{theme}\" data-live=\"1\" \
         lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'\">\
         <title>aiperf dashboard: waiting for results</title><style>{REPORT_CSS}</style>\
         </head><body><h1>Waiting for results</h1><p>waiting for results in</p><ul>{names}</ul>\
         <p class=\"muted\">{why}</p><p class=\"muted\">The report appears here as soon as a \
         run, a sweep or a search writes its results.</p>\
         <script>{LIVE_JS}</script></body></html>\n",
        stamp = esc(stamp),
        why = esc(why),
    )
}

/// The fingerprint of what `paths` hold: every file's relative path, size and modification
/// time, a few levels deep, leaving out `skip` (the charts directory) and hidden files (a
/// file being written atomically). Logs (`*.log`) and record streams (`*.jsonl`), which grow
/// while a run goes on, count by name only: a run's results are final when its summary,
/// written after them, appears.
fn fingerprint(paths: &[PathBuf], skip: &Path) -> String {
    let mut hasher = DefaultHasher::new();
    let mut budget = MAX_ENTRIES;
    for (i, path) in paths.iter().enumerate() {
        i.hash(&mut hasher);
        if path.is_dir() {
            walk(path, Path::new(""), 0, skip, &mut hasher, &mut budget);
        } else {
            "missing".hash(&mut hasher);
        }
    }
    format!("{:016x}", hasher.finish())
}

fn walk(
    dir: &Path,
    rel: &Path,
    depth: usize,
    skip: &Path,
    hasher: &mut DefaultHasher,
    budget: &mut usize,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let name = entry.file_name();
        let path = entry.path();
        if name.to_string_lossy().starts_with('.') || path == skip {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let rel = rel.join(&name);
        rel.hash(hasher);
        if meta.is_dir() {
            if depth + 1 < MAX_DEPTH {
                walk(&path, &rel, depth + 1, skip, hasher, budget);
            }
            continue;
        }
        let growing = path.extension().is_some_and(|e| e == "jsonl" || e == "log");
        if !growing {
            meta.len().hash(hasher);
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .unwrap_or_default();
            modified.hash(hasher);
        }
    }
}

/// The temporary directory the charts are written to, one subdirectory per page built;
/// removed when the server stops.
struct ChartsDir(PathBuf, std::sync::atomic::AtomicU64);

impl ChartsDir {
    fn create() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("aiperf-dashboard-{}", std::process::id()));
        // A directory left by an earlier process with the same id.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            anyhow::anyhow!("cannot create the charts directory {}: {e}", dir.display())
        })?;
        let dir = dir.canonicalize().unwrap_or(dir);
        Ok(Self(dir, std::sync::atomic::AtomicU64::new(0)))
    }

    /// A new subdirectory for the next page's charts.
    fn next(&self) -> PathBuf {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.0.join(format!("{n:06}"))
    }

    /// Removes the charts of every page but the last two.
    fn prune(&self) {
        let last = self.1.load(std::sync::atomic::Ordering::Relaxed);
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return;
        };
        for entry in entries.flatten() {
            let n: Option<u64> = entry.file_name().to_string_lossy().parse().ok();
            if n.is_some_and(|n| n + 1 < last) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for ChartsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_names_stay_inside_the_charts_directory() {
        assert_eq!(chart_type("ttft_over_time.png"), Some("image/png"));
        assert_eq!(chart_type("pareto-1.svg"), Some("image/svg+xml"));
        for bad in [
            "",
            "../x.png",
            "..png",
            "a/b.png",
            ".hidden.png",
            "x%2e%2e.png",
            "report.html",
            "x.png/..",
            "a\\b.png",
        ] {
            assert_eq!(chart_type(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_stamp_goes_on_the_html_element() {
        assert_eq!(
            with_stamp(
                "<!DOCTYPE html>\n<html lang=\"en\"><body></body></html>",
                "ab12"
            ),
            "<!DOCTYPE html>\n<html data-stamp=\"ab12\" lang=\"en\"><body></body></html>"
        );
        assert_eq!(
            with_stamp("<html><p>x</p></html>", "1"),
            "<html data-stamp=\"1\"><p>x</p></html>"
        );
    }

    #[test]
    fn the_fingerprint_follows_results_but_not_growing_logs_or_the_charts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let charts = dir.join("charts");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        std::fs::create_dir_all(&charts).unwrap();
        let paths = [dir.clone()];
        let empty = fingerprint(&paths, &charts);
        assert_eq!(empty, fingerprint(&paths, &charts), "stable");

        std::fs::write(dir.join("logs/aiperf.log"), "a").unwrap();
        std::fs::write(dir.join("profile_export.jsonl"), "{}\n").unwrap();
        let streaming = fingerprint(&paths, &charts);
        assert_ne!(empty, streaming, "a new file counts");
        std::fs::write(dir.join("logs/aiperf.log"), "a longer log").unwrap();
        std::fs::write(dir.join("profile_export.jsonl"), "{}\n{}\n{}\n").unwrap();
        std::fs::write(charts.join("x.png"), "png").unwrap();
        std::fs::write(dir.join(".summary.json.tmp"), "{").unwrap();
        assert_eq!(
            streaming,
            fingerprint(&paths, &charts),
            "growing files, charts, temp files"
        );

        std::fs::write(dir.join("profile_export_aiperf.json"), "{}").unwrap();
        let done = fingerprint(&paths, &charts);
        assert_ne!(streaming, done, "the summary appears");
        std::fs::write(dir.join("profile_export_aiperf.json"), "{\"a\":1}").unwrap();
        assert_ne!(
            done,
            fingerprint(&paths, &charts),
            "the summary is rewritten"
        );

        let missing = [tmp.path().join("nowhere")];
        assert_eq!(
            fingerprint(&missing, &charts),
            fingerprint(&missing, &charts)
        );
    }
}
