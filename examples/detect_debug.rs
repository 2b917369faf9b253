//! Shows what the learned detector sees and finds on a photo, for tuning.
//!
//! ```text
//! cargo run --release --example detect_debug -- PHOTO OUT_DIR
//! ```
//! Writes the detector's whole view (`view.png`) and its probability map (`map.png`) to OUT_DIR
//! and prints the view's place in the photo, every line found on it, and the lines found with
//! a close view added where one is taken ([`labelcheck::pipeline::detect::detector_views`]) (centre, length, text height and angle, photo px).
use labelcheck::engines::EnginePair;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::detect::{
    View, detector_view, detector_views, find_lines_learned, lines_from_map,
};
use labelcheck::pipeline::locate::find_lines;
use labelcheck::pipeline::ocr::Readers;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(photo), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: detect_debug PHOTO OUT_DIR");
        std::process::exit(2);
    };
    let bytes = std::fs::read(photo).expect("read the photo");
    let gray = decode(&bytes, &DecodeLimits::default())
        .expect("decode")
        .gray;
    let located = find_lines(&gray);
    for l in &located {
        println!(
            "located ({:.0}, {:.0}) length {:.0} height {:.1} chars {}",
            l.centre.0, l.centre.1, l.length, l.text_height, l.chars
        );
    }
    let mut engines =
        EnginePair::open(&labelcheck::config::default_model_dir()).expect("the bundled models");
    std::fs::create_dir_all(out).expect("mkdir");
    let describe = |view: &View| {
        format!(
            "{}x{} at ({:.0}, {:.0}), scale {:.3}x{:.3}",
            view.image.width(),
            view.image.height(),
            view.origin.0,
            view.origin.1,
            view.scale.0,
            view.scale.1
        )
    };
    let view = detector_view(&gray, &located);
    println!(
        "{} located lines; whole view {}",
        located.len(),
        describe(&view)
    );
    for close in detector_views(&gray, &located).iter().skip(1) {
        println!("close view {}", describe(close));
        close.image.save(format!("{out}/close.png")).expect("save");
    }
    let map = engines
        .detect(&view.image)
        .expect("detect")
        .expect("a detector");
    view.image.save(format!("{out}/view.png")).expect("save");
    map.save(format!("{out}/map.png")).expect("save");
    let print = |what: &str, l: &labelcheck::pipeline::locate::TextLine| {
        println!(
            "{what} centre ({:.0}, {:.0}) length {:.0} height {:.1} angle {:.2}",
            l.centre.0,
            l.centre.1,
            l.length,
            l.text_height,
            l.angle.to_degrees()
        )
    };
    for l in lines_from_map(&map, &view) {
        print("whole view:", &l);
    }
    let lines = find_lines_learned(&gray, &located, &mut engines)
        .expect("detect")
        .expect("a detector");
    for l in &lines {
        print("with a close view:", l);
    }
}
