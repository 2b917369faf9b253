//! The learned text reader: a PP-OCR CTC recogniser (ONNX) run by ONNX Runtime.
//!
//! A line crop (8-bit gray, dark text on light, any height) is scaled to the graph's 48 px input
//! height with its aspect kept, replicated to three channels and normalised to `[-1, 1]` (pixels
//! / 127.5 − 1), as PaddleOCR and rapidocr feed it. The graph answers, for each of its time steps
//! (one per 8 input columns), a probability for every class; class 0 is the CTC blank and the
//! last class is a space, the rest are the model's character list (stored in the graph's metadata
//! under `character`). Greedy CTC decoding keeps the best class of each step, merges repeats and
//! drops blanks; each character's confidence is the mean best probability over the steps it
//! spans, ×100, and its box the input columns of those steps, in crop pixels.
//!
//! [`Charset::Serial`] restricts decoding to the serial characters (and the blank): each step's
//! best class is taken among those only. The restriction is fixed, never derived from the
//! reported serial.
//!
//! One [`LearnedReader`] per worker thread; each holds its own session with one intra-op thread,
//! so that parallelism comes from the worker pool alone.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::OnceLock;

use image::GrayImage;
use ort::execution_providers::CPUExecutionProvider;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use crate::error::{Error, Result};
use crate::pipeline::ocr::{CharRead, Charset, LineRead, Recognizer, SERIAL_CHARSET};
use crate::pipeline::resample::scale;

/// Input height of the PP-OCR recognisers, px.
pub const INPUT_HEIGHT: u32 = 48;
/// Input columns per output time step of the PP-OCR recognisers.
const COLUMNS_PER_STEP: f32 = 8.0;
/// Widest input fed to the graph in one run, px (a line of about 200 characters); a wider crop
/// is squeezed to it. Bounds one read's time and memory whatever the crop.
pub const MAX_INPUT_WIDTH: u32 = 3200;
/// Narrowest input, px: the graphs need a few time steps.
const MIN_INPUT_WIDTH: u32 = 32;
/// Widening of every crop before it is read (input width per crop width at
/// [`INPUT_HEIGHT`]). Condensed print otherwise loses one of a doubled letter (`CWR` for
/// `CCWR`): on the held-apart training lines, 1,174 of 1,265 read exactly at 1×, 1,189 at 1.2×
/// (see `models/README.md`).
pub const STRETCH: f32 = 1.2;

pub(super) fn engine_error(detail: impl Into<String>) -> Error {
    Error::Internal {
        component: "onnxruntime",
        detail: detail.into(),
    }
}

/// The result of loading ONNX Runtime's shared library once per process.
static RUNTIME: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Loads ONNX Runtime from `library` (once per process; later calls return the first outcome).
/// Its digest is checked by [`crate::model`] before this is called.
pub fn init_runtime(library: &Path) -> Result<()> {
    RUNTIME
        .get_or_init(|| {
            ort::init_from(library.to_string_lossy())
                .with_name("labelcheck")
                .commit()
                .map(drop)
                .map_err(|e| format!("cannot load {}: {e}", library.display()))
        })
        .clone()
        .map_err(engine_error)
}

/// A session on the graph `model` with one intra-op and one inter-op thread (parallelism comes
/// from the worker pool alone), graph optimisations on, and no memory patterns (every input has
/// its own size: each photo's view, each line's width).
///
/// `arena`: whether ONNX Runtime's CPU arena keeps the buffers of one run for the next. Right for
/// the detector, whose view is at most [`crate::pipeline::detect::MAX_DETECT_PIXELS`]: its
/// arena is bounded, and without it each photo's ~100 MB of activations come fresh from the
/// kernel (5 s more system time over testdata's 86 photos). Wrong for the recogniser, whose line
/// widths run to [`MAX_INPUT_WIDTH`]: its arena grows in powers of two to the widest line's and
/// keeps that for good. Measured with `labelcheck batch testdata/manifest.csv --jobs 2` under
/// `/usr/bin/time`: peak RSS 889–892 MiB with both arenas, 594–603 MiB with the detector's
/// alone, the same wall time within noise (`docs/performance.md`).
pub(super) fn one_thread_session(model: &Path, arena: bool) -> Result<Session> {
    session(model, arena, 1)
}

