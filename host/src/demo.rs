//! What `fiberloop demo` records of a run and draws: a sample of the
//! loop's counters after every batch, the ring map (every slot's state
//! over time, from the slot events the client records: writes, flags
//! read, fills), and the pictures, as PNGs in memory. Text is drawn with
//! the shipped font (`plan::plot`), so they render with no system fonts.

use crate::device::client::SlotEvent;
use crate::plan::plot::{draw_err, encode_png, register_font, PlotError};
use fiberloop_spec::frame::flags;
use plotters::prelude::*;

/// A slot's state in one column of the ring map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlotState {
    /// No weights: past the model's slots, or not rewritten since a fill.
    Empty,
    /// Weights, as loaded (or rewritten in an earlier column).
    Weights,
    /// Its flags read `BAD` or not `VALID` and it was not rewritten yet.
    Bad,
    /// Rewritten during this column (a repair or a loop refill).
    Refilled,
}

/// Every slot's state over the run, one column per sample.
#[derive(Clone, Debug)]
pub struct RingMap {
    now: Vec<SlotState>,
    touched: Vec<bool>,
    /// The columns, oldest first; each holds every slot's state.
    pub columns: Vec<Vec<SlotState>>,
}

impl RingMap {
    /// A loop of `loop_slots` slots whose first `weight_slots` hold the
    /// model.
    pub fn new(loop_slots: usize, weight_slots: usize) -> Self {
        let now = (0..loop_slots)
            .map(|s| {
                if s < weight_slots {
                    SlotState::Weights
                } else {
                    SlotState::Empty
                }
            })
            .collect();
        Self {
            now,
            touched: vec![false; loop_slots],
            columns: vec![],
        }
    }

    /// Slots in the loop.
    pub fn slots(&self) -> usize {
        self.now.len()
    }

    /// Takes in what the host did and saw since the last call.
    pub fn apply(&mut self, events: &[SlotEvent]) {
        for e in events {
            match *e {
                SlotEvent::Fill => self.now.fill(SlotState::Empty),
                SlotEvent::Written(s) => {
                    if let Some(x) = self.now.get_mut(s as usize) {
                        *x = SlotState::Weights;
                        self.touched[s as usize] = true;
                    }
                }
                SlotEvent::Flags { slot, flags: f } => {
                    let good = f & flags::VALID != 0 && f & flags::BAD == 0;
                    if let Some(x) = self.now.get_mut(slot as usize) {
                        if !good && *x != SlotState::Empty {
                            *x = SlotState::Bad;
                        }
                    }
                }
            }
        }
    }

    /// Closes a column: slots rewritten since the last one show as
    /// [`SlotState::Refilled`], the others as they are.
    pub fn snapshot(&mut self) {
        let col = self
            .now
            .iter()
            .zip(&self.touched)
            .map(|(&s, &t)| if t { SlotState::Refilled } else { s })
            .collect();
        self.columns.push(col);
        self.touched.fill(false);
    }

    /// Slots holding trusted weights now.
    pub fn good(&self) -> usize {
        self.now
            .iter()
            .filter(|s| **s == SlotState::Weights)
            .count()
    }

    /// Columns' counts of slots in a state.
    pub fn count(&self, state: SlotState) -> Vec<usize> {
        self.columns
            .iter()
            .map(|c| c.iter().filter(|s| **s == state).count())
            .collect()
    }
}

/// The loop's counters after a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Images run so far.
    pub images: usize,
    /// Board time since the first sample, ms (word clocks / 125 MHz).
    pub board_ms: f64,
    /// Host time since the first sample, s.
    pub wall_s: f64,
    /// Laps so far (summed across fills: the board counts from each fill).
    pub laps: u64,
    /// Bytes corrected so far.
    pub corrected_bytes: u64,
    /// Frames the decoder could not correct, so far.
    pub uncorrectable: u64,
    /// Refills so far (weight slots rewritten plus loop refills).
    pub refills: u64,
    /// Weight slots holding trusted weights at the sample.
    pub good_slots: usize,
}

/// Picture size, pixels.
pub const SIZE: (u32, u32) = (1000, 600);

fn render(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), PlotError>,
) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    encode_png(&rgb, w, h)
}

/// Corrected bytes per lap: for each interval between samples, the
/// bytes the RS decoders corrected divided by the laps run, against the
/// lap count at its end.
pub fn corrected_per_lap(samples: &[Sample]) -> Vec<(f64, f64)> {
    samples
        .windows(2)
        .filter(|w| w[1].laps > w[0].laps)
        .map(|w| {
            let laps = (w[1].laps - w[0].laps) as f64;
            let bytes = w[1].corrected_bytes.saturating_sub(w[0].corrected_bytes) as f64;
            (w[1].laps as f64, bytes / laps)
        })
        .collect()
}

/// The corrected-bytes-per-lap picture.
pub fn corrected_png(samples: &[Sample], title: &str) -> Result<Vec<u8>, PlotError> {
    let pts = corrected_per_lap(samples);
    let x_max = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let y_max = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.15;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Bytes corrected per lap ({title})"),
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("lap")
            .y_desc("bytes corrected per lap (RS decoder)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        let blue = RGBColor(31, 119, 180);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), blue.stroke_width(2)))
            .map_err(draw_err)?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 3, blue.filled())))
            .map_err(draw_err)?;
        Ok(())
    })
}

