//! SVG plots (plotters, SVG backend only: text is written as `<text>`
//! elements, so no font files or system libraries are needed): ROC curve
//! with its bootstrap band, binned calibration curve, decision curve and
//! permutation importance.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::eval::importance::{importance_by_arm, Importance};
use crate::eval::{Evaluation, GroupEvaluation, LabelledData};
use crate::output::write_file;

const SIZE: (u32, u32) = (640, 480);
const FONT: &str = "sans-serif";

type Drawn = std::result::Result<(), String>;

/// A chart with `f64` axes drawn into an SVG string.
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart on `root` with a caption, the given axis ranges and the axis
/// descriptions `(x, y)`, its mesh drawn.
fn xy_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: String,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    desc: (&str, &str),
    y_area: u32,
) -> std::result::Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT, 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)
        .map_err(m)?;
    chart
        .configure_mesh()
        .x_desc(desc.0)
        .y_desc(desc.1)
        .draw()
        .map_err(m)?;
    Ok(chart)
}

/// The series legend at `position`.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 13))
        .draw()
        .map_err(m)
}

fn m<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A file-name-safe version of an arm name.
pub(crate) fn file_stem(arm: &str) -> String {
    let s: String = arm
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("arm{s}")
    } else {
        s
    }
}

/// The ROC curve of a group with its pointwise 95 % bootstrap band and the
/// diagonal. `None` when the ROC curve is undefined (one class).
pub(crate) fn roc_svg(g: &GroupEvaluation) -> Option<std::result::Result<String, String>> {
    let roc = g.roc.as_ref()?;
    let mut svg = String::new();
    let drawn = (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let auc = g.auc.as_ref().map(|a| match (a.ci_low, a.ci_high) {
            (Some(l), Some(h)) => format!("AUC {:.3} [{l:.3}, {h:.3}]", a.estimate),
            _ => format!("AUC {:.3}", a.estimate),
        });
        let mut chart = xy_chart(
            &root,
            format!("ROC: {} (n={})", g.arm, g.n),
            0f64..1f64,
            0f64..1f64,
            ("1 - specificity (false-positive rate)", "sensitivity"),
            50,
        )?;
        if let Some(b) = &g.bootstrap {
            let mut poly: Vec<(f64, f64)> = b
                .fpr
                .iter()
                .copied()
                .zip(b.tpr_high.iter().copied())
                .collect();
            poly.extend(b.fpr.iter().copied().zip(b.tpr_low.iter().copied()).rev());
            chart
                .draw_series(std::iter::once(Polygon::new(poly, BLUE.mix(0.18))))
                .map_err(m)?
                .label(format!("95% bootstrap band ({} replicates)", b.replicates))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLUE.mix(0.18).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.4),
            ))
            .map_err(m)?;
        // The empirical ROC is a step curve through its points.
        let pts: Vec<(f64, f64)> = roc.iter().map(|p| (p.fpr, p.tpr)).collect();
        chart
            .draw_series(LineSeries::new(pts, BLUE.stroke_width(2)))
            .map_err(m)?
            .label(auc.unwrap_or_else(|| "ROC".into()))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(m)
    })();
    Some(drawn.map(|()| svg))
}

