//! The gRPC service, end to end: a real server on 127.0.0.1:0 with the bundled models, the real
//! engines and testdata photos (the overload and deadline tests use fake engines of known speed,
//! so that they do not depend on how fast real OCR is); every call is bounded by a deadline and
//! every server stops.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::server::TestServer;
use labelcheck::server::proto::pb;
use labelcheck::server::proto::pb::label_verifier_client::LabelVerifierClient;
use labelcheck::server::{self, TlsFiles};

use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic_types::StatusExt;

/// Longest any single call in these tests may take.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// The manifest's reported serial and expected verdict for a photo.
fn manifest_row(photo: &str) -> (String, String) {
    let mut reader =
        csv::Reader::from_path(common::testdata().join("manifest.csv")).expect("manifest");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let (p, s, v) = (
        col("photo"),
        col("reported_serial"),
        col("expected_verdict"),
    );
    for row in reader.records() {
        let row = row.expect("row");
        if &row[p] == photo {
            return (row[s].to_string(), row[v].to_string());
        }
    }
    panic!("{photo} is not in the manifest");
}

fn request(photo: Vec<u8>, serial: &str) -> tonic::Request<pb::VerifyRequest> {
    let mut request = tonic::Request::new(pb::VerifyRequest {
        photo: photo.into(),
        reported_serial: serial.into(),
        case_id: "case-1".into(),
        ..Default::default()
    });
    request.set_timeout(CALL_DEADLINE);
    request
}

const SERIAL: &str = "DS-7204HQHI-K10420231115AAWRS39003340";

