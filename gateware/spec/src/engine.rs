//! The inference engine's own encodings: how a layer-table entry and a
//! per-row parameter entry are packed inside the gateware, and how the
//! register words of [`crate::regs::LAYER_TABLE`] and
//! [`crate::regs::PARAM_MEM`] map onto them.
//!
//! The gateware's layer sequencer and parameter memory hold exactly these
//! words; the host, the simulated boards and the tests build them here, so
//! the packing exists once.

use crate::regs;

/// Batch rows of the inference engine every board top builds (the array's
/// `B`; [`crate::regs::INFER_BATCH`] reads it back).
pub const BATCH: usize = crate::layout::DEFAULT_BATCH;

const _: () = assert!(BATCH as u32 <= regs::MAX_BATCH_ROWS);

/// Layer-table entries (the sequencer's table depth).
pub const MAX_LAYERS: usize = regs::MAX_LAYERS as usize;

/// Bits of a parameter-memory address (entries for all output rows of all
/// layers).
pub const PARAM_ADDR_BITS: usize = 10;
/// Parameter-memory entries.
pub const PARAM_ENTRIES: usize = 1 << PARAM_ADDR_BITS;
/// Bits of a packed parameter entry ([`ParamEntry::pack`]).
pub const PARAM_BITS: usize = 78;

const _: () = assert!(PARAM_ENTRIES == regs::PARAM_ENTRIES as usize);

/// One layer-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LayerEntry {
    /// Slot holding the layer's first weight word (payload word 0).
    pub first_slot: u16,
    /// Rows (output channels).
    pub rows: u16,
    /// Row stride in words.
    pub row_words: u16,
    /// Parameter-memory index of row 0.
    pub param_base: u16,
}

impl LayerEntry {
    /// The table word: bits 15:0 first slot, 31:16 rows, 47:32 row stride,
    /// 63:48 parameter base. Its low 32 bits are the register map's low
    /// word of the entry, its high 32 bits the high word.
    pub const fn pack(&self) -> u64 {
        (self.first_slot as u64)
            | ((self.rows as u64) << 16)
            | ((self.row_words as u64) << 32)
            | ((self.param_base as u64) << 48)
    }

    /// The entry of a table word.
    pub const fn unpack(d: u64) -> Self {
        LayerEntry {
            first_slot: d as u16,
            rows: (d >> 16) as u16,
            row_words: (d >> 32) as u16,
            param_base: (d >> 48) as u16,
        }
    }

    /// The two register words (low, high) of the entry in
    /// [`crate::regs::LAYER_TABLE`].
    pub const fn words(&self) -> [u32; 2] {
        let d = self.pack();
        [d as u32, (d >> 32) as u32]
    }

    /// The entry of its two register words.
    pub const fn from_words(low: u32, high: u32) -> Self {
        Self::unpack((low as u64) | ((high as u64) << 32))
    }
}

/// The per-output-row parameters of a layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamEntry {
    /// int32 bias, with the input zero point folded in.
    pub bias: i32,
    /// Requantiser multiplier M0 (Q31).
    pub multiplier: i32,
    /// Right shift, 0..=31.
    pub shift: u8,
    /// Output zero point.
    pub zero_point: i8,
    /// ReLU.
    pub relu: bool,
}

impl ParamEntry {
    /// The parameter-memory word: bits 31:0 bias, 63:32 multiplier, 68:64
    /// shift, 76:69 zero point, 77 ReLU.
    pub const fn pack(&self) -> u128 {
        (self.bias as u32 as u128)
            | ((self.multiplier as u32 as u128) << 32)
            | (((self.shift & 31) as u128) << 64)
            | ((self.zero_point as u8 as u128) << 69)
            | ((self.relu as u128) << 77)
    }

    /// The entry of a parameter-memory word.
    pub const fn unpack(d: u128) -> Self {
        ParamEntry {
            bias: d as u32 as i32,
            multiplier: (d >> 32) as u32 as i32,
            shift: ((d >> 64) & 31) as u8,
            zero_point: ((d >> 69) & 0xFF) as u8 as i8,
            relu: (d >> 77) & 1 == 1,
        }
    }

    /// The four register words of the entry in [`crate::regs::PARAM_MEM`]:
    /// bias, multiplier, [`crate::regs::param_word2`], and a word that must
    /// be 0.
    pub const fn words(&self) -> [u32; 4] {
        [
            self.bias as u32,
            self.multiplier as u32,
            regs::param_word2::pack(self.shift, self.zero_point, self.relu),
            0,
        ]
    }
}

/// One layer of a network as the inference engine holds it: its table
/// entry (where its weights are in the loop) and its per-output-row
/// parameters (loaded from `entry.param_base`).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineLayer {
    /// Layer-table entry.
    pub entry: LayerEntry,
    /// One entry per output row.
    pub params: alloc::vec::Vec<ParamEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_entries_round_trip_through_table_and_register_words() {
        let e = LayerEntry {
            first_slot: 0x1234,
            rows: 32,
            row_words: 0x0188,
            param_base: 0x03FF,
        };
        assert_eq!(e.pack(), 0x03FF_0188_0020_1234);
        assert_eq!(LayerEntry::unpack(e.pack()), e);
        let [lo, hi] = e.words();
        assert_eq!((lo, hi), (0x0020_1234, 0x03FF_0188));
        assert_eq!(LayerEntry::from_words(lo, hi), e);
    }

    #[test]
    fn param_entries_pack_at_the_documented_bits() {
        let e = ParamEntry {
            bias: -2,
            multiplier: 0x4000_0000,
            shift: 31,
            zero_point: -128,
            relu: true,
        };
        let d = e.pack();
        assert_eq!(d as u32, 0xFFFF_FFFE);
        assert_eq!((d >> 32) as u32, 0x4000_0000);
        assert_eq!((d >> 64) & 31, 31);
        assert_eq!((d >> 69) & 0xFF, 0x80);
        assert_eq!(d >> 77, 1);
        assert!(d < 1 << PARAM_BITS);
        assert_eq!(ParamEntry::unpack(d), e);
        assert_eq!(e.words(), [0xFFFF_FFFE, 0x4000_0000, 0x1_801F, 0]);
    }
}
