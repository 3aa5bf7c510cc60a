//! The ECP5-5G SERDES dual (`DCUA`) and its reference clock input
//! (`EXTREFB`) as rust-hdl black boxes, with every DCUA parameter in one
//! table, [`DCUA_PARAMS`].
//!
//! # The configuration
//!
//! Channel 1 of DCU0 (the Versa's SMA pair), raw 10-bit mode (the 8b/10b
//! coder and the comma aligner are in fabric: `crate::line`), 20-bit words
//! through the 1:2 gearbox, 2.5 Gb/s from a 156.25 MHz reference (EXTREF0)
//! times 16. The set starts from the one LiteICLink runs on the Versa at
//! 2.5 Gb/s (`/work/shared/notes/ecp5-serdes.md`, read, not run on a board
//! here); every value has its reason in the table. Departures from that set:
//!
//! * `D_REFCK_MODE = 0b010` (x16) and both dividers /1: the set's rate
//!   entries for a 156.25 MHz reference at 2.5 Gb/s (LiteICLink picks the
//!   multiplier from the reference; x16 is its value for this clock).
//! * `CH1_ENABLE_CG_ALIGN = 0b0` (LiteICLink: 1): the PCS comma aligner
//!   is off. The fabric's `CommaAligner` finds the boundary at any of the
//!   20 bit offsets and decides when to re-align (three commas in a row); a
//!   second aligner in the PCS could move the boundary on its own on a
//!   comma-like pattern made by bit errors, a slip the fabric would then
//!   have to chase and that the behavioural model (`DcuaModel`) does not
//!   model. With it off the channel is a plain deserialiser, which is what
//!   the model is. `UDF_COMMA_*` keep LiteICLink's values (they serve only
//!   that aligner).
//! * The Diamond-only parameters (`CH1_PROTOCOL`, `D_TX_MAX_RATE`,
//!   `CH1_CDR_MAX_RATE`, `CH1_TXAMPLITUDE`) are set for the record and have
//!   no bits in the open flow ([`DcuParam::in_bitstream`] is false); the TX
//!   swing comes from the `TDRV_SLICE*` words.
//!
//! Everything not in the table is left unset, and **nextpnr writes an unset
//! DCU word as zero** (not Lattice's default): a parameter that must be
//! non-zero has to be in the table. The bitstream test
//! (`dcua_synthesizes`) reads the built bitstream back and checks every
//! DCU word against the table, both ways.
//!
//! # Ports
//!
//! [`Dcua`] presents the channel as [`DcuFabric`]: `FF_TX_PCLK` drives both
//! `tx_pclk` and the channel's own `FF_TXI_CLK`, `FF_RX_PCLK` both `rx_pclk`
//! and `FF_RXI_CLK` (the fabric words are clocked by the clocks the channel
//! makes). The 20-bit word is `FF_TX_D` 9:0 (first 10-bit symbol on the
//! line) and 21:12 (second); `FF_TX_D` 10, 11, 22, 23 (the PCS's K and
//! disparity controls, unused in raw mode) are tied low; the same for RX
//! (`FF_RX_D` 10, 11, 22, 23 are not connected). Every output of [`Dcua`]
//! comes from a DCUA pin; none is tied to a constant. Constant inputs: the
//! power-downs released (`D_FFC_MACROPDB`, `CH1_FFC_RXPWDNB`,
//! `CH1_FFC_TXPWDNB` high), the dual and macro resets low (the bring-up
//! drives the four resets of [`DcuFabric`]), and every other fabric
//! control (polarity inversion, electrical idle, loopbacks, FIFO clears,
//! PCIe detection, rate and gear mode ports, bit-slip) low: the gearbox
//! and rates come from the parameters, as in LiteICLink's instance, which
//! does not drive those ports (read).
//!
//! Both blocks are black boxes: no simulation behaviour (`update` does
//! nothing). `crate::vendor::dcua_model::DcuaModel` stands in for the DCUA
//! in simulation. Latency, throughput, reset: those of the hardware (a
//! 20-bit word per `tx_pclk`/`rx_pclk` clock; the resets are the ports of
//! [`DcuFabric`], documented with the model).
//!
//! # rust-hdl
//!
//! The Verilog is a `Verilog::Wrapper` (the block's own module holds the
//! primitive's instance). Written around 0.46: `cores` carries only a
//! `(* blackbox *)` stub, declaring the ports used and the parameters of the
//! table (yosys's `hierarchy -check` refuses parameters a stub does not
//! declare; `synth_ecp5` then replaces the stub by its own cell library
//! model), and the stub is guarded by `` `ifndef `` because rust-hdl emits
//! `cores` once per instance: yosys takes a black box declared twice, but
//! Verilator (`MODDUP`) and other readers do not.

use crate::bundles::DcuFabric;
use rust_hdl::prelude::*;

/// One DCUA parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DcuParam {
    /// The parameter's name on the primitive (`D_...` for the dual,
    /// `CH1_...` for the channel).
    pub name: &'static str,
    /// Its value, as written on the instance (`"0b010"`, `"0x3ff"`,
    /// `"0d19"`, or a Diamond string).
    pub value: &'static str,
    /// Why this value.
    pub why: &'static str,
    /// The open flow has bits for it (`DCU.<name>` in the bitstream).
    pub in_bitstream: bool,
}

const fn p(name: &'static str, value: &'static str, why: &'static str) -> DcuParam {
    DcuParam {
        name,
        value,
        why,
        in_bitstream: true,
    }
}

const fn diamond(name: &'static str, value: &'static str, why: &'static str) -> DcuParam {
    DcuParam {
        name,
        value,
        why,
        in_bitstream: false,
    }
}

