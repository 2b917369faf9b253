//! Accuracy with the real engines (the learned detector and reader, and Tesseract) and the bundled models over
//! these sets of label photos:
//!
//! - `testdata/` (86 photos, committed): the fixture rules and thresholds were fitted on;
//! - the validation set (630 photos from the wider generator, its own seed, the last 30 slips):
//!   measured, never tuned against;
//! - the look-alike sweep: labels whose printed serial is the reported one with one look-alike
//!   character substituted, in many fonts and sizes (their codes hold the printed serial);
//! - the tampered set: labels whose text shows the reported serial and whose QR code, barcode or
//!   both hold a neighbour's;
//! - the slips set: labels showing the reported serial beside a slip or sticker showing another
//!   device's serial.
//!
//! The generated sets live in `target/labelsets/<set>/`, made by `scripts/labelsets.sh` (which
//! `scripts/test.sh` runs first). Each photo is checked against its manifest SHA-256 before use.
//! Run on its own: `scripts/labelsets.sh && cargo test --release --test accuracy -- --nocapture`.
//!
//! Hard rule on every set: never MATCH where the ground truth says otherwise. A manifest's
//! expected verdict may be `A|B`, either being right (a label half out of frame may be NOT_FOUND
//! or INCONCLUSIVE).
//!
//! Rates asserted (regression floors just under what is measured; the product target is 95% on
//! each class, see docs/accuracy.md):
//! - testdata: legible match photos ≥ 88% (measured 40/42), the other photos ≥ 95% (44/44);
//! - validation: legible match photos ≥ 84% (measured 252/292), the other photos ≥ 92%
//!   (324/338); under the targets, see docs/accuracy.md;
//! - tampered: at least 80% answered from a code (measured 36/40);
//! - slips: no MATCH (measured: all 39 slip photos INCONCLUSIVE).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use labelcheck::pipeline::Report;
use rayon::prelude::*;

/// One manifest row, the columns the evaluation needs.
struct Row {
    photo: String,
    case: String,
    /// The right verdicts (`MATCH`, or e.g. `NOT_FOUND` and `INCONCLUSIVE`).
    expected: Vec<String>,
    reported: String,
    printed: String,
    sha256: String,
    /// Height of the printed serial's capitals in the photo, px (none where no serial shows).
    cap_px: Option<f64>,
}

impl Row {
    fn expects(&self, verdict: &str) -> bool {
        self.expected.iter().any(|e| e == verdict)
    }

    /// A legible matching label: MATCH is the one right answer.
    fn legible_match(&self) -> bool {
        self.expected == ["MATCH"]
    }

    /// A legible label whose serial the reader should read exactly.
    fn legible(&self) -> bool {
        self.legible_match() || self.expected == ["MISMATCH"]
    }
}

fn rows_at(manifest: &Path) -> Vec<Row> {
    common::manifest_at(manifest)
        .into_iter()
        .map(|mut f| {
            let cap_px = f.get("serial_cap_px").and_then(|c| c.parse().ok());
            let mut take = |name: &str| {
                f.remove(name)
                    .unwrap_or_else(|| panic!("{}: no column {name}", manifest.display()))
            };
            Row {
                photo: take("photo"),
                case: take("case"),
                expected: take("expected_verdict")
                    .split('|')
                    .map(String::from)
                    .collect(),
                reported: take("reported_serial"),
                printed: take("printed_serial"),
                sha256: take("sha256"),
                cap_px,
            }
        })
        .collect()
}

/// What one set measured.
struct Outcome {
    wrong_match: Vec<String>,
    legible_match: (usize, usize),
    others: (usize, usize),
    exact_read: (usize, usize),
    /// Wrong MATCHes on photos where a code holding a serial was decoded.
    wrong_match_with_codes: Vec<String>,
    /// Photos giving each reason, by its name.
    reasons: BTreeMap<String, usize>,
}

/// Bands of the serial's capital height in the photo (px) for the per-size line: each band's
/// name and its upper bound.
const CAP_BANDS: [(&str, f64); 4] = [
    ("under 8 px", 8.0),
    ("8-12 px", 12.0),
    ("12-16 px", 16.0),
    ("16 px and more", f64::INFINITY),
];

/// The [`CAP_BANDS`] index of a capital height in px.
fn cap_band(cap_px: f64) -> usize {
    CAP_BANDS
        .iter()
        .position(|&(_, upto)| cap_px < upto)
        .unwrap_or(CAP_BANDS.len() - 1)
}

