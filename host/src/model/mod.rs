//! int8 networks: the model file, reference inference and the weights'
//! place in the loop.
//!
//! # Model file (safetensors)
//!
//! A stack of fully connected layers, numbered 0, 1, 2, ... without gaps.
//! For layer `i`:
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `layers.{i}.weight` | I8 | `[out, in]` | weights, symmetric (zero point 0), row = output channel |
//! | `layers.{i}.bias` | I32 | `[out]` | bias at scale input scale x weight scale (zero point *not* folded in) |
//! | `layers.{i}.multiplier` | I32 | `[out]` | requantisation multiplier M0, Q31, not negative |
//! | `layers.{i}.shift` | I8 | `[out]` | requantisation right shift, 0..=31 |
//!
//! and metadata (`__metadata__`, all values strings):
//!
//! | key | value |
//! |---|---|
//! | `layers.{i}.input_zero_point` | integer -128..=127 |
//! | `layers.{i}.output_zero_point` | integer -128..=127 |
//! | `layers.{i}.relu` | `true` or `false` |
//!
//! Rules, each checked with its own [`ModelError`]: layer `i + 1` has as many
//! inputs as layer `i` has outputs, and its input zero point equals layer
//! `i`'s output zero point (the int8 activations pass on unchanged). Any
//! other tensor is an error ([`ModelError::UnknownTensor`]); other metadata
//! keys are ignored (producers record provenance there).
//!
//! On loading, the input zero point is folded into the bias: `bias'[j] =
//! bias[j] - zp_in * sum_i w[j][i]`, computed in i64, an error if it leaves
//! int32. The arithmetic is then [`fiberloop_spec::quant`]'s: `acc[j] =
//! dot(bias'[j], x, w[j])`, `y[j] = requant[j].apply(acc[j])`.

mod error;
mod npy;
mod plan;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use fiberloop_spec::layout::LayerShape;
use fiberloop_spec::quant::{dot, Requant};
use safetensors::{Dtype, SafeTensors};

pub use error::ModelError;
pub use npy::{
    int8_matrix_from_npy, int8_npy_bytes, read_int8_matrix, write_int8_matrix, Int8Matrix,
};
pub use plan::Plan;

/// One fully connected int8 layer, checked and with the input zero point
/// folded into the bias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    inputs: usize,
    outputs: usize,
    weights: Vec<i8>,
    bias: Vec<i32>,
    folded_bias: Vec<i32>,
    requant: Vec<Requant>,
    input_zero_point: i8,
    output_zero_point: i8,
    relu: bool,
}

impl Layer {
    /// Inputs (weights per row).
    pub fn inputs(&self) -> usize {
        self.inputs
    }
    /// Outputs (rows).
    pub fn outputs(&self) -> usize {
        self.outputs
    }
    /// Weights, row-major `[outputs][inputs]`.
    pub fn weights(&self) -> &[i8] {
        &self.weights
    }
    /// Row `j` of the weights (output channel `j`).
    pub fn row(&self, j: usize) -> &[i8] {
        &self.weights[j * self.inputs..(j + 1) * self.inputs]
    }
    /// Bias as stored in the file.
    pub fn bias(&self) -> &[i32] {
        &self.bias
    }
    /// Bias with the input zero point folded in (what the array adds).
    pub fn folded_bias(&self) -> &[i32] {
        &self.folded_bias
    }
    /// Requantisation parameters per output channel.
    pub fn requant(&self) -> &[Requant] {
        &self.requant
    }
    /// Input zero point.
    pub fn input_zero_point(&self) -> i8 {
        self.input_zero_point
    }
    /// Output zero point.
    pub fn output_zero_point(&self) -> i8 {
        self.output_zero_point
    }
    /// Whether the output is clamped at the output zero point.
    pub fn relu(&self) -> bool {
        self.relu
    }
    /// The layer's shape for the layout planner.
    pub fn shape(&self) -> LayerShape {
        LayerShape {
            inputs: self.inputs,
            outputs: self.outputs,
        }
    }

    /// The int32 accumulators for one input vector (`x.len() == inputs`).
    pub fn accumulate(&self, x: &[i8]) -> Vec<i32> {
        (0..self.outputs)
            .map(|j| dot(self.folded_bias[j], x, self.row(j)))
            .collect()
    }

