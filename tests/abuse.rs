//! HTTP/2 and gRPC abuse against a real server on 127.0.0.1: rapid stream resets, more streams
//! than allowed, oversized header lists, a photo sent one byte at a time, hundreds of idle
//! connections, a client that never reads its replies, a peer that never answers a keepalive
//! ping and a connection past its maximum age. Throughout, health checks and a
//! well-behaved client keep getting answers within bounds. Every test is bounded in count and
//! time, and every server stops.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::server::TestServer;
use labelcheck::server::ConnectionLimits;
use labelcheck::server::proto::pb;
use prost::bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest a health check or a well-behaved call may take while the server is being abused.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
const SERIAL: &str = "DS-7204HQHI-K10420231115AAWRS39003340";
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
const VERIFY: &str = "/labelcheck.v1.LabelVerifier/Verify";

/// A health check on a new connection: SERVING, within [`ANSWER_WITHIN`].
async fn healthy(server: &TestServer) {
    let check = async {
        let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
        health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status
    };
    let status = tokio::time::timeout(ANSWER_WITHIN, check)
        .await
        .expect("a health check answered in time");
    assert_eq!(status, 1, "SERVING");
}

/// A well-behaved Verify call on a new connection: the right verdict, within [`ANSWER_WITHIN`].
async fn verifies(server: &TestServer) {
    let photo = common::read_testdata(&common::photo_by_prefix("001_"));
    let call = async {
        let mut client = server.client().await;
        let mut request = tonic::Request::new(pb::VerifyRequest {
            photo: photo.into(),
            reported_serial: SERIAL.into(),
            case_id: "good".into(),
            ..Default::default()
        });
        request.set_timeout(ANSWER_WITHIN);
        client.verify(request).await.expect("verify").into_inner()
    };
    let reply = tokio::time::timeout(ANSWER_WITHIN, call)
        .await
        .expect("a verify call answered in time");
    assert_eq!(reply.verdict, pb::Verdict::Match as i32, "{reply:?}");
}

/// A raw HTTP/2 client connection (h2), its connection task spawned.
async fn raw_h2(addr: SocketAddr) -> (h2::client::SendRequest<Bytes>, tokio::task::JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (send, task)
}

/// A gRPC request's headers for `path`, with `extra` metadata.
fn grpc_headers(path: &str, extra: &[(&str, String)]) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://127.0.0.1{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    request.body(()).expect("request")
}

/// One gRPC message frame around `message`.
fn grpc_frame(message: &[u8]) -> Bytes {
    let mut out = vec![0u8];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.into()
}

/// Most streams a client may open and cancel before the server sends it away: "about 20" in
/// docs/operations.md (h2 allows 20 streams reset before the server accepted them; 21 measured).
const MAX_RESETS_BEFORE_GOAWAY: u32 = 32;

