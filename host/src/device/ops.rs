//! Model-level operations on a board through the register map
//! (`fiberloop_spec::regs`): load a network into the loop and the inference
//! engine, run inputs through it. No command-line code here: the CLI's
//! `load`, `infer` and `verify` are thin layers over these.
//!
//! Bulk data always goes in bursts: one 59-word burst per slot, the layer
//! table in one burst, the parameters in bursts of up to 1,024 words, one
//! burst per batch row of inputs and of outputs.

use super::client::{Client, ClientError};
use super::Transport;
use crate::model::{Int8Matrix, ModelError, Network, Plan};
use fiberloop_firmware::control::{self, Batch, LoopImage, RefillConfig, RefillStats, Refiller};
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::layout::{Params, DEFAULT_GAP_WORDS};
use fiberloop_spec::regs::{
    self, counter, infer_bits, model_tag, param_word2, status_bits, MAX_ACTIVATIONS, MAX_LAYERS,
    PARAM_ENTRIES,
};

/// A model or inference operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Talking to the board failed, or it refused a request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The network cannot be held by this board; nothing was written.
    #[error("the model does not fit this board: {0}; nothing was written")]
    DoesNotFit(String),
    /// The fill found no loop.
    #[error("the loop could not be filled: {0}")]
    NoLoop(String),
    /// No model is loaded (or the loop was refilled since).
    #[error("no model is loaded on the board (or the loop was refilled since): load one with `fiberloop load MODEL.safetensors` or pass --model")]
    NoModel,
    /// The loop lost its contents since the model was loaded.
    #[error("the loop is not running or lost its contents (loop status 0x{0:08x}): load the model again")]
    LoopLost(u32),
    /// The inputs do not match the loaded model.
    #[error("the inputs are {found} wide but the loaded model takes {expected} inputs")]
    InputWidth {
        /// The model's input width.
        expected: usize,
        /// The inputs' width.
        found: usize,
    },
    /// A batch did not finish in time.
    #[error("batch {batch} did not finish within {polls} polls (inference status 0x{status:08x}): a frame may have gone missing; give the model file (--model) so that the loop can be refilled")]
    Timeout {
        /// Batch index.
        batch: usize,
        /// Polls made.
        polls: u32,
        /// The last status read.
        status: u32,
    },
    /// A weight frame was marked bad and there is no model image to
    /// refill it from.
    #[error("batch {batch}: a weight frame read during the batch was marked bad and no model file was given to refill it from: give the model file (--model) or load the model again")]
    BadWeights {
        /// Batch index.
        batch: usize,
    },
    /// The refill policy's bound was reached.
    #[error("{what}: {why}; the loop cannot hold the weights on this fiber")]
    CannotKeepUp {
        /// The batch (or load) that failed.
        what: String,
        /// What the policy saw.
        why: String,
    },
    /// The array overran: a layout error.
    #[error("batch {batch}: the MAC array overran (a row stride below the batch): the layer table is wrong")]
    Overrun {
        /// Batch index.
        batch: usize,
    },
    /// The board's answer makes no sense.
    #[error("the board's inference engine reports {0}")]
    Board(String),
    /// A model error (shape, outputs).
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The tag a model file gets in `MODEL_TAG` word 0: its CRC-32, never 0
/// (0 means "no model").
pub fn file_tag(bytes: &[u8]) -> u32 {
    match fiberloop_spec::proto::crc32(bytes) {
        0 => 1,
        c => c,
    }
}

/// Where loading is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// What is being written.
    pub stage: &'static str,
    /// Steps done (slots, then one each for table, parameters, tag).
    pub done: usize,
    /// Steps in all.
    pub total: usize,
}

/// What [`load_model`] did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoadSummary {
    /// The loop was (re)filled first.
    pub filled: bool,
    /// Slots in the loop.
    pub loop_slots: usize,
    /// Slots the weights take (gaps included).
    pub slots_used: usize,
    /// Layers.
    pub layers: usize,
    /// Parameter entries (outputs of all layers).
    pub param_entries: usize,
    /// Weight bytes in the loop, padding excluded.
    pub weight_bytes: usize,
    /// The tag written (the model file's CRC-32).
    pub tag: u32,
    /// Inputs of the first layer.
    pub inputs: usize,
    /// Outputs of the last layer.
    pub outputs: usize,
    /// What the refill policy did during the load.
    pub refills: Refills,
    /// Which gateware top answered (`regs::top::name` of `regs::TOP`).
    pub top: &'static str,
}