fn verdict_name(v: i32) -> String {
    pb::Verdict::try_from(v)
        .map(|v| v.as_str_name().trim_start_matches("VERDICT_").to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_round_trips_give_the_manifest_verdicts() {
    let server = TestServer::start(|_| {}).await;
    let mut client = server.client().await;
    for prefix in ["001_", "002_", "005_", "007_", "009_"] {
        let photo = common::photo_by_prefix(prefix);
        let (serial, expected) = manifest_row(&photo);
        let reply = client
            .verify(request(common::read_testdata(&photo), &serial))
            .await
            .unwrap_or_else(|s| panic!("{photo}: {s:?}"))
            .into_inner();
        assert_eq!(verdict_name(reply.verdict), expected, "{photo}");
        assert_eq!(reply.case_id, "case-1");
        assert!(reply.width > 0 && reply.height > 0 && reply.thresholds.is_some());
        assert!(!reply.reasons.is_empty(), "{photo}: reasons");
        if expected == "MATCH" {
            assert_eq!(reply.match_kind(), pb::MatchKind::ShortSerial, "{photo}");
            assert!(reply.serial_region.is_some() && reply.confidence.is_some());
        }
    }
    let info = client
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .expect("server info")
        .into_inner();
    assert_eq!(info.workers, 2);
    assert_eq!(info.max_in_flight, 10);
    assert_eq!(info.model_sha256.len(), 64);

    let metrics = reqwest_metrics(server.metrics).await;
    assert!(
        metrics.contains("labelcheck_requests_total{code=\"OK\",verdict=\"MATCH\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("labelcheck_stage_duration_seconds_bucket{stage=\"ocr\""));
    server.stop().await;
}

/// GET /metrics with a plain HTTP/1.1 request.
async fn reqwest_metrics(addr: SocketAddr) -> String {
    let body = common::http_get(&addr.to_string(), "/metrics").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_invalid_argument_naming_the_field_and_the_server_keeps_serving() {
    let server = TestServer::start(|c| c.max_message_bytes = 4 << 20).await;
    let mut client = server.client().await;
    let good = common::read_testdata(&common::photo_by_prefix("001_"));
    let cases: Vec<(&str, Vec<u8>, String, &str)> = vec![
        ("empty photo", vec![], SERIAL.into(), "photo"),
        (
            "garbage",
            b"definitely not a photo".repeat(100),
            SERIAL.into(),
            "photo",
        ),
        (
            "truncated JPEG",
            good[..good.len() / 3].to_vec(),
            SERIAL.into(),
            "photo",
        ),
        (
            "decompression bomb",
            common::png_declaring(60_000, 60_000),
            SERIAL.into(),
            "photo",
        ),
        (
            "empty serial",
            good.clone(),
            String::new(),
            "reported_serial",
        ),
        (
            "overlong serial",
            good.clone(),
            "A".repeat(65),
            "reported_serial",
        ),
        (
            "non-ASCII serial",
            good.clone(),
            "DS-7204HQHI-K10420231115AAWRS3900334\u{e9}".into(),
            "reported_serial",
        ),
        (
            "not a serial",
            good.clone(),
            "hello".into(),
            "reported_serial",
        ),
    ];
    for (name, photo, serial, field) in cases {
        let status = client
            .verify(request(photo, &serial))
            .await
            .expect_err(name);
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        let details = status.get_error_details();
        let violations = &details.bad_request().expect(name).field_violations;
        assert_eq!(violations[0].field, field, "{name}");
    }

    let mut bad_case = request(good.clone(), SERIAL);
    bad_case.get_mut().case_id = "tab\there".into();
    let status = client.verify(bad_case).await.expect_err("bad case id");
    assert_eq!(status.code(), Code::InvalidArgument);

    // Over the message limit: refused by the codec before the photo is buffered.
    let status = client
        .verify(request(vec![0xFF; 5 << 20], SERIAL))
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // Still serving, on the same connection and on a new one.
    let reply = client
        .verify(request(good.clone(), SERIAL))
        .await
        .expect("still serving");
    assert_eq!(reply.get_ref().verdict(), pb::Verdict::Match);
    let mut fresh = server.client().await;
    assert!(fresh.verify(request(good, SERIAL)).await.is_ok());

    let metrics = reqwest_metrics(server.metrics).await;
    assert!(metrics.contains("labelcheck_rejected_total{reason=\"empty_input\"} 1"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = TestServer::start(|_| {}).await;
    let channel = server.channel().await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: server::SERVICE_NAME.into(),
        })
        .await
        .expect("health");
    assert_eq!(
        reply.get_ref().status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let reply = stream.message().await.expect("reply").expect("a message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&server::SERVICE_NAME.to_string()),
        "{names:?}"
    );

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                server::SERVICE_NAME.into(),
            ),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let reply = stream.message().await.expect("reply").expect("a message");
    assert!(matches!(
        reply.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_at_once_and_admitted_calls_finish() {
    // Fake engines taking 30 ms a read: each check holds its worker for a known time (the 12 MP
    // photo has about 40 lines), so ten calls at once overrun one worker and a queue of one.
    let server = TestServer::start(|c| {
        c.workers = 1;
        c.max_queue = 1;
        c.engines = common::server::slow_fakes(30);
    })
    .await;
    let photo = common::read_testdata(&common::photo_by_prefix("000_"));
    let mut calls = Vec::new();
    for _ in 0..10 {
        let mut client = server.client().await;
        let photo = photo.clone();
        calls.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let result = client.verify(request(photo, SERIAL)).await;
            (result.map(|_| ()), started.elapsed())
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for call in calls {
        let (result, _elapsed) = call.await.expect("call task");
        match result {
            Ok(()) => ok += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.get_error_details().retry_info().is_some());
                refused += 1;
            }
        }
    }
    assert!(ok >= 1 && refused >= 1, "ok {ok}, refused {refused}");
    assert_eq!(ok + refused, 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_too_short_gets_deadline_exceeded_and_the_server_keeps_serving() {
    // Fake engines taking 20 ms a read: the photo's first reads alone outlast the deadline.
    let server = TestServer::start(|c| {
        c.workers = 1;
        c.engines = common::server::slow_fakes(20);
    })
    .await;
    let mut client = server.client().await;
    // A 2 MP photo (quick to upload; about 25 lines read both ways up, so about 1 s of fake
    // reads) with a 300 ms deadline. The server answers a tenth of the deadline early, at most
    // 20 ms, and the client gives up at the deadline itself: at 300 ms that leaves the answer
    // 20 ms to arrive (at 60 ms it had 6 ms, which a loaded test machine sometimes overran, and
    // the client then saw its own timeout, CANCELLED).
    let photo = common::read_testdata(&common::photo_by_prefix("001_"));
    let mut short = request(photo.clone(), SERIAL);
    short.set_timeout(Duration::from_millis(300));
    let status = client.verify(short).await.expect_err("too short");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    let metrics = reqwest_metrics(server.metrics).await;
    assert!(
        metrics.contains("labelcheck_rejected_total{reason=\"deadline_exceeded\"} 1"),
        "{metrics}"
    );
    // The abandoned photo stops at its next OCR call; the worker is free again.
    let reply = client
        .verify(request(photo, SERIAL))
        .await
        .expect("next call");
    assert_ne!(reply.get_ref().verdict, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_calls_and_turns_health_not_serving() {
    let mut server = TestServer::start(|c| c.workers = 1).await;
    let channel = server.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let mut watch = health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: server::SERVICE_NAME.into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("watch").expect("status");
    assert_eq!(first.status, 1);

    let mut client = LabelVerifierClient::new(channel);
    let photo = common::read_testdata(&common::photo_by_prefix("000_"));
    let in_flight = tokio::spawn(async move { client.verify(request(photo, SERIAL)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    let next = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("health changes in time")
        .expect("watch")
        .expect("status");
    assert_eq!(next.status, 2, "NOT_SERVING");
    drop(watch);
    let reply = in_flight
        .await
        .expect("task")
        .expect("in-flight call finishes");
    assert_ne!(reply.get_ref().verdict, 0);
    let addr = server.addr;
    server.stop().await;
    let refused = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(refused.is_err(), "no new connections after shutdown");
}

/// A CA, a server certificate for localhost and a client certificate, all PEM, in `dir`.
fn make_certificates(dir: &std::path::Path) -> (TlsFiles, String, (String, String)) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("key");
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).expect("sign");

    let client_key = KeyPair::generate().expect("key");
    let mut client_params =
        CertificateParams::new(vec!["case-backend".to_string()]).expect("params");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).expect("sign");

    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let files = TlsFiles {
        cert: write("server.pem", &server_cert.pem()),
        key: write("server.key", &server_key.serialize_pem()),
        client_ca: Some(write("ca.pem", &ca_cert.pem())),
    };
    (
        files,
        ca_cert.pem(),
        (client_cert.pem(), client_key.serialize_pem()),
    )
}

async fn tls_client(
    addr: SocketAddr,
    ca: &str,
    identity: Option<&(String, String)>,
) -> Result<LabelVerifierClient<Channel>, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
    }
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(LabelVerifierClient::new(channel).max_encoding_message_size(usize::MAX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (files, ca, client_identity) = make_certificates(dir.path());
    let photo = common::read_testdata(&common::photo_by_prefix("001_"));

    // TLS only: any client trusting the CA may call; plaintext may not.
    let mut server_only = files.clone();
    server_only.client_ca = None;
    let server = TestServer::start(|c| c.tls = Some(server_only)).await;
    let mut client = tls_client(server.addr, &ca, None)
        .await
        .expect("TLS client");
    let reply = client
        .verify(request(photo.clone(), SERIAL))
        .await
        .expect("TLS call");
    assert_eq!(reply.get_ref().verdict(), pb::Verdict::Match);
    let plaintext = Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await;
    if let Ok(channel) = plaintext {
        let mut plain = LabelVerifierClient::new(channel);
        assert!(plain.verify(request(photo.clone(), SERIAL)).await.is_err());
    }
    server.stop().await;

    // Mutual TLS: a client certificate from the CA is required.
    let server = TestServer::start(|c| c.tls = Some(files)).await;
    let mut client = tls_client(server.addr, &ca, Some(&client_identity))
        .await
        .expect("mTLS client");
    assert!(client.verify(request(photo.clone(), SERIAL)).await.is_ok());
    let refused = match tls_client(server.addr, &ca, None).await {
        Err(_) => true,
        Ok(mut anonymous) => anonymous.verify(request(photo, SERIAL)).await.is_err(),
    };
    assert!(refused, "a client without a certificate must be refused");
    server.stop().await;
}

/// The Python interpreter with grpcio: `LABELCHECK_PYTHON`, else `.venv-grpc` (made by
/// scripts/python-grpc-env.sh, which scripts/test.sh runs).
fn grpc_python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("LABELCHECK_PYTHON") {
        return Some(p.into());
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-grpc/bin/python");
    venv.is_file().then_some(venv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_grpcio_client_gets_the_verdict() {
    let Some(python) = grpc_python() else {
        // scripts/test.sh sets LABELCHECK_REQUIRE_PYTHON_CLIENT=1 after making the venv, so CI
        // cannot skip this; a bare `cargo test` without the venv says so and passes.
        assert!(
            std::env::var_os("LABELCHECK_REQUIRE_PYTHON_CLIENT").is_none(),
            "no Python with grpcio: run scripts/python-grpc-env.sh"
        );
        eprintln!("skipped: no Python with grpcio (run scripts/python-grpc-env.sh)");
        return;
    };
    let server = TestServer::start(|_| {}).await;
    let photo = common::photo_by_prefix("001_");
    let (serial, expected) = manifest_row(&photo);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/verify_client.py");
    let child = tokio::process::Command::new(&python)
        .arg(script)
        .args(["--target", &server.addr.to_string()])
        .arg("--photo")
        .arg(common::testdata().join(&photo))
        .args(["--serial", &serial, "--expect", &expected])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the Python client finishes within 120 s")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("\"verdict\": \"{expected}\"")),
        "{stdout}"
    );
    server.stop().await;
}