/// [`one_thread_session`] with `threads` intra-op threads (at least 1). The helpers sleep
/// rather than spin between runs, so that a session's idle helpers take no CPU from the other
/// workers.
pub(super) fn session(model: &Path, arena: bool, threads: usize) -> Result<Session> {
    let cpu = CPUExecutionProvider::default()
        .with_arena_allocator(arena)
        .build();
    Session::builder()
        .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
        .and_then(|b| b.with_intra_threads(threads.max(1)))
        .and_then(|b| b.with_intra_op_spinning(false))
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.with_memory_pattern(false))
        .and_then(|b| b.with_execution_providers([cpu]))
        .and_then(|b| b.commit_from_file(model))
        .map_err(|e| engine_error(format!("cannot open {}: {e}", model.display())))
}

/// Runs `session` on one float input of `shape` and hands `answer` the first output's shape and
/// values, borrowed from ONNX Runtime (a recogniser's output for a long line is megabytes).
pub(super) fn run_one<R>(
    session: &mut Session,
    shape: [usize; 4],
    data: &[f32],
    answer: impl FnOnce(&[i64], &[f32]) -> Result<R>,
) -> Result<R> {
    let input =
        TensorRef::from_array_view((shape, data)).map_err(|e| engine_error(e.to_string()))?;
    let outputs = session
        .run(ort::inputs![input])
        .map_err(|e| engine_error(e.to_string()))?;
    let (out_shape, values) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| engine_error(e.to_string()))?;
    answer(out_shape, values)
}

/// How many of the latest reads keep the graph's answer, so that the same crop read again with
/// another character set is decoded from it rather than run again. A serial value printed on a
/// line of its own is read from that line's crop: first with every character, then with the
/// serial characters. Over a photo's dozen lines the answers kept take at most a few MiB.
const RECENT_READS: usize = 16;

/// The graph's answer for one crop.
struct Answer {
    /// The crop, compared pixel for pixel with a crop asked for again.
    crop: GrayImage,
    /// Class probabilities, steps × classes, row-major.
    probs: Vec<f32>,
    /// Crop pixels per input column.
    px_per_column: f32,
}

/// One PP-OCR recogniser session. Not shared: one per worker thread.
pub struct LearnedReader {
    session: Session,
    /// Class index → character; index 0 (blank) is `None`, the space class is `' '`.
    classes: Vec<Option<char>>,
    /// Indices of the classes allowed under [`Charset::Serial`] (blank first).
    serial_classes: Vec<usize>,
    /// The answers of the latest [`RECENT_READS`] crops read, newest last.
    recent: VecDeque<Answer>,
}

impl LearnedReader {
    /// Opens the recogniser graph `model` (ONNX Runtime must be loaded: [`init_runtime`]) with one
    /// intra-op thread.
    pub fn new(model: &Path) -> Result<LearnedReader> {
        let session = one_thread_session(model, false)?;
        let list = session
            .metadata()
            .and_then(|m| m.custom("character"))
            .map_err(|e| engine_error(format!("{}: no character list: {e}", model.display())))?
            .ok_or_else(|| engine_error(format!("{}: no `character` metadata", model.display())))?;
        let classes = class_table(&list);
        let serial_classes = std::iter::once(0)
            .chain(
                classes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.is_some_and(|c| SERIAL_CHARSET.contains(c)))
                    .map(|(i, _)| i),
            )
            .collect();
        Ok(LearnedReader {
            session,
            classes,
            serial_classes,
            recent: VecDeque::with_capacity(RECENT_READS),
        })
    }
}

/// The ASCII form of a full-width character (`：` U+FF1A is `:`): the recognisers' character
/// lists hold both forms, and read `SN：` on a label printed `SN:` (tuning photos), which then
/// reads as no caption. Other characters are kept.
fn halfwidth(ch: char) -> char {
    match u32::from(ch) {
        0x3000 => ' ',
        c @ 0xFF01..=0xFF5E => char::from_u32(c - 0xFEE0).unwrap_or(ch),
        _ => ch,
    }
}

