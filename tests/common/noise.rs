//! Black and white pixel noise, the locator's worst input: every speck is a character
//! candidate, and thousands of them chain into "lines". Shared by `tests/cli.rs` and
//! `benches/check.rs` (which includes this file by path).

/// `width` × `height` pixels, each black (30) or white (220) from a xorshift64 generator seeded
/// with `seed` (non-zero), so the same arguments give the same image.
pub fn pixel_noise(width: u32, height: u32, seed: u64) -> image::GrayImage {
    let mut state = seed.max(1);
    image::GrayImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Luma([if (state >> 33).is_multiple_of(2) {
            30
        } else {
            220
        }])
    })
}
