//! Measures two barcode decoders on labelcheck's label photos: rxing (pure-Rust ZXing port) and
//! ZBar (Debian's libzbar), each on the whole upright photo and on a reduced copy.
//!
//! For every photo of a set (a directory with `manifest.csv`), each decoder and scale: the Code
//! 128 and QR codes found, whether the serial in them agrees with the serial the label prints,
//! and the time. Prints one table per set, and per case the photos where a code gave the
//! printed serial. Run it with `scripts/barcode_compare.sh`. `ONLY_LABELCHECK=1` measures
//! labelcheck's stage alone; `SHOW_WRONG=1` prints each photo where a code's serial is not the
//! printed one.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use labelcheck::pipeline::blur::downscale_box;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::serial::{LabelSerial, find_in_text, parse_full};

/// One code found: symbology and the serial parsed from its first line, if any.
struct Found {
    qr: bool,
    serial: Option<String>,
}

type Decoder = fn(&[u8], u32, u32) -> Vec<Found>;

fn serial_of(text: &str) -> Option<String> {
    let first = text.split(['\r', '\n', ':']).next().unwrap_or("");
    parse_full(first.trim(), false).map(|s| s.text())
}

fn rxing_decode(luma: &[u8], w: u32, h: u32) -> Vec<Found> {
    use rxing::{BarcodeFormat, DecodeHints};
    let mut hints = DecodeHints {
        PossibleFormats: Some([BarcodeFormat::CODE_128, BarcodeFormat::QR_CODE].into()),
        TryHarder: Some(true),
        ..Default::default()
    };
    match rxing::helpers::detect_multiple_in_luma_with_hints(luma.to_vec(), w, h, &mut hints) {
        Ok(results) => results
            .iter()
            .map(|r| Found {
                qr: *r.getBarcodeFormat() == BarcodeFormat::QR_CODE,
                serial: serial_of(r.getText()),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn zbar_decode(luma: &[u8], w: u32, h: u32) -> Vec<Found> {
    use zbar_rust::{ZBarConfig, ZBarImageScanner, ZBarSymbolType};
    let mut scanner = ZBarImageScanner::new();
    let _ = scanner.set_config(ZBarSymbolType::ZBarNone, ZBarConfig::ZBarCfgEnable, 0);
    let _ = scanner.set_config(ZBarSymbolType::ZBarCode128, ZBarConfig::ZBarCfgEnable, 1);
    let _ = scanner.set_config(ZBarSymbolType::ZBarQRCode, ZBarConfig::ZBarCfgEnable, 1);
    let found = match scanner.scan_y800(luma, w, h) {
        Ok(results) => results
            .iter()
            .map(|r| Found {
                qr: r.symbol_type == ZBarSymbolType::ZBarQRCode,
                serial: serial_of(&String::from_utf8_lossy(&r.data)),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    scanner.destroy();
    found
}

#[derive(Default)]
struct Tally {
    photos: usize,
    with_printed: usize,
    code128: usize,
    qr: usize,
    agrees: usize,
    wrong: usize,
    ms: Vec<f64>,
    by_case: BTreeMap<String, (usize, usize)>,
}

fn tally(
    t: &mut Tally,
    found: &[Found],
    ms: f64,
    printed_short: Option<&str>,
    printed_full: Option<&str>,
    case: &str,
) {
    t.ms.push(ms);
    t.photos += 1;
    t.code128 += found.iter().any(|f| !f.qr) as usize;
    t.qr += found.iter().any(|f| f.qr) as usize;
    let Some(short) = printed_short else { return };
    t.with_printed += 1;
    let agree = |s: &String| match printed_full {
        Some(full) => s == full,
        None => s.contains(short),
    };
    let serials: Vec<&String> = found.iter().filter_map(|f| f.serial.as_ref()).collect();
    let ok = serials.iter().any(|s| agree(s));
    t.agrees += ok as usize;
    let wrong = serials.iter().any(|s| !agree(s));
    if wrong && std::env::var_os("SHOW_WRONG").is_some() {
        eprintln!("wrong: {case} printed {printed_short:?} codes {serials:?}");
    }
    t.wrong += wrong as usize;
    let c = t.by_case.entry(case.to_string()).or_default();
    c.0 += ok as usize;
    c.1 += 1;
}

fn main() {
    let only_labelcheck = std::env::var_os("ONLY_LABELCHECK").is_some();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let decoders: [(&str, Decoder); 2] = [("rxing", rxing_decode), ("zbar", zbar_decode)];
    let scales: [(&str, Option<u32>); 3] =
        [("full", None), ("2048", Some(2048)), ("1280", Some(1280))];
    for dir in &args {
        let dir = Path::new(dir);
        let mut rows = csv::Reader::from_path(dir.join("manifest.csv")).expect("manifest");
        let headers = rows.headers().expect("headers").clone();
        let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let (photo_c, printed_c, case_c) = (col("photo"), col("printed_serial"), col("case"));
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        for row in rows.records() {
            let row = row.expect("row");
            let bytes = std::fs::read(dir.join(&row[photo_c])).expect("photo");
            let photo = decode(&bytes, &DecodeLimits::default()).expect("decode");
            let printed = &row[printed_c];
            let printed_short = find_in_text(printed).first().map(|s| s.short().to_string());
            let printed_full = find_in_text(printed).into_iter().find_map(|s| match s {
                LabelSerial::Full(f) => Some(f.text()),
                LabelSerial::Short(_) => None,
            });
            {
                let reference = downscale_box(&photo.gray, 1280);
                let reference = reference.as_ref().unwrap_or(&photo.gray);
                let start = Instant::now();
                let codes = labelcheck::pipeline::barcode::find_codes(&photo.gray, reference);
                let ms = start.elapsed().as_secs_f64() * 1e3;
                let found: Vec<Found> = codes
                    .iter()
                    .map(|c| Found {
                        qr: c.symbology == labelcheck::pipeline::barcode::Symbology::Qr,
                        serial: c.serial.clone(),
                    })
                    .collect();
                tally(
                    tallies.entry("labelcheck".into()).or_default(),
                    &found,
                    ms,
                    printed_short.as_deref(),
                    printed_full.as_deref(),
                    &row[case_c],
                );
            }
            for (scale_name, scale) in scales {
                if only_labelcheck {
                    break;
                }
                let reduced = scale.and_then(|s| downscale_box(&photo.gray, s));
                let img = reduced.as_ref().unwrap_or(&photo.gray);
                for (name, dec) in decoders {
                    let t = tallies
                        .entry(format!("{name:5} {scale_name:>4}"))
                        .or_default();
                    let start = Instant::now();
                    let found = dec(img.as_raw(), img.width(), img.height());
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    tally(
                        t,
                        &found,
                        ms,
                        printed_short.as_deref(),
                        printed_full.as_deref(),
                        &row[case_c],
                    );
                }
            }
        }
        println!("\n## {}", dir.display());
        println!(
            "decoder scale | photos | code128 | qr | printed serial from a code | wrong | ms median | ms p95 | ms max"
        );
        for (name, t) in &mut tallies {
            t.ms.sort_by(f64::total_cmp);
            let q = |p: f64| t.ms[((t.ms.len() - 1) as f64 * p).round() as usize];
            println!(
                "{name} | {} | {} | {} | {}/{} | {} | {:.1} | {:.1} | {:.1}",
                t.photos,
                t.code128,
                t.qr,
                t.agrees,
                t.with_printed,
                t.wrong,
                q(0.5),
                q(0.95),
                q(1.0)
            );
        }
        for (name, t) in &tallies {
            let cases: Vec<String> = t
                .by_case
                .iter()
                .map(|(c, (ok, n))| format!("{c} {ok}/{n}"))
                .collect();
            println!("{name}: {}", cases.join(", "));
        }
    }
}
