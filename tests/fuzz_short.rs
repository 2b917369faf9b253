//! The mutation fuzzer's short form (the long run is `cargo run --release --example fuzz_photos
//! -- --inputs 1000000`, docs/testing.md): a few thousand mutated photos through decode, blur,
//! codes and lines and a few dozen through the whole check with real Tesseract, each bounded in
//! time and allocation; then every committed regression input in `fuzz/regressions/` again.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The fuzzer example, current.
fn fuzzer() -> PathBuf {
    common::example("fuzz_photos")
}

#[test]
fn mutated_photos_never_panic_hang_or_overallocate() {
    let findings = tempfile::tempdir().expect("tempdir");
    let out = Command::new(fuzzer())
        .args([
            "--inputs",
            "3000",
            "--full",
            "30",
            "--seed",
            "7",
            "--threads",
            "2",
        ])
        .arg("--findings")
        .arg(findings.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the fuzzer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("findings: 0"), "{stdout}");
    // The run read some inputs through and refused others: the mutations reach past the header.
    assert!(stdout.contains("early read:"), "{stdout}");
    assert!(stdout.contains("refused: corrupt_image"), "{stdout}");
}

#[test]
fn committed_regression_inputs_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "bin"))
                .collect()
        })
        .unwrap_or_default();
    if inputs.is_empty() {
        eprintln!("no regression inputs in {}", dir.display());
        return;
    }
    let out = Command::new(fuzzer())
        .arg("--replay")
        .args(&inputs)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
}