/// The calibration plot: the loess curve with its pointwise 95 % band, the
/// binned curve, the diagonal of perfect calibration, and a histogram of the
/// predicted risks along the bottom.
pub(crate) fn calibration_svg(g: &GroupEvaluation) -> std::result::Result<String, String> {
    let mut svg = String::new();
    (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let mut chart = xy_chart(
            &root,
            format!("Calibration: {} (n={})", g.arm, g.n),
            0f64..1f64,
            0f64..1f64,
            ("predicted probability", "observed share of responders"),
            50,
        )?;
        // Histogram of predicted risks: the tallest bar is 0.15 high.
        let top = g.risk_histogram.iter().copied().max().unwrap_or(0).max(1) as f64;
        chart
            .draw_series(
                g.risk_histogram
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(k, &c)| {
                        let x0 = k as f64 / 20.0;
                        Rectangle::new(
                            [(x0 + 0.005, 0.0), (x0 + 0.045, 0.15 * c as f64 / top)],
                            BLACK.mix(0.25).filled(),
                        )
                    }),
            )
            .map_err(m)?
            .label("predicted risks (histogram)")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 4), (x + 20, y + 4)], BLACK.mix(0.25).filled())
            });
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.4),
            ))
            .map_err(m)?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
        if let Some(sm) = &g.calibration_smooth {
            let clip = |v: f64| v.clamp(0.0, 1.0);
            draw_band(
                &mut chart,
                sm.curve
                    .iter()
                    .map(|c| (c.predicted, clip(c.ci_high)))
                    .collect(),
                sm.curve
                    .iter()
                    .map(|c| (c.predicted, clip(c.ci_low)))
                    .collect(),
                "95% band",
            )?;
            chart
                .draw_series(LineSeries::new(
                    sm.curve.iter().map(|c| (c.predicted, clip(c.observed))),
                    BLUE.stroke_width(2),
                ))
                .map_err(m)?
                .label(format!("loess, ICI {:.3}, E-max {:.3}", sm.ici, sm.emax))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        }
        let pts: Vec<(f64, f64)> = g
            .calibration_bins
            .iter()
            .map(|b| (b.mean_predicted, b.observed))
            .collect();
        let slope = g
            .calibration
            .slope
            .map(|s| format!(", slope {:.2}", s.estimate))
            .unwrap_or_default();
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, RED.filled())))
            .map_err(m)?
            .label(format!("{} bins of equal size{slope}", pts.len()))
            .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(m)
    })()?;
    Ok(svg)
}

/// Net benefit of the model, treat-all and treat-none over the thresholds.
pub(crate) fn decision_svg(g: &GroupEvaluation) -> std::result::Result<String, String> {
    let mut svg = String::new();
    (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let top = g
            .decision_curve
            .iter()
            .map(|d| {
                d.model
                    .max(d.treat_all)
                    .max(d.model_ci_high.unwrap_or(d.model))
            })
            .fold(g.prevalence, f64::max)
            .max(0.05);
        // The model's curve is always shown whole (a negative net benefit
        // is a result); treat-all, which falls steeply at high thresholds,
        // is clipped to the floor of the plot instead of vanishing.
        let model_low = g
            .decision_curve
            .iter()
            .map(|d| d.model)
            .fold(f64::INFINITY, f64::min);
        let floor = -0.05 * top.max(0.2) - 0.02;
        let bottom = if model_low < floor {
            model_low - 0.05 * (top - model_low)
        } else {
            floor
        };
        let mut chart = xy_chart(
            &root,
            format!("Decision curve: {} (n={})", g.arm, g.n),
            0f64..1f64,
            bottom..top * 1.05,
            ("threshold probability", "net benefit"),
            56,
        )?;
        let series = |f: fn(&crate::eval::decision::NetBenefit) -> f64| -> Vec<(f64, f64)> {
            g.decision_curve
                .iter()
                .map(|d| (d.threshold, f(d).max(bottom)))
                .collect()
        };
        let upper: Vec<(f64, f64)> = g
            .decision_curve
            .iter()
            .filter_map(|d| Some((d.threshold, d.model_ci_high?.max(bottom))))
            .collect();
        if !upper.is_empty() {
            let lower = g
                .decision_curve
                .iter()
                .filter_map(|d| Some((d.threshold, d.model_ci_low?.max(bottom))))
                .collect();
            draw_band(&mut chart, upper, lower, "model, bootstrap 95% band")?;
        }
        chart
            .draw_series(LineSeries::new(series(|d| d.model), BLUE.stroke_width(2)))
            .map_err(m)?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(series(|d| d.treat_all), RED))
            .map_err(m)?
            .label("treat all")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 0.0)], BLACK))
            .map_err(m)?
            .label("treat none")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(m)
    })()?;
    Ok(svg)
}

