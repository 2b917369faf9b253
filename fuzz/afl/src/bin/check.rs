//! AFL++ target: one photo's bytes through the whole `check` with the real engines and the bundled
//! models, against a fixed reported serial. The engine is made once, before the fork server
//! starts, and reused across inputs, as a server worker reuses it. A panic, or more than
//! `ALLOCATION_BOUND` bytes held at once, aborts (a crash to AFL++); the time bound is
//! `afl-fuzz -t` (fuzz/afl/run.sh).

use std::path::Path;

use labelcheck::engines::EnginePair;
use labelcheck::pipeline::check;
use labelcheck::pipeline::serial::parse_reported;

#[path = "../../../harness.rs"]
mod harness;

fn main() {
    let config = harness::fuzz_config();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let model = labelcheck::model::Model::inspect(&models).expect("the bundled models");
    let mut engine = EnginePair::new(&model).expect("the bundled models load");
    let reported = parse_reported(harness::SERIAL).expect("a valid reported serial");
    afl::fuzz!(|data: &[u8]| {
        let (_, peak) = harness::peak_of(|| {
            let _ = check(data, &reported, &config, &mut engine, &mut |_, _| {});
        });
        assert!(
            peak <= harness::ALLOCATION_BOUND,
            "held {peak} bytes at once, over the bound of {}",
            harness::ALLOCATION_BOUND
        );
    });
}
