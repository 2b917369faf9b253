//! The committed testdata is what the seeded generator makes: regenerating a sample of photos
//! (every case kind, EXIF orientation, two labels, PNG and WebP) gives byte-identical files.

use std::process::Command;

mod common;

#[test]
fn regenerated_photos_are_byte_identical() {
    let generator = common::example("gen_testdata");
    let out = Command::new(&generator)
        .args(["--verify", "--only", "1,4,8,12,16,30,84,85"])
        .output()
        .expect("run generator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "generator output differs from testdata:\n{stderr}"
    );
    assert!(stdout.contains("verified 8 photos"), "{stdout}");
}