/// Reads frames from `tcp` until a GOAWAY: its last stream id and error code, or `None` if the
/// connection ends first or nothing comes within `limit`.
async fn goaway_within(tcp: &mut TcpStream, limit: Duration) -> Option<(u32, u32)> {
    let started = Instant::now();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        while buf.len() >= 9 {
            let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
            if buf.len() < 9 + len {
                break;
            }
            if buf[3] == 0x7 && len >= 8 {
                let payload = &buf[9..9 + len];
                let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                    & 0x7fff_ffff;
                let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                return Some((last, code));
            }
            buf.drain(..9 + len);
        }
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_stream_resets_cost_the_abuser_its_connection_and_nobody_else_anything() {
    let server = TestServer::start(|_| {}).await;
    // After the preface, 5,000 streams, each opened (HEADERS) and at once cancelled (RST_STREAM
    // CANCEL), written as fast as the socket takes them.
    let mut tcp = silent_client(server.addr).await;
    let mut bytes = Vec::new();
    let headers = header_block(&request_fields(HEALTH_CHECK));
    let cancel = 0x8u32.to_be_bytes();
    for i in 0..5_000u32 {
        let stream = 2 * i + 1;
        bytes.extend(frame(0x1, 0x4, stream, &headers));
        bytes.extend(frame(0x3, 0, stream, &cancel));
    }
    let writer = tokio::spawn(async move {
        let _ = tcp.write_all(&bytes).await;
        tcp
    });
    let mut tcp = writer.await.expect("writer");
    let (last_stream, code) = goaway_within(&mut tcp, Duration::from_secs(10))
        .await
        .expect("a GOAWAY within 10 s");
    eprintln!(
        "rapid reset: GOAWAY (code {code:#x}) after stream {last_stream}, the {}th",
        last_stream.div_ceil(2)
    );
    // ENHANCE_YOUR_CALM, within about 20 streams, as docs/operations.md says.
    assert_eq!(code, 0xb, "GOAWAY's error code");
    assert!(
        last_stream.div_ceil(2) <= MAX_RESETS_BEFORE_GOAWAY,
        "the abuser opened {} streams before its GOAWAY",
        last_stream.div_ceil(2)
    );
    drop(tcp);
    healthy(&server).await;
    verifies(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_past_the_limit_are_refused_and_others_are_served() {
    let server = TestServer::start(|c| {
        c.connections = ConnectionLimits {
            max_streams: 4,
            ..ConnectionLimits::default()
        }
    })
    .await;
    // Eight Verify calls opened at once by hand (a client that ignores the server's settings),
    // none sending its photo.
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let mut out = PREFACE.to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    let headers = header_block(&request_fields(VERIFY));
    for stream in (1..=15).step_by(2) {
        out.extend(frame(0x1, 0x4, stream, &headers));
    }
    tcp.write_all(&out).await.expect("write");
    // Read the server's frames for a second: its settings, and a reset of each stream past 4.
    let mut settings_max = None;
    let mut refused = std::collections::BTreeSet::new();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        tcp.read(&mut buf),
    )
    .await
    {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let mut at = 0;
    while at + 9 <= got.len() {
        let len = u32::from_be_bytes([0, got[at], got[at + 1], got[at + 2]]) as usize;
        let (kind, flags) = (got[at + 3], got[at + 4]);
        let stream = u32::from_be_bytes([got[at + 5], got[at + 6], got[at + 7], got[at + 8]]);
        let Some(payload) = got.get(at + 9..at + 9 + len) else {
            break;
        };
        match kind {
            0x4 if flags & 1 == 0 => {
                for setting in payload.chunks_exact(6) {
                    if setting[..2] == [0, 3] {
                        settings_max = Some(u32::from_be_bytes([
                            setting[2], setting[3], setting[4], setting[5],
                        ]));
                    }
                }
            }
            0x3 if payload == [0, 0, 0, 7] => {
                refused.insert(stream);
            }
            _ => {}
        }
        at += 9 + len;
    }
    assert_eq!(settings_max, Some(4), "SETTINGS_MAX_CONCURRENT_STREAMS");
    assert_eq!(
        refused.into_iter().collect::<Vec<_>>(),
        vec![9, 11, 13, 15],
        "the streams past the limit get REFUSED_STREAM"
    );
    healthy(&server).await;
    verifies(&server).await;
    drop(tcp);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_header_list_is_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(|c| {
        c.connections = ConnectionLimits {
            max_header_list_bytes: 8 * 1024,
            ..ConnectionLimits::default()
        }
    })
    .await;
    // 64 KiB of metadata in one header list, eight times the limit.
    let big = "x".repeat(64 * 1024);
    let (send, task) = raw_h2(server.addr).await;
    let mut send = send.ready().await.expect("ready");
    let refused = match send.send_request(grpc_headers(HEALTH_CHECK, &[("x-big", big)]), false) {
        Err(_) => true,
        Ok((response, mut stream)) => {
            let _ = stream.send_data(grpc_frame(&[]), true);
            let answer = tokio::time::timeout(ANSWER_WITHIN, response)
                .await
                .expect("an answer in time");
            match answer {
                Err(_) => true,
                Ok(r) => r.status() == http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            }
        }
    };
    assert!(refused, "a header list over the limit was served");
    healthy(&server).await;
    verifies(&server).await;
    task.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_sent_one_byte_a_second_is_cut_off_at_the_request_time_limit() {
    let server = TestServer::start(|c| c.max_request_time = Duration::from_secs(2)).await;
    let (send, task) = raw_h2(server.addr).await;
    let mut send = send.ready().await.expect("ready");
    let (response, mut stream) = send
        .send_request(grpc_headers(VERIFY, &[]), false)
        .expect("send");
    // A message header announcing 1 MB, then one byte a second.
    let started = Instant::now();
    let header: Vec<u8> = [0u8]
        .into_iter()
        .chain(1_000_000u32.to_be_bytes())
        .collect();
    stream.send_data(Bytes::from(header), false).expect("data");
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream
                .send_data(Bytes::from_static(b"\x0a"), false)
                .is_err()
            {
                break;
            }
        }
    });
    // Meanwhile others are served.
    healthy(&server).await;
    let response = tokio::time::timeout(Duration::from_secs(8), response)
        .await
        .expect("the slow call ends within the request time limit and slack");
    let took = started.elapsed();
    let status = match response {
        Ok(r) if r.headers().contains_key("grpc-status") => r
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap_or("?").to_string()),
        Ok(r) => {
            let mut body = r.into_body();
            let trailers = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(chunk) = body.data().await {
                    if chunk.is_err() {
                        break;
                    }
                }
                body.trailers().await
            })
            .await
            .expect("trailers in time");
            trailers
                .ok()
                .flatten()
                .and_then(|t| t.get("grpc-status").cloned())
                .map(|v| v.to_str().unwrap_or("?").to_string())
        }
        Err(e) => Some(format!("reset: {e}")),
    };
    eprintln!(
        "slow sender: ended after {:.1} s with {status:?}",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_ne!(status.as_deref(), Some("0"), "a slow upload succeeded");
    trickle.abort();
    // Its admission slot is free again.
    verifies(&server).await;
    task.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_connections_are_closed_and_a_busy_one_is_not() {
    let server = TestServer::start(|c| {
        c.connections = ConnectionLimits {
            idle_timeout: Duration::from_secs(2),
            ..ConnectionLimits::default()
        }
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(raw_h2(server.addr).await.1);
    }
    healthy(&server).await;
    // A connection used every half second stays open past the idle timeout.
    let (send, busy_task) = raw_h2(server.addr).await;
    let mut send = send;
    for _ in 0..8 {
        send = send.ready().await.expect("the busy connection stays open");
        let (response, mut stream) = send
            .send_request(grpc_headers(HEALTH_CHECK, &[]), false)
            .expect("send");
        stream.send_data(grpc_frame(&[]), true).expect("data");
        let response = tokio::time::timeout(ANSWER_WITHIN, response)
            .await
            .expect("answer in time")
            .expect("answer");
        assert_eq!(response.status(), http::StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!busy_task.is_finished(), "a busy connection was closed");
    // Every idle one has been closed by now (4 s after the last opened, twice the timeout).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut open = idle.len();
    while Instant::now() < deadline {
        open = idle.iter().filter(|t| !t.is_finished()).count();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "{open} of 300 idle connections still open");
    verifies(&server).await;
    busy_task.abort();
    server.stop().await;
}

/// What an HTTP/2 client sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The header fields of a gRPC request to `path`.
fn request_fields(path: &str) -> [(&str, &str); 6] {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "127.0.0.1"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
}

/// An HTTP/2 frame: header (length, type, flags, stream) and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK header block of literal fields, never indexed (names and values under 127 bytes).
fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x10);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(value.len() as u8);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_replies_stalls_only_itself() {
    let server = TestServer::start(|_| {}).await;
    // Health checks by hand, as fast as the socket takes them, never reading a byte back.
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let mut bytes = PREFACE.to_vec();
    bytes.extend(frame(0x4, 0, 0, &[]));
    tcp.write_all(&bytes).await.expect("preface");
    let headers = header_block(&request_fields(HEALTH_CHECK));
    let started = Instant::now();
    let mut sent = 0u32;
    let writer = async {
        // Within the stream limit, in rounds: the server answers each; nobody reads.
        for stream in (1..2 * 60).step_by(2) {
            let mut out = frame(0x1, 0x4, stream, &headers);
            out.extend(frame(0x0, 0x1, stream, &[0, 0, 0, 0, 0]));
            if tcp.write_all(&out).await.is_err() {
                break;
            }
            sent += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .expect("the requests are taken");
    eprintln!(
        "never-reading client: {sent} calls sent in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // Others are served while its replies sit unread.
    healthy(&server).await;
    verifies(&server).await;
    // The replies were written: reading now finds them.
    let mut buf = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("replies waiting")
        .expect("read");
    assert!(n > 0);
    server.stop().await;
}

/// Reads from `tcp` until the server closes it; how long that took, or `None` past `limit`.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// The preface and an empty SETTINGS frame, then silence: a client that never answers a PING.
async fn silent_client(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let mut bytes = PREFACE.to_vec();
    bytes.extend(frame(0x4, 0, 0, &[]));
    tcp.write_all(&bytes).await.expect("preface");
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_answers_a_ping_is_dropped_after_the_keepalive_timeout() {
    let server = TestServer::start(|c| {
        c.connections = ConnectionLimits {
            keepalive_interval: Duration::from_millis(500),
            keepalive_timeout: Duration::from_millis(500),
            ..ConnectionLimits::default()
        }
    })
    .await;
    let mut tcp = silent_client(server.addr).await;
    let took = closed_within(&mut tcp, Duration::from_secs(10))
        .await
        .expect("dropped within 10 s");
    eprintln!(
        "unanswered pings: dropped after {:.1} s",
        took.as_secs_f64()
    );
    // The interval and the timeout, 1.0 s, as docs/operations.md says, with a second of slack.
    assert!(
        took <= Duration::from_secs(2),
        "a silent peer was dropped after {:.1} s, not about 1 s",
        took.as_secs_f64()
    );
    healthy(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_its_maximum_age_is_sent_away() {
    let server = TestServer::start(|c| {
        c.connections = ConnectionLimits {
            max_connection_age: Duration::from_secs(1),
            ..ConnectionLimits::default()
        };
        c.max_request_time = Duration::from_secs(1);
    })
    .await;
    // Without keepalive pings answered or calls made, only its age ends it (the idle timeout is
    // 300 s, keepalive 60 s).
    let mut tcp = silent_client(server.addr).await;
    let took = closed_within(&mut tcp, Duration::from_secs(10))
        .await
        .expect("sent away within 10 s");
    eprintln!("maximum age 1 s: closed after {:.1} s", took.as_secs_f64());
    assert!(took >= Duration::from_millis(900), "{took:?}");
    healthy(&server).await;
    server.stop().await;
}
