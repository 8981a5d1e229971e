//! The benchmark's ceiling: the same stack Keyway's passthrough stands on (tokio's multi-threaded runtime,
//! hyper-util's HTTP/1+2 server and pooled HTTP/1 client, jemalloc) doing only what the nginx target does —
//! strip the caller's Keyway headers, add the API key, forward, stream the answer back. No authentication,
//! no connection lookup, no request log, no metrics, no egress checks. Whatever throughput this reaches is an
//! upper bound for Keyway on the same machine.
//!
//!     keyway-bench-ceiling LISTEN_ADDR UPSTREAM_HOST:PORT API_KEY
//!
//! `CEILING_SPIN_NS=N` (environment) makes it busy-wait N ns of user time per request first: an experiment
//! for "how does a proxy's cost grow with its own per-request work" (README, "Benchmark").

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

type Upstream = Client<HttpConnector, Incoming>;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

async fn forward(
    client: Upstream,
    upstream: &'static str,
    api_key: HeaderValue,
    spin: std::time::Duration,
    mut request: Request<Incoming>,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    if !spin.is_zero() {
        let start = std::time::Instant::now();
        while start.elapsed() < spin {
            std::hint::spin_loop();
        }
    }
    let path = request.uri().path();
    let path = path.strip_prefix("/v1/passthrough").unwrap_or(path);
    let uri = match request.uri().query() {
        Some(q) => format!("http://{upstream}{path}?{q}"),
        None => format!("http://{upstream}{path}"),
    };
    *request.uri_mut() = uri.parse().expect("a valid upstream URI");
    let headers = request.headers_mut();
    headers.remove(HOST);
    headers.remove("x-pica-secret");
    headers.remove("x-pica-connection-key");
    headers.insert("x-api-key", api_key);
    client.request(request).await
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: keyway-bench-ceiling LISTEN_ADDR UPSTREAM_HOST:PORT API_KEY";
    let listen: SocketAddr = args.next().expect(usage).parse().expect(usage);
    let upstream: &'static str = args.next().expect(usage).leak();
    let api_key = HeaderValue::from_str(&args.next().expect(usage)).expect(usage);
    let spin = std::time::Duration::from_nanos(
        std::env::var("CEILING_SPIN_NS")
            .ok()
            .map(|v| v.parse().expect("CEILING_SPIN_NS: nanoseconds"))
            .unwrap_or(0),
    );
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(http);
    let listener = tokio::net::TcpListener::bind(listen).await.expect("listen");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (client, api_key) = (client.clone(), api_key.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (client, api_key) = (client.clone(), api_key.clone());
                async move {
                    Ok::<_, Infallible>(match forward(client, upstream, api_key, spin, request).await {
                        Ok(response) => response.map(http_body_util::BodyExt::boxed),
                        Err(_) => Response::builder()
                            .status(502)
                            .body(http_body_util::BodyExt::boxed(http_body_util::BodyExt::map_err(
                                http_body_util::Empty::<hyper::body::Bytes>::new(),
                                |never: Infallible| -> hyper::Error { match never {} },
                            )))
                            .expect("a valid response"),
                    })
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
