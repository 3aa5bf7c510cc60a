//! The physical layer's encodings: the transceiver bring-up states, the
//! bring-up aids (PRBS patterns, transmit sources, clock meters) and their
//! register fields (addresses in [`crate::regs`]).
//!
//! # PRBS patterns
//! The pseudo-random bit sequences of ITU-T O.150, as Fibonacci shift
//! registers: the next bit is the XOR of the register's bits `n` and `m`
//! (1-based from the newest), it is shifted in and sent. O.150 sends the
//! 2^15-1 and 2^31-1 sequences inverted; so does this project (and PRBS7
//! not). On the line the bits go out in the order of [`crate::line`]: bit 0
//! of the 20-bit SERDES word first. A generator starts from all ones.
//!
//! A checker counts one error per line bit that differs from a locally
//! generated reference (not the self-synchronising form, which triples each
//! error): it loads its register from the first `n` received bits, then
//! predicts every further bit.

/// A PRBS pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prbs {
    /// x^7 + x^6 + 1, period 127.
    Prbs7,
    /// x^15 + x^14 + 1 (O.150 5.3), inverted, period 32,767.
    Prbs15,
    /// x^31 + x^28 + 1 (O.150 5.8), inverted, period 2^31 - 1.
    Prbs31,
}

impl Prbs {
    /// Every pattern, by code.
    pub const ALL: [Prbs; 3] = [Prbs::Prbs7, Prbs::Prbs15, Prbs::Prbs31];

    /// The pattern's code in [`prbs_ctrl::PATTERN_MASK`].
    pub const fn code(self) -> u32 {
        match self {
            Prbs::Prbs7 => 0,
            Prbs::Prbs15 => 1,
            Prbs::Prbs31 => 2,
        }
    }

    /// The pattern with this code, if any.
    pub const fn from_code(code: u32) -> Option<Prbs> {
        match code {
            0 => Some(Prbs::Prbs7),
            1 => Some(Prbs::Prbs15),
            2 => Some(Prbs::Prbs31),
            _ => None,
        }
    }

    /// The register length `n` (the polynomial's degree).
    pub const fn degree(self) -> u32 {
        match self {
            Prbs::Prbs7 => 7,
            Prbs::Prbs15 => 15,
            Prbs::Prbs31 => 31,
        }
    }

    /// The second tap `m` (x^m).
    pub const fn tap(self) -> u32 {
        match self {
            Prbs::Prbs7 => 6,
            Prbs::Prbs15 => 14,
            Prbs::Prbs31 => 28,
        }
    }

    /// Whether the sent bit is the register's new bit inverted.
    pub const fn inverted(self) -> bool {
        !matches!(self, Prbs::Prbs7)
    }

    /// The sequence's period, bits.
    pub const fn period(self) -> u64 {
        (1u64 << self.degree()) - 1
    }

    /// The pattern's number as users write it (7, 15 or 31).
    pub const fn number(self) -> u32 {
        self.degree()
    }

    /// The pattern users call `7`, `15` or `31`.
    pub const fn from_number(n: u32) -> Option<Prbs> {
        match n {
            7 => Some(Prbs::Prbs7),
            15 => Some(Prbs::Prbs15),
            31 => Some(Prbs::Prbs31),
            _ => None,
        }
    }
}

/// A software PRBS generator: the reference the gateware's generator and
/// checker are tested against.
#[derive(Clone, Debug)]
pub struct PrbsGen {
    pattern: Prbs,
    state: u32,
}

impl PrbsGen {
    /// A generator from the all-ones state.
    pub fn new(pattern: Prbs) -> Self {
        Self {
            pattern,
            state: (1u32 << pattern.degree()) - 1,
        }
    }

    /// A generator whose register holds `state` (the last `n` bits sent,
    /// the newest in bit 0, as line bits: inversion undone).
    pub fn with_state(pattern: Prbs, state: u32) -> Self {
        Self {
            pattern,
            state: state & ((1u32 << pattern.degree()) - 1),
        }
    }

    /// The register (the last `n` register bits, newest in bit 0).
    pub fn state(&self) -> u32 {
        self.state
    }

    /// The next line bit.
    pub fn next_bit(&mut self) -> bool {
        let n = self.pattern.degree();
        let m = self.pattern.tap();
        let b = ((self.state >> (n - 1)) ^ (self.state >> (m - 1))) & 1;
        self.state = ((self.state << 1) | b) & ((1u32 << n) - 1);
        (b == 1) ^ self.pattern.inverted()
    }

    /// The next `bits` (1..=32) line bits, the first in bit 0.
    pub fn next_bits(&mut self, bits: u32) -> u32 {
        let mut w = 0;
        for i in 0..bits {
            w |= (self.next_bit() as u32) << i;
        }
        w
    }

    /// The next 20-bit SERDES word.
    pub fn next_word(&mut self) -> u32 {
        self.next_bits(crate::line::SERDES_WORD_BITS as u32)
    }
}

/// What the transmitter sends ([`prbs_ctrl::SOURCE_MASK`]).
pub mod source {
    /// The loop's traffic (normal operation).
    pub const LOOP: u32 = 0;
    /// The PRBS generator's pattern.
    pub const PRBS: u32 = 1;
    /// Fabric loopback: every received word straight back out (a far-end
    /// test: the other end's checker counts both directions' errors).
    pub const LOOPBACK: u32 = 2;
}

