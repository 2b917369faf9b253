//! The committed testdata is what the seeded generator makes: regenerating a sample of photos
//! (every case kind, EXIF orientation, two labels, PNG and WebP) gives byte-identical files.

use std::path::PathBuf;
use std::process::Command;

/// The generator example that `cargo test` builds next to this test binary.
fn generator() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let name = format!("gen_testdata{}", std::env::consts::EXE_SUFFIX);
    profile_dir.join("examples").join(name)
}

#[test]
fn regenerated_photos_are_byte_identical() {
    let generator = generator();
    {
        // Make sure the example is current (a no-op when `cargo test` just built it).
        let release = generator
            .parent()
            .and_then(|p| p.parent())
            .is_some_and(|p| p.ends_with("release"));
        let mut args = vec!["build", "--quiet", "--example", "gen_testdata"];
        if release {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(status.success());
    }
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