/// The DCU the channel is in (`LOC` of the instance).
pub const DCU_LOC: &str = "DCU0";
/// The reference clock input (`LOC` of the EXTREFB).
pub const EXTREF_LOC: &str = "EXTREF0";
/// The channel used.
pub const CHANNEL: u8 = 1;
/// The reference clock, MHz (the Versa's ispClock5406D output for EXTREF0).
pub const REFCLK_MHZ: f64 = 156.25;
/// The line rate, Gb/s (reference x16, dividers /1).
pub const LINE_GBPS: f64 = 2.5;
/// The word clock (`FF_TX_PCLK`, `FF_RX_PCLK`), MHz: 20 bits a word.
pub const WORD_CLOCK_MHZ: f64 = LINE_GBPS * 1000.0 / 20.0;

/// The wire inside [`Dcua`]'s module that carries `FF_TX_PCLK`: in the
/// flattened netlist the TX word clock net is `<instance path>.dcu_tx_pclk`
/// (`dcu.dcu_tx_pclk` for a `Dcua` field `dcu` of the top; nested
/// instances join their field names with `.`), the name an LPF's
/// `FREQUENCY NET` takes ([`pclk_nets`]).
pub const TX_PCLK_WIRE: &str = "dcu_tx_pclk";
/// The wire that carries `FF_RX_PCLK` (see [`TX_PCLK_WIRE`]).
pub const RX_PCLK_WIRE: &str = "dcu_rx_pclk";

/// The TX and RX word clock nets of the [`Dcua`] at `instance` (its field
/// path from the top, `.`-joined: `"dcu"`, `"board.dcu"`), for the LPF.
pub fn pclk_nets(instance: &str) -> (String, String) {
    (
        format!("{instance}.{TX_PCLK_WIRE}"),
        format!("{instance}.{RX_PCLK_WIRE}"),
    )
}

