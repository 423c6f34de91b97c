//! The toy experiment's picture: both decision boundaries, the points and their attacks.

use std::path::Path;

use plotters::prelude::*;
use wrong_labels::experiments::toy::ToyRun;

const BLUE: RGBColor = RGBColor(49, 110, 200);
const ORANGE: RGBColor = RGBColor(230, 120, 30);

/// Two panels: the first network's boundary with the points and arrows to their adversarial
/// points; the second network's boundary with the same original points. No text: plotters
/// draws text only with a system font library, and the numbers are printed beside the plot.
pub fn toy(run: &ToyRun, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    for (k, panel) in panels.iter().enumerate() {
        let grid = if k == 0 { &run.teacher_grid } else { &run.student_grid };
        let mut chart = ChartBuilder::on(panel)
            .margin(10)
            .build_cartesian_2d(0f32..1f32, 0f32..1f32)?;
        let side = (grid.len() as f64).sqrt() as usize;
        let cell = 1.0 / side as f32;
        chart.draw_series(grid.iter().enumerate().map(|(i, &p)| {
            let (x, y) = ((i % side) as f32 * cell, (i / side) as f32 * cell);
            Rectangle::new([(x, y), (x + cell, y + cell)], shade(p).filled())
        }))?;
        if k == 0 {
            for (i, (p, a)) in run.points.iter().zip(&run.adversarial).enumerate() {
                if run.flipped[i] {
                    chart.draw_series(LineSeries::new([(p[0], p[1]), (a[0], a[1])], BLACK.stroke_width(1)))?;
                    chart.draw_series([Cross::new((a[0], a[1]), 4, color(run.adversarial_labels[i]).stroke_width(2))])?;
                }
            }
        }
        chart.draw_series(run.points.iter().zip(&run.labels).map(|(p, &l)| {
            Circle::new((p[0], p[1]), 5, color(l).filled().stroke_width(1))
        }))?;
    }
    root.present()?;
    Ok(())
}

fn color(label: u8) -> RGBColor {
    if label == 1 { ORANGE } else { BLUE }
}

/// Blue for class 0, orange for class 1, pale near the boundary.
fn shade(p1: f32) -> RGBColor {
    let mix = |a: u8, b: u8, t: f32| (a as f32 + (b as f32 - a as f32) * t) as u8;
    let (target, t) = if p1 >= 0.5 { (ORANGE, (p1 - 0.5) * 2.0) } else { (BLUE, (0.5 - p1) * 2.0) };
    let t = 0.15 + 0.35 * t;
    RGBColor(mix(255, target.0, t), mix(255, target.1, t), mix(255, target.2, t))
}
