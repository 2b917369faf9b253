//! Generates the gRPC code for `proto/labelcheck/v1/labelcheck.proto` into `OUT_DIR` (never into
//! `src/`), with a file descriptor set for the reflection service. Needs `protoc`
//! (Debian: protobuf-compiler, installed by scripts/setup.sh).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure()
        // Photos are shared, not copied, between the decoder, load-driver tasks and retries.
        .bytes(".labelcheck.v1.VerifyRequest.photo")
        // Debug of a request must never print photo bytes (src/server/proto.rs has its own).
        .skip_debug([".labelcheck.v1.VerifyRequest"])
        .file_descriptor_set_path(out.join("labelcheck_descriptor.bin"))
        .compile_protos(&["proto/labelcheck/v1/labelcheck.proto"], &["proto"])?;
    Ok(())
}