/// Every DCUA parameter the design sets (see the module documentation for
/// the departures from LiteICLink's set and for what unset means).
pub const DCUA_PARAMS: &[DcuParam] = &[
    // --- the dual: power, clocking, TX PLL ---
    p("D_MACROPDB", "0b1", "dual powered up"),
    p(
        "D_IB_PWDNB",
        "0b1",
        "dual input buffers powered (the RX needs them)",
    ),
    p("D_TXPLL_PWDNB", "0b1", "TX PLL powered"),
    p(
        "D_BITCLK_LOCAL_EN",
        "0b1",
        "the TX bit clock comes from this dual's own PLL",
    ),
    p(
        "D_REFCK_MODE",
        "0b010",
        "PLL multiplier x16: 156.25 MHz x 16 = 2.5 GHz",
    ),
    p(
        "D_TX_VCO_CK_DIV",
        "0b000",
        "TX divider /1: full rate 2.5 Gb/s",
    ),
    p("D_CMUSETBIASI", "0b00", "TX PLL bias (LiteICLink's set)"),
    p(
        "D_CMUSETI4CPP",
        "0d3",
        "TX PLL charge pump (LiteICLink's set)",
    ),
    p(
        "D_CMUSETI4CPZ",
        "0d3",
        "TX PLL charge pump (LiteICLink's set)",
    ),
    p(
        "D_CMUSETI4VCO",
        "0b00",
        "TX PLL VCO current (LiteICLink's set)",
    ),
    p(
        "D_CMUSETICP4P",
        "0b01",
        "TX PLL charge pump (LiteICLink's set)",
    ),
    p(
        "D_CMUSETICP4Z",
        "0b101",
        "TX PLL charge pump (LiteICLink's set)",
    ),
    p(
        "D_CMUSETINITVCT",
        "0b00",
        "TX PLL initial VCO control (LiteICLink's set)",
    ),
    p(
        "D_CMUSETISCL4VCO",
        "0b000",
        "TX PLL VCO scaling (LiteICLink's set)",
    ),
    p(
        "D_CMUSETP1GM",
        "0b000",
        "TX PLL loop filter (LiteICLink's set)",
    ),
    p(
        "D_CMUSETP2AGM",
        "0b000",
        "TX PLL loop filter (LiteICLink's set)",
    ),
    p(
        "D_CMUSETZGM",
        "0b000",
        "TX PLL loop filter (LiteICLink's set)",
    ),
    p("D_SETIRPOLY_AUX", "0b01", "aux bias (LiteICLink's set)"),
    p("D_SETICONST_AUX", "0b01", "aux bias (LiteICLink's set)"),
    p("D_SETIRPOLY_CH", "0b01", "channel bias (LiteICLink's set)"),
    p("D_SETICONST_CH", "0b10", "channel bias (LiteICLink's set)"),
    p("D_SETPLLRC", "0d1", "TX PLL RC (LiteICLink's set)"),
    p("D_RG_EN", "0b0", "no regulator override (LiteICLink's set)"),
    p("D_RG_SET", "0b00", "regulator setting (LiteICLink's set)"),
    p(
        "D_REQ_ISET",
        "0b011",
        "equaliser current (LiteICLink's set)",
    ),
    p(
        "D_PD_ISET",
        "0b11",
        "phase detector current (LiteICLink's set)",
    ),
    p(
        "D_LOW_MARK",
        "0d4",
        "FIFO low water mark (LiteICLink's set)",
    ),
    p(
        "D_HIGH_MARK",
        "0d12",
        "FIFO high water mark (LiteICLink's set)",
    ),
    diamond("D_TX_MAX_RATE", "2.5", "2.5 Gb/s (Diamond only: no bits)"),
    // --- channel 1: mode and power ---
    diamond(
        "CH1_PROTOCOL",
        "10BSER",
        "generic 10-bit serial (Diamond only: no bits)",
    ),
    p("CH1_UC_MODE", "0b1", "user-configured (raw) mode"),
    p(
        "CH1_ENC_BYPASS",
        "0b1",
        "8b/10b encoder bypassed: 8b/10b is in fabric",
    ),
    p(
        "CH1_DEC_BYPASS",
        "0b1",
        "8b/10b decoder bypassed: 8b/10b is in fabric",
    ),
    p("CH1_RPWDNB", "0b1", "receiver powered"),
    p("CH1_TPWDNB", "0b1", "transmitter powered"),
    // --- channel 1: receiver ---
    p(
        "CH1_REQ_EN",
        "0b0",
        "RX equaliser off (short SMA/SFP link; LiteICLink's set)",
    ),
    p(
        "CH1_RX_RATE_SEL",
        "0d10",
        "RX rate select (LiteICLink's set)",
    ),
    p("CH1_RTERM_RX", "0d19", "RX termination 50 ohm"),
    p(
        "CH1_RXIN_CM",
        "0b11",
        "RX input common mode (LiteICLink's set)",
    ),
    p(
        "CH1_RXTERM_CM",
        "0b11",
        "RX termination common mode (LiteICLink's set)",
    ),
    p(
        "CH1_RX_DCO_CK_DIV",
        "0b000",
        "CDR divider /1: full rate 2.5 Gb/s",
    ),
    diamond(
        "CH1_CDR_MAX_RATE",
        "2.5",
        "2.5 Gb/s (Diamond only: no bits)",
    ),
    p("CH1_RX_GEAR_MODE", "0b1", "RX 1:2 gearbox: 20-bit words"),
    p(
        "CH1_FF_RX_H_CLK_EN",
        "0b1",
        "half-rate RX fabric clock on (the 20-bit word clock)",
    ),
    p(
        "CH1_FF_RX_F_CLK_DIS",
        "0b1",
        "full-rate RX fabric clock off",
    ),
    p(
        "CH1_SEL_SD_RX_CLK",
        "0b1",
        "RX data clocked by the recovered clock",
    ),
    p(
        "CH1_AUTO_FACQ_EN",
        "0b1",
        "CDR automatic frequency acquisition",
    ),
    p("CH1_AUTO_CALIB_EN", "0b1", "CDR automatic calibration"),
    p("CH1_PDEN_SEL", "0b1", "phase detector disabled on LOS"),
    p("CH1_DCOATDCFG", "0b00", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOATDDLY", "0b00", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOBYPSATD", "0b1", "CDR DCO (LiteICLink's set)"),
    p(
        "CH1_DCOCALDIV",
        "0b000",
        "CDR DCO calibration divider (LiteICLink's set)",
    ),
    p("CH1_DCOCTLGI", "0b011", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCODISBDAVOID", "0b0", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOFLTDAC", "0b00", "CDR DCO (LiteICLink's set)"),
    p(
        "CH1_DCOFTNRG",
        "0b001",
        "CDR DCO fine range (LiteICLink's set)",
    ),
    p("CH1_DCOIOSTUNE", "0b010", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOITUNE", "0b00", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOITUNE4LSB", "0b010", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOIUPDNX2", "0b1", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCONUOFLSB", "0b100", "CDR DCO (LiteICLink's set)"),
    p("CH1_DCOSCALEI", "0b01", "CDR DCO (LiteICLink's set)"),
    p(
        "CH1_DCOSTARTVAL",
        "0b010",
        "CDR DCO start value (LiteICLink's set)",
    ),
    p("CH1_DCOSTEP", "0b11", "CDR DCO step (LiteICLink's set)"),
    p(
        "CH1_RLOS_SEL",
        "0b1",
        "loss-of-signal detector drives FFS_RLOS",
    ),
    p("CH1_RX_LOS_EN", "0b1", "loss-of-signal detector on"),
    p(
        "CH1_RX_LOS_LVL",
        "0b100",
        "LOS threshold (LiteICLink's set)",
    ),
    p(
        "CH1_RX_LOS_CEQ",
        "0b11",
        "LOS detector equalisation (LiteICLink's set)",
    ),
    p(
        "CH1_ENABLE_CG_ALIGN",
        "0b0",
        "PCS comma aligner off: alignment is in fabric (departure, see above)",
    ),
    p(
        "CH1_UDF_COMMA_MASK",
        "0x3ff",
        "PCS comma: all 10 bits (serves only the aligner)",
    ),
    p(
        "CH1_UDF_COMMA_A",
        "0x283",
        "PCS comma: K28.5 RD+ (serves only the aligner)",
    ),
    p(
        "CH1_UDF_COMMA_B",
        "0x17C",
        "PCS comma: K28.5 RD- (serves only the aligner)",
    ),
    p(
        "CH1_CTC_BYPASS",
        "0b1",
        "no clock tolerance compensation: words pass untouched",
    ),
    p(
        "CH1_MIN_IPG_CNT",
        "0b11",
        "CTC minimum gap (unused with CTC bypassed; LiteICLink's set)",
    ),
    // --- channel 1: transmitter ---
    p("CH1_RTERM_TX", "0d19", "TX termination 50 ohm"),
    p("CH1_TX_GEAR_MODE", "0b1", "TX 1:2 gearbox: 20-bit words"),
    p(
        "CH1_FF_TX_H_CLK_EN",
        "0b1",
        "half-rate TX fabric clock on (the 20-bit word clock)",
    ),
    p(
        "CH1_FF_TX_F_CLK_DIS",
        "0b1",
        "full-rate TX fabric clock off",
    ),
    diamond(
        "CH1_TXAMPLITUDE",
        "0d1000",
        "1000 mV (Diamond only: the slices set the swing)",
    ),
    p(
        "CH1_TDRV_SLICE0_CUR",
        "0b011",
        "TX driver slice 0 current (LiteICLink's set)",
    ),
    p(
        "CH1_TDRV_SLICE0_SEL",
        "0b01",
        "TX driver slice 0 on the main data",
    ),
    p(
        "CH1_TDRV_SLICE1_CUR",
        "0b000",
        "TX driver slice 1 current (LiteICLink's set)",
    ),
    p("CH1_TDRV_SLICE1_SEL", "0b00", "TX driver slice 1 off"),
    p(
        "CH1_TDRV_SLICE2_CUR",
        "0b11",
        "TX driver slice 2 current (LiteICLink's set)",
    ),
    p(
        "CH1_TDRV_SLICE2_SEL",
        "0b01",
        "TX driver slice 2 on the main data",
    ),
    p(
        "CH1_TDRV_SLICE3_CUR",
        "0b10",
        "TX driver slice 3 current (LiteICLink's set)",
    ),
    p(
        "CH1_TDRV_SLICE3_SEL",
        "0b01",
        "TX driver slice 3 on the main data",
    ),
    p(
        "CH1_TDRV_SLICE4_CUR",
        "0b00",
        "TX driver slice 4 current (LiteICLink's set)",
    ),
    p("CH1_TDRV_SLICE4_SEL", "0b00", "TX driver slice 4 off"),
    p(
        "CH1_TDRV_SLICE5_CUR",
        "0b00",
        "TX driver slice 5 current (LiteICLink's set)",
    ),
    p("CH1_TDRV_SLICE5_SEL", "0b00", "TX driver slice 5 off"),
];

