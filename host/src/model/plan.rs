//! A network's layout in the loop and the slot payloads that carry it (the
//! rules are in [`fiberloop_spec::layout`]).

use fiberloop_spec::layout::{
    LayerShape, LayoutError, Params, Placement, Planner, SLOT_BYTES, WORD_BYTES,
};

use fiberloop_spec::engine::{EngineLayer, LayerEntry, ParamEntry};

use super::{ModelError, Network};

/// Where every layer sits in a loop of `loop_slots` slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The planner's parameters.
    pub params: Params,
    /// One placement per layer, in order.
    pub layers: Vec<Placement>,
    /// Slots the network uses, gaps included (slots `0..total_slots`).
    pub total_slots: usize,
    /// Slots the loop holds.
    pub loop_slots: usize,
}

impl Plan {
    /// Place layers of the given shapes; refused if they need more than
    /// `loop_slots` slots.
    pub fn new(
        shapes: &[LayerShape],
        params: Params,
        loop_slots: usize,
    ) -> Result<Plan, LayoutError> {
        let mut planner = Planner::new(params)?;
        let layers = shapes
            .iter()
            .map(|&s| planner.push(s))
            .collect::<Result<Vec<_>, _>>()?;
        planner.check_fits(loop_slots)?;
        Ok(Plan {
            params,
            layers,
            total_slots: planner.total_slots(),
            loop_slots,
        })
    }

    /// Payload bytes of the slots the network uses.
    pub fn total_bytes(&self) -> usize {
        self.total_slots * SLOT_BYTES
    }

    /// The slot payloads, slots `0..total_slots`, from each layer's weights
    /// (row-major `[outputs][inputs]`, as [`super::Layer::weights`]). Padding,
    /// slot tails and gap slots are zero.
    ///
    /// # Panics
    /// If `weights` does not hold one correctly sized slice per layer.
    pub fn images_from(&self, weights: &[&[i8]]) -> Vec<[u8; SLOT_BYTES]> {
        assert_eq!(
            weights.len(),
            self.layers.len(),
            "one weight slice per layer"
        );
        let mut flat = vec![0u8; self.total_bytes()];
        for (p, w) in self.layers.iter().zip(weights) {
            assert_eq!(w.len(), p.inputs * p.outputs, "weights of a layer");
            let base = p.first_slot * SLOT_BYTES;
            let row_bytes = p.row_words * WORD_BYTES;
            for (j, row) in w.chunks_exact(p.inputs).enumerate() {
                let start = base + j * row_bytes;
                for (dst, &v) in flat[start..start + p.inputs].iter_mut().zip(row) {
                    *dst = v as u8;
                }
            }
        }
        flat.chunks_exact(SLOT_BYTES)
            .map(|c| c.try_into().expect("chunk of SLOT_BYTES"))
            .collect()
    }
}

impl Network {
    /// Lay the network out in a loop of `loop_slots` slots.
    pub fn plan(&self, params: Params, loop_slots: usize) -> Result<Plan, ModelError> {
        Ok(Plan::new(&self.shapes(), params, loop_slots)?)
    }

    /// The slot payloads to write to slots `0..plan.total_slots`.
    pub fn slot_images(&self, plan: &Plan) -> Result<Vec<[u8; SLOT_BYTES]>, ModelError> {
        let network: Vec<_> = self.layers.iter().map(|l| (l.inputs, l.outputs)).collect();
        let planned: Vec<_> = plan.layers.iter().map(|p| (p.inputs, p.outputs)).collect();
        if network != planned {
            return Err(ModelError::PlanMismatch {
                plan: planned,
                network,
            });
        }
        let weights: Vec<&[i8]> = self.layers.iter().map(|l| l.weights()).collect();
        Ok(plan.images_from(&weights))
    }