/// The `MODEL_TAG` words on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTag {
    /// The words, by `regs::model_tag` index.
    pub words: [u32; regs::MODEL_TAG_WORDS as usize],
}

impl ModelTag {
    /// The model file's tag; 0: no model.
    pub fn file_tag(&self) -> u32 {
        self.words[model_tag::FILE_CRC as usize]
    }
    /// Inputs of the loaded model.
    pub fn inputs(&self) -> usize {
        self.words[model_tag::INPUTS as usize] as usize
    }
    /// Outputs of the loaded model.
    pub fn outputs(&self) -> usize {
        self.words[model_tag::OUTPUTS as usize] as usize
    }
}

/// Reads `MODEL_TAG`.
pub fn read_tag<T: Transport>(c: &mut Client<T>) -> Result<ModelTag, ClientError> {
    let w = c.read_block(regs::MODEL_TAG, regs::MODEL_TAG_WORDS as usize)?;
    let mut words = [0; regs::MODEL_TAG_WORDS as usize];
    words.copy_from_slice(&w);
    Ok(ModelTag { words })
}

/// Reads a 64-bit loop counter.
pub fn read_counter<T: Transport>(c: &mut Client<T>, i: u32) -> Result<u64, ClientError> {
    let w = c.read_block(regs::counter_addr(i), 2)?;
    Ok(w[0] as u64 | (w[1] as u64) << 32)
}

fn running(status: u32) -> bool {
    status & status_bits::MODE_MASK == status_bits::MODE_RUNNING
        && status & status_bits::LOOP_LOST == 0
}

/// Whether the board holds the model tagged `tag` in a loop that still
/// runs with its contents.
pub fn holds_model<T: Transport>(c: &mut Client<T>, tag: u32) -> Result<bool, ClientError> {
    let t = read_tag(c)?;
    Ok(t.file_tag() == tag && tag != 0 && running(c.read(regs::LOOP_STATUS)?))
}

/// Checks what the register map and the engine can hold, before anything
/// is written: layers, widths, parameter entries.
pub fn check_engine_limits(net: &Network) -> Result<(), OpsError> {
    let layers = net.layers();
    if layers.len() > MAX_LAYERS as usize {
        return Err(OpsError::DoesNotFit(format!(
            "{} layers, the engine's table holds {MAX_LAYERS}",
            layers.len()
        )));
    }
    for (k, l) in layers.iter().enumerate() {
        for (what, n) in [("inputs", l.inputs()), ("outputs", l.outputs())] {
            if n > MAX_ACTIVATIONS as usize {
                return Err(OpsError::DoesNotFit(format!(
                    "layer {k} has {n} {what}, the engine takes at most {MAX_ACTIVATIONS}"
                )));
            }
        }
    }
    let entries: usize = layers.iter().map(|l| l.outputs()).sum();
    if entries > PARAM_ENTRIES as usize {
        return Err(OpsError::DoesNotFit(format!(
            "{entries} parameter entries (outputs of all layers), the engine holds {PARAM_ENTRIES}"
        )));
    }
    Ok(())
}

/// What the loop must hold for a model: its weight slots and the
/// `MODEL_TAG` words. The refill policy (`fiberloop_firmware::control`)
/// rewrites slots from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelImage {
    /// Payloads of slots `0..slots.len()`.
    pub slots: Vec<[u8; PAYLOAD_BYTES]>,
    /// The `MODEL_TAG` words (`regs::model_tag`).
    pub tag: [u32; regs::MODEL_TAG_WORDS as usize],
}

impl ModelImage {
    /// The image as the firmware takes it.
    pub fn loop_image(&self) -> LoopImage<'_> {
        LoopImage {
            slots: &self.slots,
            tag: self.tag,
        }
    }

    /// The refill policy for this image.
    pub fn refiller(&self, cfg: RefillConfig) -> Refiller<'_> {
        Refiller::new(self.loop_image(), cfg)
    }
}

