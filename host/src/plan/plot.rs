//! The planner's picture: payload bytes in flight against fiber length for
//! 1, 4, 16 and 64 lanes of 2.5 and 10 Gb/s, as a PNG in memory.
//!
//! Text is drawn with DejaVu Sans, shipped in `host/assets/fonts/` (licence
//! beside it) and compiled in, so the picture renders on a machine with no
//! system fonts.

use super::{plan, Coding, Fec, PlanError, PlanInput};
use plotters::prelude::*;

/// Lane counts drawn.
pub const LANES: [u32; 4] = [1, 4, 16, 64];
/// Line rates drawn, bit/s per lane.
pub const RATES: [f64; 2] = [2.5e9, 10e9];
/// Fiber lengths drawn, km (log scale).
pub const KM_RANGE: (f64, f64) = (1.0, 200.0);
/// Points per curve.
pub const POINTS: usize = 240;
/// Picture size, pixels.
pub const SIZE: (u32, u32) = (1200, 800);

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The picture could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A curve's plan failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Drawing failed.
    #[error("drawing the plot: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// A drawing error as a [`PlotError`].
pub(crate) fn draw_err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError::Draw(format!("{e:?}"))
}

/// Registers the shipped font as "sans-serif" (once).
pub(crate) fn register_font() -> Result<(), PlotError> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw("the shipped font does not load".into()))
    }
}

/// A quantity with an SI prefix (powers of 1000) and three significant
/// digits: `si(1.76e12, "B")` is `1.76 TB`, `si(2.5e9, "b/s")` `2.5 Gb/s`.
pub fn si(v: f64, unit: &str) -> String {
    let (div, prefix) = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(d, _)| v >= *d)
        .unwrap_or((1.0, ""));
    let x = v / div;
    let digits = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    let mut t = format!("{x:.digits$}");
    if t.contains('.') {
        t = t.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{t} {prefix}{unit}")
}

/// Bytes with an SI prefix: `1 kB`, `12.5 MB`.
pub fn si_bytes(v: f64) -> String {
    si(v, "B")
}

/// One curve: (km, payload bytes in flight) for a lane count and rate.
pub fn curve(
    rate: f64,
    lanes: u32,
    coding: Coding,
    fec: Fec,
) -> Result<Vec<(f64, f64)>, PlanError> {
    let (a, b) = (KM_RANGE.0.ln(), KM_RANGE.1.ln());
    (0..POINTS)
        .map(|i| {
            let km = (a + (b - a) * i as f64 / (POINTS - 1) as f64).exp();
            let p = plan(&PlanInput {
                coding,
                fec,
                ..PlanInput::project(rate, lanes, km)
            })?;
            Ok((km, p.payload_bytes_in_flight))
        })
        .collect()
}

/// Draws the picture for a line code and FEC and returns it as PNG bytes
/// ([`SIZE`], 8-bit RGB).
pub fn plot_png(coding: Coding, fec: Fec) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let mut curves = vec![];
    for &rate in &RATES {
        for &lanes in &LANES {
            curves.push((rate, lanes, curve(rate, lanes, coding, fec)?));
        }
    }
    let ys = curves.iter().flat_map(|c| c.2.iter().map(|p| p.1));
    let y_min = ys.clone().fold(f64::INFINITY, f64::min).max(1.0);
    let y_max = ys.fold(0.0, f64::max).max(y_min * 10.0);
    let y_lo = 10f64.powf(y_min.log10().floor());
    let y_hi = 10f64.powf(y_max.log10().ceil());

    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let line = match coding {
            Coding::B8b10b => "8b/10b, RS(255,239), 228-byte frames".to_string(),
            c => format!("{}, FEC {}", c.name(), fec.name()),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Payload bytes in flight in the fiber ({line})"),
                ("sans-serif", 26),
            )
            .margin(20)
            .margin_bottom(45)
            .x_label_area_size(55)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (KM_RANGE.0..KM_RANGE.1).log_scale(),
                (y_lo..y_hi).log_scale(),
            )
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("fiber length per lane, km")
            .y_desc("payload bytes in flight, all lanes")
            .axis_desc_style(("sans-serif", 20))
            .label_style(("sans-serif", 16))
            .x_label_formatter(&|x| format!("{x}"))
            .y_label_formatter(&|y| si_bytes(*y))
            .draw()
            .map_err(draw_err)?;
        let colours = [
            RGBColor(31, 119, 180),
            RGBColor(44, 160, 44),
            RGBColor(255, 127, 14),
            RGBColor(214, 39, 40),
        ];
        // 10 Gb/s solid first, 2.5 Gb/s dashed on top: 4n lanes of 2.5 Gb/s
        // carry what n lanes of 10 Gb/s do, so their curves coincide.
        for solid in [true, false] {
            for (rate, lanes, pts) in &curves {
                if (*rate == RATES[1]) != solid {
                    continue;
                }
                let i = LANES.iter().position(|l| l == lanes).unwrap_or(0);
                let colour = colours[i];
                let label = format!("{lanes} x {} Gb/s", rate / 1e9);
                let series = if solid {
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(5)))
                        .map_err(draw_err)?
                } else {
                    chart
                        .draw_series(DashedLineSeries::new(
                            pts.iter().copied(),
                            8,
                            8,
                            colour.stroke_width(2),
                        ))
                        .map_err(draw_err)?
                };
                // Legend: a solid bar, or two dashes.
                let (w, gap) = if solid { (5, (0, 20)) } else { (2, (0, 8)) };
                series.label(label).legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(gap.0, 0), (gap.1, 0)], colour.stroke_width(w))
                        + PathElement::new(vec![(12, 0), (20, 0)], colour.stroke_width(w))
                });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(draw_err)?;
        root.draw_text(
            "solid: lanes of 10 Gb/s; dashed: lanes of 2.5 Gb/s (4n x 2.5 Gb/s lies on n x 10 Gb/s)",
            &("sans-serif", 16).into_text_style(&root),
            (130, (h - 32) as i32),
        )
        .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    encode_png(&rgb, w, h)
}

/// 8-bit RGB pixels, `w` x `h`, as PNG bytes.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    let mut out = vec![];
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(si_bytes(1000.0), "1 kB");
        assert_eq!(si_bytes(12.5e6), "12.5 MB");
        assert_eq!(si_bytes(31.34e9), "31.3 GB");
        assert_eq!(si_bytes(1.76e12), "1.76 TB");
        assert_eq!(si_bytes(221_810_933.9), "222 MB");
        assert_eq!(si_bytes(10.0), "10 B");
        assert_eq!(si(2.5e9, "b/s"), "2.5 Gb/s");
        assert_eq!(si(256e12, "b/s"), "256 Tb/s");
    }

    #[test]
    fn curves_grow_with_length_and_scale_with_lanes() {
        let one = curve(2.5e9, 1, Coding::B8b10b, Fec::Rs255_239).unwrap();
        let four = curve(2.5e9, 4, Coding::B8b10b, Fec::Rs255_239).unwrap();
        assert_eq!(one.len(), POINTS);
        assert_eq!(one[0].0, KM_RANGE.0);
        assert!((one[POINTS - 1].0 - KM_RANGE.1).abs() < 1e-9);
        assert!(one[POINTS - 1].1 > 100.0 * one[0].1);
        for (a, b) in one.iter().zip(&four) {
            assert!((b.1 - 4.0 * a.1).abs() < 1e-6 * b.1);
        }
    }
}