/// The class table from the model's `character` list: blank, one class per line, then space.
fn class_table(list: &str) -> Vec<Option<char>> {
    std::iter::once(None)
        .chain(list.lines().map(|l| l.chars().next().or(Some(' '))))
        .chain(std::iter::once(Some(' ')))
        .collect()
}

/// The graph's input for `line`: `[1, 3, 48, W]` floats, and the width the crop was scaled to
/// (the rest of `W` is padding).
fn input_tensor(line: &GrayImage) -> (Vec<f32>, u32, u32) {
    let (w, h) = line.dimensions();
    let scaled_w = ((w as f32 * STRETCH * INPUT_HEIGHT as f32 / h.max(1) as f32).round() as u32)
        .clamp(1, MAX_INPUT_WIDTH);
    let width = scaled_w.max(MIN_INPUT_WIDTH);
    let scaled = scale(line, scaled_w, INPUT_HEIGHT);
    let plane = (INPUT_HEIGHT * width) as usize;
    let mut data = vec![0.0f32; plane * 3];
    for (y, row) in scaled.rows().enumerate() {
        for (x, p) in row.enumerate() {
            data[y * width as usize + x] = f32::from(p.0[0]) / 127.5 - 1.0;
        }
    }
    let (first, rest) = data.split_at_mut(plane);
    rest[..plane].copy_from_slice(first);
    rest[plane..].copy_from_slice(first);
    (data, width, scaled_w)
}

/// Greedy CTC decoding of `probs` (`steps` × `classes`, row-major), choosing each step's class
/// among `allowed` (all when `None`). Characters' boxes are in crop pixels, `scale` crop pixels
/// per input column.
fn decode(
    probs: &[f32],
    classes: usize,
    table: &[Option<char>],
    allowed: Option<&[usize]>,
    scale: f32,
) -> LineRead {
    let mut chars: Vec<CharRead> = Vec::new();
    // The open character: its class, first step, last step and summed probability.
    let mut open: Option<(usize, usize, usize, f32)> = None;
    let mut word_start = true;
    let mut close = |open: Option<(usize, usize, usize, f32)>, word_start: &mut bool| {
        let Some((class, first, last, sum)) = open else {
            return;
        };
        match table.get(class).copied().flatten().map(halfwidth) {
            Some(' ') => *word_start = true,
            Some(ch) => {
                let x0 = (first as f32 * COLUMNS_PER_STEP * scale).floor() as i32;
                let x1 = ((last + 1) as f32 * COLUMNS_PER_STEP * scale).ceil() as i32;
                chars.push(CharRead {
                    ch,
                    confidence: 100.0 * sum / (last + 1 - first) as f32,
                    x0,
                    x1,
                    word_start: *word_start,
                });
                *word_start = false;
            }
            None => {}
        }
    };
    let mut previous = 0usize;
    for (step, row) in probs.chunks_exact(classes).enumerate() {
        let (class, p) = match allowed {
            Some(allowed) => allowed
                .iter()
                .map(|&c| (c, row[c]))
                .fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a }),
            None => row
                .iter()
                .copied()
                .enumerate()
                .fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a }),
        };
        if class == previous && class != 0 {
            if let Some(o) = open.as_mut() {
                o.2 = step;
                o.3 += p;
            }
        } else {
            close(open.take(), &mut word_start);
            if class != 0 {
                open = Some((class, step, step, p));
            }
        }
        previous = class;
    }
    close(open.take(), &mut word_start);
    LineRead { chars }
}

impl LearnedReader {
    /// Drops the kept answers: the next read of any crop runs the graph. Benchmarks call it so
    /// that each iteration reads as a new photo does.
    pub fn forget(&mut self) {
        self.recent.clear();
    }
}

