//! Times the bundled PP-OCR detector and recogniser under tract (pure Rust) and under ONNX Runtime
//! (through labelcheck's own engines), one thread each, on the input sizes the service runs:
//! the detector at 960×736 (about its 0.8 MP cap) and the recogniser at 48×320 and 48×1280 (a
//! short and a full serial's line). Medians of RUNS runs after one warm-up; ONNX Runtime's figures
//! include labelcheck's pre- and post-processing (normalisation, CTC decoding), which are small.
//!
//! `cd tools/tract-compare && cargo run --release -- [RUNS]` (models from `../../models`, as
//! fetched by `scripts/setup.sh`).

use std::path::Path;
use std::time::Instant;

use image::GrayImage;
use labelcheck::engines::{LearnedDetector, LearnedReader, learned};
use labelcheck::pipeline::ocr::{Charset, Recognizer};
use tract_onnx::prelude::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(
    runs: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    f()?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(ms))
}

/// A gray image of noise-like text strokes, `w`×`h` (timing does not depend on the content).
fn texture(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if (x / 3 + y / 5) % 4 == 0 { 30 } else { 220 }])
    })
}

/// The graph with its symbolic dimensions renamed without dots (the exporter named them
/// `p2o.DynamicDimension.0`, which tract's dimension parser refuses) and without its inner shape
/// annotations (some are expressions tract cannot parse; it infers them itself).
fn proto_for_tract(model: &Path) -> TractResult<tract_onnx::pb::ModelProto> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Type;
    let mut proto = tract_onnx::onnx().proto_model_for_path(model)?;
    if let Some(graph) = proto.graph.as_mut() {
        graph.value_info.clear();
        let infos = graph
            .input
            .iter_mut()
            .chain(graph.output.iter_mut())
            .chain(graph.value_info.iter_mut());
        for info in infos {
            if let Some(Type::TensorType(t)) = info.r#type.as_mut().and_then(|t| t.value.as_mut()) {
                for dim in t.shape.iter_mut().flat_map(|s| s.dim.iter_mut()) {
                    if let Some(Dim::DimParam(name)) = dim.value.as_mut() {
                        *name = name.replace('.', "_");
                    }
                }
            }
        }
    }
    Ok(proto)
}

/// Median ms of tract running `model` on one input of `shape`.
fn tract_median_ms(
    model: &Path,
    shape: [usize; 4],
    runs: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let onnx = tract_onnx::onnx();
    let tract = onnx
        .model_for_proto_model(&proto_for_tract(model)?)?
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()?;
    let input: Tensor = tract_ndarray::Array4::<f32>::from_elem(shape, 0.5).into();
    time(runs, || {
        tract.run(tvec!(input.clone().into()))?;
        Ok(())
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(10), |s| s.parse())?;
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    learned::init_runtime(&models.join(labelcheck::model::ONNXRUNTIME))?;
    let detector_graph = models.join(labelcheck::model::DETECTOR);
    let reader_graph = models.join(labelcheck::model::RECOGNISER);
    println!("| graph | input | ort ms | tract ms | tract / ort |");
    println!("|---|---|---|---|---|");

    let (w, h) = (960u32, 736u32);
    let mut det = LearnedDetector::new(&detector_graph)?;
    let view = texture(w, h);
    let ort_ms = time(runs, || {
        det.probabilities(&view)?;
        Ok(())
    })?;
    let tract_ms = tract_median_ms(&detector_graph, [1, 3, h as usize, w as usize], runs)?;
    println!(
        "| detector (PP-OCRv4 mobile) | 1×3×{h}×{w} | {ort_ms:.1} | {tract_ms:.1} | {:.2}× |",
        tract_ms / ort_ms
    );

    let mut reader = LearnedReader::new(&reader_graph)?;
    for width in [320u32, 1280] {
        let crop = texture(width, 48);
        let ort_ms = time(runs, || {
            reader.read_line(&crop, Charset::Any)?;
            Ok(())
        })?;
        let tract_ms = tract_median_ms(&reader_graph, [1, 3, 48, width as usize], runs)?;
        println!(
            "| recogniser (PP-OCRv6 small) | 1×3×48×{width} | {ort_ms:.1} | {tract_ms:.1} | {:.2}× |",
            tract_ms / ort_ms
        );
    }
    Ok(())
}