/// What the refill policy did (`fiberloop_firmware::control::RefillStats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Refills {
    /// Refills of any kind: weight slots rewritten plus loop refills.
    pub refills: u64,
    /// Weight slots rewritten because they read `BAD` or not `VALID`.
    pub slots_rewritten: u64,
    /// Loop refills: fill and rewrite every weight slot (after a cut).
    pub loop_refills: u64,
    /// Fills made for them.
    pub fills: u64,
    /// Scans of the weight slots' flags.
    pub scans: u64,
    /// Batches run again after a repair.
    pub batches_rerun: u64,
}

impl From<RefillStats> for Refills {
    fn from(s: RefillStats) -> Self {
        Self {
            refills: s.refills(),
            slots_rewritten: s.slots_rewritten,
            loop_refills: s.loop_refills,
            fills: s.fills,
            scans: s.scans,
            batches_rerun: s.batches_rerun,
        }
    }
}

impl std::ops::AddAssign for Refills {
    fn add_assign(&mut self, o: Self) {
        self.refills += o.refills;
        self.slots_rewritten += o.slots_rewritten;
        self.loop_refills += o.loop_refills;
        self.fills += o.fills;
        self.scans += o.scans;
        self.batches_rerun += o.batches_rerun;
    }
}

impl std::fmt::Display for Refills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} weight slots rewritten, {} loop refills, {} fills)",
            self.refills, self.slots_rewritten, self.loop_refills, self.fills
        )
    }
}

impl From<fiberloop_firmware::Error<ClientError>> for OpsError {
    fn from(e: fiberloop_firmware::Error<ClientError>) -> Self {
        use fiberloop_firmware::Error as E;
        match e {
            E::Bus(c) => OpsError::Client(c),
            e @ E::NoLoop { .. } => OpsError::NoLoop(e.to_string()),
            e @ E::RefillsCannotKeepUp { .. } => OpsError::CannotKeepUp {
                what: "the load".into(),
                why: e.to_string(),
            },
            e => OpsError::Board(e.to_string()),
        }
    }
}

/// The layout of `net` on this board: the engine's batch and the loop's
/// slots read from it; refused if it does not fit.
fn plan_on<T: Transport>(c: &mut Client<T>, net: &Network) -> Result<Plan, OpsError> {
    let loop_slots = read_counter(c, counter::IN_FLIGHT)? as usize;
    let batch = c.read(regs::INFER_BATCH)? as usize;
    if batch == 0 || batch > regs::MAX_BATCH_ROWS as usize {
        return Err(OpsError::Board(format!("a batch of {batch} rows")));
    }
    let params = Params {
        batch,
        gap_words: DEFAULT_GAP_WORDS,
    };
    net.plan(params, loop_slots).map_err(|e| match e {
        ModelError::Layout(l) => OpsError::DoesNotFit(l.to_string()),
        e => OpsError::Model(e),
    })
}

fn image_of(net: &Network, plan: &Plan, tag: u32) -> Result<ModelImage, OpsError> {
    let mut t = [0u32; regs::MODEL_TAG_WORDS as usize];
    t[model_tag::FILE_CRC as usize] = tag;
    t[model_tag::INPUTS as usize] = net.input_width() as u32;
    t[model_tag::OUTPUTS as usize] = net.output_width() as u32;
    t[model_tag::LAYERS as usize] = net.layers().len() as u32;
    t[model_tag::SLOTS as usize] = plan.total_slots as u32;
    Ok(ModelImage {
        slots: net.slot_images(plan)?,
        tag: t,
    })
}

/// The image of `net` (tag `tag`) as [`load_model`] lays it out on this
/// board: what `infer` refills from when the board already holds the model.
pub fn model_image<T: Transport>(
    c: &mut Client<T>,
    net: &Network,
    tag: u32,
) -> Result<ModelImage, OpsError> {
    let plan = plan_on(c, net)?;
    image_of(net, &plan, tag)
}