/// The EXTREFB parameters: (name, value, why).
pub const EXTREFB_PARAMS: &[(&str, &str, &str)] = &[
    ("REFCK_PWDNB", "0b1", "reference clock input powered"),
    ("REFCK_RTERM", "0b1", "100 ohm differential termination on"),
];

/// The numeric value of a DCU parameter value as nextpnr reads it: `0b`
/// binary, `0x` hex, `0d` decimal, or plain decimal. A Diamond string
/// (`"10BSER"`, `"2.5"`) is an error naming it.
pub fn param_value(value: &str) -> Result<u64, String> {
    let (digits, radix) = if let Some(d) = value.strip_prefix("0b") {
        (d, 2)
    } else if let Some(d) = value.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = value.strip_prefix("0d") {
        (d, 10)
    } else {
        (value, 10)
    };
    u64::from_str_radix(digits, radix)
        .map_err(|e| format!("DCU parameter value {value:?} is not a number: {e}"))
}

/// The table's words as the bitstream should hold them: name (as in
/// `DCU.<name>`) to value, for every parameter with bits.
pub fn expected_words() -> Result<Vec<(&'static str, u64)>, String> {
    DCUA_PARAMS
        .iter()
        .filter(|p| p.in_bitstream)
        .map(|p| {
            param_value(p.value)
                .map(|v| (p.name, v))
                .map_err(|e| format!("{}: {e}", p.name))
        })
        .collect()
}

/// The direction of a primitive pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    In,
    Out,
}

/// The DCUA pins used, with what drives them (inputs) or what they drive
/// (outputs): one list for the instance and for the black-box stub.
fn dcua_pins() -> Vec<(String, Dir, String)> {
    let mut v: Vec<(String, Dir, String)> = vec![];
    let mut pin = |name: &str, dir: Dir, net: &str| v.push((name.into(), dir, net.into()));
    pin("D_REFCLKI", Dir::In, "refclk");
    pin("CH1_RX_REFCLK", Dir::In, "refclk");
    pin("CH1_HDINP", Dir::In, "hdinp");
    pin("CH1_HDINN", Dir::In, "hdinn");
    pin("CH1_HDOUTP", Dir::Out, "hdoutp");
    pin("CH1_HDOUTN", Dir::Out, "hdoutn");
    pin("CH1_FF_TX_PCLK", Dir::Out, "dcu_tx_pclk");
    pin("CH1_FF_TXI_CLK", Dir::In, "dcu_tx_pclk");
    pin("CH1_FF_RX_PCLK", Dir::Out, "dcu_rx_pclk");
    pin("CH1_FF_RXI_CLK", Dir::In, "dcu_rx_pclk");
    for k in 0..24 {
        let tx = match k {
            0..=9 => format!("fabric$tx_data[{k}]"),
            12..=21 => format!("fabric$tx_data[{}]", k - 2),
            _ => "1'b0".into(),
        };
        pin(&format!("CH1_FF_TX_D_{k}"), Dir::In, &tx);
    }
    for k in (0..=9).chain(12..=21) {
        let bit = if k <= 9 { k } else { k - 2 };
        pin(
            &format!("CH1_FF_RX_D_{k}"),
            Dir::Out,
            &format!("fabric$rx_data[{bit}]"),
        );
    }
    pin("D_FFS_PLOL", Dir::Out, "fabric$tx_pll_lol");
    pin("CH1_FFS_RLOL", Dir::Out, "fabric$rx_cdr_lol");
    pin("CH1_FFS_RLOS", Dir::Out, "fabric$rx_los");
    pin("D_FFC_TRST", Dir::In, "fabric$tx_pll_rst");
    pin("CH1_FFC_RRST", Dir::In, "fabric$rx_cdr_rst");
    pin("CH1_FFC_LANE_TX_RST", Dir::In, "fabric$tx_lane_rst");
    pin("CH1_FFC_LANE_RX_RST", Dir::In, "fabric$rx_lane_rst");
    for high in ["D_FFC_MACROPDB", "CH1_FFC_RXPWDNB", "CH1_FFC_TXPWDNB"] {
        pin(high, Dir::In, "1'b1");
    }
    for low in [
        "D_FFC_MACRO_RST",
        "D_FFC_DUAL_RST",
        "D_FFC_SYNC_TOGGLE",
        "CH1_FFC_SB_INV_RX",
        "CH1_FFC_EI_EN",
        "CH1_FFC_FB_LOOPBACK",
        "CH1_FFC_SB_PFIFO_LP",
        "CH1_FFC_PFIFO_CLR",
        "CH1_FFC_ENABLE_CGALIGN",
        "CH1_FFC_SIGNAL_DETECT",
        "CH1_FFC_PCIE_DET_EN",
        "CH1_FFC_PCIE_CT",
        "CH1_FFC_RATE_MODE_RX",
        "CH1_FFC_RATE_MODE_TX",
        "CH1_FFC_DIV11_MODE_RX",
        "CH1_FFC_DIV11_MODE_TX",
        "CH1_FFC_RX_GEAR_MODE",
        "CH1_FFC_TX_GEAR_MODE",
        "CH1_FFC_LDR_CORE2TX_EN",
        "CH1_FFC_CDR_EN_BITSLIP",
    ] {
        pin(low, Dir::In, "1'b0");
    }
    v
}

