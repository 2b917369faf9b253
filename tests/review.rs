//! The evidence as a person sees it: `check --annotate` draws the serial field's box where the
//! report says it is, and the batch review page, rendered by a real headless Chromium (Debian's
//! `chromium`, which `scripts/test.sh` installs), shows every row, filter and thumbnail, loads
//! thumbnails as their cards come into view, and filters by verdict.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use labelcheck::annotate::{MAX_LONG_SIDE, verdict_colour};
use labelcheck::pipeline::verdict::Verdict;

/// Runs `check --json --annotate` on a testdata photo: the report and the annotated image.
fn annotated(name: &str, serial: &str, dir: &Path) -> (serde_json::Value, image::RgbImage) {
    let png = dir.join(format!("{name}.png"));
    let photo = common::testdata().join(name);
    let out = common::labelcheck(&[
        "check",
        photo.to_str().expect("utf-8 path"),
        "--serial",
        serial,
        "--json",
        "--annotate",
        png.to_str().expect("utf-8 path"),
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {out:?}"));
    let image = image::open(&png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .to_rgb8();
    (report, image)
}

/// The share of the pixels on the rectangle `(x0, y0, x1, y1)` that are exactly `colour`.
fn share_on_border(
    image: &image::RgbImage,
    b: (u32, u32, u32, u32),
    colour: image::Rgb<u8>,
) -> f64 {
    let (x0, y0, x1, y1) = b;
    let mut on = 0usize;
    let mut all = 0usize;
    let mut look = |x: u32, y: u32| {
        if x < image.width() && y < image.height() {
            all += 1;
            on += usize::from(*image.get_pixel(x, y) == colour);
        }
    };
    for x in x0..=x1 {
        look(x, y0);
        look(x, y1);
    }
    for y in y0..=y1 {
        look(x0, y);
        look(x1, y);
    }
    on as f64 / all.max(1) as f64
}

fn verdict_of(report: &serde_json::Value) -> Verdict {
    serde_json::from_value(report["verdict"].clone()).expect("verdict")
}

#[test]
fn the_annotated_photo_boxes_the_serial_field_where_the_report_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = common::manifest();
    // A one-character neighbour (MISMATCH), a match, and a photo turned by its EXIF orientation.
    for prefix in ["002_", "000_", "009_"] {
        let name = common::photo_by_prefix(prefix);
        let row = rows
            .iter()
            .find(|r| r["photo"] == name)
            .expect("manifest row");
        let (report, image) = annotated(&name, &row["reported_serial"], dir.path());
        let (w, h) = (
            report["width"].as_u64().expect("width") as f64,
            report["height"].as_u64().expect("height") as f64,
        );
        let scale = (f64::from(MAX_LONG_SIDE) / w.max(h)).min(1.0);
        assert_eq!(image.width(), (w * scale).round() as u32, "{name}: width");
        assert!(
            image.height() > (h * scale).round() as u32,
            "{name}: no caption strip below the photo"
        );
        let region = &report["serial_region"];
        assert!(region.is_object(), "{name}: no serial region in {report}");
        let at = |k: &str| (region[k].as_u64().expect("box") as f64 * scale).round() as u32;
        let drawn = (at("x0"), at("y0"), at("x1"), at("y1"));
        let colour = verdict_colour(verdict_of(&report));
        let share = share_on_border(&image, drawn, colour);
        assert!(
            share > 0.9,
            "{name}: only {:.0}% of the serial box's border {drawn:?} is in the verdict's colour",
            share * 100.0
        );
        // A box displaced by a few pixels is caught: its border is the photo, not the box.
        let off = (drawn.0 + 12, drawn.1 + 12, drawn.2 + 12, drawn.3 + 12);
        assert!(
            share_on_border(&image, off, colour) < 0.5,
            "{name}: the test cannot tell a displaced box"
        );
    }
}

#[test]
fn annotate_needs_a_serial_and_names_an_unwritable_file() {
    let photo = common::testdata().join(common::photo_by_prefix("000_"));
    let photo = photo.to_str().expect("utf-8 path");
    let out = common::labelcheck(&["check", photo, "--annotate", "/tmp/never.png"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("--serial"),
        "{}",
        common::stderr(&out)
    );
    let out = common::labelcheck(&[
        "check",
        photo,
        "--serial",
        "DS-2CD2043G2-IU20180411CCWRX06579000",
        "--annotate",
        "/nonexistent-folder/a.png",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("/nonexistent-folder/a.png"),
        "{}",
        common::stderr(&out)
    );
}

/// A manifest of testdata photos plus a missing file and a file that is not a photo.
fn small_batch(dir: &Path) -> (PathBuf, usize) {
    let rows = common::manifest();
    let garbage = dir.join("garbage.jpg");
    std::fs::write(&garbage, b"not a photo at all").expect("write");
    let mut csv = String::from("photo,reported_serial\n");
    let picks = [
        "000_", "001_", "002_", "003_", "004_", "005_", "007_", "009_",
    ];
    for prefix in picks {
        let name = common::photo_by_prefix(prefix);
        let row = rows.iter().find(|r| r["photo"] == name).expect("row");
        csv += &format!(
            "{},{}\n",
            common::testdata().join(&name).display(),
            row["reported_serial"]
        );
    }
    csv += "missing.jpg,DS-2CD2043G2-IU20180411CCWRX06579000\n";
    csv += &format!(
        "{},DS-2CD2043G2-IU20180411CCWRX06579000\n",
        garbage.display()
    );
    let manifest = dir.join("manifest.csv");
    std::fs::write(&manifest, csv).expect("write manifest");
    (manifest, picks.len() + 2)
}

/// Debian's Chromium, headless, as root-safe and offline as the machine needs.
fn chromium(profile: &Path) -> Command {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is not installed: scripts/test.sh installs Debian's chromium");
    let mut c = Command::new("timeout");
    c.args(["120", binary])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The page's DOM after its script ran, as Chromium serialises it.
fn dom(url: &str, profile: &Path) -> String {
    let out = chromium(profile)
        .args(["--virtual-time-budget=3000", "--dump-dom", url])
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {}", common::stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The opening tags of the gallery's cards.
fn cards(dom: &str) -> Vec<&str> {
    dom.split("<article")
        .skip(1)
        .filter_map(|s| s.split('>').next())
        .collect()
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    tag[start..].split('"').next()
}

#[test]
fn the_review_page_shows_every_row_filter_and_thumbnail_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (manifest, rows) = small_batch(dir.path());
    let out = dir.path().join("out.jsonl");
    let page = dir.path().join("review");
    let run = common::labelcheck(&[
        "batch",
        manifest.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--progress",
        "off",
        "--review",
        page.to_str().expect("utf-8"),
        "--review-all",
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let index = page.join("index.html");
    let url = format!("file://{}", index.display());
    let profile = dir.path().join("chromium-profile");

    let dom_all = dom(&url, &profile);
    let tags = cards(&dom_all);
    assert_eq!(tags.len(), rows, "one card per row");
    let mut ids: Vec<u64> = tags
        .iter()
        .map(|t| {
            attribute(t, "id")
                .and_then(|id| id.strip_prefix("row-")?.parse().ok())
                .expect("row id")
        })
        .collect();
    ids.sort();
    assert_eq!(ids, (0..rows as u64).collect::<Vec<_>>());
    assert!(
        tags.iter().all(|t| !t.contains("hidden")),
        "a card hidden with no filter set"
    );
    let verdicts: Vec<&str> = tags
        .iter()
        .filter_map(|t| attribute(t, "data-verdict"))
        .collect();
    for v in ["MATCH", "MISMATCH", "ERROR"] {
        assert!(verdicts.contains(&v), "no {v} card: {verdicts:?}");
    }
    // Filters: every verdict and reason on a card is an option.
    for v in &verdicts {
        assert!(
            dom_all.contains(&format!("<option value=\"{v}\">")),
            "no verdict option {v}"
        );
    }
    for t in &tags {
        for reason in attribute(t, "data-reasons")
            .unwrap_or("")
            .split_whitespace()
        {
            assert!(
                dom_all.contains(&format!("<option value=\"{reason}\">")),
                "no reason option {reason}"
            );
        }
    }
    assert!(
        dom_all.contains(&format!("{rows} of {rows} rows shown")),
        "the script did not run"
    );
    // Thumbnails: one per row with a readable photo (8), each a real image of the set width.
    let imgs: Vec<&str> = dom_all.split("<img ").skip(1).collect();
    let thumbs: Vec<&str> = imgs
        .iter()
        .filter_map(|s| attribute(s, "data-src"))
        .collect();
    assert_eq!(thumbs.len(), rows - 2, "{thumbs:?}");
    // Thumbnails load as their cards come near the viewport: the first ones have by now.
    let loaded = imgs
        .iter()
        .filter(|s| attribute(s, "src").is_some_and(|src| src.starts_with("thumbs/")))
        .count();
    assert!(loaded >= 1, "no thumbnail was loaded by the page's script");
    for src in &thumbs {
        let thumb = image::open(page.join(src)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(thumb.width(), labelcheck::review::THUMB_WIDTH, "{src}");
    }
    assert!(
        dom_all.contains("missing.jpg")
            && dom_all.contains("photo-blur")
            && dom_all.contains("region-blur")
    );

    // The verdict filter, set through the address as a shared link would.
    let dom_mismatch = dom(&format!("{url}#verdict=MISMATCH"), &profile);
    let tags = cards(&dom_mismatch);
    let mismatches = tags
        .iter()
        .filter(|t| attribute(t, "data-verdict") == Some("MISMATCH"))
        .count();
    assert!(mismatches > 0);
    for t in &tags {
        let hidden = t.contains(" hidden");
        assert_eq!(
            hidden,
            attribute(t, "data-verdict") != Some("MISMATCH"),
            "filter by MISMATCH: {t}"
        );
    }
    assert!(dom_mismatch.contains(&format!("{mismatches} of {rows} rows shown")));

    // What a person sees: a screenshot of the rendered page, with real content on it.
    let shot = dir.path().join("review.png");
    let shooting = chromium(&profile)
        .args(["--window-size=1280,1600", "--virtual-time-budget=5000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        shooting.status.success(),
        "chromium: {}",
        common::stderr(&shooting)
    );
    let shot = image::open(&shot).expect("screenshot").to_luma8();
    let mean = shot.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / shot.len() as f64;
    let dark = shot.pixels().filter(|p| p.0[0] < 128).count();
    assert!(
        mean > 100.0 && dark > 5_000,
        "a blank screenshot (mean {mean:.0}, {dark} dark px)"
    );

    // `labelcheck review` over the same output: by default only the rows that are not MATCH.
    let page2 = dir.path().join("review-default");
    let run = common::labelcheck(&[
        "review",
        out.to_str().expect("utf-8"),
        "--photos-root",
        dir.path().to_str().expect("utf-8"),
        "--out",
        page2.to_str().expect("utf-8"),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let html = std::fs::read_to_string(page2.join("index.html")).expect("index.html");
    let tags = cards(&html);
    let not_match = verdicts.iter().filter(|v| **v != "MATCH").count();
    assert_eq!(tags.len(), not_match);
    assert!(
        tags.iter()
            .all(|t| attribute(t, "data-verdict") != Some("MATCH"))
    );
}

#[test]
fn review_names_a_bad_input_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"row\":0}\nnot json\n").expect("write");
    let out = common::labelcheck(&[
        "review",
        bad.to_str().expect("utf-8"),
        "--photos-root",
        ".",
        "--out",
        dir.path().join("page").to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.contains("bad.jsonl line 1"), "{err}");
}
