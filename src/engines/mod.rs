//! The engines behind the pipeline's reader seam ([`crate::pipeline::ocr::Readers`]): the learned
//! reader ([`learned`], PP-OCR over ONNX Runtime) and Tesseract ([`tesseract`]), the model files
//! they load and the checks those files pass at start-up ([`model`]).
//!
//! Engines are not shared between threads: each worker makes its own [`EnginePair`] through an
//! [`EngineFactory`], so tests can hand the workers a factory of fakes instead.

pub mod detector;
pub mod learned;
pub mod model;
pub mod tesseract;

pub use detector::LearnedDetector;
pub use learned::LearnedReader;
pub use tesseract::TesseractEngine;

use image::GrayImage;

use crate::error::Result;
use crate::pipeline::ocr::{Ask, Engine, LineRead, Readers, Recognizer};
use model::Model;

/// One worker's engines: one of each kind.
pub struct EnginePair {
    /// The learned reader.
    pub learned: LearnedReader,
    /// The learned text detector.
    pub detector: LearnedDetector,
    /// Tesseract with labelcheck's model.
    pub tesseract: TesseractEngine,
}

impl EnginePair {
    /// Both engines from a validated model folder, each on one thread; ONNX Runtime is loaded
    /// on first use.
    pub fn new(model: &Model) -> Result<EnginePair> {
        Self::for_pool(model, 1)
    }

    /// [`EnginePair::new`] for one worker of a pool of `threads`: the detector gets that many
    /// intra-op threads ([`LearnedDetector`]).
    pub fn for_pool(model: &Model, threads: usize) -> Result<EnginePair> {
        Ok(EnginePair {
            learned: model.learned_reader()?,
            detector: model.learned_detector(threads)?,
            tesseract: model.engine()?,
        })
    }

    /// Both engines from the model folder `dir`, its files checked first ([`Model::inspect`]).
    pub fn open(dir: &std::path::Path) -> Result<EnginePair> {
        Self::new(&Model::inspect(dir)?)
    }
}

impl Readers for EnginePair {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> Result<LineRead> {
        match ask.engine {
            Engine::Learned => self.learned.read_line(line, ask.charset),
            Engine::Tesseract => self.tesseract.read_line(line, ask.charset),
        }
    }

    fn detect(&mut self, view: &GrayImage) -> Result<Option<GrayImage>> {
        self.detector.probabilities(view).map(Some)
    }
}

/// Makes one worker thread's engines. The workers call it once per thread (and again after a
/// panic dropped a thread's engines).
pub trait EngineFactory: Send + Sync + 'static {
    /// A fresh set of engines.
    fn make(&self) -> Result<Box<dyn Readers + Send>>;
}

/// The real engines from a validated model folder, for a pool of a given number of workers.
#[derive(Debug, Clone)]
pub struct ModelEngines {
    model: Model,
    pool_threads: usize,
}

impl ModelEngines {
    /// Engines from `model` for the workers of a pool of `pool_threads` ([`EnginePair::for_pool`]).
    pub fn new(model: Model, pool_threads: usize) -> ModelEngines {
        ModelEngines {
            model,
            pool_threads,
        }
    }
}

impl EngineFactory for ModelEngines {
    fn make(&self) -> Result<Box<dyn Readers + Send>> {
        Ok(Box::new(EnginePair::for_pool(
            &self.model,
            self.pool_threads,
        )?))
    }
}
