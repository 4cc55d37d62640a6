//! The HTTP server: connection handling, shutdown and shared state.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{ConfigError, SimConfig, Timing};
use crate::driver::{self, EngineHandle};
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::record::{RecordSender, Recorder, RequestRecord, WallClock};
use crate::stream::SimBody;
use crate::tokens::{PromptTokenizer, Vocabulary};
use crate::{api, plan};
use aiperf_shared::timer::PreciseTimer;

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("--record-requests: cannot write {path}: {source}")]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the simulator: {0}")]
    Io(#[from] std::io::Error),
}

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct State {
    config: SimConfig,
    vocab: Vocabulary,
    tokenizer: PromptTokenizer,
    metrics: Arc<Metrics>,
    clock: WallClock,
    timer: Arc<PreciseTimer>,
    engine: Option<EngineHandle>,
    recorder: Option<RecordSender>,
    requests: AtomicU64,
    started_unix: u64,
    /// When this server's accelerator is next free of media work that occupies it whole.
    accelerator_free_at: Mutex<Option<Instant>>,
}

impl State {
    pub(crate) fn config(&self) -> &SimConfig {
        &self.config
    }

    pub(crate) fn vocab(&self) -> &Vocabulary {
        &self.vocab
    }

    pub(crate) fn tokenizer(&self) -> &PromptTokenizer {
        &self.tokenizer
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn clock(&self) -> WallClock {
        self.clock
    }

    pub(crate) fn timer(&self) -> &Arc<PreciseTimer> {
        &self.timer
    }

    pub(crate) fn engine(&self) -> Option<&EngineHandle> {
        self.engine.as_ref()
    }

    pub(crate) fn started_unix(&self) -> u64 {
        self.started_unix
    }

    /// When the accelerator is next free of media work that occupies it whole (see
    /// [`crate::form::schedule`]).
    pub(crate) fn accelerator_free_at(&self) -> &Mutex<Option<Instant>> {
        &self.accelerator_free_at
    }

    /// A fresh request number (the seed stream of fault injection).
    pub(crate) fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Relaxed)
    }

    /// Sends a request record when `--record-requests` is on; builds it only then.
    pub(crate) fn record(&self, make: impl FnOnce() -> RequestRecord) {
        if let Some(recorder) = &self.recorder {
            recorder.send(make());
        }
    }
}

/// A configured simulator, ready to serve on a listener.
#[derive(Debug)]
pub struct Server {
    config: SimConfig,
    vocab: Vocabulary,
    tokenizer: PromptTokenizer,
    recorder: Option<Recorder>,
}

impl Server {
    /// Validates the configuration, loads the tokenizer and opens the record file.
    ///
    /// Loading a tokenizer takes a moment the first time; call this off the async threads
    /// (e.g. in `spawn_blocking`) when that matters.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        let recorder = match &config.record_requests {
            Some(path) => Some(Recorder::create(path).map_err(|source| SimError::Record {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        Ok(Self {
            tokenizer: PromptTokenizer::load(config.tokenizer),
            vocab: Vocabulary::load(),
            config,
            recorder,
        })
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Serves until `shutdown` completes, then lets in-flight responses finish for up to
    /// [`SimConfig::shutdown_grace`] and flushes the request records.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), SimError> {
        let Self {
            config,
            vocab,
            tokenizer,
            recorder,
        } = self;
        let timer = Arc::new(PreciseTimer::new()?);
        let metrics = Arc::new(
            Metrics::new(
                &config.served_models[0],
                matches!(config.timing, Timing::Engine(_)),
                crate::gpu::Gpus::new(config.gpus.clone(), config.seed),
            )
            .with_spec_decode(config.spec_decode.map(|s| s.num_spec_tokens)),
        );
        let (engine, driver) = match &config.timing {
            Timing::Engine(params) => {
                let engine = Engine::new(params.clone(), plan::mix(config.seed, 0x656e_6769_6e65));
                let (handle, task) = driver::spawn(
                    engine,
                    config.speedup,
                    Arc::clone(&timer),
                    Arc::clone(&metrics),
                );
                (Some(handle), Some(task))
            }
            Timing::Fixed { .. } | Timing::Zero => (None, None),
        };
        let grace = config.shutdown_grace;
        let state = Arc::new(State {
            vocab,
            tokenizer,
            metrics,
            clock: WallClock::new(),
            timer,
            engine,
            recorder: recorder.as_ref().map(Recorder::sender),
            requests: AtomicU64::new(0),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            accelerator_free_at: Mutex::new(None),
            config,
        });

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).keep_alive(true);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, keep serving.
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = Arc::clone(&state);
                    let service = service_fn(move |req: Request<Incoming>| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(api::handle(state, req).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    connections.spawn(async move {
                        // Connection errors (client resets, injected drops) end only that connection.
                        let _ = conn.await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {
                tracing::warn!("in-flight requests did not finish within {grace:?}; dropping them");
            }
        }
        connections.shutdown().await;
        drop(state);
        if let Some(task) = driver {
            task.abort();
            let _ = task.await;
        }
        if let Some(recorder) = recorder {
            recorder.finish()?;
        }
        Ok(())
    }
}

/// Serves `config` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let server = tokio::task::spawn_blocking(move || Server::new(config))
        .await
        .map_err(|e| SimError::Io(std::io::Error::other(e)))??;
    server.run(listener, shutdown).await
}

/// A simulator running in the background of the current tokio runtime.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), SimError>>,
}

impl SimServer {
    /// Starts a simulator on a free loopback port.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a simulator on `addr`.
    pub async fn bind(addr: SocketAddr, config: SimConfig) -> Result<Self, SimError> {
        let server = tokio::task::spawn_blocking(move || Server::new(config))
            .await
            .map_err(|e| SimError::Io(std::io::Error::other(e)))??;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight responses (up to the grace period) and flushes.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .map_err(|e| SimError::Io(std::io::Error::other(e)))?
    }
}

impl Drop for SimServer {
    /// A handle dropped without [`shutdown`](Self::shutdown) still stops the server.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response with a JSON body.
pub(crate) fn json_response(status: u16, body: String) -> Response<SimBody> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(SimBody::full(body))
        .expect("static headers are valid")
}