/// A `(* blackbox *)` stub for `module`, declaring `pins` and `params`,
/// guarded so that a second instance's copy is skipped.
fn blackbox_stub(module: &str, pins: &[(String, Dir)], params: &[&str]) -> String {
    let mut s = format!(
        "`ifndef FIBERLOOP_BB_{module}\n`define FIBERLOOP_BB_{module}\n(* blackbox *)\nmodule {module}("
    );
    s += &pins
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    s += ");\n";
    for p in params {
        s += &format!("    parameter {p} = \"DONTCARE\";\n");
    }
    for (n, d) in pins {
        let dir = match d {
            Dir::In => "input",
            Dir::Out => "output",
        };
        s += &format!("    {dir} {n};\n");
    }
    s += "endmodule\n`endif\n";
    s
}

/// One SERDES channel: the DCUA on [`DCU_LOC`], channel [`CHANNEL`], with
/// every parameter from [`DCUA_PARAMS`] (see the module documentation).
/// A black box: no simulation behaviour.
#[derive(LogicBlock, Default)]
pub struct Dcua {
    /// The reference clock, from [`ExtRefB::refclko`] (156.25 MHz).
    pub refclk: Signal<In, Clock>,
    /// The channel's fabric side.
    pub fabric: DcuFabric,
    /// Serial input, positive (`CH1_HDINP`; the Versa's ball Y7).
    pub hdinp: Signal<In, Bit>,
    /// Serial input, negative (`CH1_HDINN`; Y8).
    pub hdinn: Signal<In, Bit>,
    /// Serial output, positive (`CH1_HDOUTP`; W8).
    pub hdoutp: Signal<Out, Bit>,
    /// Serial output, negative (`CH1_HDOUTN`; W9).
    pub hdoutn: Signal<Out, Bit>,
}

impl Logic for Dcua {
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.fabric.tx_pclk.connect();
        self.fabric.rx_pclk.connect();
        self.fabric.rx_data.connect();
        self.fabric.tx_pll_lol.connect();
        self.fabric.rx_cdr_lol.connect();
        self.fabric.rx_los.connect();
        self.hdoutp.connect();
        self.hdoutn.connect();
    }

    fn hdl(&self) -> Verilog {
        let pins = dcua_pins();
        let mut code = String::from(
            "// The DCUA's word clocks, fed back to its fabric clock inputs.\n\
             wire dcu_tx_pclk;\nwire dcu_rx_pclk;\n",
        );
        code += &format!("(* LOC = \"{DCU_LOC}\" *)\nDCUA #(\n");
        code += &DCUA_PARAMS
            .iter()
            .map(|p| format!("    .{}(\"{}\")", p.name, p.value))
            .collect::<Vec<_>>()
            .join(",\n");
        code += "\n) dcu_inst (\n";
        code += &pins
            .iter()
            .map(|(n, _, net)| format!("    .{n}({net})"))
            .collect::<Vec<_>>()
            .join(",\n");
        code += "\n);\n\
                 assign fabric$tx_pclk = dcu_tx_pclk;\n\
                 assign fabric$rx_pclk = dcu_rx_pclk;\n";
        let stub_pins: Vec<(String, Dir)> = pins.into_iter().map(|(n, d, _)| (n, d)).collect();
        let params: Vec<&str> = DCUA_PARAMS.iter().map(|p| p.name).collect();
        Verilog::Wrapper(Wrapper {
            code,
            cores: blackbox_stub("DCUA", &stub_pins, &params),
        })
    }
}

/// The SERDES reference clock input: EXTREFB on [`EXTREF_LOC`] (the
/// Versa's balls Y11/Y12), with [`EXTREFB_PARAMS`]. It drives the DCUA of
/// the same DCU. A black box: no simulation behaviour.
#[derive(LogicBlock, Default)]
pub struct ExtRefB {
    /// Reference clock pad, positive.
    pub refclkp: Signal<In, Bit>,
    /// Reference clock pad, negative.
    pub refclkn: Signal<In, Bit>,
    /// The reference clock, to [`Dcua::refclk`].
    pub refclko: Signal<Out, Clock>,
}

