//! Where a network's weights sit in the loop.
//!
//! The loop carries `N` slots, slot 0 to slot `N - 1` in that order, every
//! lap. Each slot's payload (frame codeword bytes 7..=234, see
//! [`crate::frame`]) is [`SLOT_BYTES`] = 228 bytes, read by the weight tap as
//! [`SLOT_WORDS`] = 114 words of [`WORD_BYTES`] = 2 bytes, one word per fabric
//! clock. Payload byte `2k` is lane 0 (bits 7:0) of word `k`, payload byte
//! `2k + 1` is lane 1 (bits 15:8).
//!
//! # One layer
//!
//! A layer with `in` inputs and `out` outputs has int8 weights `w[j][i]`
//! (row `j` = output channel, `i` = input). Each row is padded with zero
//! weights to the *row stride* of `S` words:
//!
//! ```text
//! S = max(ceil(in / WORD_BYTES), MIN_ROW_WORDS)     MIN_ROW_WORDS = B (batch)
//! ```
//!
//! The array's single requantiser converts the `B` accumulators of a row
//! while the next row streams past, one per clock, so a row must last at
//! least `B` clocks. The layer's *stream* is its rows in order, row `j` at
//! stream words `j * S .. (j + 1) * S`, stream byte for weight `w[j][i]`:
//!
//! ```text
//! b = j * S * WORD_BYTES + i         (i < in; bytes in .. S*WORD_BYTES of the row are 0)
//! ```
//!
//! # Layers in the loop
//!
//! Layer `k` starts at a slot boundary, slot `first_slot(k)`, and its stream
//! runs contiguously through the payloads of `slots(k) = ceil(out * S /
//! SLOT_WORDS)` consecutive slots (rows may cross slot boundaries): stream
//! byte `b` is payload byte `b % SLOT_BYTES` of slot `first_slot(k) + b /
//! SLOT_BYTES`. The words left over in the layer's last slot are zero.
//!
//! The array needs [`Params::gap_words`] clocks (default
//! [`DEFAULT_GAP_WORDS`] = 64) after a layer's last word to drain and
//! requantise before the next layer's first word arrives. If fewer words
//! than that are left over in the layer's last slot, empty (all-zero) gap
//! slots follow it, as few as make up the difference (one, when `gap_words
//! <= SLOT_WORDS`). The next layer starts at the slot after those. The rule
//! applies after the last layer too, because the loop then wraps round to
//! layer 0 for the next batch.
//!
//! The plan's total is the first slot after the last layer's gap; a loop with
//! fewer slots cannot hold the network ([`LayoutError::TooBig`]). Slots from
//! the total to `N - 1` are unused.
//!
//! This module needs no allocator: [`Planner`] places one layer at a time.

use crate::frame;

/// Bytes per weight word (bytes the tap reads per fabric clock).
pub const WORD_BYTES: usize = frame::FRAME_SYMBOLS / frame::FRAME_WORDS;
/// Payload bytes per slot.
pub const SLOT_BYTES: usize = frame::PAYLOAD_BYTES;
/// Payload words per slot.
pub const SLOT_WORDS: usize = frame::word::PAYLOAD_LAST + 1 - frame::word::PAYLOAD_FIRST;
/// Default batch `B` (activation vectors held on chip), which is also the
/// minimum row stride in words.
pub const DEFAULT_BATCH: usize = 8;
/// Default drain/requantise latency between layers, in words.
pub const DEFAULT_GAP_WORDS: usize = 64;

const _: () = assert!(SLOT_WORDS * WORD_BYTES == SLOT_BYTES);

/// Planner parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Batch size `B`: the minimum row stride in words (`MIN_ROW_WORDS`).
    pub batch: usize,
    /// Words the array needs between one layer's last word and the next
    /// layer's first (`GAP_WORDS`).
    pub gap_words: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            batch: DEFAULT_BATCH,
            gap_words: DEFAULT_GAP_WORDS,
        }
    }
}

/// The shape of a layer: `outputs` rows of `inputs` weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerShape {
    /// Inputs (weights per row).
    pub inputs: usize,
    /// Outputs (rows).
    pub outputs: usize,
}

/// What a payload byte of a layer's slots holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Weight `w[row][input]`.
    Weight {
        /// Output channel.
        row: usize,
        /// Input index.
        input: usize,
    },
    /// A zero: row padding, or the tail of the layer's last slot.
    Zero,
}

