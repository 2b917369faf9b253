//! The gRPC listener's connections: per-connection limits, and the idle timeout that HTTP/2 in
//! hyper and tonic lacks.
//!
//! Each accepted TCP stream is wrapped in a [`Watched`] stream that shares a [`CallCount`] with
//! the [`CallCountLayer`] in front of every service: the layer counts the calls in flight on the
//! connection, and the stream ends the connection (as if the peer had closed it) once it has had
//! no call in flight for the idle timeout. A connection with a call in flight is never idle, so
//! a long photo check is never cut; keepalive pings do not count as activity, so an idle client
//! that answers pings is still closed. Each accepted stream also has Nagle's algorithm turned off,
//! as tonic does only on listeners it opens itself.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The limits each gRPC connection gets (`labelcheck serve` flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    /// Most concurrent streams (calls) a client may open on one connection
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub max_streams: u32,
    /// Largest header list a client may send, bytes (`SETTINGS_MAX_HEADER_LIST_SIZE`); a larger
    /// one gets the stream refused.
    pub max_header_list_bytes: u32,
    /// How often the server pings a connection (HTTP/2 PING)…
    pub keepalive_interval: Duration,
    /// …and how long it waits for the answer before dropping the connection.
    pub keepalive_timeout: Duration,
    /// A connection with no call in flight for this long is closed.
    pub idle_timeout: Duration,
    /// A connection older than this is asked to go away (GOAWAY); its calls in flight get the
    /// longest request time to finish, then it is closed. Clients reconnect, which spreads them
    /// over servers behind a load balancer.
    pub max_connection_age: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_streams: 64,
            max_header_list_bytes: 16 * 1024,
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(300),
            max_connection_age: Duration::from_secs(3600),
        }
    }
}

/// Calls in flight on one connection, and since when it has had none.
#[derive(Debug)]
pub struct CallCount {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl CallCount {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        }
    }

    /// When the connection turns idle-timed-out, if it has no call in flight.
    fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        Some(since + idle)
    }
}

/// One call on a connection; dropping it (the call ended, or was dropped) ends the call.
struct InFlight(Arc<CallCount>);

impl InFlight {
    fn start(count: Arc<CallCount>) -> Self {
        count.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a [`Watched`] connection tells the services about itself (a request extension).
#[derive(Debug, Clone)]
pub struct WatchedInfo {
    /// The TCP addresses.
    pub tcp: TcpConnectInfo,
    calls: Arc<CallCount>,
}

/// A TCP connection that ends itself (reads end of stream) after [`ConnectionLimits::idle_timeout`]
/// with no call in flight.
pub struct Watched {
    io: TcpStream,
    calls: Arc<CallCount>,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Watched {
    /// Watches `io` with idle timeout `idle`, Nagle's algorithm off (`TCP_NODELAY`, as tonic
    /// sets on the listeners it opens itself): with it on, a reply's last small frame waited for
    /// the client's delayed acknowledgement, about 20 ms a call on an idle server.
    pub fn new(io: TcpStream, idle: Duration) -> Self {
        if let Err(error) = io.set_nodelay(true) {
            // The connection still serves, its replies only slower.
            tracing::warn!(%error, "cannot turn Nagle's algorithm off on a connection");
        }
        Self {
            io,
            calls: Arc::new(CallCount::new()),
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl Connected for Watched {
    type ConnectInfo = WatchedInfo;

    fn connect_info(&self) -> WatchedInfo {
        WatchedInfo {
            tcp: self.io.connect_info(),
            calls: self.calls.clone(),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Poll::Ready(done) = Pin::new(&mut this.io).poll_read(cx, buf) {
            return Poll::Ready(done);
        }
        // Nothing to read: wake again when the connection may have turned idle.
        loop {
            let deadline = this
                .calls
                .idle_deadline(this.idle)
                .unwrap_or_else(|| Instant::now() + this.idle);
            if Instant::now() >= deadline {
                tracing::debug!("closing a connection idle for its idle timeout");
                return Poll::Ready(Ok(()));
            }
            this.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Counts each call on its connection's [`CallCount`] while the call runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallCountLayer;

impl<S> tower::Layer<S> for CallCountLayer {
    type Service = CallCountService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallCountService { inner }
    }
}

/// The service made by [`CallCountLayer`].
#[derive(Debug, Clone)]
pub struct CallCountService<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for CallCountService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let ext = request.extensions();
        let calls = ext
            .get::<WatchedInfo>()
            .map(|w| w.calls.clone())
            .or_else(|| {
                ext.get::<tonic::transport::server::TlsConnectInfo<WatchedInfo>>()
                    .map(|t| t.get_ref().calls.clone())
            });
        let guard = calls.map(InFlight::start);
        let call = self.inner.call(request);
        Box::pin(async move {
            let out = call.await;
            drop(guard);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_accepted_connection_sends_small_frames_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (tcp, _) = listener.accept().await.expect("accept");
        assert!(!tcp.nodelay().expect("read option"), "the system default");
        let watched = Watched::new(tcp, Duration::from_secs(1));
        assert!(watched.io.nodelay().expect("read option"));
    }
}
