//! The front door (`keyway_server::listen`), spoken to over raw TCP as hostile or unlucky clients do:
//! malformed requests and oversized heads get the JSON error shape, slow and idle connections are
//! closed, the connection cap holds, and a client still uploading a body we refused reads our reply.

mod support;

use std::time::Duration;

use keyway::config::Config;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Everything the server sends until it closes the connection (or `limit` passes).
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> std::io::Result<Vec<u8>> {
    let mut reply = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut reply))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "still open"))??;
    Ok(reply)
}

/// Sends `request` on a new connection and returns the status and JSON body of the reply.
async fn exchange(app: &support::TestApp, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let reply = read_to_close(&mut stream, Duration::from_secs(30))
        .await
        .expect("reply, then close");
    parse(&reply)
}

fn parse(reply: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(reply);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["requestId"]
            .as_str()
            .is_some_and(|id| id.starts_with("req_")),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn malformed_requests_get_the_json_error_shape() {
    let app = support::spawn_app().await;
    let cases: [(&str, Vec<u8>, u16, &str); 4] = [
        (
            "garbage on the port",
            b"GARBAGE\r\n\r\n".to_vec(),
            400,
            "bad_request",
        ),
        (
            "a TLS hello on the plain port",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
            400,
            "bad_request",
        ),
        (
            "a control byte in a header",
            b"GET /v1/vault/connections HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n".to_vec(),
            400,
            "bad_request",
        ),
        (
            "a head far over any limit",
            [
                &b"GET /v1/vault/connections HTTP/1.1\r\nHost: x\r\nX-Big: "[..],
                &vec![b'a'; 600 * 1024],
                b"\r\n\r\n",
            ]
            .concat(),
            431,
            "headers_too_large",
        ),
    ];
    for (what, request, status, code) in cases {
        let (got, body) = exchange(&app, &request).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn heads_over_the_configured_caps_are_refused_before_any_route_runs() {
    let (app, fake) = support::spawn_app_with_fake_platform_config(|config| Config {
        max_header_bytes: 8 * 1024,
        ..config
    })
    .await;
    let big_header = "a".repeat(100 * 1024);
    // On the API, and on passthrough, which would otherwise forward the header upstream.
    for path in ["/v1/vault/connections", "/v1/passthrough/echo"] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nx-pica-secret: {}\r\nx-pica-connection-key: k\r\nX-Big: {big_header}\r\n\r\n",
            app.test_key
        );
        let (status, body) = exchange(&app, request.as_bytes()).await;
        assert_eq!(status, 431, "{path}: {body}");
        assert_eq!(body["code"], "headers_too_large");
    }
    // Just under the cap is fine.
    let fits = app
        .client
        .get(app.url("/v1/vault/connections"))
        .header("x-pica-secret", &app.test_key)
        .header("x-fill", "a".repeat(6 * 1024))
        .send()
        .await
        .expect("send");
    assert_eq!(fits.status(), 200);

    let long_uri = format!(
        "GET /v1/vault/connections?identity={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "u".repeat(200 * 1024)
    );
    // Past hyper's backstop for the whole head: refused there, still in the JSON shape.
    let (status, body) = exchange(&app, long_uri.as_bytes()).await;
    assert!(
        matches!(
            (status, body["code"].as_str()),
            (414, Some("uri_too_long")) | (431, Some("headers_too_large"))
        ),
        "{body}"
    );
    let long_uri = format!(
        "GET /v1/vault/connections?identity={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "u".repeat(20 * 1024)
    );
    let (status, body) = exchange(&app, long_uri.as_bytes()).await;
    assert_eq!((status, body["code"].as_str()), (414, Some("uri_too_long")));
    assert_eq!(fake.calls(), 0, "nothing reached the platform");
    app.stop().await;
}

#[tokio::test]
async fn slow_heads_and_idle_keep_alive_connections_are_closed() {
    let db = keyway_testkit::fresh_database().await;
    let config = Config {
        header_read_timeout_seconds: 1,
        ..support::test_config(&db)
    };
    let app = support::spawn_with(db, config).await;

    // Slowloris: one byte of a request line every 200 ms never completes a head.
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    let dripping = async {
        for byte in b"GET /v1/vault/connections HTTP/1.1\r\nHost: x\r\n"
            .iter()
            .cycle()
        {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), dripping)
        .await
        .expect("the server closed the dripping connection");

    // A half-sent request line, then silence.
    let mut half = TcpStream::connect(app.addr).await.expect("connect");
    half.write_all(b"GET /v1/conn").await.expect("send");
    read_to_close(&mut half, Duration::from_secs(20))
        .await
        .expect("closed");

    // A keep-alive connection left idle after its response.
    let mut idle = TcpStream::connect(app.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let reply = read_to_close(&mut idle, Duration::from_secs(20))
        .await
        .expect("answered, then closed when idle");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn open_connections_are_capped_and_waiting_ones_are_served_when_one_closes() {
    let db = keyway_testkit::fresh_database().await;
    let config = Config {
        max_connections: 2,
        ..support::test_config(&db)
    };
    let app = support::spawn_with(db, config).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        stream.write_all(request).await.expect("send");
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await.expect("served");
        assert_eq!(&first, b"HTTP/1.1 200");
        held.push(stream);
    }
    // The third waits in the backlog: no reply while both others are open.
    let mut third = TcpStream::connect(app.addr).await.expect("connect");
    third.write_all(request).await.expect("send");
    let mut first = [0u8; 12];
    let early =
        tokio::time::timeout(Duration::from_millis(700), third.read_exact(&mut first)).await;
    assert!(early.is_err(), "served past the connection cap");
    // One closes: the third is accepted and served.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(20), third.read_exact(&mut first))
        .await
        .expect("served once a slot freed")
        .expect("read");
    assert_eq!(&first, b"HTTP/1.1 200");
    drop(held);
    drop(third);
    app.stop().await;
}

/// Starts uploading `length` bytes after `head` and, while still sending, reads the reply.
async fn refused_upload(app: &support::TestApp, head: String, length: usize) -> (u16, Value) {
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < length {
            writer.write_all(&chunk).await?;
            sent += chunk.len();
        }
        std::io::Result::Ok(())
    });
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut reply)).await;
    sender.abort();
    match read {
        Ok(Ok(_)) => parse(&reply),
        Ok(Err(e)) => panic!("the reply was lost: {e} (read {} bytes)", reply.len()),
        Err(_) => panic!("no reply within 30 s"),
    }
}

#[tokio::test]
async fn a_client_still_uploading_a_refused_body_reads_the_413() {
    let (app, _fake) = support::spawn_app_with_fake_platform_config(|config| Config {
        passthrough_max_body_bytes: 1024,
        ..config
    })
    .await;
    let key = app.acme_connection_key("lingering").await;
    let length = 50 * 1024 * 1024;
    for attempt in 0..12 {
        // A 50 MB body to a JSON route (limit 1 MiB).
        let head = format!(
            "POST /v1/authkit HTTP/1.1\r\nHost: x\r\nx-pica-secret: {}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n",
            app.test_key
        );
        let (status, body) = refused_upload(&app, head, length).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("payload_too_large")),
            "attempt {attempt}"
        );
        // A passthrough over its limit.
        let head = format!(
            "POST /v1/passthrough/upload HTTP/1.1\r\nHost: x\r\nx-pica-secret: {}\r\nx-pica-connection-key: {key}\r\ncontent-length: {length}\r\n\r\n",
            app.test_key
        );
        let (status, body) = refused_upload(&app, head, length).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("payload_too_large")),
            "attempt {attempt}"
        );
    }
    app.stop().await;
}
