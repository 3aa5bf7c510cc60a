//! One lockstep bench for every block: a block's cycle model and the block
//! under Verilator, both as a [`CycleModel`], run clock by clock on the
//! same inputs by [`run`], which stops at the first clock whose outputs
//! differ and says which clock, what each side gave, and the inputs of the
//! clocks before it.
//!
//! A block's test then holds only what is particular to the block: its
//! model (`impl CycleModel`), how its inputs go onto its ports and its
//! outputs come off them ([`Verilated::new`]'s two closures), and the
//! seeded traffic:
//!
//! ```text
//! let mut hw = Verilated::new(Model::of_block(&uut)?, "clock", &["a", "b"], &["y"],
//!     |i: &In, pins: &mut [u64]| { pins[0] = i.a as u64; pins[1] = i.b as u64 },
//!     |pins: &[u64]| Out { y: pins[0] as u8 });
//! let report = lockstep::run(&mut hw, &mut model, inputs);
//! ```

use crate::verilator::{Model, Port};
use std::collections::VecDeque;
use std::fmt::Debug;

/// A synchronous block seen one clock at a time: `step` presents `input`
/// during a clock, returns the outputs of that clock (after the
/// combinational paths from `input`, before the edge), then takes the
/// clock's rising edge.
pub trait CycleModel {
    /// Everything driven into the block in one clock.
    type In: Debug + Clone;
    /// Everything compared on the way out in one clock.
    type Out: Debug + PartialEq;
    /// One clock.
    fn step(&mut self, input: &Self::In) -> Self::Out;
}

/// How a block's inputs go onto its ports: `pins[k]` is the value of the
/// `k`th input port named to [`Verilated::new`].
pub type DriveFn<I> = Box<dyn FnMut(&I, &mut [u64])>;
/// How a block's outputs come off its ports: the values of the output
/// ports named to [`Verilated::new`], in order, each in one `u64`, or, for
/// a port wider than 64 bits, in as many as it needs (least significant
/// first).
pub type ReadFn<O> = Box<dyn FnMut(&[u64]) -> O>;

/// A block under Verilator as a [`CycleModel`]: one clock; inputs of up to
/// 64 bits, outputs of any width. Other ports and clocks can be reached
/// through [`Verilated::model`].
pub struct Verilated<I, O> {
    model: Model,
    clock: Port,
    inputs: Vec<Port>,
    outputs: Vec<Port>,
    in_vals: Vec<u64>,
    out_vals: Vec<u64>,
    drive: DriveFn<I>,
    read: ReadFn<O>,
}

impl<I, O> Verilated<I, O> {
    /// `model` clocked by the port `clock`, with `drive` writing the values
    /// of the `inputs` ports and `read` making the outputs from the values
    /// of the `outputs` ports. Panics, listing the ports, when a name is
    /// wrong.
    pub fn new(
        model: Model,
        clock: &str,
        inputs: &[&str],
        outputs: &[&str],
        drive: impl FnMut(&I, &mut [u64]) + 'static,
        read: impl FnMut(&[u64]) -> O + 'static,
    ) -> Self {
        let clock = model.p(clock);
        let inputs: Vec<Port> = inputs.iter().map(|n| model.p(n)).collect();
        let outputs: Vec<Port> = outputs.iter().map(|n| model.p(n)).collect();
        let out_len = outputs.iter().map(|p| p.width().div_ceil(64).max(1)).sum();
        Self {
            in_vals: vec![0; inputs.len()],
            out_vals: vec![0; out_len],
            model,
            clock,
            inputs,
            outputs,
            drive: Box::new(drive),
            read: Box::new(read),
        }
    }

    /// The Verilated model (for ports the closures do not cover).
    pub fn model(&mut self) -> &mut Model {
        &mut self.model
    }
}

impl<I: Debug + Clone, O: Debug + PartialEq> CycleModel for Verilated<I, O> {
    type In = I;
    type Out = O;

