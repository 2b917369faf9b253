//! A label's verification code is a secret: it never leaves labelcheck as text. `check`, `batch`
//! and `serve` run at the most verbose log level (`trace`) over every testdata photo, and no
//! testdata verification code (the generator's `testdata/verification_codes.csv`, which the QR
//! codes confirm) appears in any output, reply, log line, metric, summary or debug file (names
//! and contents), nor on the batch review page or in any text an annotated photo draws. Labels that print the code on the serial's own line, where OCR reads it with
//! the serial, are checked the same way on the validation set when it has been generated, and a
//! batch over the whole validation set leaks none either.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use labelcheck::pipeline::blur::reference_downscale;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::serial::find_in_text;

/// The log filter for every run: everything, dependencies included.
const MOST_VERBOSE: &str = "trace";

/// The codes listed in a set's `verification_codes.csv`, if the file is there.
fn listed_codes(dir: &Path) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(dir.join("verification_codes.csv")).ok()?;
    let codes: BTreeSet<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .map(str::to_string)
        .collect();
    assert!(
        codes.iter().all(|c| c.len() == 6),
        "{}: not six-letter codes",
        dir.display()
    );
    Some(codes)
}

/// The verification codes inside testdata's QR codes (`full serial:code`), read here with rxing
/// directly (the service itself never keeps them).
fn codes_in_qr_codes() -> BTreeSet<String> {
    use rxing::common::HybridBinarizer;
    use rxing::multi::MultipleBarcodeReader;
    use rxing::qrcode::cpp_port::QrReader;
    use rxing::{BinaryBitmap, DecodeHints, Luma8Source};
    let mut out = BTreeSet::new();
    for row in common::manifest() {
        let gray = decode(
            &common::read_testdata(&row["photo"]),
            &DecodeLimits::default(),
        )
        .expect("testdata decodes")
        .gray;
        let reference = reference_downscale(&gray);
        let img = reference.as_ref().unwrap_or(&gray);
        let source =
            Luma8Source::new_with_slice(img.as_raw(), img.width(), img.height()).expect("source");
        let results = QrReader
            .decode_multiple_with_hints(
                &mut BinaryBitmap::new(HybridBinarizer::new(source)),
                &DecodeHints {
                    TryHarder: Some(true),
                    ..Default::default()
                },
            )
            .unwrap_or_default();
        for r in results {
            let parts: Vec<&str> = r
                .getText()
                .split([':', '\r', '\n'])
                .filter(|p| !p.is_empty())
                .collect();
            if let [serial, code, ..] = parts[..] {
                assert_eq!(code.len(), 6, "{}: {:?}", row["photo"], r.getText());
                assert!(!find_in_text(serial).is_empty());
                out.insert(code.to_string());
            }
        }
    }
    out
}

/// Fails naming `what` if `text` holds any of `codes`.
fn assert_no_code(what: &str, text: &str, codes: &BTreeSet<String>) {
    for code in codes {
        assert!(
            !text.contains(code.as_str()),
            "{what} contains the verification code {code}"
        );
    }
}

/// The bundled binary at the most verbose log level.
fn labelcheck_traced() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_labelcheck"));
    command
        .env("LABELCHECK_LOG", MOST_VERBOSE)
        .env_remove("LABELCHECK_MODEL_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`: its name and its bytes (as lossy text).
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read debug file");
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect()
}

/// `check` on each row of the manifest at `dir` (JSON and text output in turn), with every crop
/// written to a debug folder: no code in the output, the log or any debug file.
fn check_leaks_nothing(
    dir: &Path,
    rows: &[std::collections::BTreeMap<String, String>],
    codes: &BTreeSet<String>,
) {
    let scratch = tempfile::tempdir().expect("tempdir");
    for (i, row) in rows.iter().enumerate() {
        let debug_dir = scratch.path().join(format!("debug-{i}"));
        let mut command = labelcheck_traced();
        command
            .arg("check")
            .arg(dir.join(&row["photo"]))
            .args(["--serial", &row["reported_serial"]])
            .arg("--debug-dir")
            .arg(&debug_dir);
        if i % 2 == 0 {
            command.arg("--json");
        }
        let out = command.output().expect("run check");
        let text = output_text(&out);
        assert!(text.contains("verdict"), "check {}: {text}", row["photo"]);
        assert_no_code(&format!("check {}", row["photo"]), &text, codes);
        for (name, contents) in files_under(&debug_dir) {
            assert_no_code("a debug file name", &name, codes);
            assert_no_code(&format!("debug file {name}"), &contents, codes);
        }
    }
}