impl Logic for ExtRefB {
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.refclko.connect();
    }

    fn hdl(&self) -> Verilog {
        let params = EXTREFB_PARAMS
            .iter()
            .map(|(n, v, _)| format!("    .{n}(\"{v}\")"))
            .collect::<Vec<_>>()
            .join(",\n");
        let code = format!(
            "(* LOC = \"{EXTREF_LOC}\" *)\nEXTREFB #(\n{params}\n) extref_inst (\n\
             \x20   .REFCLKP(refclkp),\n    .REFCLKN(refclkn),\n    .REFCLKO(refclko)\n);\n"
        );
        let pins = [
            ("REFCLKP".to_string(), Dir::In),
            ("REFCLKN".to_string(), Dir::In),
            ("REFCLKO".to_string(), Dir::Out),
        ];
        let names: Vec<&str> = EXTREFB_PARAMS.iter().map(|(n, _, _)| *n).collect();
        Verilog::Wrapper(Wrapper {
            code,
            cores: blackbox_stub("EXTREFB", &pins, &names),
        })
    }
}

/// Columns of DCU0's tiles on the LFE5UM5G-45F (DCU1's start at column
/// 69: nextpnr puts EXTREF0 at X42 and DCU1's EXTREF at X69).
pub const DCU0_COLUMNS_45F: std::ops::RangeInclusive<u32> = 42..=53;

/// A configuration word read back from a bitstream (`ecpunpack`'s `word:`
/// lines; `fiberloop_harness::bitstream::ChipConfig` reads them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordSeen {
    /// The tile holding it.
    pub tile: String,
    /// The tile's column.
    pub column: Option<u32>,
    /// The word's name without its `DCU.`/`EXTREF.` prefix.
    pub name: String,
    /// Its value.
    pub value: u64,
}

/// Checks the words read back from a bitstream against the tables: every
/// `DCU.` word with bits in [`DCUA_PARAMS`] has the table's value (nextpnr
/// writes unset words as zero and `ecpunpack` leaves zero words out: a
/// missing word reads 0), no other `DCU.` word is non-zero, every `DCU.`
/// word sits in a tile of `dcu_columns` (the DCU of [`DCU_LOC`]), the
/// `EXTREF.` words are [`EXTREFB_PARAMS`], and every `DCU.MODE` enum
/// (`dcu_modes`, at least one) is `DCUA`. Returns the number of words
/// compared (DCU plus EXTREF); the error lists every difference.
pub fn check_dcu_words(
    dcu: &[WordSeen],
    extref: &[WordSeen],
    dcu_modes: &[String],
    dcu_columns: std::ops::RangeInclusive<u32>,
) -> Result<usize, String> {
    use std::collections::BTreeMap;
    let want = expected_words()?;
    let mut by_name = BTreeMap::new();
    let mut errors = vec![];
    for w in dcu {
        if !w.column.is_some_and(|c| dcu_columns.contains(&c)) {
            errors.push(format!(
                "DCU.{} in tile {} is not in {DCU_LOC}",
                w.name, w.tile
            ));
        }
        if by_name.insert(w.name.clone(), w.value).is_some() {
            errors.push(format!("DCU.{} appears twice", w.name));
        }
    }
    let mut n = 0;
    for (name, value) in &want {
        let actual = by_name.remove(*name).unwrap_or(0);
        n += 1;
        if actual != *value {
            errors.push(format!(
                "DCU.{name}: bitstream {actual:#b}, table {value:#b}"
            ));
        }
    }
    for (name, value) in by_name {
        if value != 0 {
            errors.push(format!(
                "DCU.{name} = {value:#b} in the bitstream, not in the table"
            ));
        }
    }
    let ext: BTreeMap<_, _> = extref.iter().map(|w| (w.name.as_str(), w.value)).collect();
    for (name, value, _) in EXTREFB_PARAMS {
        n += 1;
        let want = param_value(value)?;
        let actual = ext.get(name).copied().unwrap_or(0);
        if actual != want {
            errors.push(format!("EXTREF.{name}: bitstream {actual}, table {want}"));
        }
    }
    if dcu_modes.is_empty() || dcu_modes.iter().any(|m| m != "DCUA") {
        errors.push(format!("DCU.MODE enums: {dcu_modes:?} (want DCUA)"));
    }
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(format!(
            "{} DCU word(s) differ from the table:\n  {}",
            errors.len(),
            errors.join("\n  ")
        ))
    }
}