/// Checks every photo of the set in `dir` (with its `manifest.csv`) and prints a per-photo line
/// for each wrong verdict, a per-case table and the headline rates.
fn evaluate(set: &str, dir: &Path) -> Outcome {
    let rows = rows_at(&dir.join("manifest.csv"));
    assert!(!rows.is_empty(), "{set}: empty manifest");
    let reports: Vec<Report> = rows
        .par_iter()
        .map(|row| {
            let path = dir.join(&row.photo);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                common::sha256_hex(&bytes),
                row.sha256,
                "{}: not the photo its manifest describes (regenerate with scripts/labelsets.sh)",
                path.display()
            );
            common::check_photo(&bytes, &row.reported, &row.photo)
        })
        .collect();

    println!("\n== {set}: {} photos ({})", rows.len(), dir.display());
    println!(
        "{:<34} {:<30} {:<13} {:>6} {:>5} serial read / printed",
        "photo", "expected", "got", "text", "conf"
    );
    let mut per_case: BTreeMap<&str, (usize, usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    // Legible match photos right, and of, per band of the serial's capital height.
    let mut per_size = [(0usize, 0usize); CAP_BANDS.len()];
    let mut outcome = Outcome {
        wrong_match: Vec::new(),
        legible_match: (0, 0),
        others: (0, 0),
        exact_read: (0, 0),
        reasons: BTreeMap::new(),
        wrong_match_with_codes: Vec::new(),
    };
    for (row, r) in rows.iter().zip(&reports) {
        let got = r.verdict.as_str();
        let ok = row.expects(got);
        for reason in &r.reasons {
            *outcome.reasons.entry(format!("{reason:?}")).or_default() += 1;
        }
        let entry = per_case.entry(row.case.as_str()).or_default();
        entry.0 += usize::from(ok);
        entry.1 += 1;
        *entry.2.entry(got).or_default() += 1;
        if got == "MATCH" && !row.expects("MATCH") {
            outcome.wrong_match.push(row.photo.clone());
            if r.codes.iter().any(|c| c.serial.is_some()) {
                outcome.wrong_match_with_codes.push(row.photo.clone());
            }
        }
        let tally = if row.legible_match() {
            if let Some(band) = row.cap_px.map(cap_band) {
                per_size[band].0 += usize::from(ok);
                per_size[band].1 += 1;
            }
            &mut outcome.legible_match
        } else {
            &mut outcome.others
        };
        tally.0 += usize::from(ok);
        tally.1 += 1;
        if row.legible() {
            outcome.exact_read.0 += usize::from(r.serial_read.as_deref() == Some(&row.printed));
            outcome.exact_read.1 += 1;
        }
        if !ok {
            println!(
                "{:<34} {:<30} {:<13} {:>6.0} {:>5.0} {} / {} {:?}",
                row.photo,
                row.expected.join("|"),
                got,
                r.text_blur_score.unwrap_or(-1.0),
                r.confidence.unwrap_or(-1.0),
                r.serial_read.as_deref().unwrap_or("-"),
                row.printed,
                r.reasons,
            );
        }
    }
    println!(
        "\n{:<20} {:>6} {:>5}  verdicts given",
        "case", "right", "of"
    );
    for (case, (right, n, given)) in &per_case {
        let given: Vec<String> = given.iter().map(|(v, c)| format!("{v} {c}")).collect();
        println!("{case:<20} {right:>6} {n:>5}  {}", given.join(", "));
    }
    let pct = |(a, b): (usize, usize)| 100.0 * a as f64 / b.max(1) as f64;
    let sizes: Vec<String> = CAP_BANDS
        .iter()
        .zip(per_size)
        .map(|((name, _), (right, n))| format!("{name} {right}/{n}"))
        .collect();
    println!(
        "\n{set}: legible match photos right by the serial's capital height in the photo: {}",
        sizes.join(", ")
    );
    println!(
        "\n{set}: legible match photos {}/{} ({:.1}%); other photos {}/{} ({:.1}%); \
         serial read exactly on legible photos {}/{} ({:.1}%); wrong MATCH {}",
        outcome.legible_match.0,
        outcome.legible_match.1,
        pct(outcome.legible_match),
        outcome.others.0,
        outcome.others.1,
        pct(outcome.others),
        outcome.exact_read.0,
        outcome.exact_read.1,
        pct(outcome.exact_read),
        outcome.wrong_match.len(),
    );
    let reasons: Vec<String> = outcome
        .reasons
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    println!("{set}: photos per reason: {}", reasons.join(", "));
    let total_ms: f64 = reports.iter().map(|r| r.timings.total_ms).sum();
    println!(
        "{set}: mean time per photo {:.0} ms",
        total_ms / reports.len() as f64
    );
    outcome
}