#[test]
fn the_code_list_is_the_labels_own() {
    let listed = listed_codes(&common::testdata()).expect("testdata/verification_codes.csv");
    let photos: BTreeSet<String> = common::manifest()
        .into_iter()
        .map(|r| r["photo"].clone())
        .collect();
    assert!(listed.len() >= photos.len(), "one code per label at least");
    let in_qr = codes_in_qr_codes();
    assert!(
        in_qr.len() >= 60,
        "only {} verification codes read from testdata's QR codes",
        in_qr.len()
    );
    let unlisted: Vec<&String> = in_qr.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "QR codes hold unlisted codes {unlisted:?}"
    );
}

#[test]
fn verification_codes_never_leave_check() {
    let codes = listed_codes(&common::testdata()).expect("testdata/verification_codes.csv");
    check_leaks_nothing(&common::testdata(), &common::manifest(), &codes);
}

/// Labels that print `VC: ……` on the serial's own line: OCR reads the code with the serial.
#[test]
fn a_code_read_on_the_serials_line_never_leaves_check() {
    let Some(dir) = common::labelset("validation") else {
        return;
    };
    let Some(codes) = listed_codes(&dir) else {
        let required = std::env::var("LABELCHECK_REQUIRE_LABELSETS").is_ok_and(|v| v == "1");
        assert!(!required, "{}: no verification_codes.csv", dir.display());
        eprintln!("skipping: {} has no verification_codes.csv", dir.display());
        return;
    };
    let rows: Vec<_> = common::manifest_at(&dir.join("manifest.csv"))
        .into_iter()
        .filter(|r| r["case"] == "code_beside_serial" || r["print"].contains("code-on-serial-line"))
        .collect();
    assert!(rows.len() >= 20, "{} code-beside photos", rows.len());
    check_leaks_nothing(&dir, &rows, &codes);
}

/// Every validation photo in one batch run at the most verbose log level: no code in a row or
/// the log. A code is read wherever OCR takes its line for the serial's (a label whose serial is
/// hidden, a caption misread), not only where it is printed beside the serial.
#[test]
fn no_code_leaves_a_batch_over_the_validation_set() {
    let Some(dir) = common::labelset("validation") else {
        return;
    };
    let Some(codes) = listed_codes(&dir) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let out_path = scratch.path().join("out.jsonl");
    let out = labelcheck_traced()
        .arg("batch")
        .arg(dir.join("manifest.csv"))
        .arg("--out")
        .arg(&out_path)
        .args(["--progress", "off", "--jobs", "2"])
        .output()
        .expect("run batch");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rows_text = std::fs::read_to_string(&out_path).expect("batch output");
    assert!(rows_text.lines().count() >= 400, "a short batch");
    assert_no_code("validation batch rows", &rows_text, &codes);
    assert_no_code("validation batch log", &output_text(&out), &codes);
}

/// The review page of every testdata row, and every text an annotated photo draws, hold no code.
fn review_leaks_nothing(rows_text: &str, review: &Path, codes: &BTreeSet<String>) {
    let html = std::fs::read_to_string(review.join("index.html")).expect("review page");
    assert!(html.contains("<article"), "an empty review page");
    assert_no_code("the review page", &html, codes);
    let mut annotated = 0;
    for line in rows_text.lines() {
        let row: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).expect("a JSON row");
        let Ok(report) = labelcheck::batch::report_of_row(&row) else {
            continue;
        };
        let photo = image::RgbImage::new(report.width.max(1), report.height.max(1));
        for text in labelcheck::annotate::annotate(&photo, &report).texts {
            assert_no_code("an annotated photo's text", &text, codes);
        }
        annotated += 1;
    }
    assert!(annotated > 80, "{annotated} reports annotated");
}

