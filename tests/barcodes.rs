//! The label's codes, on real photos: testdata's QR codes and barcodes decoded (the rate is
//! printed), damaged codes give no reading rather than a wrong one, and a label's verification
//! code (inside its QR code) never leaves the service: not from `check`, `batch` or `serve` at
//! debug level, not in replies, rows, metrics or debug file names.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use image::GrayImage;
use labelcheck::pipeline::barcode::{CodeRead, Symbology, find_codes};
use labelcheck::pipeline::blur::reference_downscale;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::serial::find_in_text;

fn upright(name: &str) -> GrayImage {
    decode(&common::read_testdata(name), &DecodeLimits::default())
        .expect("testdata decodes")
        .gray
}

fn codes_of(gray: &GrayImage) -> Vec<CodeRead> {
    let reference = reference_downscale(gray);
    find_codes(gray, reference.as_ref().unwrap_or(gray))
}

/// Whether `serial` (a code's exact full serial) is the serial this row's label prints: equal to
/// the printed full serial, or ending in the printed short one.
fn is_labels_serial(row: &std::collections::BTreeMap<String, String>, serial: &str) -> bool {
    let printed = &row["printed_serial"];
    if printed.len() > 9 {
        serial == printed
    } else {
        !printed.is_empty() && serial.contains(printed.as_str())
    }
}

#[test]
fn testdata_codes_are_decoded_and_never_wrong() {
    let rows = common::manifest();
    let (mut qr, mut code128, mut serial_from_a_code, mut with_printed) = (0, 0, 0, 0);
    for row in &rows {
        let codes = codes_of(&upright(&row["photo"]));
        qr += usize::from(codes.iter().any(|c| c.symbology == Symbology::Qr));
        code128 += usize::from(codes.iter().any(|c| c.symbology == Symbology::Code128));
        let serials: Vec<&str> = codes.iter().filter_map(|c| c.serial.as_deref()).collect();
        if row["case"] == "two_serials" || row["printed_serial"].is_empty() {
            continue;
        }
        with_printed += 1;
        for s in &serials {
            assert!(
                is_labels_serial(row, s),
                "{}: a code read {s}, the label prints {}",
                row["photo"],
                row["printed_serial"]
            );
        }
        serial_from_a_code += usize::from(!serials.is_empty());
    }
    println!(
        "testdata: a QR code decoded on {qr}/{n} photos, a Code 128 on {code128}/{n}; \
         the label's serial from a code on {serial_from_a_code}/{with_printed} photos with one label",
        n = rows.len()
    );
    // Measured: QR 75/86, Code 128 13/86, serial 63/74 (the 10 blurred_illegible photos have
    // codes as blurred as their text).
    assert!(
        qr * 100 >= 80 * rows.len(),
        "QR codes on {qr}/{}",
        rows.len()
    );
    assert!(
        serial_from_a_code * 100 >= 80 * with_printed,
        "serial from a code on {serial_from_a_code}/{with_printed}"
    );
}

/// A small deterministic generator for the damage below.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

/// Paints `(x0, y0, x1, y1)` with `level`.
fn paint(img: &mut GrayImage, b: (u32, u32, u32, u32), level: u8) {
    for y in b.1..b.3.min(img.height()) {
        for x in b.0..b.2.min(img.width()) {
            img.put_pixel(x, y, image::Luma([level]));
        }
    }
}

#[test]
fn cut_off_and_smudged_codes_give_no_reading_rather_than_a_wrong_one() {
    let rows = common::manifest();
    let mut rng = Lcg(20_261_203);
    let (mut damaged, mut tried, mut none, mut right) = (0, 0, 0, 0);
    for row in rows.iter().filter(|r| r["case"] == "full_match").take(6) {
        let gray = upright(&row["photo"]);
        let intact = codes_of(&gray);
        let Some(serial) = intact.iter().find_map(|c| c.serial.clone()) else {
            continue;
        };
        for code in &intact {
            let (x0, y0, x1, y1) = (
                code.bbox.0.max(0.0) as u32,
                code.bbox.1.max(0.0) as u32,
                code.bbox.2 as u32,
                code.bbox.3 as u32,
            );
            let (w, h) = (x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1));
            for damage in 0..8 {
                let mut img = gray.clone();
                match damage % 4 {
                    // Cut off: a third to two thirds of the code painted out from one side.
                    0 | 1 => {
                        let part = 33 + rng.below(34);
                        let cut = match rng.below(4) {
                            0 => (x0, y0, x0 + w * part / 100, y1),
                            1 => (x1 - w * part / 100, y0, x1, y1),
                            2 => (x0, y0, x1, y0 + h * part / 100),
                            _ => (x0, y1 - h * part / 100, x1, y1),
                        };
                        paint(&mut img, cut, if damage % 2 == 0 { 255 } else { 128 });
                    }
                    // Smudges: dark and light blots over the code.
                    _ => {
                        for _ in 0..(10 + rng.below(30)) {
                            let (bx, by) = (x0 + rng.below(w), y0 + rng.below(h));
                            let s = 2 + rng.below(w / 6 + 1);
                            let level = if rng.below(2) == 0 { 20 } else { 235 };
                            paint(&mut img, (bx, by, bx + s, by + s), level);
                        }
                    }
                }
                damaged += 1;
                for c in codes_of(&img) {
                    tried += 1;
                    match c.serial.as_deref() {
                        None => none += 1,
                        Some(s) if s == serial => right += 1,
                        Some(s) => panic!(
                            "{}: a damaged {:?} read {s}, the label's serial is {serial}",
                            row["photo"], c.symbology
                        ),
                    }
                }
            }
        }
    }
    println!(
        "{damaged} photos with a damaged code: {tried} codes still decoded, {right} with the \
         label's serial, {none} with none, none with another"
    );
    assert!(
        tried > 0,
        "no damaged code was decoded at all: the test saw nothing"
    );
}