/// Loads `net` (whose model file has tag `tag`, see [`file_tag`]): fills
/// the loop unless it runs with its contents, plans the layout for the
/// loop's slot count and refuses a network that does not fit before
/// writing anything; then clears the tag, writes the weight slots, the
/// layer table, the layer count and the parameters; if frames went bad or
/// missing meanwhile, scans the weight slots and rewrites the damaged ones
/// (the refill policy of `fiberloop_firmware::control`); last the tag.
pub fn load_model<T: Transport>(
    c: &mut Client<T>,
    net: &Network,
    tag: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadSummary, OpsError> {
    load_model_with(c, net, tag, RefillConfig::default(), progress)
}

/// [`load_model`] with the refill policy's settings `cfg`.
pub fn load_model_with<T: Transport>(
    c: &mut Client<T>,
    net: &Network,
    tag: u32,
    cfg: RefillConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadSummary, OpsError> {
    check_engine_limits(net)?;
    let mut filled = false;
    let st = control::loop_status(c)?;
    if !st.running() {
        log::info!("loop status 0x{:08x}: filling the loop", st.0);
        control::fill(c, None, cfg.max_polls)?;
        filled = true;
    }
    let loop_slots = read_counter(c, counter::IN_FLIGHT)? as usize;
    let plan = plan_on(c, net)?;
    let image = image_of(net, &plan, tag)?;
    let layers = net.engine_layers(&plan);
    let n = image.slots.len();
    let total = n + 4;
    let mut step = |stage, done| {
        progress(Progress { stage, done, total });
    };

    let mut r = image.refiller(cfg);
    c.write(regs::MODEL_TAG + model_tag::FILE_CRC, 0)?;
    let since = control::damage(c)?;
    match r.write_slots(c, &mut |slot| step("weights", slot)) {
        Ok(()) => {}
        Err(fiberloop_firmware::Error::PollTimeout { .. }) => {
            // A slot write never completed: its slot stopped coming round
            // (the loop was cut, or lost that frame), though the loop may
            // still say it runs. A fill drops the pending write and
            // renumbers the ring; then every weight slot is written again
            // and checked.
            log::warn!("a slot write did not complete during the load: refilling the loop");
            r.refill_loop(c)?;
            r.settle(c)?;
        }
        Err(e) => return Err(e.into()),
    }
    step("layer table", n);
    let table: Vec<u32> = layers
        .iter()
        .flat_map(|l| {
            let e = l.entry;
            [
                e.first_slot as u32 | (e.rows as u32) << 16,
                e.row_words as u32 | (e.param_base as u32) << 16,
            ]
        })
        .collect();
    c.write_block(regs::LAYER_TABLE, &table)?;
    c.write(regs::INFER_LAYERS, layers.len() as u32)?;
    step("parameters", n + 1);
    let mut words = Vec::with_capacity(4 * net.layers().iter().map(|l| l.outputs()).sum::<usize>());
    for l in &layers {
        // Layers take consecutive entries from 0 (Network::engine_layers).
        debug_assert_eq!(l.entry.param_base as usize * 4, words.len());
        for p in &l.params {
            words.extend([
                p.bias as u32,
                p.multiplier as u32,
                param_word2::pack(p.shift, p.zero_point, p.relu),
                0,
            ]);
        }
    }
    c.write_block(regs::PARAM_MEM, &words)?;
    step("checking", n + 2);
    if r.settle_if_damaged(c, since)? {
        log::info!(
            "frames went bad during the load: {}",
            Refills::from(r.stats())
        );
    }
    step("model tag", n + 3);
    r.write_tag(c)?;
    step("done", total);
    Ok(LoadSummary {
        filled,
        loop_slots,
        slots_used: plan.total_slots,
        layers: layers.len(),
        param_entries: words.len() / 4,
        weight_bytes: net.weight_bytes(),
        tag,
        inputs: net.input_width(),
        outputs: net.output_width(),
        refills: r.stats().into(),
        top: top_name(c)?,
    })
}

/// Settings of [`infer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct InferConfig {
    /// The refill policy: its bound, and how long a register is polled
    /// (a batch that stays busy that long has stalled: a frame went
    /// missing, and the loop is refilled).
    pub refill: RefillConfig,
}

/// Counts of an [`infer`] run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InferStats {
    /// Batches run (reruns included).
    pub batches: usize,
    /// Batches run again because a weight frame was marked bad or the loop
    /// was lost.
    pub bad_retries: usize,
    /// What the refill policy did.
    pub refills: Refills,
    /// Which gateware top answered (`regs::top::name` of `regs::TOP`).
    pub top: &'static str,
}