/// A shaded band between `upper` and `lower` (same x, increasing), in the
/// legend as `label`.
fn draw_band(
    chart: &mut Chart<'_, '_>,
    upper: Vec<(f64, f64)>,
    lower: Vec<(f64, f64)>,
    label: &str,
) -> Drawn {
    let pts: Vec<(f64, f64)> = upper.into_iter().chain(lower.into_iter().rev()).collect();
    chart
        .draw_series(std::iter::once(Polygon::new(pts, BLUE.mix(0.15).filled())))
        .map_err(m)?
        .label(label)
        .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 20, y + 4)], BLUE.mix(0.15).filled()));
    Ok(())
}

/// The TOC curve of an arm vs control (RATE), with its pointwise 95 % band
/// and the zero line of random targeting.
pub(crate) fn toc_svg(
    arm: &str,
    control: &str,
    r: &crate::effects::rate::Rate,
) -> std::result::Result<String, String> {
    let mut svg = String::new();
    (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        let lo = r.toc.iter().map(|p| finite(p.ci_low)).fold(0.0, f64::min);
        let hi = r.toc.iter().map(|p| finite(p.ci_high)).fold(0.0, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.01);
        let mut chart = xy_chart(
            &root,
            format!(
                "TOC: {arm} vs {control} (AUTOC {:.3} ± {:.3})",
                r.autoc.estimate, r.autoc.se
            ),
            0f64..1f64,
            (lo - pad)..(hi + pad),
            (
                "share of patients treated (highest predicted advantage first)",
                "effect among them minus average effect",
            ),
            56,
        )?;
        let band: Vec<(f64, f64)> = r
            .toc
            .iter()
            .map(|p| (p.q, finite(p.ci_high)))
            .chain(r.toc.iter().rev().map(|p| (p.q, finite(p.ci_low))))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15).filled())))
            .map_err(m)?
            .label("95% band (half-sample bootstrap)")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 4), (x + 20, y + 4)], BLUE.mix(0.15).filled())
            });
        chart
            .draw_series(LineSeries::new(
                r.toc.iter().map(|p| (p.q, p.estimate)),
                BLUE.stroke_width(2),
            ))
            .map_err(m)?
            .label("TOC")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 0.0)], BLACK))
            .map_err(m)?
            .label("random targeting")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(m)
    })()?;
    Ok(svg)
}

/// Writes `toc_<arm>.svg` for every contrast of `e` into `dir`.
pub(crate) fn write_toc_plots(
    dir: &Path,
    e: &crate::eval::selection::EffectsOutput,
) -> Result<Vec<PathBuf>> {
    e.effects
        .contrasts
        .iter()
        .map(|c| {
            let name = format!("toc_{}.svg", file_stem(&c.arm));
            write_svg(dir, &name, toc_svg(&c.arm, &c.control, &c.rate))
        })
        .collect()
}

/// The Qini curve of a two-arm selection, with the random-targeting line.
pub(crate) fn qini_svg(
    q: &crate::eval::recommendation::Qini,
) -> std::result::Result<String, String> {
    let mut svg = String::new();
    (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let lo = q
            .points
            .iter()
            .map(|p| p.qini.min(p.random))
            .fold(0.0, f64::min);
        let hi = q
            .points
            .iter()
            .map(|p| p.qini.max(p.random))
            .fold(0.0, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.01);
        let mut chart = xy_chart(
            &root,
            format!("Qini curve: {} vs {}", q.treatment, q.control),
            0f64..1f64,
            (lo - pad)..(hi + pad),
            (
                "share of patients targeted (by predicted uplift)",
                "incremental responders per patient",
            ),
            56,
        )?;
        chart
            .draw_series(LineSeries::new(
                q.points.iter().map(|p| (p.fraction, p.qini)),
                BLUE.stroke_width(2),
            ))
            .map_err(m)?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                q.points.iter().map(|p| (p.fraction, p.random)),
                BLACK,
            ))
            .map_err(m)?
            .label("random")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(m)
    })()?;
    Ok(svg)
}

