//! A small plain-HTTP/1.1 client on hyper 1, the way a player reads the origin: one TCP
//! connection ([`Connection`], keep-alive, one request at a time, as one viewer), or one
//! request on a fresh connection ([`get`]). Every request has a deadline covering the head
//! and the whole body. Used by the tests of the binary and by load tools simulating viewers;
//! HTTPS is left to independent clients (curl) on purpose.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://HOST:PORT/...` with a numeric address, or a header is malformed.
    #[error("bad request {0}")]
    Request(String),
    /// The TCP connection could not be made.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection failed or broke mid-response.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The response (head and body) did not arrive within the deadline.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Header fields.
    pub headers: HeaderMap,
    /// The body, whole (de-chunked).
    pub body: Bytes,
}

impl Response {
    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive HTTP/1.1 connection to the origin, used for one request at a time.
#[derive(Debug)]
pub struct Connection {
    send: http1::SendRequest<Full<Bytes>>,
    conn: JoinHandle<()>,
    host: HeaderValue,
}

impl Connection {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Connection, ClientError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        let _ = tcp.set_nodelay(true);
        let (send, conn) = http1::handshake(TokioIo::new(tcp)).await?;
        // The connection is driven by its own task; it ends when `send` is dropped or the
        // server closes it.
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = HeaderValue::from_str(&addr.to_string())
            .map_err(|e| ClientError::Request(e.to_string()))?;
        Ok(Connection { send, conn, host })
    }

    /// `method target` (a path with its query) with `headers`, read whole within `timeout`.
    pub async fn request(
        &mut self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        self.send_body(method, target, headers, Bytes::new(), timeout)
            .await
    }

    /// [`Connection::request`] with a request body.
    pub async fn send_body(
        &mut self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let mut req = Request::builder()
            .method(method)
            .uri(target)
            .body(Full::new(body))
            .map_err(|e| ClientError::Request(format!("{target}: {e}")))?;
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| ClientError::Request(format!("header {k}: {e}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|e| ClientError::Request(format!("header {k}: {e}")))?;
            h.append(name, value);
        }
        let exchange = async {
            self.send.ready().await?;
            let resp = self.send.send_request(req).await?;
            let (head, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, ClientError>(Response {
                status: head.status,
                headers: head.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    /// GET `target` with `headers`.
    pub async fn get(
        &mut self,
        target: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        self.request(Method::GET, target, headers, timeout).await
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

/// GET `url` (`http://ADDR:PORT/path?query`, a numeric address) with `headers` on a fresh
/// connection; connecting counts against `timeout` too.
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Response, ClientError> {
    fetch(Method::GET, url, headers, Bytes::new(), timeout).await
}

/// `method url` with `headers` and `body` on a fresh connection; connecting counts against
/// `timeout` too.
pub async fn fetch(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| ClientError::Request(format!("{url}: {e}")))?;
    let addr: SocketAddr = uri
        .authority()
        .filter(|_| uri.scheme_str() == Some("http"))
        .and_then(|a| a.as_str().parse().ok())
        .ok_or_else(|| ClientError::Request(format!("{url}: not http://ADDR:PORT/...")))?;
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let started = tokio::time::Instant::now();
    let mut conn = tokio::time::timeout(timeout, Connection::connect(addr))
        .await
        .map_err(|_| ClientError::Timeout(timeout))??;
    conn.send_body(
        method,
        target,
        headers,
        body,
        timeout.saturating_sub(started.elapsed()),
    )
    .await
}