fn at_least(what: &str, (right, n): (usize, usize), floor_pct: usize) {
    assert!(
        right * 100 >= floor_pct * n,
        "{what}: {right}/{n} below the {floor_pct}% floor"
    );
}

#[test]
fn verdicts_over_testdata() {
    let outcome = evaluate("testdata", &common::testdata());
    assert!(
        outcome.wrong_match.is_empty(),
        "testdata: MATCH where the ground truth says otherwise: {:?}",
        outcome.wrong_match
    );
    at_least(
        "testdata legible match photos",
        outcome.legible_match,
        common::TESTDATA_MATCH_FLOOR,
    );
    at_least("testdata other photos", outcome.others, 95);
}

#[test]
fn verdicts_over_validation() {
    let Some(dir) = common::labelset("validation") else {
        return;
    };
    let outcome = evaluate("validation", &dir);
    assert!(
        outcome.wrong_match.is_empty(),
        "validation: MATCH where the ground truth says otherwise: {:?}",
        outcome.wrong_match
    );
    at_least(
        "validation legible match photos",
        outcome.legible_match,
        VALIDATION_MATCH_FLOOR,
    );
    at_least(
        "validation other photos",
        outcome.others,
        VALIDATION_OTHERS_FLOOR,
    );
}

/// Regression floors on validation, percent: a little under the figures measured with the
/// learned reader as it ships (87.0% and 95.3%, docs/accuracy.md).
/// Raised as the reader improves; never tuned against.
const VALIDATION_MATCH_FLOOR: usize = 84;
const VALIDATION_OTHERS_FLOOR: usize = 92;

#[test]
fn lookalike_sweep_never_matches() {
    let Some(dir) = common::labelset("sweep") else {
        return;
    };
    let outcome = evaluate("sweep", &dir);
    assert!(
        outcome.wrong_match.is_empty(),
        "sweep: MATCH on a label one look-alike away from the reported serial: {:?}",
        outcome.wrong_match
    );
}

/// Labels whose text shows the reported serial while their codes hold a neighbour's: a
/// relabelled or tampered device. Never MATCH once a code is decoded; a photo on which no code
/// could be decoded is judged on its text alone, as without codes (counted, and printed). Most
/// photos must answer from a code.
#[test]
fn tampered_labels_never_match_once_a_code_is_read() {
    let Some(dir) = common::labelset("tampered") else {
        return;
    };
    let outcome = evaluate("tampered", &dir);
    assert!(
        outcome.wrong_match_with_codes.is_empty(),
        "tampered: MATCH on a label whose decoded code holds another serial: {:?}",
        outcome.wrong_match_with_codes
    );
    println!(
        "tampered: MATCH on the text alone, no code decoded: {:?}",
        outcome.wrong_match
    );
    let n = outcome.others.1;
    let caught = ["BarcodeDisagrees", "BarcodeDiffers"]
        .iter()
        .map(|r| outcome.reasons.get(*r).copied().unwrap_or(0))
        .sum::<usize>();
    at_least(
        "tampered photos answered from a code",
        (caught, n),
        TAMPERED_CAUGHT_FLOOR,
    );
}

/// Labels showing the reported serial with a slip or sticker laid over or beside them that shows
/// another device's full serial (often with its own Code 128): a second serial in the photo,
/// never a MATCH.
#[test]
fn a_slip_with_another_serial_never_matches() {
    let Some(dir) = common::labelset("slips") else {
        return;
    };
    let outcome = evaluate("slips", &dir);
    assert!(
        outcome.wrong_match.is_empty(),
        "slips: MATCH on a photo holding another device's serial: {:?}",
        outcome.wrong_match
    );
}

/// Floor on the tampered photos answered from a code, percent (measured 36/40).
const TAMPERED_CAUGHT_FLOOR: usize = 80;

/// The tuning split (made by `scripts/labelsets.sh tuning`): what rules and thresholds are
/// fitted on, beside testdata. Not part of the suite; run it while changing the reader:
/// `cargo test --release --test accuracy -- --ignored --nocapture tuning`.
#[test]
#[ignore = "for fitting: run with --ignored after scripts/labelsets.sh tuning"]
fn verdicts_over_tuning() {
    let Some(dir) = common::labelset("tuning") else {
        return;
    };
    let outcome = evaluate("tuning", &dir);
    assert!(
        outcome.wrong_match.is_empty(),
        "tuning: MATCH where the ground truth says otherwise: {:?}",
        outcome.wrong_match
    );
}