/// [`check_dcu_words`] on an unpacked bitstream of the 45F, for tests.
#[cfg(test)]
pub(crate) fn check_bitstream(
    cfg: &fiberloop_harness::bitstream::ChipConfig,
) -> Result<usize, String> {
    let seen = |prefix: &str| -> Vec<WordSeen> {
        cfg.words_with_prefix(prefix)
            .into_iter()
            .map(|w| WordSeen {
                tile: w.tile,
                column: w.column,
                name: w.name,
                value: w.value,
            })
            .collect()
    };
    let modes: Vec<String> = cfg
        .enums_named("DCU.MODE")
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    check_dcu_words(&seen("DCU."), &seen("EXTREF."), &modes, DCU0_COLUMNS_45F)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::versa;
    use fiberloop_harness::bitstream::{build_bitstream, ChipConfig};
    use std::collections::BTreeSet;

    /// The smallest design around the two black boxes: a 20-bit counter
    /// sent in the TX domain, the parity of every received word in the RX
    /// domain, the three status outputs and the parity on LEDs, the four
    /// resets from the reset button.
    #[derive(LogicBlock, Default)]
    struct DcuaProbe {
        refclk_p: Signal<In, Bit>,
        refclk_n: Signal<In, Bit>,
        rx_p: Signal<In, Bit>,
        rx_n: Signal<In, Bit>,
        tx_p: Signal<Out, Bit>,
        tx_n: Signal<Out, Bit>,
        rst_n: Signal<In, Bit>,
        led0: Signal<Out, Bit>,
        led1: Signal<Out, Bit>,
        led2: Signal<Out, Bit>,
        led3: Signal<Out, Bit>,
        led4: Signal<Out, Bit>,
        extref: ExtRefB,
        dcu: Dcua,
        count: DFF<Bits<20>>,
        parity: DFF<Bit>,
    }

    impl Logic for DcuaProbe {
        #[hdl_gen]
        fn update(&mut self) {
            self.extref.refclkp.next = self.refclk_p.val();
            self.extref.refclkn.next = self.refclk_n.val();
            self.dcu.refclk.next = self.extref.refclko.val();
            self.dcu.hdinp.next = self.rx_p.val();
            self.dcu.hdinn.next = self.rx_n.val();
            self.tx_p.next = self.dcu.hdoutp.val();
            self.tx_n.next = self.dcu.hdoutn.val();
            self.count.clock.next = self.dcu.fabric.tx_pclk.val();
            self.parity.clock.next = self.dcu.fabric.rx_pclk.val();
            self.count.d.next = self.count.q.val() + 1;
            self.parity.d.next = self.dcu.fabric.rx_data.val().xor();
            self.dcu.fabric.tx_data.next = self.count.q.val();
            self.dcu.fabric.tx_pll_rst.next = !self.rst_n.val();
            self.dcu.fabric.rx_cdr_rst.next = !self.rst_n.val();
            self.dcu.fabric.tx_lane_rst.next = !self.rst_n.val();
            self.dcu.fabric.rx_lane_rst.next = !self.rst_n.val();
            self.led0.next = !self.dcu.fabric.tx_pll_lol.val();
            self.led1.next = !self.dcu.fabric.rx_cdr_lol.val();
            self.led2.next = !self.dcu.fabric.rx_los.val();
            self.led3.next = !self.parity.q.val();
            self.led4.next = !self.count.q.val().get_bit(19);
        }
    }

    fn probe() -> DcuaProbe {
        let mut uut = DcuaProbe::default();
        uut.refclk_p.connect();
        uut.refclk_n.connect();
        uut.rx_p.connect();
        uut.rx_n.connect();
        uut.rst_n.connect();
        uut.connect_all();
        uut
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut seen = BTreeSet::new();
        for p in DCUA_PARAMS {
            assert!(seen.insert(p.name), "{} twice in the table", p.name);
            assert!(
                p.name.starts_with("D_") || p.name.starts_with("CH1_"),
                "{}: neither a dual nor a channel 1 parameter",
                p.name
            );
            assert!(!p.why.is_empty(), "{} has no reason", p.name);
            if p.in_bitstream {
                assert!(param_value(p.value).is_ok(), "{} = {}", p.name, p.value);
            }
        }
        // The rate: reference x16, /1.
        let get =
            |n: &str| param_value(DCUA_PARAMS.iter().find(|p| p.name == n).unwrap().value).unwrap();
        assert_eq!(get("D_REFCK_MODE"), 0b010);
        assert_eq!(get("D_TX_VCO_CK_DIV"), 0);
        assert_eq!(get("CH1_RX_DCO_CK_DIV"), 0);
        assert_eq!(REFCLK_MHZ * 16.0 / 1000.0, LINE_GBPS);
        assert_eq!(WORD_CLOCK_MHZ, 125.0);
        assert_eq!(param_value("0x17C"), Ok(0x17c));
        assert_eq!(param_value("0d19"), Ok(19));
        assert!(param_value("10BSER").unwrap_err().contains("10BSER"));
    }

    #[test]
    fn the_wrapper_instantiates_every_parameter_and_drives_every_output() {
        let v = generate_verilog(&probe());
        for p in DCUA_PARAMS {
            assert!(
                v.contains(&format!(".{}(\"{}\")", p.name, p.value)),
                "{} missing from the instance",
                p.name
            );
        }
        assert!(v.contains("(* LOC = \"DCU0\" *)"));
        assert!(v.contains("(* LOC = \"EXTREF0\" *)"));
        // Every output of the block comes from a DCUA pin.
        for (net, pin) in [
            ("hdoutp", "CH1_HDOUTP"),
            ("fabric$rx_los", "CH1_FFS_RLOS"),
            ("fabric$rx_cdr_lol", "CH1_FFS_RLOL"),
            ("fabric$tx_pll_lol", "D_FFS_PLOL"),
            ("fabric$rx_data[19]", "CH1_FF_RX_D_21"),
            ("dcu_tx_pclk", "CH1_FF_TX_PCLK"),
        ] {
            assert!(v.contains(&format!(".{pin}({net})")), "{pin} -> {net}");
        }
        assert!(!v.contains("assign fabric$rx_los ="));
    }

    /// The probe through yosys, nextpnr, ecppack and ecpunpack, with the
    /// pins from the Versa's table; then every DCU word of the bitstream
    /// against [`DCUA_PARAMS`].
    #[test]
    fn dcua_synthesizes() {
        let uut = probe();
        let ports = [
            ("refclk_p", "extref0_p"),
            ("refclk_n", "extref0_n"),
            ("rx_p", "serdes_rx_p"),
            ("rx_n", "serdes_rx_n"),
            ("tx_p", "serdes_tx_p"),
            ("tx_n", "serdes_tx_n"),
            ("rst_n", "rst_n"),
            ("led0", "led0"),
            ("led1", "led1"),
            ("led2", "led2"),
            ("led3", "led3"),
            ("led4", "led4"),
        ];
        let (tx_pclk, rx_pclk) = pclk_nets("dcu");
        let clocks = [
            (tx_pclk.as_str(), WORD_CLOCK_MHZ),
            (rx_pclk.as_str(), WORD_CLOCK_MHZ),
        ];
        let lpf = versa::lpf(&ports, &clocks).unwrap();
        let b = build_bitstream(&generate_verilog(&uut), "top", &lpf, "dcua_probe", 1)
            .unwrap_or_else(|e| panic!("{e}"));
        println!("{}", b.report);
        assert_eq!(b.config.device, "LFE5UM5G-45F");
        assert_eq!(
            b.idcode,
            Some(fiberloop_harness::bitstream::IDCODE_LFE5UM5G_45F)
        );
        let log = std::fs::read_to_string(b.dir.join("nextpnr.log")).unwrap();
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("Warning")).collect();
        assert!(
            warnings.is_empty(),
            "nextpnr warned:\n{}",
            warnings.join("\n")
        );
        let n = check_bitstream(&b.config).unwrap_or_else(|e| panic!("{e}"));
        let nonzero = b.config.words_with_prefix("DCU.").len();
        println!(
            "DCUA probe: bitstream built and read back in {:.1} s; {n} words checked against \
             the tables ({} DCU, {} EXTREF; {nonzero} DCU words non-zero in the bitstream); {}",
            b.build_time.as_secs_f64(),
            n - EXTREFB_PARAMS.len(),
            EXTREFB_PARAMS.len(),
            b.dir.display()
        );
        assert_eq!(b.report.fmax.len(), 2, "{}", b.report);
        for f in b.report.fmax.values() {
            assert!(f.achieved_mhz > WORD_CLOCK_MHZ, "{}", b.report);
        }
    }

    /// Two channels in one design synthesise; rust-hdl emits each
    /// wrapper's `cores` once per instance, each copy under the guard.
    #[test]
    fn two_dcuas_synthesize() {
        #[derive(LogicBlock, Default)]
        struct Two {
            refclk: Signal<In, Clock>,
            a: Dcua,
            b: Dcua,
            q: Signal<Out, Bits<20>>,
        }
        impl Logic for Two {
            #[hdl_gen]
            fn update(&mut self) {
                self.a.refclk.next = self.refclk.val();
                self.b.refclk.next = self.refclk.val();
                self.a.hdinp.next = self.b.hdoutp.val();
                self.a.hdinn.next = self.b.hdoutn.val();
                self.b.hdinp.next = self.a.hdoutp.val();
                self.b.hdinn.next = self.a.hdoutn.val();
                self.a.fabric.tx_data.next = self.b.fabric.rx_data.val();
                self.b.fabric.tx_data.next = self.a.fabric.rx_data.val();
                self.a.fabric.tx_pll_rst.next = self.b.fabric.rx_los.val();
                self.a.fabric.rx_cdr_rst.next = self.b.fabric.rx_los.val();
                self.a.fabric.tx_lane_rst.next = self.b.fabric.tx_pll_lol.val();
                self.a.fabric.rx_lane_rst.next = self.b.fabric.rx_cdr_lol.val();
                self.b.fabric.tx_pll_rst.next = self.a.fabric.rx_los.val();
                self.b.fabric.rx_cdr_rst.next = self.a.fabric.rx_los.val();
                self.b.fabric.tx_lane_rst.next = self.a.fabric.tx_pll_lol.val();
                self.b.fabric.rx_lane_rst.next = self.a.fabric.rx_cdr_lol.val();
                self.q.next = self.a.fabric.rx_data.val() ^ self.b.fabric.rx_data.val();
            }
        }
        let mut uut = Two::default();
        uut.refclk.connect();
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert_eq!(
            v.matches("module DCUA(").count(),
            2,
            "the stub is emitted per instance"
        );
        fiberloop_harness::synth::synth_ecp5(&v, "top", "vendor_two_dcuas")
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_changed_word_fails_the_check() {
        // A configuration holding the table's words, then one changed, one
        // missing and one extra: each is named.
        let mut text =
            String::from(".device LFE5UM5G-45F\n.tile MIB_R71C47:DCU5\nenum: DCU.MODE DCUA\n");
        for (name, v) in expected_words().unwrap() {
            if v != 0 {
                text += &format!("word: DCU.{name} {v:b}\n");
            }
        }
        text += "word: EXTREF.REFCK_PWDNB 1\nword: EXTREF.REFCK_RTERM 1\n";
        let good = ChipConfig::parse(&text).unwrap();
        let n = check_bitstream(&good).unwrap();
        assert_eq!(n, expected_words().unwrap().len() + 2);
        let bad = text
            .replace(
                "word: DCU.CH1_RTERM_RX 10011",
                "word: DCU.CH1_RTERM_RX 10010",
            )
            .replace("word: DCU.D_MACROPDB 1\n", "")
            + "word: DCU.CH1_INVERT_RX 1\n";
        let err = check_bitstream(&ChipConfig::parse(&bad).unwrap()).unwrap_err();
        for name in ["CH1_RTERM_RX", "D_MACROPDB", "CH1_INVERT_RX"] {
            assert!(err.contains(name), "{err}");
        }
        let dcu1 = text.replace("MIB_R71C47", "MIB_R71C74");
        let err = check_bitstream(&ChipConfig::parse(&dcu1).unwrap()).unwrap_err();
        assert!(err.contains("not in DCU0"), "{err}");
    }
}
