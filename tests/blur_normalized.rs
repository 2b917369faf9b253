//! The normalised blur score stays comparable across phone resolutions; the raw score does not.
//!
//! The 12 MP testdata photo is resampled (Lanczos, as a phone's ISP would when writing a smaller
//! photo) to the other resolutions phones produce. The raw Laplacian variance grows with each
//! downscale because edges get steeper per pixel; the normalised score, measured at a 1280 px long
//! side, must stay within 15% of the 12 MP photo's.

mod common;

use image::imageops::{FilterType, resize};
use labelcheck::pipeline::blur::{laplacian_variance, normalized_laplacian_variance};
use labelcheck::pipeline::decode::{DecodeLimits, decode};

#[test]
fn normalised_score_is_stable_across_resolutions() {
    for prefix in ["000_", "011_"] {
        let name = common::photo_by_prefix(prefix);
        let full = decode(&common::read_testdata(&name), &DecodeLimits::default())
            .expect("decodes")
            .gray;
        let raw_full = laplacian_variance(&full);
        let norm_full = normalized_laplacian_variance(&full);
        for (w, h) in [
            (3264, 2448),
            (2592, 1944),
            (2048, 1536),
            (1600, 1200),
            (1280, 960),
        ] {
            let (w, h) = if full.width() >= full.height() {
                (w, h)
            } else {
                (h, w)
            };
            if w >= full.width() {
                continue;
            }
            let smaller = resize(&full, w, h, FilterType::Lanczos3);
            let raw = laplacian_variance(&smaller);
            let norm = normalized_laplacian_variance(&smaller);
            let norm_ratio = norm / norm_full;
            println!(
                "{name} at {w}x{h}: raw {raw:.1} ({:.2}x of full), normalised {norm:.1} ({norm_ratio:.3}x)",
                raw / raw_full
            );
            assert!(
                (0.85..=1.15).contains(&norm_ratio),
                "{name} at {w}x{h}: normalised ratio {norm_ratio}"
            );
        }
        // The raw score alone is not comparable: at 1280x960 it differs by several times.
        let small = resize(
            &full,
            full.width() * 1280 / full.width().max(full.height()),
            full.height() * 1280 / full.width().max(full.height()),
            FilterType::Lanczos3,
        );
        assert!(
            laplacian_variance(&small) > 2.0 * raw_full,
            "{name}: raw score barely moved"
        );
    }
}
