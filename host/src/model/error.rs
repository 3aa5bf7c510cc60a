//! Errors of model and data files. Every message names the file, then the
//! tensor, key or array, then the problem.

use std::path::PathBuf;

use fiberloop_spec::layout::LayoutError;

/// What went wrong reading, checking, running or laying out a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file cannot be read (missing, unreadable) or written.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// "read" or "write".
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },

    /// The bytes are not a safetensors file (truncated, bad header, offsets
    /// that do not cover the data).
    #[error("{}: not a valid safetensors file (truncated or corrupt?): {source:?}", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// The safetensors crate's diagnosis.
        source: safetensors::SafeTensorError,
    },

    /// A tensor has the wrong element type.
    #[error("{}: tensor `{tensor}` has dtype {found}, expected {expected}", path.display())]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The dtype it must have.
        expected: &'static str,
        /// The dtype it has.
        found: String,
    },

    /// A tensor has the wrong rank or shape.
    #[error("{}: tensor `{tensor}` has shape {found:?}, expected {expected}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The shape it must have, in words.
        expected: String,
        /// The shape it has.
        found: Vec<usize>,
    },

    /// A layer lacks one of its four tensors.
    #[error("{}: tensor `{tensor}` is missing (layer {layer} has other tensors)", path.display())]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The missing tensor.
        tensor: String,
        /// Its layer.
        layer: usize,
    },

    /// A tensor that is not part of the format. Refused rather than ignored:
    /// it most likely means the file was made for another convention (float
    /// weights, per-tensor names), and silently dropping it would run a
    /// different network from the one the producer meant.
    #[error("{}: unknown tensor `{tensor}` (expected only layers.<i>.weight, .bias, .multiplier, .shift)", path.display())]
    UnknownTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },

    /// The file has no `layers.<i>.*` tensors at all.
    #[error("{}: no layers (no tensor named layers.0.weight)", path.display())]
    NoLayers {
        /// The file.
        path: PathBuf,
    },

    /// Layer numbers are not contiguous from 0.
    #[error("{}: layer {missing} has no tensors but layer {highest} exists (layers must be numbered 0, 1, 2, ... without gaps)", path.display())]
    LayerGap {
        /// The file.
        path: PathBuf,
        /// The first missing layer.
        missing: usize,
        /// The highest layer present.
        highest: usize,
    },

    /// A metadata key is missing (or the file has no metadata at all).
    #[error("{}: metadata key `{key}` is missing", path.display())]
    MissingMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },

    /// A metadata value cannot be parsed.
    #[error("{}: metadata `{key}` = {value:?}: {problem}", path.display())]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The value as found.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// A zero point outside -128..=127.
    #[error("{}: metadata `{key}` = {value} is out of range -128..=127", path.display())]
    ZeroPointOutOfRange {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The value.
        value: i64,
    },

    /// A shift outside 0..=31.
    #[error("{}: tensor `{tensor}` element {index} is {value}, out of range 0..=31", path.display())]
    ShiftOutOfRange {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Output channel.
        index: usize,
        /// The value.
        value: i8,
    },

    /// A negative Q31 multiplier (a real scale ratio is never negative).
    #[error("{}: tensor `{tensor}` element {index} is {value}, a multiplier must not be negative", path.display())]
    NegativeMultiplier {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Output channel.
        index: usize,
        /// The value.
        value: i32,
    },

    /// Layer `layer` does not take the previous layer's outputs.
    #[error("{}: layers do not chain: `layers.{layer}.weight` has {inputs} inputs but layer {} has {previous_outputs} outputs", path.display(), layer - 1)]
    LayersDoNotChain {
        /// The file.
        path: PathBuf,
        /// The later layer.
        layer: usize,
        /// Its inputs.
        inputs: usize,
        /// The previous layer's outputs.
        previous_outputs: usize,
    },

    /// Layer `layer`'s input zero point differs from the previous layer's
    /// output zero point (activations pass between layers unchanged, so they
    /// must agree).
    #[error("{}: metadata `layers.{layer}.input_zero_point` = {input} but `layers.{}.output_zero_point` = {previous_output}; they must be equal", path.display(), layer - 1)]
    ZeroPointMismatch {
        /// The file.
        path: PathBuf,
        /// The later layer.
        layer: usize,
        /// Its input zero point.
        input: i8,
        /// The previous layer's output zero point.
        previous_output: i8,
    },

    /// Folding the input zero point into the bias leaves int32.
    #[error("{}: tensor `layers.{layer}.bias` element {index}: bias - input_zero_point * sum(weights) = {value} does not fit int32", path.display())]
    BiasOverflow {
        /// The file.
        path: PathBuf,
        /// Layer.
        layer: usize,
        /// Output channel.
        index: usize,
        /// The folded bias.
        value: i64,
    },

    /// An npy file's dtype is not the one required.
    #[error("{}: array has dtype {found}, expected {expected}", path.display())]
    NpyDtype {
        /// The file.
        path: PathBuf,
        /// Required dtype (numpy descr).
        expected: &'static str,
        /// Found dtype.
        found: String,
    },

    /// An npy file's array has the wrong rank.
    #[error("{}: array has shape {found:?}, expected {expected}", path.display())]
    NpyShape {
        /// The file.
        path: PathBuf,
        /// Required shape, in words.
        expected: String,
        /// Found shape.
        found: Vec<u64>,
    },

    /// Inputs whose width is not the model's input width.
    #[error("{}: inputs are {found} wide but the model takes {expected} inputs", path.display())]
    NpyWidth {
        /// The file.
        path: PathBuf,
        /// Model input width.
        expected: usize,
        /// Array width.
        found: usize,
    },

    /// An npy file that ends before the data its header announces, or whose
    /// header cannot be parsed.
    #[error("{}: bad or truncated npy file: {source}", path.display())]
    NpyFormat {
        /// The file.
        path: PathBuf,
        /// The npyz diagnosis.
        source: std::io::Error,
    },

    /// Inputs given to inference with the wrong width.
    #[error("input vector {row} has {found} values but the model takes {expected}")]
    InputWidth {
        /// Which input vector.
        row: usize,
        /// Model input width.
        expected: usize,
        /// Given width.
        found: usize,
    },

    /// A data matrix whose buffer does not match its shape.
    #[error("a {rows} x {cols} matrix needs {} values, got {len}", rows * cols)]
    MatrixSize {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Values given.
        len: usize,
    },

    /// The network cannot be laid out in the loop.
    #[error("layout: {0}")]
    Layout(LayoutError),

    /// A plan made for another network.
    #[error("the plan is for layer shapes {plan:?} but the network has {network:?}")]
    PlanMismatch {
        /// (inputs, outputs) per layer in the plan.
        plan: Vec<(usize, usize)>,
        /// (inputs, outputs) per layer in the network.
        network: Vec<(usize, usize)>,
    },
}

impl From<LayoutError> for ModelError {
    fn from(e: LayoutError) -> Self {
        ModelError::Layout(e)
    }
}