/// The loop-occupancy picture: weight slots holding trusted weights at
/// the end of each batch, and the slots rewritten during it (the ring map's
/// refilled cells of the column), as shares of the ring's slots, over
/// board time.
pub fn occupancy_png(
    samples: &[Sample],
    map: &RingMap,
    weight_slots: usize,
) -> Result<Vec<u8>, PlotError> {
    let loop_slots = map.slots();
    let rewritten = map.count(SlotState::Refilled);
    let x_max = samples.iter().map(|s| s.board_ms).fold(0.001, f64::max);
    let pct = |n: usize| 100.0 * n as f64 / loop_slots.max(1) as f64;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Loop occupancy: {weight_slots} weight slots of {loop_slots} in the ring"),
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..105.0)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("board time, ms")
            .y_desc("slots holding trusted weights, % of the ring")
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        let green = RGBColor(44, 160, 44);
        chart
            .draw_series(LineSeries::new(
                samples.iter().map(|s| (s.board_ms, pct(s.good_slots))),
                green.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("trusted weight slots")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green));
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, pct(weight_slots)), (x_max, pct(weight_slots))],
                6,
                6,
                grey.stroke_width(1),
            ))
            .map_err(draw_err)?
            .label("the model's share of the ring")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
        let orange = RGBColor(255, 127, 14);
        chart
            .draw_series(
                samples
                    .iter()
                    .zip(&rewritten)
                    .map(|(s, &n)| Circle::new((s.board_ms, pct(n)), 4, orange.filled())),
            )
            .map_err(draw_err)?
            .label("slots rewritten during the batch")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, orange.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    })
}

/// Colour of a slot state in the ring map.
pub fn state_colour(s: SlotState) -> RGBColor {
    match s {
        SlotState::Empty => RGBColor(225, 225, 225),
        SlotState::Weights => RGBColor(31, 119, 180),
        SlotState::Bad => RGBColor(214, 39, 40),
        SlotState::Refilled => RGBColor(255, 127, 14),
    }
}

/// The ring map: slot (vertical) by sample (horizontal, board time of the
/// sample's end), coloured by state.
pub fn ring_map_png(map: &RingMap, samples: &[Sample]) -> Result<Vec<u8>, PlotError> {
    let cols = map.columns.len().max(1);
    let slots = map.slots().max(1);
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Ring map: every slot, batch by batch (blue weights, grey empty, red BAD, orange refilled)",
                ("sans-serif", 18),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..cols as f64, 0.0..slots as f64)
            .map_err(draw_err)?;
        let ms: Vec<f64> = samples.iter().map(|s| s.board_ms).collect();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("batch (label: board time at its end, ms)")
            .y_desc("slot")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|x| {
                let i = (*x as usize).min(ms.len().saturating_sub(1));
                match ms.get(i) {
                    Some(t) => format!("{t:.1}"),
                    None => format!("{x:.0}"),
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(draw_err)?;
        for (c, col) in map.columns.iter().enumerate() {
            chart
                .draw_series(col.iter().enumerate().map(|(s, st)| {
                    Rectangle::new(
                        [(c as f64, s as f64), (c as f64 + 1.0, s as f64 + 1.0)],
                        state_colour(*st).filled(),
                    )
                }))
                .map_err(draw_err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_map_follows_writes_flags_and_fills() {
        let mut m = RingMap::new(6, 4);
        m.snapshot();
        m.apply(&[SlotEvent::Flags {
            slot: 2,
            flags: flags::VALID | flags::BAD,
        }]);
        m.snapshot();
        m.apply(&[SlotEvent::Written(2), SlotEvent::Written(99)]);
        m.snapshot();
        m.snapshot();
        m.apply(&[SlotEvent::Fill, SlotEvent::Written(0)]);
        m.snapshot();
        use SlotState::*;
        assert_eq!(
            m.columns[0],
            [Weights, Weights, Weights, Weights, Empty, Empty]
        );
        assert_eq!(m.columns[1][2], Bad);
        assert_eq!(m.columns[2][2], Refilled);
        assert_eq!(m.columns[3][2], Weights);
        assert_eq!(m.columns[4], [Refilled, Empty, Empty, Empty, Empty, Empty]);
        assert_eq!(m.good(), 1);
        assert_eq!(m.count(Empty), [2, 2, 2, 2, 5]);
    }

    #[test]
    fn corrected_bytes_are_per_lap_of_each_interval() {
        let s = |laps, corrected_bytes| Sample {
            laps,
            corrected_bytes,
            ..Default::default()
        };
        let pts = corrected_per_lap(&[s(0, 0), s(10, 40), s(10, 50), s(30, 90)]);
        assert_eq!(pts, [(10.0, 4.0), (30.0, 2.0)]);
    }

    #[test]
    fn pictures_decode_at_their_size() {
        let samples: Vec<Sample> = (0..5)
            .map(|i| Sample {
                images: 8 * i,
                board_ms: i as f64,
                laps: 10 * i as u64,
                corrected_bytes: 7 * i as u64,
                good_slots: 4,
                ..Default::default()
            })
            .collect();
        let mut m = RingMap::new(6, 4);
        for _ in 0..5 {
            m.snapshot();
        }
        for png in [
            corrected_png(&samples, "test").unwrap(),
            occupancy_png(&samples, &m, 4).unwrap(),
            ring_map_png(&m, &samples).unwrap(),
        ] {
            let d = png::Decoder::new(&png[..]);
            let r = d.read_info().unwrap();
            assert_eq!((r.info().width, r.info().height), SIZE);
        }
    }
}
