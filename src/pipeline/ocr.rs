//! Reading one text line: the reader seams and the types they answer with.
//!
//! The pipeline only ever asks "what does this upright line crop say?", of one of two engines
//! ([`Engine`]): the learned reader, which reads every line, and Tesseract, which re-reads a serial
//! value as a second, independent reading. It asks through [`Readers`], so unit tests script a
//! fake and integration tests use the real engines (`crate::engines`).

use image::GrayImage;

use crate::error::Result;

/// Characters a serial can contain (whitelist for [`Charset::Serial`]).
pub const SERIAL_CHARSET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/";

/// Which characters the recogniser may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// Anything in the model (captions, words).
    Any,
    /// Only [`SERIAL_CHARSET`].
    Serial,
}

/// One recognised character.
#[derive(Debug, Clone, PartialEq)]
pub struct CharRead {
    /// The character.
    pub ch: char,
    /// Tesseract's confidence, 0–100.
    pub confidence: f32,
    /// Left edge in crop pixels.
    pub x0: i32,
    /// Right edge (exclusive) in crop pixels.
    pub x1: i32,
    /// Whether a new word starts at this character.
    pub word_start: bool,
}

/// What a recogniser read on one line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineRead {
    /// The characters, in reading order.
    pub chars: Vec<CharRead>,
}

impl LineRead {
    /// The text, with a space before each word after the first.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.chars.iter().enumerate() {
            if c.word_start && i > 0 {
                out.push(' ');
            }
            out.push(c.ch);
        }
        out
    }

    /// Mean character confidence, 0–100 (0 for an empty read).
    pub fn mean_confidence(&self) -> f32 {
        if self.chars.is_empty() {
            return 0.0;
        }
        self.chars.iter().map(|c| c.confidence).sum::<f32>() / self.chars.len() as f32
    }
}

/// Which engine reads a crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The learned reader (PP-OCR recogniser): every line, captions and values.
    Learned,
    /// Tesseract with labelcheck's model: the second, independent reading of a serial value.
    Tesseract,
}

/// One read the pipeline asks for: which engine, with which characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ask {
    /// The engine.
    pub engine: Engine,
    /// The characters it may answer with.
    pub charset: Charset,
}

impl Ask {
    /// A line read by the learned reader with any character.
    pub const LINE: Ask = Ask {
        engine: Engine::Learned,
        charset: Charset::Any,
    };
    /// A serial value read by the learned reader, serial characters only.
    pub const VALUE: Ask = Ask {
        engine: Engine::Learned,
        charset: Charset::Serial,
    };
    /// A serial value re-read by Tesseract, serial characters only.
    pub const SECOND_READING: Ask = Ask {
        engine: Engine::Tesseract,
        charset: Charset::Serial,
    };
}

/// The engines the pipeline reads through: one of each [`Engine`].
pub trait Readers {
    /// Reads `line` as `ask` says.
    fn read(&mut self, line: &GrayImage, ask: Ask) -> Result<LineRead>;

    /// Reads every crop of `lines`, answering in the same order. The pipeline hands over all the
    /// lines it can read at one time, so that an implementation may read them in parallel (the
    /// workers' pool does, `crate::workers`); this default reads them one after another.
    fn read_all(&mut self, lines: &[(&GrayImage, Ask)]) -> Result<Vec<LineRead>> {
        lines
            .iter()
            .map(|(line, ask)| self.read(line, *ask))
            .collect()
    }

    /// The text probability map of `view` (same size; probability × 255), from a learned text
    /// detector; `view`'s sides are multiples of 32 px. `None` when these readers have no
    /// detector: the pipeline then keeps the lines its own locator found.
    fn detect(&mut self, _view: &GrayImage) -> Result<Option<GrayImage>> {
        Ok(None)
    }
}

/// Reads an upright crop holding one line of text: one engine.
pub trait Recognizer {
    /// Recognises `line` (8-bit gray, dark text on a light background, capitals about 30 px).
    fn read_line(&mut self, line: &GrayImage, charset: Charset) -> Result<LineRead>;
}

/// A recogniser that answers from a script, for unit tests of the stages above OCR.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct ScriptedRecognizer {
    /// Answers returned in order, then empty reads.
    pub answers: std::collections::VecDeque<(String, f32)>,
    /// How many lines were asked for.
    pub calls: usize,
}

#[cfg(test)]
impl ScriptedRecognizer {
    /// A recogniser that will answer `texts` in order, each with `confidence`.
    pub fn new(texts: &[&str], confidence: f32) -> Self {
        Self {
            answers: texts.iter().map(|t| (t.to_string(), confidence)).collect(),
            calls: 0,
        }
    }
}

/// Both engines answer from the one script, in the order asked.
#[cfg(test)]
impl Readers for ScriptedRecognizer {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> Result<LineRead> {
        self.read_line(line, ask.charset)
    }
}

#[cfg(test)]
impl Recognizer for ScriptedRecognizer {
    fn read_line(&mut self, line: &GrayImage, _charset: Charset) -> Result<LineRead> {
        self.calls += 1;
        let Some((text, confidence)) = self.answers.pop_front() else {
            return Ok(LineRead::default());
        };
        let n = text.chars().count().max(1) as i32;
        let step = line.width() as i32 / n;
        let mut word_start = true;
        let mut chars = Vec::new();
        for (i, ch) in text.chars().enumerate() {
            if ch == ' ' {
                word_start = true;
                continue;
            }
            let i = i as i32;
            chars.push(CharRead {
                ch,
                confidence,
                x0: i * step,
                x1: (i + 1) * step,
                word_start,
            });
            word_start = false;
        }
        Ok(LineRead { chars })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_read_text_and_confidence() {
        let mut fake = ScriptedRecognizer::new(&["S/N: L12345678"], 91.0);
        let read = fake
            .read_line(&GrayImage::new(140, 30), Charset::Any)
            .expect("read");
        assert_eq!(read.text(), "S/N: L12345678");
        assert_eq!(read.mean_confidence(), 91.0);
        let empty = fake
            .read_line(&GrayImage::new(140, 30), Charset::Any)
            .expect("read");
        assert_eq!(empty.text(), "");
        assert_eq!(fake.calls, 2);
    }
}