/// Fields of [`crate::regs::PRBS_CTRL`].
pub mod prbs_ctrl {
    /// Bits 1:0: the transmit source ([`super::source`]).
    pub const SOURCE_MASK: u32 = 0x3;
    /// Bits 5:4: the pattern of the generator and the checker
    /// ([`super::Prbs::code`]).
    pub const PATTERN_SHIFT: u32 = 4;
    /// Mask of the pattern field (after shifting).
    pub const PATTERN_MASK: u32 = 0x3;
    /// Bit 8: the checker runs (counts) while set.
    pub const CHECK: u32 = 1 << 8;
    /// Bit 9: write 1 to clear the checker's counters and lock (reads 0).
    pub const CLEAR: u32 = 1 << 9;
    /// Bits that must be 0.
    pub const RESERVED: u32 = !(SOURCE_MASK | (PATTERN_MASK << PATTERN_SHIFT) | CHECK | CLEAR);

    /// The control word for `source`, `pattern`, checker on or off.
    pub const fn pack(source: u32, pattern: super::Prbs, check: bool) -> u32 {
        (source & SOURCE_MASK) | (pattern.code() << PATTERN_SHIFT) | if check { CHECK } else { 0 }
    }
}

/// Fields of [`crate::regs::PRBS_STATUS`].
pub mod prbs_status {
    /// The checker is locked to the pattern.
    pub const LOCKED: u32 = 1 << 0;
    /// The checker lost lock at least once since the last clear.
    pub const LOCK_LOST: u32 = 1 << 1;
}

/// The transceiver bring-up states ([`phy_status::STATE_MASK`]), in the
/// order `SerdesInit` goes through them.
pub mod init_state {
    /// Every reset held (power-up, and after any loss of lock).
    pub const RESET: u32 = 0;
    /// TX PLL reset released: waiting for the TX PLL to lock.
    pub const TX_PLL: u32 = 1;
    /// TX lane released, CDR reset released: waiting for the CDR to lock
    /// with a signal present.
    pub const CDR: u32 = 2;
    /// CDR locked with a signal: the lock must hold before the RX lane
    /// leaves reset.
    pub const CDR_HOLD: u32 = 3;
    /// RX lane out of reset: the link is up.
    pub const READY: u32 = 4;
    /// Names, by state, for tools.
    pub const NAMES: [&str; 5] = ["reset", "tx_pll", "cdr", "cdr_hold", "ready"];
}

/// Fields of [`crate::regs::PHY_STATUS`].
pub mod phy_status {
    /// Bits 3:0: the bring-up state ([`super::init_state`]).
    pub const STATE_MASK: u32 = 0xF;
    /// The TX PLL is locked.
    pub const TX_PLL_LOCKED: u32 = 1 << 4;
    /// The receiver's CDR is locked.
    pub const CDR_LOCKED: u32 = 1 << 5;
    /// Loss of signal: the receiver sees no light.
    pub const LOS: u32 = 1 << 6;
    /// The TX lane is out of reset.
    pub const TX_READY: u32 = 1 << 7;
    /// The RX lane is out of reset.
    pub const RX_READY: u32 = 1 << 8;
    /// The line receiver is word-aligned on the comma.
    pub const ALIGNED: u32 = 1 << 9;
}

/// The clock meters: clocks of the measured clock counted over this many
/// reference clocks (clk100: 1 ms), so a meter reads the frequency in kHz.
pub const METER_WINDOW_REF_CLOCKS: u32 = 100_000;
/// The reference clock of the meters, Hz.
pub const METER_REF_HZ: u64 = 100_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_maximal() {
        for p in [Prbs::Prbs7, Prbs::Prbs15] {
            let mut g = PrbsGen::new(p);
            let s0 = g.state();
            let mut n = 0u64;
            loop {
                g.next_bit();
                n += 1;
                if g.state() == s0 {
                    break;
                }
                assert!(n <= p.period());
            }
            assert_eq!(n, p.period(), "{p:?}");
        }
    }

    #[test]
    fn prbs7_known_start() {
        // From all ones, x^7 + x^6 + 1 shifts in zeros while the ones
        // leave: bit 7 xor bit 6 of 1111111 is 0 six times, then ...
        let mut g = PrbsGen::new(Prbs::Prbs7);
        let bits: [bool; 8] = core::array::from_fn(|_| g.next_bit());
        assert_eq!(
            bits,
            [false, false, false, false, false, false, true, false]
        );
    }

    #[test]
    fn codes_round_trip() {
        for p in Prbs::ALL {
            assert_eq!(Prbs::from_code(p.code()), Some(p));
            assert_eq!(Prbs::from_number(p.number()), Some(p));
        }
        assert_eq!(Prbs::from_code(3), None);
        assert_eq!(Prbs::from_number(23), None);
        assert_eq!(
            prbs_ctrl::pack(source::PRBS, Prbs::Prbs31, true) & prbs_ctrl::RESERVED,
            0
        );
    }

    #[test]
    fn a_register_from_the_line_predicts_the_rest() {
        // What a checker does: take n line bits as its register, then the
        // generator it builds follows the sender.
        for p in Prbs::ALL {
            let mut tx = PrbsGen::new(p);
            for _ in 0..1000 {
                tx.next_bit();
            }
            let n = p.degree();
            let mut st = 0u32;
            for _ in 0..n {
                let b = tx.next_bit() ^ p.inverted();
                st = (st << 1) | b as u32;
            }
            let mut rx = PrbsGen::with_state(p, st);
            for _ in 0..500 {
                assert_eq!(rx.next_bit(), tx.next_bit(), "{p:?}");
            }
        }
    }
}