    fn step(&mut self, input: &I) -> O {
        self.model.set(self.clock, 0);
        (self.drive)(input, &mut self.in_vals);
        for (&p, &v) in self.inputs.iter().zip(&self.in_vals) {
            self.model.set(p, v);
        }
        self.model.eval();
        let mut k = 0;
        for &p in &self.outputs {
            if p.width() <= 64 {
                self.out_vals[k] = self.model.get(p);
                k += 1;
            } else {
                for pair in self.model.get_words(p).chunks(2) {
                    let hi = pair.get(1).copied().unwrap_or(0) as u64;
                    self.out_vals[k] = (hi << 32) | pair[0] as u64;
                    k += 1;
                }
            }
        }
        let out = (self.read)(&self.out_vals);
        self.model.set(self.clock, 1);
        self.model.eval();
        out
    }
}

/// What [`run`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Clocks run, all agreeing.
    pub clocks: u64,
}

/// How many clocks of inputs a mismatch message shows.
pub const HISTORY: usize = 8;

/// Runs `hw` and `model` on `inputs`, a clock each, comparing their
/// outputs every clock, and hands every agreed clock to `observe` (for the
/// test's coverage counts). Panics at the first clock where they differ,
/// with both outputs and the last [`HISTORY`] clocks' inputs.
pub fn run_observed<H, M>(
    hw: &mut H,
    model: &mut M,
    inputs: impl IntoIterator<Item = M::In>,
    mut observe: impl FnMut(&M::In, &M::Out),
) -> Report
where
    M: CycleModel,
    H: CycleModel<In = M::In, Out = M::Out>,
{
    let mut history: VecDeque<M::In> = VecDeque::with_capacity(HISTORY);
    let mut clocks = 0u64;
    for input in inputs {
        let got = hw.step(&input);
        let want = model.step(&input);
        if got != want {
            let mut before = String::new();
            for (k, i) in history.iter().enumerate() {
                let at = clocks - (history.len() - k) as u64;
                before.push_str(&format!("\n  clock {at}: {i:?}"));
            }
            panic!(
                "lockstep: clock {clocks}: the hardware and its model differ\n\
                 inputs:   {input:?}\n\
                 hardware: {got:?}\n\
                 model:    {want:?}\n\
                 inputs of the clocks before:{before}"
            );
        }
        observe(&input, &want);
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(input);
        clocks += 1;
    }
    Report { clocks }
}

/// [`run_observed`] with nothing to observe.
pub fn run<H, M>(hw: &mut H, model: &mut M, inputs: impl IntoIterator<Item = M::In>) -> Report
where
    M: CycleModel,
    H: CycleModel<In = M::In, Out = M::Out>,
{
    run_observed(hw, model, inputs, |_, _| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter with an enable: outputs the count before the edge.
    #[derive(Default)]
    struct Counter {
        n: u8,
        /// Wrong from this clock on, if set.
        broken_at: Option<u64>,
        clock: u64,
    }

    impl CycleModel for Counter {
        type In = bool;
        type Out = u8;
        fn step(&mut self, en: &bool) -> u8 {
            let out = self.n;
            self.n = self.n.wrapping_add(*en as u8);
            if self.broken_at == Some(self.clock) {
                self.n = self.n.wrapping_add(1);
            }
            self.clock += 1;
            out
        }
    }

    #[test]
    fn agreeing_models_run_to_the_end() {
        let inputs: Vec<bool> = (0..1000).map(|i| i % 3 != 0).collect();
        let mut seen = 0;
        let r = run_observed(
            &mut Counter::default(),
            &mut Counter::default(),
            inputs,
            |_, _| seen += 1,
        );
        assert_eq!((r.clocks, seen), (1000, 1000));
    }

    #[test]
    fn a_difference_names_its_clock_and_the_inputs_before() {
        let inputs: Vec<bool> = (0..100).map(|i| i % 2 == 0).collect();
        let err = std::panic::catch_unwind(move || {
            let mut bad = Counter {
                broken_at: Some(40),
                ..Default::default()
            };
            run(&mut bad, &mut Counter::default(), inputs);
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("clock 41:"), "{msg}");
        assert!(
            msg.contains("hardware: 22") && msg.contains("model:    21"),
            "{msg}"
        );
        assert!(
            msg.contains("clock 33:") && msg.contains("clock 40:"),
            "{msg}"
        );
        assert!(!msg.contains("clock 32:"), "{msg}");
    }
}