/// Horizontal bars of mean AUC drop (± 1 SD) for the `top` most important
/// features.
pub(crate) fn importance_svg(
    arm: &str,
    importance: &[Importance],
    top: usize,
) -> std::result::Result<String, String> {
    let shown: Vec<&Importance> = importance.iter().take(top.max(1)).collect();
    let k = shown.len().max(1) as i32;
    let lo = shown
        .iter()
        .map(|i| i.auc_drop_mean - i.auc_drop_sd)
        .fold(0.0f64, f64::min);
    let hi = shown
        .iter()
        .map(|i| i.auc_drop_mean + i.auc_drop_sd)
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let pad = 0.05 * (hi - lo);
    let names: Vec<String> = shown.iter().map(|i| i.feature.clone()).collect();
    let height = SIZE.1.max(120 + 22 * k as u32);
    let mut svg = String::new();
    (|| -> Drawn {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(m)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Permutation importance: {arm}"), (FONT, 18))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(130)
            .build_cartesian_2d((lo - pad)..(hi + pad), (0..(k - 1).max(1)).into_segmented())
            .map_err(m)?;
        let label = |v: &SegmentValue<i32>| match v {
            // Most important at the top.
            SegmentValue::CenterOf(i) => usize::try_from(k - 1 - i)
                .ok()
                .and_then(|j| names.get(j).cloned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(k as usize)
            .y_label_formatter(&label)
            .x_desc("drop in AUC when the feature is shuffled (mean ± SD)")
            .draw()
            .map_err(m)?;
        chart
            .draw_series(shown.iter().enumerate().map(|(j, imp)| {
                let i = k - 1 - j as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (imp.auc_drop_mean, SegmentValue::Exact(i + 1)),
                    ],
                    BLUE.mix(0.6).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(m)?;
        chart
            .draw_series(shown.iter().enumerate().map(|(j, imp)| {
                let i = k - 1 - j as i32;
                PathElement::new(
                    vec![
                        (
                            imp.auc_drop_mean - imp.auc_drop_sd,
                            SegmentValue::CenterOf(i),
                        ),
                        (
                            imp.auc_drop_mean + imp.auc_drop_sd,
                            SegmentValue::CenterOf(i),
                        ),
                    ],
                    BLACK.stroke_width(2),
                )
            }))
            .map_err(m)?;
        root.present().map_err(m)
    })()?;
    Ok(svg)
}

/// Creates `dir` (and its parents); the error names the folder.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "cannot create the plot folder",
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `text` atomically to `dir/name`; returns the path.
pub(crate) fn write_svg(
    dir: &Path,
    name: &str,
    text: std::result::Result<String, String>,
) -> Result<PathBuf> {
    let path = dir.join(name);
    let text = text.map_err(|e| Error::Io {
        action: "cannot draw",
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_file(&path, text.as_bytes())?;
    Ok(path)
}

/// Writes the ROC, calibration and decision-curve plots of every group,
/// and the importance plot of every `(arm, importances)` pair, into `dir`
/// (which must exist). Returns the files written.
pub(crate) fn write_plots(
    dir: &Path,
    groups: &[&GroupEvaluation],
    importance: &[(String, Vec<Importance>)],
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for g in groups {
        let stem = file_stem(&g.arm);
        if let Some(svg) = roc_svg(g) {
            written.push(write_svg(dir, &format!("roc_{stem}.svg"), svg)?);
        }
        written.push(write_svg(
            dir,
            &format!("calibration_{stem}.svg"),
            calibration_svg(g),
        )?);
        written.push(write_svg(
            dir,
            &format!("decision_{stem}.svg"),
            decision_svg(g),
        )?);
    }
    for (arm, imp) in importance {
        if imp.is_empty() {
            continue;
        }
        let stem = file_stem(arm);
        written.push(write_svg(
            dir,
            &format!("importance_{stem}.svg"),
            importance_svg(arm, imp, 20),
        )?);
    }
    Ok(written)
}

/// Repeats of permutation importance behind the importance plots.
pub(crate) const PLOT_IMPORTANCE_REPEATS: usize = 5;

/// Writes every plot of an evaluation of `bundle` on `data` into `dir`
/// (which must exist): per group ROC, calibration and decision curve, per
/// arm permutation importance (5 shuffles, seeded with `seed`).
pub(crate) fn evaluation_plots(
    dir: &Path,
    bundle: &Bundle,
    data: &LabelledData,
    ev: &Evaluation,
    seed: u64,
) -> Result<Vec<PathBuf>> {
    let mut groups: Vec<&GroupEvaluation> = ev.arms.iter().collect();
    if let Some(o) = &ev.overall {
        groups.push(o);
    }
    let imp: Vec<(String, Vec<Importance>)> =
        importance_by_arm(bundle, data, PLOT_IMPORTANCE_REPEATS, seed)?
            .into_iter()
            .map(|(a, _, i)| (a, i))
            .collect();
    write_plots(dir, &groups, &imp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::evaluation::evaluate_group;
    use crate::eval::EvalOptions;

    /// The points of the first polyline drawn in `colour`.
    fn polyline_points(svg: &str, colour: &str) -> usize {
        let line = svg
            .lines()
            .find(|l| l.contains("<polyline") && l.contains(colour))
            .expect("a polyline");
        let points = line
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        points.split_whitespace().count()
    }

    #[test]
    fn a_negative_net_benefit_is_drawn_not_dropped() {
        let p: Vec<f64> = (0..60).map(|i| (i as f64 + 0.5) / 60.0).collect();
        let y: Vec<bool> = (0..60).map(|i| i % 3 == 0).collect();
        let opts = EvalOptions {
            bootstrap: 0,
            seed: 1,
        };
        let mut g = evaluate_group("TMS", &p, &y, 0.5, "--threshold", opts);
        // Net benefits down to -0.27 from threshold 0.35 on (a real trial's
        // curve once jumped from 0.30 to 0.95 over them).
        for d in g.decision_curve.iter_mut().filter(|d| d.threshold > 0.33) {
            d.model = -0.27;
        }
        let svg = decision_svg(&g).unwrap();
        assert_eq!(polyline_points(&svg, "#0000FF"), g.decision_curve.len());
        // Treat-all, far below at high thresholds, runs along the floor.
        assert_eq!(polyline_points(&svg, "#FF0000"), g.decision_curve.len());
    }

    #[test]
    fn plots_are_svg_with_text_elements() {
        let p: Vec<f64> = (0..60).map(|i| (i as f64 + 0.5) / 60.0).collect();
        let y: Vec<bool> = (0..60)
            .map(|i| i % 3 != 0 && i > 15 || i % 11 == 0)
            .collect();
        let g = evaluate_group(
            "TMS",
            &p,
            &y,
            0.5,
            "--threshold",
            EvalOptions {
                bootstrap: 50,
                seed: 1,
            },
        );
        for svg in [
            roc_svg(&g).unwrap().unwrap(),
            calibration_svg(&g).unwrap(),
            decision_svg(&g).unwrap(),
        ] {
            assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
            assert!(svg.contains("<text"));
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        let imp = vec![
            Importance {
                feature: "age".into(),
                auc_drop_mean: 0.1,
                auc_drop_sd: 0.02,
            },
            Importance {
                feature: "rs1".into(),
                auc_drop_mean: -0.01,
                auc_drop_sd: 0.01,
            },
        ];
        let svg = importance_svg("TMS", &imp, 20).unwrap();
        assert!(svg.contains("\nage\n") && svg.contains("\nrs1\n"), "{svg}");
        let one = evaluate_group(
            "x",
            &p,
            &[true; 60],
            0.5,
            "--threshold",
            EvalOptions {
                bootstrap: 10,
                seed: 1,
            },
        );
        assert!(roc_svg(&one).is_none());
        assert!(calibration_svg(&one).is_ok());
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("TMS"), "TMS");
        assert_eq!(file_stem("a/b c"), "a_b_c");
        assert_eq!(file_stem(".."), "arm..");
        assert_eq!(file_stem(""), "arm");
    }
}
