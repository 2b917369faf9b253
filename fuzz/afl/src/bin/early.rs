//! AFL++ target: one photo's bytes through decode, blur, the code finder and the line locator,
//! the stages `check` runs before OCR. A panic, or more than `ALLOCATION_BOUND` bytes held at
//! once, aborts (a crash to AFL++); the time bound is `afl-fuzz -t` (fuzz/afl/run.sh).

#[path = "../../../harness.rs"]
mod harness;

fn main() {
    let config = harness::fuzz_config();
    afl::fuzz!(|data: &[u8]| {
        let (_, peak) = harness::peak_of(|| harness::early_stages(data, &config));
        assert!(
            peak <= harness::ALLOCATION_BOUND,
            "held {peak} bytes at once, over the bound of {}",
            harness::ALLOCATION_BOUND
        );
    });
}
