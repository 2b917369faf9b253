//! Inputs shared by the benches: testdata photos, read once.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The bytes of the first testdata photo whose name starts with `prefix` (e.g. "000_").
pub fn photo(prefix: &str) -> Vec<u8> {
    std::fs::read(testdata().join(manifest_row(prefix).0)).expect("read photo")
}

/// The manifest's photo name and reported serial for the photo starting with `prefix`.
pub fn manifest_row(prefix: &str) -> (String, String) {
    let manifest = std::fs::read_to_string(testdata().join("manifest.csv")).expect("manifest");
    let line = manifest
        .lines()
        .find(|l| l.starts_with(prefix))
        .expect("manifest row");
    let fields: Vec<&str> = line.split(',').collect();
    (fields[0].to_string(), fields[1].to_string())
}

/// Every testdata photo's bytes and reported serial, in manifest order (the testdata mix).
pub fn all_photos() -> Vec<(Vec<u8>, String)> {
    let manifest = std::fs::read_to_string(testdata().join("manifest.csv")).expect("manifest");
    manifest
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let bytes = std::fs::read(testdata().join(fields[0])).expect("read photo");
            (bytes, fields[1].to_string())
        })
        .collect()
}
