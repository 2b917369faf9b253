//! The `labelcheck` binary as a user runs it: output, exit codes, errors naming the file, and a
//! refusal to start without a sound model.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{labelcheck, stderr};

fn testdata_path(name: &str) -> String {
    common::testdata().join(name).display().to_string()
}

#[test]
fn check_json_reports_size_orientation_and_blur() {
    let photo = testdata_path(&common::photo_by_prefix("012_"));
    let out = labelcheck(&["check", &photo, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["width"], 1280);
    assert_eq!(json["height"], 960);
    assert_eq!(json["exif_orientation"], 6);
    assert_eq!(json["orientation_applied"], true);
    assert_eq!(json["format"], "jpeg");
    assert!(json["blur_score"].as_f64().expect("blur score") > 0.0);
    assert!(json["blur_score_normalized"].as_f64().is_some());
}

#[test]
fn check_text_output() {
    let photo = testdata_path(&common::photo_by_prefix("000_"));
    let out = labelcheck(&["check", &photo]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("4032x3024"), "{text}");
    assert!(text.contains("blur score:"), "{text}");
}

#[test]
fn blurred_photo_scores_far_below_sharp_one() {
    let score = |prefix: &str| {
        let out = labelcheck(&[
            "check",
            &testdata_path(&common::photo_by_prefix(prefix)),
            "--json",
        ]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        json["blur_score_normalized"].as_f64().expect("score")
    };
    // 004 is a sharp 1280x960 photo, 005 a defocused one.
    assert!(score("005_") * 5.0 < score("004_"));
}

#[test]
fn missing_and_bad_photos_name_the_file_and_exit_2() {
    let out = labelcheck(&["check", "no/such/photo.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/photo.jpg"),
        "{}",
        stderr(&out)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("notes.jpg");
    std::fs::write(&bad, b"these are not pixels").expect("write");
    let out = labelcheck(&["check", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("notes.jpg") && err.contains("not a JPEG, PNG or WebP"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn refuses_to_start_without_a_model() {
    let photo = testdata_path(&common::photo_by_prefix("001_"));
    let out = labelcheck(&["--model-dir", "/nonexistent/models", "check", &photo]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/models"),
        "{}",
        stderr(&out)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args(["check", &photo])
        .env("LABELCHECK_MODEL_DIR", "/also/missing")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/also/missing"), "{}", stderr(&out));
}

/// A model folder holding `bytes` as the Tesseract model (and `sums`), with the bundled learned
/// recogniser and ONNX Runtime library, each replaced by its entry in `learned` when there is one.
fn model_dir_with(
    bytes: &[u8],
    sums: Option<&str>,
    learned: &[(&str, Vec<u8>)],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path()
            .join(format!("{}.traineddata", labelcheck::model::LANGUAGE)),
        bytes,
    )
    .expect("write model");
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for name in [
        labelcheck::model::RECOGNISER,
        labelcheck::model::DETECTOR,
        labelcheck::model::ONNXRUNTIME,
    ] {
        let to = dir.path().join(name);
        match learned.iter().find(|(n, _)| *n == name) {
            Some((_, bytes)) => std::fs::write(&to, bytes).expect("write"),
            None => std::fs::copy(bundled.join(name), &to)
                .map(drop)
                .expect("copy"),
        }
    }
    if let Some(sums) = sums {
        std::fs::write(dir.path().join("SHA256SUMS"), sums).expect("write sums");
    }
    dir
}

#[test]
fn refuses_to_start_with_a_corrupt_model() {
    let model = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(format!("{}.traineddata", labelcheck::model::LANGUAGE)),
    )
    .expect("bundled model");
    let sums =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/SHA256SUMS"))
            .expect("bundled sums");
    let photo = testdata_path(&common::photo_by_prefix("001_"));

    // Runs `check` with a model folder holding `bytes` (and `sums`), returning the outcome.
    let with_model = |bytes: &[u8], sums: Option<&str>| {
        let dir = model_dir_with(bytes, sums, &[]);
        labelcheck(&[
            "--model-dir",
            dir.path().to_str().expect("utf-8"),
            "check",
            &photo,
        ])
    };
    let refused = |out: &Output, why: &str| {
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(stderr(out).contains(why), "{}", stderr(out));
    };
    // Truncated: the container's offsets point past the end.
    refused(&with_model(&model[..model.len() / 2], None), "truncated");
    // Not a model at all.
    refused(
        &with_model(b"<html>404 not found</html>", None),
        "not a valid traineddata",
    );
    // One flipped byte deep inside the network: only the checksum can tell.
    let mut flipped = model.clone();
    flipped[model.len() / 2] ^= 0x40;
    refused(&with_model(&flipped, Some(&sums)), "SHA-256");
    // The intact model in another folder works.
    let out = with_model(&model, Some(&sums));
    assert!(out.status.success(), "{}", stderr(&out));
    // A learned recogniser, detector or ONNX Runtime library with one byte changed is refused,
    // the file named, whatever the folder's SHA256SUMS says.
    for name in [
        labelcheck::model::RECOGNISER,
        labelcheck::model::DETECTOR,
        labelcheck::model::ONNXRUNTIME,
    ] {
        let mut bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models")
                .join(name),
        )
        .expect("bundled file");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        let dir = model_dir_with(&model, None, &[(name, bytes)]);
        let out = labelcheck(&[
            "--model-dir",
            dir.path().to_str().expect("utf-8"),
            "check",
            &photo,
        ]);
        refused(&out, name);
        refused(&out, "pinned digest");
    }
}

#[test]
fn settings_out_of_range_are_refused() {
    let photo = testdata_path(&common::photo_by_prefix("001_"));
    let out = labelcheck(&["--max-pixels", "5", "check", &photo]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("max-pixels"), "{}", stderr(&out));
}

/// Every command's flags are validated before it does anything: each refusal exits 2 and names
/// the flag.
#[test]
fn each_commands_bad_flags_are_refused_naming_the_flag() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "rescore",
                "in.jsonl",
                "--out",
                "out.jsonl",
                "--photo-blur-min=-1",
            ],
            "--photo-blur-min",
        ),
        (
            &["load", "--manifest", "m.csv", "--concurrency", "0"],
            "--concurrency",
        ),
        (
            &["load", "--manifest", "m.csv", "--duration", "0"],
            "--duration",
        ),
        (
            &["batch", "m.csv", "--out", "o.jsonl", "--jobs", "0"],
            "--jobs",
        ),
        (
            &["check", "photo.jpg", "--serial", "DS-2CD2143G2-I"],
            "--serial",
        ),
    ];
    for (args, flag) in cases {
        let out = labelcheck(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(&format!("labelcheck: {flag}")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A file the command cannot use is named, with exit code 2.
#[test]
fn a_missing_manifest_is_named() {
    let out = labelcheck(&["load", "--manifest", "/nonexistent/m.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/m.csv"),
        "{}",
        stderr(&out)
    );
}

fn manifest_row(prefix: &str) -> (String, String, String) {
    let name = common::photo_by_prefix(prefix);
    let text = String::from_utf8(common::read_testdata("manifest.csv")).expect("utf-8");
    let line = text
        .lines()
        .find(|l| l.starts_with(&name))
        .expect("manifest row");
    let fields: Vec<&str> = line.split(',').collect();
    (
        testdata_path(&name),
        fields[1].to_string(),
        fields[3].to_string(),
    )
}

#[test]
fn check_with_serial_gives_verdict_json_and_exit_codes() {
    // 001: the label shows only the short serial of the reported device.
    let (photo, serial, expected) = manifest_row("001_");
    assert_eq!(expected, "MATCH");
    let out = labelcheck(&["check", &photo, "--serial", &serial, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "verdict",
        "serial_read",
        "blur_score",
        "region_blur_score",
        "match_kind",
        "confidence",
        "reasons",
    ] {
        assert!(json.get(key).is_some(), "missing key {key}: {json}");
    }
    assert_eq!(json["verdict"], "MATCH");
    assert_eq!(json["match_kind"], "short_serial");
    assert!(
        json["serial_region"]["x1"].as_u64().expect("box")
            > json["serial_region"]["x0"].as_u64().expect("box")
    );

    // The same photo against its neighbour serial (last digit + 1): never MATCH, exit 1.
    let mut neighbour = serial.clone();
    let last = neighbour.pop().and_then(|c| c.to_digit(10)).expect("digit");
    neighbour.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
    let out = labelcheck(&["check", &photo, "--serial", &neighbour, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["verdict"], "MISMATCH");
}

#[test]
fn pixel_noise_reads_a_bounded_number_of_lines_and_is_not_found() {
    // 2000x1500 of black and white pixel noise: the locator finds some 2,000 "lines" in it; the
    // learned detector, looking there, finds no text.
    let noise = common::noise::pixel_noise(2000, 1500, 0x2545_F491_4F6C_DD1D);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("noise.png");
    noise.save(&path).expect("png");
    let (_, serial, _) = manifest_row("001_");
    let out = labelcheck(&[
        "check",
        path.to_str().expect("utf-8 path"),
        "--serial",
        &serial,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["verdict"], "NOT_FOUND", "{json}");
    assert_eq!(json["reasons"][0], "no_text", "{json}");
    let (found, calls) = (
        json["lines_found"].as_u64().expect("lines_found"),
        json["ocr_calls"].as_u64().expect("ocr_calls"),
    );
    let max = labelcheck::pipeline::lines::MAX_LINES_READ as u64;
    // Each line is read at most three times (both ways up, then with a motion streak undone),
    // plus the value reads; reading every candidate the locator found would be thousands.
    assert!(calls <= 3 * max + 30, "{calls} OCR calls");
    let read = json["evidence"]["lines"].as_u64().expect("lines read");
    assert!(read <= max, "{read} lines read");
    assert_eq!(json["evidence"]["lines_unread"], found - read);
}

#[test]
fn blurred_photo_is_blurry_and_bad_serials_are_refused() {
    let (photo, serial, expected) = manifest_row("005_");
    assert_eq!(expected, "BLURRY");
    let out = labelcheck(&["check", &photo, "--serial", &serial]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BLURRY"));

    for bad in [
        "",
        "L12345678",
        "DS-2CD2143G2-I20230415AAWR L12345678",
        &"A".repeat(80),
        "DS-2CD2143G2-I2023041€AAWRL12345678",
    ] {
        let out = labelcheck(&["check", &photo, "--serial", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            stderr(&out).contains("--serial"),
            "{bad:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn debug_dir_receives_the_crops_that_were_read() {
    let (photo, serial, _) = manifest_row("001_");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = labelcheck(&[
        "check",
        &photo,
        "--serial",
        &serial,
        "--debug-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("debug dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("line")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("value")), "{names:?}");
}

/// `labelcheck serve` on 127.0.0.1:0 with one worker, the bundled models and the log format
/// `format` (`text` or `json`), its standard error piped.
fn spawn_serve(format: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ])
        .args(["--workers", "1", "--log-format", format])
        .env_remove("LABELCHECK_MODEL_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start labelcheck serve")
}

#[test]
fn a_text_log_into_a_pipe_has_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    let mut server = spawn_serve("text");
    let mut line = String::new();
    BufReader::new(server.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("a log line");
    let _ = server.kill();
    let _ = server.wait();
    assert!(line.contains("labelcheck serving"), "{line:?}");
    assert!(
        !line.contains('\u{1b}'),
        "colour codes in a piped log: {line:?}"
    );
}

#[test]
fn serve_answers_the_load_driver_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut server = spawn_serve("json");
    let mut log = BufReader::new(server.stderr.take().expect("stderr"));
    // The first log line says where it listens.
    let mut line = String::new();
    log.read_line(&mut line).expect("a log line");
    let started: serde_json::Value = serde_json::from_str(&line).expect("JSON log");
    assert_eq!(started["fields"]["message"], "labelcheck serving", "{line}");
    let addr = started["fields"]["grpc"]
        .as_str()
        .expect("address")
        .to_string();

    let photo = testdata_path(&common::photo_by_prefix("001_"));
    let serial = "DS-7204HQHI-K10420231115AAWRS39003340";
    let out = labelcheck(&[
        "load",
        "--target",
        &addr,
        "--photo",
        &photo,
        "--serial",
        serial,
        "--requests",
        "4",
        "--concurrency",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["codes"]["Ok"], 4, "{report}");
    assert_eq!(report["verdicts"]["VERDICT_MATCH"], 4, "{report}");
    assert!(report["ok"]["p99_ms"].as_f64().expect("p99") > 0.0);

    let pid = server.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut log, &mut rest).expect("log");
    assert!(status.success(), "exit {status:?}\n{rest}");
    assert!(
        rest.contains("shutting down") && rest.contains("\"stopped\""),
        "{rest}"
    );
    // One line per call at info level, never the photo or the OCR text.
    assert_eq!(rest.matches("\"verified\"").count(), 4, "{rest}");
    assert!(
        !rest.contains("S39003340"),
        "the serial read must not be logged at info"
    );
}

#[test]
fn ghz_payload_writes_a_verify_request() {
    use labelcheck::server::proto::pb;
    use prost::Message;
    let dir = tempfile::tempdir().expect("tempdir");
    let out_file = dir.path().join("payload.bin");
    let photo = testdata_path(&common::photo_by_prefix("001_"));
    let out = labelcheck(&[
        "ghz-payload",
        &photo,
        "--serial",
        "DS-7204HQHI-K10420231115AAWRS39003340",
        "--out",
        out_file.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&out_file).expect("payload");
    let request = pb::VerifyRequest::decode(bytes.as_slice()).expect("a VerifyRequest");
    assert_eq!(
        request.photo.as_ref(),
        std::fs::read(&photo).expect("photo").as_slice()
    );
    assert_eq!(
        request.reported_serial,
        "DS-7204HQHI-K10420231115AAWRS39003340"
    );
    let missing = labelcheck(&["ghz-payload", "nope.jpg", "--serial", "X", "--out", "x.bin"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope.jpg"));
}