    /// Requantise accumulators to int8 outputs.
    pub fn requantise(&self, acc: &[i32]) -> Vec<i8> {
        acc.iter()
            .zip(&self.requant)
            .map(|(&a, q)| q.apply(a))
            .collect()
    }
}

/// Every layer's values for one input vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Per layer, the int32 accumulators (folded bias included).
    pub accumulators: Vec<Vec<i32>>,
    /// Per layer, the int8 outputs; the last is the network's output.
    pub outputs: Vec<Vec<i8>>,
}

/// A checked stack of int8 layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    layers: Vec<Layer>,
}

/// The four tensors of a layer.
const FIELDS: [&str; 4] = ["weight", "bias", "multiplier", "shift"];

fn parse_tensor_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("layers.")?;
    let (index, field) = rest.split_once('.')?;
    let i: usize = index.parse().ok()?;
    if i.to_string() != index {
        return None; // "01", "+1": not canonical
    }
    let f = FIELDS.iter().position(|&x| x == field)?;
    Some((i, f))
}

struct Loader<'a> {
    path: &'a Path,
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl Loader<'_> {
    fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    /// A tensor's data, checked for dtype and shape (`None` in `shape`
    /// means any non-zero size).
    fn tensor(
        &self,
        name: &str,
        dtype: Dtype,
        dtype_name: &'static str,
        shape: &[Option<usize>],
        expected: impl Fn() -> String,
    ) -> Result<(Vec<usize>, &[u8]), ModelError> {
        let view = self
            .st
            .tensor(name)
            .map_err(|e| ModelError::NotSafetensors {
                path: self.path(),
                source: e,
            })?;
        if view.dtype() != dtype {
            return Err(ModelError::Dtype {
                path: self.path(),
                tensor: name.into(),
                expected: dtype_name,
                found: format!("{:?}", view.dtype()),
            });
        }
        let found = view.shape().to_vec();
        let ok = found.len() == shape.len()
            && found
                .iter()
                .zip(shape)
                .all(|(&f, s)| f > 0 && s.unwrap_or(f) == f);
        if !ok {
            return Err(ModelError::Shape {
                path: self.path(),
                tensor: name.into(),
                expected: expected(),
                found,
            });
        }
        Ok((found, view.data()))
    }

    fn meta(&self, key: &str) -> Result<&str, ModelError> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| ModelError::MissingMetadata {
                path: self.path(),
                key: key.into(),
            })
    }

    fn zero_point(&self, key: &str) -> Result<i8, ModelError> {
        let text = self.meta(key)?;
        let v: i64 = text.trim().parse().map_err(|_| ModelError::BadMetadata {
            path: self.path(),
            key: key.into(),
            value: text.into(),
            problem: "not an integer",
        })?;
        i8::try_from(v).map_err(|_| ModelError::ZeroPointOutOfRange {
            path: self.path(),
            key: key.into(),
            value: v,
        })
    }

    fn relu(&self, key: &str) -> Result<bool, ModelError> {
        match self.meta(key)? {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ModelError::BadMetadata {
                path: self.path(),
                key: key.into(),
                value: other.into(),
                problem: "expected `true` or `false`",
            }),
        }
    }

    fn layer(&self, i: usize) -> Result<Layer, ModelError> {
        let wname = format!("layers.{i}.weight");
        let (shape, wdata) = self.tensor(&wname, Dtype::I8, "I8", &[None, None], || {
            "[out, in] with out, in > 0".into()
        })?;
        let (outputs, inputs) = (shape[0], shape[1]);
        let vector = |field: &str, dtype: Dtype, dn: &'static str| {
            let name = format!("layers.{i}.{field}");
            let (_, data) = self.tensor(&name, dtype, dn, &[Some(outputs)], || {
                format!("[{outputs}] (the outputs of {wname})")
            })?;
            Ok::<_, ModelError>((name, data))
        };
        let (_, bdata) = vector("bias", Dtype::I32, "I32")?;
        let (mname, mdata) = vector("multiplier", Dtype::I32, "I32")?;
        let (sname, sdata) = vector("shift", Dtype::I8, "I8")?;

        let weights: Vec<i8> = wdata.iter().map(|&b| b as i8).collect();
        let le32 = |d: &[u8]| -> Vec<i32> {
            d.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let bias = le32(bdata);
        let multiplier = le32(mdata);
        let shift: Vec<i8> = sdata.iter().map(|&b| b as i8).collect();

        let input_zero_point = self.zero_point(&format!("layers.{i}.input_zero_point"))?;
        let output_zero_point = self.zero_point(&format!("layers.{i}.output_zero_point"))?;
        let relu = self.relu(&format!("layers.{i}.relu"))?;

        let mut requant = Vec::with_capacity(outputs);
        for j in 0..outputs {
            if !(0..=31).contains(&shift[j]) {
                return Err(ModelError::ShiftOutOfRange {
                    path: self.path(),
                    tensor: sname,
                    index: j,
                    value: shift[j],
                });
            }
            if multiplier[j] < 0 {
                return Err(ModelError::NegativeMultiplier {
                    path: self.path(),
                    tensor: mname,
                    index: j,
                    value: multiplier[j],
                });
            }
            requant.push(Requant {
                multiplier: multiplier[j],
                shift: shift[j] as u8,
                output_zero_point,
                relu,
            });
        }

        let mut folded_bias = Vec::with_capacity(outputs);
        for (j, &b) in bias.iter().enumerate() {
            let sum: i64 = weights[j * inputs..(j + 1) * inputs]
                .iter()
                .map(|&w| w as i64)
                .sum();
            let value = b as i64 - input_zero_point as i64 * sum;
            folded_bias.push(i32::try_from(value).map_err(|_| ModelError::BiasOverflow {
                path: self.path(),
                layer: i,
                index: j,
                value,
            })?);
        }

        Ok(Layer {
            inputs,
            outputs,
            weights,
            bias,
            folded_bias,
            requant,
            input_zero_point,
            output_zero_point,
            relu,
        })
    }
}