impl Recognizer for LearnedReader {
    fn read_line(&mut self, line: &GrayImage, charset: Charset) -> Result<LineRead> {
        let (w, h) = line.dimensions();
        if w < 4 || h < 4 {
            return Ok(LineRead::default());
        }
        let allowed = match charset {
            Charset::Any => None,
            Charset::Serial => Some(self.serial_classes.as_slice()),
        };
        let table = &self.classes;
        if let Some(known) = self.recent.iter().find(|a| a.crop == *line) {
            return Ok(decode(
                &known.probs,
                table.len(),
                table,
                allowed,
                known.px_per_column,
            ));
        }
        let (data, width, scaled_w) = input_tensor(line);
        let shape = [1usize, 3, INPUT_HEIGHT as usize, width as usize];
        let px_per_column = w as f32 / scaled_w as f32;
        let (read, probs) = run_one(&mut self.session, shape, &data, |out_shape, probs| {
            let classes = out_shape.last().copied().unwrap_or(0) as usize;
            if classes != table.len() {
                return Err(engine_error(format!(
                    "the graph answers {classes} classes, its character list has {}",
                    table.len()
                )));
            }
            Ok((
                decode(probs, classes, table, allowed, px_per_column),
                probs.to_vec(),
            ))
        })?;
        if self.recent.len() == RECENT_READS {
            self.recent.pop_front();
        }
        self.recent.push_back(Answer {
            crop: line.clone(),
            probs,
            px_per_column,
        });
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_characters_read_as_ascii() {
        assert_eq!(halfwidth('：'), ':');
        assert_eq!(halfwidth('Ｓ'), 'S');
        assert_eq!(halfwidth('\u{3000}'), ' ');
        assert_eq!(halfwidth('A'), 'A');
        assert_eq!(halfwidth('中'), '中');
    }

    #[test]
    fn ctc_decoding_merges_repeats_drops_blanks_and_starts_words_after_spaces() {
        // Classes: blank, 'A', '1', space.
        let table = class_table("A\n1");
        assert_eq!(table, vec![None, Some('A'), Some('1'), Some(' ')]);
        let step = |c: usize, p: f32| {
            let mut row = vec![0.0f32; 4];
            row[c] = p;
            row
        };
        // A A _ A 1 ␠ 1 1 : "AA 11" would be wrong; CTC gives "AA1 1".
        let probs: Vec<f32> = [
            step(1, 0.9),
            step(1, 0.7),
            step(0, 0.9),
            step(1, 0.8),
            step(2, 0.6),
            step(3, 0.9),
            step(2, 0.5),
            step(2, 0.7),
        ]
        .concat();
        let read = decode(&probs, 4, &table, None, 1.0);
        assert_eq!(read.text(), "AA1 1");
        assert!((read.chars[0].confidence - 80.0).abs() < 1e-3);
        assert_eq!((read.chars[0].x0, read.chars[0].x1), (0, 16));
        assert!((read.chars[3].confidence - 60.0).abs() < 1e-3);
        assert!(read.chars[3].word_start && !read.chars[2].word_start);
        // Restricted to blank and '1', each step's best allowed class wins.
        let read = decode(&probs, 4, &table, Some(&[0, 2]), 2.0);
        assert_eq!(read.text(), "11");
        assert_eq!(read.chars[0].x0, 64);
    }

    #[test]
    fn input_is_widened_by_the_stretch_and_padded_to_the_minimum_width() {
        let line = GrayImage::from_pixel(200, 40, image::Luma([255]));
        let (data, width, scaled) = input_tensor(&line);
        assert_eq!((width, scaled), (288, 288), "200 × 48 / 40 × 1.2");
        assert_eq!(data.len(), 3 * 48 * 288);
        assert!(data.iter().all(|&v| (v - 1.0).abs() < 1e-6));
        let tiny = GrayImage::from_pixel(10, 40, image::Luma([0]));
        let (data, width, scaled) = input_tensor(&tiny);
        assert_eq!((width, scaled), (MIN_INPUT_WIDTH, 14));
        assert_eq!(data[0], -1.0);
        assert_eq!(data[20], 0.0, "padding is mid-grey");
    }
}
