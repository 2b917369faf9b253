//! `labelcheck batch` and `labelcheck rescore` as the data team runs them: the real binary, real
//! Tesseract, testdata photos. Every run is bounded (a fixed manifest; interrupted runs are
//! waited for with a deadline).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{labelcheck, stderr};

/// `labelcheck batch MANIFEST --out OUT --progress off EXTRA...`.
fn batch(manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "batch",
        path_str(manifest),
        "--out",
        path_str(out),
        "--progress",
        "off",
    ];
    args.extend_from_slice(extra);
    labelcheck(&args)
}

/// Output rows by row number; panics on a duplicate.
fn rows(path: &Path) -> BTreeMap<u64, serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("output");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("a JSON row");
        let n = row["row"].as_u64().expect("row number");
        assert!(out.insert(n, row).is_none(), "row {n} written twice");
    }
    out
}

/// The first `n` rows of the testdata manifest, with absolute photo paths, in `dir`.
fn small_manifest(dir: &Path, n: usize) -> PathBuf {
    let text = String::from_utf8(common::read_testdata("manifest.csv")).expect("utf-8");
    let mut lines = text.lines();
    let mut out = format!("{},case_id\n", lines.next().expect("header"));
    for (i, line) in lines.take(n).enumerate() {
        let abs = common::testdata().join(line);
        out += &format!("{},case-{i}\n", abs.display());
    }
    let path = dir.join("manifest.csv");
    std::fs::write(&path, out).expect("write manifest");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn a_batch_over_testdata_gives_the_expected_verdicts_and_rescoring_is_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("all.jsonl");
    let summary = dir.path().join("summary.json");
    let manifest = common::testdata().join("manifest.csv");
    let run = batch(
        &manifest,
        &out,
        &["--jobs", "2", "--summary-json", path_str(&summary)],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let rows = rows(&out);
    assert_eq!(rows.len(), 86, "one row per photo");
    let (mut match_right, mut match_n, mut other_right, mut other_n) = (0, 0, 0, 0);
    for row in rows.values() {
        assert!(row["error"].is_null(), "{row}");
        let (expected, got) = (
            row["input"]["expected_verdict"].as_str().expect("expected"),
            row["verdict"].as_str().expect("verdict"),
        );
        assert!(
            got != "MATCH" || expected == "MATCH",
            "MATCH where the ground truth says {expected}: {}",
            row["input"]["photo"]
        );
        match expected {
            "MATCH" => {
                (match_n, match_right) = (match_n + 1, match_right + usize::from(got == expected))
            }
            "INCONCLUSIVE" => {}
            _ => (other_n, other_right) = (other_n + 1, other_right + usize::from(got == expected)),
        }
        // A row is `row`, `input`, `error`, then the report's keys in the CSV column order.
        let keys: Vec<&str> = row
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys[..3], ["row", "input", "error"]);
        assert_eq!(keys[3..], *labelcheck::batch::REPORT_KEYS, "{row}");
    }
    // The core's floors (tests/accuracy.rs): the batch adds no errors of its own.
    assert!(
        match_right * 100 >= common::TESTDATA_MATCH_FLOOR * match_n,
        "{match_right}/{match_n}"
    );
    assert!(other_right * 100 >= 95 * other_n, "{other_right}/{other_n}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("JSON");
    assert_eq!(summary["written"], 86);
    assert_eq!(summary["missing"], 0);

    // Re-scoring with the same thresholds reproduces the output byte for byte; stricter ones
    // change verdicts without any OCR.
    let same = dir.path().join("same.jsonl");
    let rescore = labelcheck(&["rescore", path_str(&out), "--out", path_str(&same)]);
    assert!(rescore.status.success(), "{}", stderr(&rescore));
    assert_eq!(
        std::fs::read(&out).expect("out"),
        std::fs::read(&same).expect("same")
    );
    let strict = dir.path().join("strict.jsonl");
    let rescore = labelcheck(&[
        "rescore",
        path_str(&out),
        "--out",
        path_str(&strict),
        "--region-blur-min",
        "1e9",
    ]);
    assert!(rescore.status.success(), "{}", stderr(&rescore));
    let strict = self::rows(&strict);
    assert!(strict.values().all(|r| r["verdict"] != "MATCH"));
    assert!(
        strict
            .values()
            .all(|r| r["thresholds"]["region_blur_min"] == 1e9)
    );
    // Every serial region now counts as blurred; where a code holds the reported serial the
    // answer is INCONCLUSIVE (`barcode_only`), not BLURRY.
    assert!(
        stderr(&rescore).contains("MATCH -> INCONCLUSIVE"),
        "{}",
        stderr(&rescore)
    );
    assert!(
        strict
            .values()
            .filter(|r| r["verdict"] == "INCONCLUSIVE")
            .any(|r| r["reasons"][0] == "barcode_only")
    );
}

#[test]
fn bad_rows_are_written_with_an_error_and_never_stop_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"not a photo at all").expect("write");
    let good = common::testdata().join(common::photo_by_prefix("001_"));
    let serial = "DS-7204HQHI-K10420231115AAWRS39003340";
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "photo,reported_serial,note\nmissing.jpg,{serial},a\n{},{serial},b\n{},not-a-serial,c\n{},{serial},\"quoted, with comma\"\njust-one-field\n",
            garbage.display(),
            good.display(),
            good.display()
        ),
    )
    .expect("manifest");
    for format in ["jsonl", "csv"] {
        let out = dir.path().join(format!("out.{format}"));
        let run = batch(&manifest, &out, &["--format", format, "--jobs", "2"]);
        assert!(run.status.success(), "{}", stderr(&run));
        if format == "jsonl" {
            let rows = rows(&out);
            assert_eq!(rows.len(), 5);
            assert_eq!(rows[&4]["error"]["code"], "bad_manifest_row");
            assert_eq!(rows[&0]["error"]["code"], "unreadable_file");
            assert!(
                rows[&0]["error"]["message"]
                    .as_str()
                    .expect("message")
                    .contains("missing.jpg")
            );
            assert_eq!(rows[&1]["error"]["code"], "unsupported_format");
            assert_eq!(rows[&2]["error"]["code"], "invalid_serial");
            assert_eq!(rows[&3]["verdict"], "MATCH");
            assert_eq!(rows[&3]["input"]["note"], "quoted, with comma");
        } else {
            let mut reader = csv::Reader::from_path(&out).expect("csv");
            let headers = reader.headers().expect("header").clone();
            for column in [
                "row",
                "input.photo",
                "input.note",
                "error_code",
                "verdict",
                "evidence",
            ] {
                assert!(headers.iter().any(|h| h == column), "{column} missing");
            }
            let records: Vec<csv::StringRecord> =
                reader.records().map(|r| r.expect("record")).collect();
            assert_eq!(records.len(), 5);
            let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
            let by_row: BTreeMap<String, &csv::StringRecord> =
                records.iter().map(|r| (r[0].to_string(), r)).collect();
            assert_eq!(&by_row["3"][col("verdict")], "MATCH");
            assert_eq!(&by_row["3"][col("input.note")], "quoted, with comma");
            assert_eq!(&by_row["2"][col("error_code")], "invalid_serial");
        }
    }
    // An existing output is never overwritten without --resume.
    let again = batch(&manifest, &dir.path().join("out.jsonl"), &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--resume"));
}