/// One layer's place in the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// First slot of the layer.
    pub first_slot: usize,
    /// Slots holding the layer's rows (not counting gap slots).
    pub slots: usize,
    /// Empty slots after the layer (0 or, with the default gap, 1).
    pub gap_slots: usize,
    /// Inputs (weights per row).
    pub inputs: usize,
    /// Outputs (rows).
    pub outputs: usize,
    /// Row stride `S`, words.
    pub row_words: usize,
}

impl Placement {
    /// Words of the layer's stream: `outputs * row_words`.
    pub fn stream_words(&self) -> usize {
        self.outputs * self.row_words
    }

    /// Bytes of the layer's stream, padding included.
    pub fn stream_bytes(&self) -> usize {
        self.stream_words() * WORD_BYTES
    }

    /// Weight bytes without padding: `inputs * outputs`.
    pub fn weight_bytes(&self) -> usize {
        self.inputs * self.outputs
    }

    /// Payload bytes of the layer's slots: `slots * SLOT_BYTES`.
    pub fn slot_bytes(&self) -> usize {
        self.slots * SLOT_BYTES
    }

    /// The slot after the layer and its gap: where the next layer starts.
    pub fn next_slot(&self) -> usize {
        self.first_slot + self.slots + self.gap_slots
    }

    /// Words left over (zero) in the layer's last slot.
    pub fn tail_words(&self) -> usize {
        self.slots * SLOT_WORDS - self.stream_words()
    }

    /// Where weight `w[row][input]` sits: `(slot, payload byte)`, or `None`
    /// if `row` or `input` is out of range.
    pub fn locate(&self, row: usize, input: usize) -> Option<(usize, usize)> {
        if row >= self.outputs || input >= self.inputs {
            return None;
        }
        let b = row * self.row_words * WORD_BYTES + input;
        Some((self.first_slot + b / SLOT_BYTES, b % SLOT_BYTES))
    }

    /// What payload byte `byte` of slot `slot` holds, or `None` if the slot
    /// is not one of the layer's (gap slots are not) or `byte >= SLOT_BYTES`.
    pub fn cell(&self, slot: usize, byte: usize) -> Option<Cell> {
        if slot < self.first_slot || slot >= self.first_slot + self.slots || byte >= SLOT_BYTES {
            return None;
        }
        let b = (slot - self.first_slot) * SLOT_BYTES + byte;
        let row_bytes = self.row_words * WORD_BYTES;
        let (row, input) = (b / row_bytes, b % row_bytes);
        if row < self.outputs && input < self.inputs {
            Some(Cell::Weight { row, input })
        } else {
            Some(Cell::Zero)
        }
    }
}

/// Why a network cannot be laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The batch (minimum row stride) is 0.
    ZeroBatch,
    /// Layer `layer` has no inputs or no outputs.
    EmptyLayer {
        /// Layer index.
        layer: usize,
    },
    /// The network needs more slots than the loop holds.
    TooBig {
        /// Slots the network needs.
        needed_slots: usize,
        /// Slots the loop holds.
        loop_slots: usize,
    },
}

impl LayoutError {
    /// Payload bytes of `slots` slots.
    pub const fn slot_bytes(slots: usize) -> usize {
        slots * SLOT_BYTES
    }
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LayoutError::ZeroBatch => write!(f, "batch size 0: the row stride needs a batch of at least 1"),
            LayoutError::EmptyLayer { layer } => write!(f, "layer {layer} has no inputs or no outputs"),
            LayoutError::TooBig {
                needed_slots,
                loop_slots,
            } => write!(
                f,
                "the network needs {needed_slots} slots ({} payload bytes) but the loop holds {loop_slots} slots ({} payload bytes)",
                Self::slot_bytes(needed_slots),
                Self::slot_bytes(loop_slots)
            ),
        }
    }
}

/// Row stride in words for a layer with `inputs` inputs.
pub fn row_words(inputs: usize, params: &Params) -> usize {
    inputs.div_ceil(WORD_BYTES).max(params.batch)
}

/// Places layers one after another.
#[derive(Clone, Debug)]
pub struct Planner {
    params: Params,
    next_slot: usize,
    layers: usize,
}

impl Planner {
    /// A planner starting at slot 0.
    pub fn new(params: Params) -> Result<Self, LayoutError> {
        if params.batch == 0 {
            return Err(LayoutError::ZeroBatch);
        }
        Ok(Planner {
            params,
            next_slot: 0,
            layers: 0,
        })
    }