/// The verification codes in testdata's QR codes, read here with rxing directly (the service
/// itself never keeps them), by photo.
fn verification_codes() -> Vec<(String, String)> {
    use rxing::common::HybridBinarizer;
    use rxing::multi::MultipleBarcodeReader;
    use rxing::qrcode::cpp_port::QrReader;
    use rxing::{BinaryBitmap, DecodeHints, Luma8Source};
    let mut out = Vec::new();
    for row in common::manifest() {
        let gray = upright(&row["photo"]);
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
                out.push((row["photo"].clone(), code.to_string()));
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

#[test]
fn verification_codes_never_leave_check_batch_or_serve() {
    let found = verification_codes();
    let codes: BTreeSet<String> = found.iter().map(|(_, c)| c.clone()).collect();
    assert!(
        codes.len() >= 60,
        "only {} verification codes read from testdata's QR codes",
        codes.len()
    );
    let rows = common::manifest();
    let dir = tempfile::tempdir().expect("tempdir");

    // check, at debug level, with every crop written to a debug directory.
    for row in rows.iter().step_by(11) {
        let photo = common::testdata().join(&row["photo"]);
        let debug_dir = dir.path().join(format!("debug-{}", row["photo"]));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_labelcheck"))
            .args(["check", photo.to_str().expect("utf-8")])
            .args(["--serial", &row["reported_serial"], "--json"])
            .args(["--debug-dir", debug_dir.to_str().expect("utf-8")])
            .env("LABELCHECK_LOG", "debug")
            .env_remove("LABELCHECK_MODEL_DIR")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("\"codes\""), "{text}");
        assert_no_code(&format!("check {}", row["photo"]), &text, &codes);
        let names: Vec<String> = std::fs::read_dir(&debug_dir)
            .expect("debug dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_no_code("debug file names", &names.join(" "), &codes);
    }

    // batch over all of testdata, at debug level, JSON rows then CSV.
    for (ext, format) in [("jsonl", "jsonl"), ("csv", "csv")] {
        let out_path = dir.path().join(format!("out.{ext}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_labelcheck"))
            .args(["batch"])
            .arg(common::testdata().join("manifest.csv"))
            .arg("--out")
            .arg(&out_path)
            .args(["--format", format, "--progress", "off", "--summary-json"])
            .arg(dir.path().join(format!("summary-{ext}.json")))
            .env("LABELCHECK_LOG", "debug")
            .env_remove("LABELCHECK_MODEL_DIR")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run batch");
        assert!(out.status.success(), "{}", common::stderr(&out));
        let rows_text = std::fs::read_to_string(&out_path).expect("batch output");
        assert!(rows_text.contains("qr"), "no code in the batch rows");
        assert_no_code("batch rows", &rows_text, &codes);
        assert_no_code("batch log", &common::stderr(&out), &codes);
        let summary = std::fs::read_to_string(dir.path().join(format!("summary-{ext}.json")))
            .unwrap_or_default();
        assert_no_code("batch summary", &summary, &codes);
    }

    // serve, at debug level: replies, log and metrics.
    serve_leaks_nothing(&rows, &codes);
}

fn serve_leaks_nothing(
    rows: &[std::collections::BTreeMap<String, String>],
    codes: &BTreeSet<String>,
) {
    use std::io::{BufRead, BufReader, Read};
    /// Kills the server if the test fails before stopping it.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(["--workers", "2", "--log-format", "json"])
        .env("LABELCHECK_LOG", "debug")
        .env_remove("LABELCHECK_MODEL_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut log = BufReader::new(server.stderr.take().expect("stderr"));
    let mut server = Killed(server);
    let mut first = String::new();
    let (grpc, metrics) = loop {
        first.clear();
        log.read_line(&mut first).expect("a log line");
        assert!(!first.is_empty(), "serve ended before serving");
        let line: serde_json::Value = serde_json::from_str(&first).expect("JSON log");
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
    // Drain the log while the calls run: a debug-level log fills a pipe nobody reads.
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
        for row in rows.iter().step_by(4) {
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
    assert_no_code("gRPC replies", &replies, codes);
    assert!(
        metrics_text.contains("labelcheck_codes_found_total{"),
        "{metrics_text}"
    );
    assert_no_code("metrics", &metrics_text, codes);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status();
    let rest = drain.join().expect("log reader");
    let _ = server.0.wait();
    assert!(rest.contains("\"verified\""), "{rest}");
    assert_no_code("serve log", &format!("{first}{rest}"), codes);
}