/// Starts a batch, waits until it has written `rows` rows, then sends `signal`.
fn interrupt_after(
    manifest: &Path,
    out: &Path,
    rows: usize,
    signal: &str,
) -> std::process::ExitStatus {
    let mut child = Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args([
            "batch",
            path_str(manifest),
            "--out",
            path_str(out),
            "--jobs",
            "1",
            "--resume",
        ])
        .args(["--progress", "off"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start batch");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let written = std::fs::read_to_string(out).map_or(0, |t| t.lines().count());
        if written >= rows {
            break;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "no progress within 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "batch did not stop within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_interrupted_run_resumes_to_exactly_one_row_per_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = small_manifest(dir.path(), 10);
    let out = dir.path().join("out.jsonl");

    // SIGINT: rows in flight finish, the output holds only whole rows, exit code 130.
    let status = interrupt_after(&manifest, &out, 2, "-INT");
    assert_eq!(status.code(), Some(130));
    let first = rows(&out).len();
    assert!((2..10).contains(&first), "{first} rows after SIGINT");

    // SIGKILL, and a half-written last line as a kill mid-write would leave.
    let status = interrupt_after(&manifest, &out, first + 1, "-KILL");
    assert!(!status.success());
    let mut text = std::fs::read(&out).expect("out");
    text.extend_from_slice(b"{\"row\":9,\"verdict\":\"MAT");
    std::fs::write(&out, text).expect("write");

    let resumed = batch(&manifest, &out, &["--jobs", "2", "--resume"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let all = rows(&out);
    assert_eq!(
        all.keys().copied().collect::<Vec<u64>>(),
        (0..10).collect::<Vec<u64>>()
    );
    assert!(stderr(&resumed).contains("already done"));
}

/// Starts `labelcheck batch MANIFEST --out OUT --resume --jobs 2` and kills it with SIGKILL
/// `extra` after it has added `rows` rows to OUT (`rows` 0: during start-up); returns whether it
/// had ended by itself first.
fn kill_9_after(manifest: &Path, out: &Path, rows: usize, extra: Duration) -> bool {
    let lines =
        |p: &Path| std::fs::read(p).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count());
    let before = lines(out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args(["batch", path_str(manifest), "--out", path_str(out)])
        .args(["--jobs", "2", "--resume", "--progress", "off"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start batch");
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(out) < before + rows {
        if child.try_wait().expect("wait").is_some() {
            return true;
        }
        assert!(Instant::now() < deadline, "no progress within 120 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(extra);
    if child.try_wait().expect("wait").is_some() {
        return true;
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// SIGKILL at 20 seeded random moments of a batch run (start-up, between rows, mid-row), half of
/// them killing the `--resume` run a second time; each time one `--resume` afterwards leaves
/// exactly one whole row per input, bad inputs included, with an uninterrupted run's verdicts.
#[test]
fn kill_9_at_random_moments_then_resume_gives_one_row_per_input() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = small_manifest(dir.path(), 8);
    // Two inputs that fail: a missing photo and one that is not a photo.
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"not a photo").expect("write");
    let serial = "DS-7204HQHI-K10420231115AAWRS39003340";
    let mut text = std::fs::read_to_string(&manifest).expect("manifest");
    // The manifest's columns between the serial and the case id, left empty.
    let empty = ",".repeat(text.lines().next().expect("header").matches(',').count() - 1);
    text += &format!("missing.jpg,{serial}{empty}case-missing\n");
    text += &format!("{},{serial}{empty}case-garbage\n", garbage.display());
    std::fs::write(&manifest, text).expect("manifest");
    let inputs: Vec<u64> = (0..10).collect();

    let clean = dir.path().join("clean.jsonl");
    let run = batch(&manifest, &clean, &["--jobs", "2"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let clean = rows(&clean);
    assert_eq!(clean.keys().copied().collect::<Vec<_>>(), inputs);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut ended_early = 0;
    for trial in 0..20 {
        let out = dir.path().join(format!("killed-{trial}.jsonl"));
        let kills = if trial % 2 == 0 { 1 } else { 2 };
        for _ in 0..kills {
            // After 0–4 more rows, then up to 300 ms on (start-up, or into the next rows).
            let rows_first = rng.random_range(0..5);
            let extra = Duration::from_millis(rng.random_range(0..300));
            ended_early += usize::from(kill_9_after(&manifest, &out, rows_first, extra));
        }
        let before = std::fs::read(&out).unwrap_or_default();
        let whole = before.iter().filter(|&&b| b == b'\n').count();
        eprintln!("trial {trial}: killed {kills}x, {whole} whole rows before --resume");
        let resumed = batch(&manifest, &out, &["--jobs", "2", "--resume"]);
        assert!(
            resumed.status.success(),
            "trial {trial}: {}",
            stderr(&resumed)
        );
        let got = rows(&out);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            inputs,
            "trial {trial}"
        );
        for (n, row) in &got {
            assert_eq!(
                row["verdict"], clean[n]["verdict"],
                "trial {trial}, row {n}"
            );
            assert_eq!(row["error"], clean[n]["error"], "trial {trial}, row {n}");
        }
    }
    eprintln!("{ended_early} of 30 runs ended before their kill");
    // Most kills must land inside a run, or the test proves little.
    assert!(
        ended_early <= 10,
        "{ended_early} of 30 runs ended before their kill"
    );
}

#[test]
fn the_shards_of_a_sharded_run_together_equal_a_single_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = small_manifest(dir.path(), 9);
    let single = dir.path().join("single.jsonl");
    let run = batch(&manifest, &single, &["--jobs", "2"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let single = rows(&single);

    let mut union = BTreeMap::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("shard{k}.jsonl"));
        let shard = format!("{k}/3");
        let run = batch(&manifest, &out, &["--jobs", "2", "--shard", &shard]);
        assert!(run.status.success(), "{}", stderr(&run));
        for (n, row) in rows(&out) {
            assert!(union.insert(n, row).is_none(), "row {n} in two shards");
        }
    }
    assert_eq!(union.len(), single.len());
    for (n, row) in &single {
        for key in ["verdict", "serial_read", "reasons", "evidence", "input"] {
            assert_eq!(union[n][key], row[key], "row {n}: {key}");
        }
    }
}