    /// What the inference engine holds of the network laid out by `plan`:
    /// per layer its layer-table entry (where its rows are in the loop) and
    /// its per-output parameters (folded bias and requantisation), the
    /// parameter memory filled layer after layer from entry 0.
    pub fn engine_layers(&self, plan: &Plan) -> Vec<EngineLayer> {
        let mut base = 0u16;
        self.layers
            .iter()
            .zip(&plan.layers)
            .map(|(l, pl)| {
                let e = EngineLayer {
                    entry: LayerEntry {
                        first_slot: pl.first_slot as u16,
                        rows: pl.outputs as u16,
                        row_words: pl.row_words as u16,
                        param_base: base,
                    },
                    params: l
                        .folded_bias()
                        .iter()
                        .zip(l.requant())
                        .map(|(&bias, q)| ParamEntry {
                            bias,
                            multiplier: q.multiplier,
                            shift: q.shift,
                            zero_point: q.output_zero_point,
                            relu: q.relu,
                        })
                        .collect(),
                };
                base += l.outputs() as u16;
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_spec::layout::{Cell, SLOT_WORDS};
    use proptest::prelude::*;

    /// Reassemble layer `p`'s padded weight stream from the slot images by
    /// reading its slots in order (independently of `images_from`'s
    /// indexing).
    fn stream_of(images: &[[u8; SLOT_BYTES]], p: &Placement) -> Vec<u8> {
        let mut s: Vec<u8> = images[p.first_slot..p.first_slot + p.slots]
            .iter()
            .flatten()
            .copied()
            .collect();
        assert_eq!(s.len(), p.slots * SLOT_WORDS * WORD_BYTES);
        s.truncate(p.stream_bytes());
        s
    }

    fn padded(w: &[i8], inputs: usize, row_words: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for row in w.chunks(inputs) {
            out.extend(row.iter().map(|&v| v as u8));
            out.resize(out.len() + row_words * WORD_BYTES - inputs, 0);
        }
        out
    }

    fn layers_strategy() -> impl Strategy<Value = Vec<(usize, usize, Vec<i8>)>> {
        prop::collection::vec((1usize..300, 1usize..40), 1..4).prop_flat_map(|shapes| {
            shapes
                .into_iter()
                .map(|(i, o)| {
                    prop::collection::vec(any::<i8>(), i * o).prop_map(move |w| (i, o, w))
                })
                .collect::<Vec<_>>()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn slot_images_reassemble_to_padded_weights(
            layers in layers_strategy(),
            batch in 1usize..20,
            gap_words in 0usize..300,
        ) {
            let params = Params { batch, gap_words };
            let shapes: Vec<_> = layers
                .iter()
                .map(|&(inputs, outputs, _)| LayerShape { inputs, outputs })
                .collect();
            let plan = Plan::new(&shapes, params, usize::MAX).unwrap();
            let weights: Vec<&[i8]> = layers.iter().map(|l| &l.2[..]).collect();
            let images = plan.images_from(&weights);
            prop_assert_eq!(images.len(), plan.total_slots);

            let mut next = 0;
            let mut used = vec![false; plan.total_slots];
            for (p, (inputs, _, w)) in plan.layers.iter().zip(&layers) {
                prop_assert_eq!(p.first_slot, next);
                prop_assert!(p.tail_words() + p.gap_slots * SLOT_WORDS >= gap_words);
                prop_assert!(p.gap_slots == 0
                    || p.tail_words() + (p.gap_slots - 1) * SLOT_WORDS < gap_words);
                prop_assert_eq!(p.row_words, inputs.div_ceil(2).max(batch));
                prop_assert_eq!(stream_of(&images, p), padded(w, *inputs, p.row_words));
                // The spec's own inverse map agrees byte by byte.
                for slot in p.first_slot..p.first_slot + p.slots {
                    used[slot] = true;
                    for (byte, &got) in images[slot].iter().enumerate() {
                        let want = match p.cell(slot, byte).unwrap() {
                            Cell::Weight { row, input } => w[row * inputs + input] as u8,
                            Cell::Zero => 0,
                        };
                        prop_assert_eq!(got, want);
                    }
                }
                next = p.next_slot();
            }
            prop_assert_eq!(next, plan.total_slots);
            // Gap slots are empty.
            for (slot, image) in images.iter().enumerate() {
                if !used[slot] {
                    prop_assert!(image.iter().all(|&b| b == 0));
                }
            }
        }
    }

    #[test]
    fn refusal_gives_slots_and_bytes() {
        let shapes = [
            LayerShape {
                inputs: 784,
                outputs: 32,
            },
            LayerShape {
                inputs: 32,
                outputs: 10,
            },
        ];
        let e = Plan::new(&shapes, Params::default(), 100).unwrap_err();
        assert_eq!(
            e,
            LayoutError::TooBig {
                needed_slots: 113,
                loop_slots: 100
            }
        );
        let msg = ModelError::from(e).to_string();
        assert!(msg.contains("113 slots (25764 payload bytes)"), "{msg}");
        assert!(msg.contains("100 slots (22800 payload bytes)"), "{msg}");
        assert_eq!(
            Plan::new(&shapes, Params::default(), 113)
                .unwrap()
                .total_slots,
            113
        );
    }

    /// A small plan checked byte by byte: 3 inputs, 2 outputs, B = 2 (S =
    /// 2 words = 4 bytes per row), gap 200 words (tail 110 words: one gap
    /// slot), then 2 inputs, 1 output.
    #[test]
    fn tiny_images_by_hand() {
        let params = Params {
            batch: 2,
            gap_words: 200,
        };
        let shapes = [
            LayerShape {
                inputs: 3,
                outputs: 2,
            },
            LayerShape {
                inputs: 2,
                outputs: 1,
            },
        ];
        let plan = Plan::new(&shapes, params, 4).unwrap();
        assert_eq!(plan.layers[0].gap_slots, 1);
        assert_eq!(plan.layers[1].first_slot, 2);
        assert_eq!(plan.layers[1].gap_slots, 1);
        assert_eq!(plan.total_slots, 4);
        let images = plan.images_from(&[&[1, 2, 3, -1, -2, -3], &[7, -8]]);
        assert_eq!(images.len(), 4);
        assert_eq!(&images[0][..10], &[1, 2, 3, 0, 255, 254, 253, 0, 0, 0]);
        assert!(images[0][8..].iter().all(|&b| b == 0));
        assert!(images[1].iter().all(|&b| b == 0));
        assert_eq!(&images[2][..5], &[7, 248, 0, 0, 0]);
        assert!(images[3].iter().all(|&b| b == 0));
    }
}