    /// Place the next layer.
    pub fn push(&mut self, shape: LayerShape) -> Result<Placement, LayoutError> {
        if shape.inputs == 0 || shape.outputs == 0 {
            return Err(LayoutError::EmptyLayer { layer: self.layers });
        }
        let row_words = row_words(shape.inputs, &self.params);
        let words = shape.outputs * row_words;
        let slots = words.div_ceil(SLOT_WORDS);
        let tail = slots * SLOT_WORDS - words;
        let gap_slots = self
            .params
            .gap_words
            .saturating_sub(tail)
            .div_ceil(SLOT_WORDS);
        let p = Placement {
            first_slot: self.next_slot,
            slots,
            gap_slots,
            inputs: shape.inputs,
            outputs: shape.outputs,
            row_words,
        };
        self.next_slot = p.next_slot();
        self.layers += 1;
        Ok(p)
    }

    /// Slots used so far (the slot the next layer would start at).
    pub fn total_slots(&self) -> usize {
        self.next_slot
    }

    /// Check that the layers placed so far fit a loop of `loop_slots` slots.
    pub fn check_fits(&self, loop_slots: usize) -> Result<(), LayoutError> {
        if self.next_slot > loop_slots {
            Err(LayoutError::TooBig {
                needed_slots: self.next_slot,
                loop_slots,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(inputs: usize, outputs: usize) -> LayerShape {
        LayerShape { inputs, outputs }
    }

    #[test]
    fn constants() {
        assert_eq!(WORD_BYTES, 2);
        assert_eq!(SLOT_WORDS, 114);
        assert_eq!(SLOT_BYTES, 228);
    }

    #[test]
    fn row_stride() {
        let p = Params::default();
        assert_eq!(row_words(1, &p), 8);
        assert_eq!(row_words(16, &p), 8);
        assert_eq!(row_words(17, &p), 9);
        assert_eq!(row_words(32, &p), 16);
        assert_eq!(row_words(64, &p), 32);
        assert_eq!(row_words(784, &p), 392);
        let p = Params { batch: 1, ..p };
        assert_eq!(row_words(3, &p), 2);
    }

    /// 64-32-10 (the digits model), worked by hand:
    /// layer 0: S = 32, 32 rows = 1024 words = 8 slots + 112 words (9 slots,
    /// tail 2 < 64: one gap slot, slot 9). Layer 1 at slot 10: S = 16,
    /// 10 rows = 160 words = 2 slots, tail 68 >= 64: no gap. Total 12.
    #[test]
    fn digits_plan_by_hand() {
        let mut pl = Planner::new(Params::default()).unwrap();
        let a = pl.push(shape(64, 32)).unwrap();
        assert_eq!(
            a,
            Placement {
                first_slot: 0,
                slots: 9,
                gap_slots: 1,
                inputs: 64,
                outputs: 32,
                row_words: 32
            }
        );
        assert_eq!(a.tail_words(), 2);
        assert_eq!(a.stream_bytes(), 2048);
        assert_eq!(a.weight_bytes(), 2048);
        let b = pl.push(shape(32, 10)).unwrap();
        assert_eq!(
            b,
            Placement {
                first_slot: 10,
                slots: 2,
                gap_slots: 0,
                inputs: 32,
                outputs: 10,
                row_words: 16
            }
        );
        assert_eq!(b.tail_words(), 68);
        assert_eq!(pl.total_slots(), 12);
        assert_eq!(pl.check_fits(12), Ok(()));
        assert_eq!(
            pl.check_fits(11),
            Err(LayoutError::TooBig {
                needed_slots: 12,
                loop_slots: 11
            })
        );
    }

    /// 784-32-10: S = 392, 32 rows = 12544 words = 110 slots + 4 words
    /// (111 slots, tail 110: no gap). Layer 1 at 111: 2 slots, tail 68.
    /// Odd input counts pad the row's last word; tiny layers pad to B.
    #[test]
    fn mnist_and_odd_plans_by_hand() {
        let mut pl = Planner::new(Params::default()).unwrap();
        let a = pl.push(shape(784, 32)).unwrap();
        assert_eq!(
            (a.first_slot, a.slots, a.gap_slots, a.row_words),
            (0, 111, 0, 392)
        );
        let b = pl.push(shape(32, 10)).unwrap();
        assert_eq!((b.first_slot, b.slots, b.gap_slots), (111, 2, 0));
        assert_eq!(pl.total_slots(), 113);

        // 3 inputs, 1 output: S = 8 words; 106 tail words, no gap.
        let mut pl = Planner::new(Params::default()).unwrap();
        let c = pl.push(shape(3, 1)).unwrap();
        assert_eq!(
            (c.slots, c.gap_slots, c.row_words, c.tail_words()),
            (1, 0, 8, 106)
        );
        // Exactly one slot of rows (114 words = 6 rows of 19 words): tail 0, gap.
        let d = pl.push(shape(37, 6)).unwrap();
        assert_eq!(
            (d.first_slot, d.slots, d.gap_slots, d.row_words),
            (1, 1, 1, 19)
        );
        assert_eq!(d.next_slot(), 3);
        // A tail of exactly 64 needs no gap; 63 does.
        let e = pl.push(shape(100, 1)).unwrap(); // 50 words, tail 64
        assert_eq!((e.first_slot, e.gap_slots), (3, 0));
        let f = pl.push(shape(102, 1)).unwrap(); // 51 words, tail 63
        assert_eq!((f.first_slot, f.gap_slots), (4, 1));
        assert_eq!(pl.total_slots(), 6);
    }

    #[test]
    fn long_gap_takes_several_slots() {
        let params = Params {
            batch: 8,
            gap_words: 300,
        };
        let mut pl = Planner::new(params).unwrap();
        // 8 words, tail 106: 194 more words = 2 slots.
        let a = pl.push(shape(16, 1)).unwrap();
        assert_eq!(a.gap_slots, 2);
        let params = Params {
            batch: 8,
            gap_words: 0,
        };
        let mut pl = Planner::new(params).unwrap();
        assert_eq!(pl.push(shape(37, 6)).unwrap().gap_slots, 0);
    }

    #[test]
    fn bad_params_and_shapes() {
        assert_eq!(
            Planner::new(Params {
                batch: 0,
                gap_words: 64
            })
            .unwrap_err(),
            LayoutError::ZeroBatch
        );
        let mut pl = Planner::new(Params::default()).unwrap();
        pl.push(shape(4, 4)).unwrap();
        assert_eq!(
            pl.push(shape(0, 4)),
            Err(LayoutError::EmptyLayer { layer: 1 })
        );
        assert_eq!(
            pl.push(shape(4, 0)),
            Err(LayoutError::EmptyLayer { layer: 1 })
        );
    }

    /// `locate` and `cell` are inverse, byte by byte, over a layer whose
    /// rows cross slot boundaries and whose inputs are odd.
    #[test]
    fn locate_and_cell_agree() {
        let mut pl = Planner::new(Params::default()).unwrap();
        pl.push(shape(5, 3)).unwrap();
        let p = pl.push(shape(181, 7)).unwrap(); // S = 91 words
        assert_eq!(p.row_words, 91);
        let mut weights = 0;
        for slot in p.first_slot..p.first_slot + p.slots {
            for byte in 0..SLOT_BYTES {
                match p.cell(slot, byte).unwrap() {
                    Cell::Weight { row, input } => {
                        weights += 1;
                        assert_eq!(p.locate(row, input), Some((slot, byte)));
                    }
                    Cell::Zero => {}
                }
            }
        }
        assert_eq!(weights, 181 * 7);
        // w[1][0] is stream byte 182: slot first + 0, byte 182; w[2][0] at
        // byte 364 = slot first + 1, byte 136.
        assert_eq!(p.locate(1, 0), Some((p.first_slot, 182)));
        assert_eq!(p.locate(2, 0), Some((p.first_slot + 1, 136)));
        assert_eq!(p.locate(7, 0), None);
        assert_eq!(p.locate(0, 181), None);
        assert_eq!(p.cell(p.first_slot - 1, 0), None);
        assert_eq!(p.cell(p.first_slot + p.slots, 0), None);
        assert_eq!(p.cell(p.first_slot, SLOT_BYTES), None);
    }

    #[test]
    fn too_big_message_gives_slots_and_bytes() {
        extern crate std;
        use std::string::ToString;
        let e = LayoutError::TooBig {
            needed_slots: 113,
            loop_slots: 12,
        };
        assert_eq!(
            e.to_string(),
            "the network needs 113 slots (25764 payload bytes) but the loop holds 12 slots (2736 payload bytes)"
        );
    }
}