impl Network {
    /// Read and check a model file (format in the module documentation).
    pub fn load(path: impl AsRef<Path>) -> Result<Network, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        })?;
        Network::from_bytes(&bytes, path)
    }

    /// Check a model from the bytes of a safetensors file; `path` names it
    /// in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Network, ModelError> {
        let bad = |source| ModelError::NotSafetensors {
            path: path.to_path_buf(),
            source,
        };
        let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(bad)?;
        let st = SafeTensors::deserialize(bytes).map_err(bad)?;
        let meta = metadata.metadata().clone().unwrap_or_default();

        // Which layers exist, and reject anything that is not a layer tensor.
        let mut present: BTreeMap<usize, [bool; 4]> = BTreeMap::new();
        let mut names: Vec<&String> = st.names();
        names.sort();
        for name in names {
            match parse_tensor_name(name) {
                Some((i, f)) => present.entry(i).or_default()[f] = true,
                None => {
                    return Err(ModelError::UnknownTensor {
                        path: path.to_path_buf(),
                        tensor: name.clone(),
                    })
                }
            }
        }
        let Some((&highest, _)) = present.last_key_value() else {
            return Err(ModelError::NoLayers {
                path: path.to_path_buf(),
            });
        };
        for i in 0..=highest {
            let Some(fields) = present.get(&i) else {
                return Err(ModelError::LayerGap {
                    path: path.to_path_buf(),
                    missing: i,
                    highest,
                });
            };
            if let Some(f) = fields.iter().position(|&p| !p) {
                return Err(ModelError::MissingTensor {
                    path: path.to_path_buf(),
                    tensor: format!("layers.{i}.{}", FIELDS[f]),
                    layer: i,
                });
            }
        }

        let loader = Loader { path, st, meta };
        let mut layers: Vec<Layer> = Vec::with_capacity(highest + 1);
        for i in 0..=highest {
            let layer = loader.layer(i)?;
            if let Some(prev) = layers.last() {
                if layer.inputs != prev.outputs {
                    return Err(ModelError::LayersDoNotChain {
                        path: path.to_path_buf(),
                        layer: i,
                        inputs: layer.inputs,
                        previous_outputs: prev.outputs,
                    });
                }
                if layer.input_zero_point != prev.output_zero_point {
                    return Err(ModelError::ZeroPointMismatch {
                        path: path.to_path_buf(),
                        layer: i,
                        input: layer.input_zero_point,
                        previous_output: prev.output_zero_point,
                    });
                }
            }
            layers.push(layer);
        }
        Ok(Network { layers })
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layers' shapes, for the layout planner.
    pub fn shapes(&self) -> Vec<LayerShape> {
        self.layers.iter().map(Layer::shape).collect()
    }

    /// Inputs of the first layer.
    pub fn input_width(&self) -> usize {
        self.layers[0].inputs
    }

    /// Outputs of the last layer.
    pub fn output_width(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// The zero point of the network's int8 inputs.
    pub fn input_zero_point(&self) -> i8 {
        self.layers[0].input_zero_point
    }

    /// int8 weight bytes (what the loop must hold, before padding).
    pub fn weight_bytes(&self) -> usize {
        self.layers.iter().map(|l| l.inputs * l.outputs).sum()
    }

    /// int32 bias bytes (held on chip, not in the loop).
    pub fn bias_bytes(&self) -> usize {
        self.layers.iter().map(|l| 4 * l.outputs).sum()
    }

    /// Requantisation parameter bytes, 4-byte multiplier and 1-byte shift
    /// per output channel (held on chip).
    pub fn requant_bytes(&self) -> usize {
        self.layers.iter().map(|l| 5 * l.outputs).sum()
    }

    fn check_width(&self, row: usize, x: &[i8]) -> Result<(), ModelError> {
        if x.len() != self.input_width() {
            return Err(ModelError::InputWidth {
                row,
                expected: self.input_width(),
                found: x.len(),
            });
        }
        Ok(())
    }

    /// Every layer's accumulators and outputs for one input vector.
    pub fn trace_one(&self, x: &[i8]) -> Result<Trace, ModelError> {
        self.check_width(0, x)?;
        let mut trace = Trace {
            accumulators: Vec::with_capacity(self.layers.len()),
            outputs: Vec::with_capacity(self.layers.len()),
        };
        let mut a = x.to_vec();
        for layer in &self.layers {
            let acc = layer.accumulate(&a);
            a = layer.requantise(&acc);
            trace.accumulators.push(acc);
            trace.outputs.push(a.clone());
        }
        Ok(trace)
    }

    /// The network's output for one input vector.
    pub fn infer_one(&self, x: &[i8]) -> Result<Vec<i8>, ModelError> {
        self.check_width(0, x)?;
        let mut a = x.to_vec();
        for layer in &self.layers {
            a = layer.requantise(&layer.accumulate(&a));
        }
        Ok(a)
    }

    /// Outputs `[N, output_width]` for inputs `[N, input_width]`.
    pub fn infer(&self, inputs: &Int8Matrix) -> Result<Int8Matrix, ModelError> {
        if inputs.cols() != self.input_width() {
            return Err(ModelError::InputWidth {
                row: 0,
                expected: self.input_width(),
                found: inputs.cols(),
            });
        }
        let mut data = Vec::with_capacity(inputs.rows() * self.output_width());
        for r in 0..inputs.rows() {
            data.extend(self.infer_one(inputs.row(r))?);
        }
        Int8Matrix::new(inputs.rows(), self.output_width(), data)
    }

    /// [`Network::trace_one`] for every row of `inputs`.
    pub fn infer_traced(&self, inputs: &Int8Matrix) -> Result<Vec<Trace>, ModelError> {
        (0..inputs.rows())
            .map(|r| {
                self.check_width(r, inputs.row(r))?;
                self.trace_one(inputs.row(r))
            })
            .collect()
    }

    /// Read int8 inputs `[N, input_width]` from an npy file, checking the
    /// width against the model.
    pub fn read_inputs(&self, path: impl AsRef<Path>) -> Result<Int8Matrix, ModelError> {
        let path = path.as_ref();
        let m = read_int8_matrix(path)?;
        if m.cols() != self.input_width() {
            return Err(ModelError::NpyWidth {
                path: path.to_path_buf(),
                expected: self.input_width(),
                found: m.cols(),
            });
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests;