#[test]
fn verification_codes_never_leave_batch() {
    let codes = listed_codes(&common::testdata()).expect("testdata/verification_codes.csv");
    let dir = tempfile::tempdir().expect("tempdir");
    for format in ["jsonl", "csv"] {
        let out_path = dir.path().join(format!("out.{format}"));
        let summary = dir.path().join(format!("summary-{format}.json"));
        let review = dir.path().join("review");
        let mut batch = labelcheck_traced();
        batch
            .arg("batch")
            .arg(common::testdata().join("manifest.csv"))
            .arg("--out")
            .arg(&out_path)
            .args(["--format", format, "--progress", "off", "--jobs", "2"])
            .arg("--summary-json")
            .arg(&summary);
        if format == "jsonl" {
            batch.arg("--review").arg(&review).arg("--review-all");
        }
        let out = batch.output().expect("run batch");
        assert!(out.status.success(), "{}", common::stderr(&out));
        let rows_text = std::fs::read_to_string(&out_path).expect("batch output");
        assert!(rows_text.contains("qr"), "no code in the batch rows");
        assert_no_code("batch rows", &rows_text, &codes);
        if format == "jsonl" {
            review_leaks_nothing(&rows_text, &review, &codes);
        }
        assert_no_code("batch log", &output_text(&out), &codes);
        let summary = std::fs::read_to_string(&summary).expect("summary");
        assert!(summary.contains("MATCH"), "{summary}");
        assert_no_code("batch summary", &summary, &codes);
    }
}

#[test]
fn verification_codes_never_leave_serve() {
    use std::io::{BufRead, BufReader, Read};
    /// Kills the server if the test fails before stopping it.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let codes = listed_codes(&common::testdata()).expect("testdata/verification_codes.csv");
    let rows = common::manifest();
    let mut server = labelcheck_traced()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(["--workers", "2", "--log-format", "json"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut log = BufReader::new(server.stderr.take().expect("stderr"));
    let mut server = Killed(server);
    let mut seen = String::new();
    let (grpc, metrics) = loop {
        let mut line = String::new();
        log.read_line(&mut line).expect("a log line");
        assert!(!line.is_empty(), "serve ended before serving:\n{seen}");
        seen += &line;
        let Ok(line) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if line["fields"]["message"] == "labelcheck serving" {
            break (
                line["fields"]["grpc"].as_str().expect("grpc").to_string(),
                line["fields"]["metrics"]
                    .as_str()
                    .expect("metrics")
                    .to_string(),
            );
        }
    };
    // Drain the log while the calls run: a trace-level log fills a pipe nobody reads.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = log.read_to_string(&mut rest);
        rest
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (replies, metrics_text) = runtime.block_on(async {
        use labelcheck::server::proto::pb;
        let mut client =
            pb::label_verifier_client::LabelVerifierClient::connect(format!("http://{grpc}"))
                .await
                .expect("connect")
                .max_decoding_message_size(64 << 20);
        let mut replies = String::new();
        for row in &rows {
            let mut request = tonic::Request::new(pb::VerifyRequest {
                photo: common::read_testdata(&row["photo"]).into(),
                reported_serial: row["reported_serial"].clone(),
                case_id: format!("secret-{}", row["photo"]),
                ..Default::default()
            });
            request.set_timeout(Duration::from_secs(60));
            let reply = client.verify(request).await.expect("verify");
            replies += &format!("{:?}\n", reply.get_ref());
        }
        let metrics_addr = metrics.trim_start_matches("http://");
        let metrics_addr = metrics_addr.split('/').next().unwrap_or(metrics_addr);
        (replies, common::http_get(metrics_addr, "/metrics").await)
    });
    assert!(replies.contains("codes: [Code"), "{replies}");
    assert_no_code("gRPC replies", &replies, &codes);
    assert!(
        metrics_text.contains("labelcheck_codes_found_total{"),
        "{metrics_text}"
    );
    assert_no_code("metrics", &metrics_text, &codes);
    let _ = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status();
    let rest = drain.join().expect("log reader");
    let _ = server.0.wait();
    assert!(rest.contains("\"verified\""), "{rest}");
    assert!(
        rest.contains("TRACE"),
        "the log is not at the most verbose level"
    );
    assert_no_code("serve log", &format!("{seen}{rest}"), &codes);
}