/// The name of the gateware top that answers (`regs::TOP`).
pub fn top_name<T: Transport>(c: &mut Client<T>) -> Result<&'static str, ClientError> {
    Ok(regs::top::name(c.read(regs::TOP)?))
}

/// Runs `inputs` (`[N, inputs of the loaded model]`) through the model on
/// the board, a batch of `INFER_BATCH` rows at a time; returns the outputs
/// `[N, outputs of the model]`.
///
/// With the model's `image` (the host holds the model file), every batch
/// runs under the refill policy of `fiberloop_firmware::control`: a batch
/// that read a weight frame marked bad, or that lost the loop, is run again
/// after the damaged slots are rewritten (or the loop refilled), up to the
/// policy's bound ([`OpsError::CannotKeepUp`]). Without it nothing can be
/// refilled: a bad batch is [`OpsError::BadWeights`].
pub fn infer<T: Transport>(
    c: &mut Client<T>,
    inputs: &Int8Matrix,
    image: Option<&ModelImage>,
    cfg: InferConfig,
    stats: &mut InferStats,
) -> Result<Int8Matrix, OpsError> {
    stats.top = top_name(c)?;
    let tag = read_tag(c)?;
    if tag.file_tag() == 0 || image.is_some_and(|i| i.tag[0] != tag.file_tag()) {
        return Err(OpsError::NoModel);
    }
    let st = c.read(regs::LOOP_STATUS)?;
    if image.is_none() && !running(st) {
        return Err(OpsError::LoopLost(st));
    }
    if inputs.cols() != tag.inputs() {
        return Err(OpsError::InputWidth {
            expected: tag.inputs(),
            found: inputs.cols(),
        });
    }
    let outputs = tag.outputs();
    if outputs == 0 || outputs > MAX_ACTIVATIONS as usize {
        return Err(OpsError::Board(format!(
            "a model tag with {outputs} outputs"
        )));
    }
    let batch = c.read(regs::INFER_BATCH)? as usize;
    if batch == 0 || batch > regs::MAX_BATCH_ROWS as usize {
        return Err(OpsError::Board(format!("a batch of {batch} rows")));
    }
    let mut refiller = image.map(|i| i.refiller(cfg.refill));
    let max_polls = cfg.refill.max_polls;
    let mut data = Vec::with_capacity(inputs.rows() * outputs);
    for (n, first) in (0..inputs.rows()).step_by(batch).enumerate() {
        let rows = (inputs.rows() - first).min(batch);
        let mut runs = 0;
        let mut run = |c: &mut Client<T>| -> Result<Batch<Vec<i8>>, OpsError> {
            runs += 1;
            for b in 0..rows {
                let x = inputs.row(first + b);
                let words: Vec<u32> = x
                    .chunks(2)
                    .map(|p| p[0] as u8 as u32 | (p.get(1).copied().unwrap_or(0) as u8 as u32) << 8)
                    .collect();
                c.write_block(regs::act_addr(regs::ACT_IN, b as u32, 0), &words)?;
            }
            control::start_batch(c)?;
            let status = match control::wait_batch(c, max_polls)? {
                Ok(s) => s,
                Err(_) => {
                    log::warn!("batch {n}: the loop was lost (or the batch stalled)");
                    return Ok(Batch::Lost);
                }
            };
            if status & infer_bits::OVERRUN != 0 {
                return Err(OpsError::Overrun { batch: n });
            }
            if status & infer_bits::DONE == 0 {
                return Err(OpsError::Board(format!(
                    "batch {n} neither busy nor done (status 0x{status:08x})"
                )));
            }
            if status & infer_bits::BAD != 0 {
                log::warn!("batch {n}: a weight frame was marked bad");
                if log::log_enabled!(log::Level::Debug) {
                    let flags: Vec<String> = (0..image.map_or(0, |i| i.slots.len() as u32))
                        .map(|k| match control::read_slot_info(c, k, max_polls) {
                            Ok(i) => format!("{k}:{:x}@{}", i.flags, i.lap),
                            Err(e) => format!("{k}:{e}"),
                        })
                        .collect();
                    log::debug!("weight slots (slot:flags@lap): {}", flags.join(" "));
                }
                return Ok(Batch::Bad);
            }
            let mut out = Vec::with_capacity(rows * outputs);
            for b in 0..rows {
                let w = c.read_block(
                    regs::act_addr(regs::ACT_OUT, b as u32, 0),
                    outputs.div_ceil(2),
                )?;
                out.extend(
                    w.iter()
                        .flat_map(|w| [*w as u8 as i8, (*w >> 8) as u8 as i8])
                        .take(outputs),
                );
            }
            Ok(Batch::Done(out))
        };
        let out = match &mut refiller {
            Some(r) => r.run(c, &mut run).map_err(|e| match e {
                OpsError::CannotKeepUp { why, .. } => OpsError::CannotKeepUp {
                    what: format!("batch {n}"),
                    why,
                },
                e => e,
            }),
            None => match run(c)? {
                Batch::Done(v) => Ok(v),
                Batch::Bad => Err(OpsError::BadWeights { batch: n }),
                Batch::Lost => {
                    let st = c.read(regs::LOOP_STATUS)?;
                    Err(if running(st) {
                        OpsError::Timeout {
                            batch: n,
                            polls: max_polls,
                            status: c.read(regs::INFER_STATUS)?,
                        }
                    } else {
                        OpsError::LoopLost(st)
                    })
                }
            },
        };
        stats.batches += runs;
        stats.bad_retries += runs - 1;
        if let Some(r) = &refiller {
            stats.refills = r.stats().into();
        }
        data.extend(out?);
    }
    Ok(Int8Matrix::new(inputs.rows(), outputs, data)?)
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::device::client::ClientConfig;
    use crate::device::engine::{Engine, EngineConfig, RamBackend};
    use crate::device::model_board::SimTransport;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data")
            .join(name)
    }

    fn board(slots: usize) -> Client<SimTransport<RamBackend>> {
        let e = Engine::new(
            RamBackend::new(slots, 2000),
            EngineConfig::uart(3_000_000, 100),
        );
        Client::new(SimTransport::new(e, 3_000_000), ClientConfig::default())
    }

    #[test]
    fn load_then_infer_gives_the_reference_outputs() {
        let dir = data("digits");
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        let net = Network::from_bytes(&bytes, &dir).unwrap();
        let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
        let mut c = board(13);
        let mut seen = vec![];
        let s = load_model(&mut c, &net, file_tag(&bytes), &mut |p| seen.push(p)).unwrap();
        assert!(s.filled);
        assert_eq!((s.loop_slots, s.slots_used, s.layers), (13, 12, 2));
        assert_eq!(s.param_entries, 42);
        assert_eq!(seen.last().unwrap().done, seen.last().unwrap().total);
        assert!(holds_model(&mut c, file_tag(&bytes)).unwrap());
        // One burst per slot and one poll of its commit, one burst for the
        // table, one for the parameters, one read of TOP for the summary:
        // never a word at a time.
        let k = c.stats().requests;
        assert!(k < 2 * 12 + 21, "{k} requests for the load");
        assert_eq!(s.refills, Refills::default());
        let mut st = InferStats::default();
        let out = infer(&mut c, &inputs, None, InferConfig::default(), &mut st).unwrap();
        assert_eq!(out, net.infer(&inputs).unwrap());
        assert_eq!(st.batches, 300usize.div_ceil(8));
        // With the image: the same, and nothing refilled.
        let image = model_image(&mut c, &net, file_tag(&bytes)).unwrap();
        assert_eq!(image.slots.len(), 12);
        let mut st = InferStats::default();
        let out = infer(
            &mut c,
            &inputs,
            Some(&image),
            InferConfig::default(),
            &mut st,
        )
        .unwrap();
        assert_eq!(out, net.infer(&inputs).unwrap());
        assert_eq!((st.batches, st.refills), (38, Refills::default()));
        // A second load finds the loop running: no fill.
        let s = load_model(&mut c, &net, file_tag(&bytes), &mut |_| {}).unwrap();
        assert!(!s.filled);
    }

    #[test]
    fn too_big_is_refused_before_anything_is_written() {
        let dir = data("mnist");
        let net = Network::load(dir.join("model.safetensors")).unwrap();
        let mut c = board(13);
        c.fill().unwrap();
        c.write_block(regs::MODEL_TAG, &[0x1234, 5]).unwrap();
        let e = load_model(&mut c, &net, 77, &mut |_| {}).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, OpsError::DoesNotFit(_)), "{msg}");
        assert!(
            msg.contains("113 slots") && msg.contains("13 slots"),
            "{msg}"
        );
        assert!(msg.contains("nothing was written"), "{msg}");
        assert_eq!(c.read_block(regs::MODEL_TAG, 2).unwrap(), vec![0x1234, 5]);
        assert_eq!(c.transport().engine().backend().slot_writes, 0);
        assert_eq!(c.read(regs::INFER_LAYERS).unwrap(), 0);
    }

    #[test]
    fn infer_needs_a_model_and_the_right_width() {
        let dir = data("digits");
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        let net = Network::from_bytes(&bytes, &dir).unwrap();
        let mut c = board(13);
        let x = Int8Matrix::new(1, 64, vec![0; 64]).unwrap();
        let e = infer(
            &mut c,
            &x,
            None,
            InferConfig::default(),
            &mut InferStats::default(),
        );
        assert!(matches!(e, Err(OpsError::NoModel)), "{e:?}");
        load_model(&mut c, &net, file_tag(&bytes), &mut |_| {}).unwrap();
        let x = Int8Matrix::new(2, 63, vec![0; 126]).unwrap();
        let e = infer(
            &mut c,
            &x,
            None,
            InferConfig::default(),
            &mut InferStats::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("63 wide") && e.contains("takes 64"), "{e}");
        // A fill loses the model.
        c.fill().unwrap();
        assert!(!holds_model(&mut c, file_tag(&bytes)).unwrap());
        let x = Int8Matrix::new(1, 64, vec![0; 64]).unwrap();
        let e = infer(
            &mut c,
            &x,
            None,
            InferConfig::default(),
            &mut InferStats::default(),
        );
        assert!(matches!(e, Err(OpsError::NoModel)), "{e:?}");
    }

    #[test]
    fn a_bad_batch_is_repaired_and_run_again_up_to_the_bound() {
        let dir = data("digits");
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        let net = Network::from_bytes(&bytes, &dir).unwrap();
        let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
        let x = Int8Matrix::new(20, 64, inputs.data()[..20 * 64].to_vec()).unwrap();
        let mut c = board(13);
        load_model(&mut c, &net, file_tag(&bytes), &mut |_| {}).unwrap();
        let image = model_image(&mut c, &net, file_tag(&bytes)).unwrap();
        let bad = |c: &mut Client<SimTransport<RamBackend>>, n| {
            c.transport_mut()
                .engine_mut()
                .backend_mut()
                .engine
                .bad_batches = n;
        };
        // Two bad batches: the weight slots are scanned (all good here:
        // the RAM loop only reports the batch bad), the batch runs again;
        // bad again: the loop is refilled, the batch runs a third time.
        bad(&mut c, 2);
        let mut st = InferStats::default();
        let y = infer(&mut c, &x, Some(&image), InferConfig::default(), &mut st).unwrap();
        assert_eq!(y, net.infer(&x).unwrap());
        assert_eq!((st.batches, st.bad_retries), (5, 2));
        let r = st.refills;
        assert_eq!((r.scans, r.batches_rerun), (1, 2));
        assert!(r.loop_refills >= 1, "{r:?}");
        assert!(
            holds_model(&mut c, file_tag(&bytes)).unwrap(),
            "tag restored"
        );
        // Without the image nothing can be refilled: refused, naming the
        // batch and what to do.
        bad(&mut c, 1);
        let e = infer(
            &mut c,
            &x,
            None,
            InferConfig::default(),
            &mut InferStats::default(),
        )
        .unwrap_err();
        assert!(matches!(e, OpsError::BadWeights { batch: 0 }), "{e}");
        assert!(e.to_string().contains("--model"), "{e}");
        // Bad on every run: the bound (16 runs of batch 0), then refused.
        bad(&mut c, 1000);
        let mut st = InferStats::default();
        let e = infer(&mut c, &x, Some(&image), InferConfig::default(), &mut st).unwrap_err();
        assert!(matches!(e, OpsError::CannotKeepUp { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("batch 0: refills cannot keep up") && msg.contains("16 times in a row"),
            "{msg}"
        );
        assert_eq!(st.batches, 16);
    }
}
