//! The command line's pictures: the toy's decision boundaries, points and attacks; the ilyas
//! experiment's accuracies against the attack's radius; the fashion students against their
//! teachers. No text: plotters draws text only with a
//! system font library, and the numbers are printed beside the plots.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf32;
use plotters::prelude::*;
use wrong_labels::experiments::fashion::FashionReport;
use wrong_labels::experiments::ilyas::{IlyasReport, Targets};
use wrong_labels::experiments::toy::ToyRun;

const BLUE: RGBColor = RGBColor(49, 110, 200);
const ORANGE: RGBColor = RGBColor(230, 120, 30);

/// Two panels: the first network's boundary with the points and arrows to their adversarial
/// points; the second network's boundary with the same original points.
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

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf32, RangedCoordf32>>;

/// A frame of 0 to `right` on x and 0 to 1 on y, with a grey line every tenth of y.
fn unit_chart<'a, 'b>(root: &'a DrawingArea<BitMapBackend<'b>, Shift>, right: f32) -> Result<Chart<'a, 'b>, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(root).margin(20).build_cartesian_2d(0f32..right, 0f32..1f32).map_err(|e| text(&e))?;
    let grey = RGBColor(200, 200, 200);
    for k in 0..=10 {
        let y = k as f32 / 10.0;
        chart.draw_series(LineSeries::new([(0.0, y), (right, y)], grey.stroke_width(if k == 0 || k == 10 { 2 } else { 1 }))).map_err(|e| text(&e))?;
    }
    Ok(chart)
}

/// The normalized student's MNIST test accuracy (y) against its teacher's (x), both from 0 to 1:
/// the sweep's weaker teachers and the run's own (blue), the diagonal "student = teacher" (grey),
/// the random-label control (dark grey, flat).
pub fn teacher_sweep(report: &FashionReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = unit_chart(&root, 1.0)?;
    chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], RGBColor(170, 170, 170).stroke_width(1)))?;
    let control = report.control.test_accuracy;
    chart.draw_series(LineSeries::new([(0.0, control), (1.0, control)], RGBColor(120, 120, 120).stroke_width(3)))?;
    let mut points: Vec<(f32, f32)> = report.teacher_sweep.iter().map(|p| (p.teacher.test_accuracy, p.student.model.test_accuracy)).collect();
    if let Some(main) = report.students.last() {
        points.push((report.teacher.test_accuracy, main.model.test_accuracy));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart.draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(4)))?;
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 6, BLUE.filled())))?;
    root.present()?;
    Ok(())
}

/// Against ε (x, from 0 to the largest radius), on a scale of 0 to 1 with a grey line every tenth:
/// the students' MNIST test accuracy (thick: D_rand blue, D_det orange), the attack's success
/// (thin, same colours), the random-label control (grey, flat).
pub fn epsilon_sweep(report: &IlyasReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = report.sets.iter().map(|s| s.epsilon).fold(0.0f32, f32::max) * 1.05;
    let mut chart = unit_chart(&root, top)?;
    let control = report.control.test_accuracy;
    chart.draw_series(LineSeries::new([(0.0, control), (top, control)], RGBColor(120, 120, 120).stroke_width(3)))?;
    for (targets, color) in [(Targets::Rand, BLUE), (Targets::Det, ORANGE)] {
        let sets: Vec<_> = report.sets.iter().filter(|s| s.targets == targets).collect();
        let students: Vec<(f32, f32)> = sets.iter().map(|s| (s.epsilon, s.student.model.test_accuracy)).collect();
        let success: Vec<(f32, f32)> = sets.iter().map(|s| (s.epsilon, s.attack_success)).collect();
        chart.draw_series(LineSeries::new(students.clone(), color.stroke_width(4)))?;
        chart.draw_series(students.iter().map(|&p| Circle::new(p, 6, color.filled())))?;
        chart.draw_series(LineSeries::new(success.clone(), color.stroke_width(1)))?;
        chart.draw_series(success.iter().map(|&p| Circle::new(p, 3, color.stroke_width(1))))?;
    }
    root.present()?;
    Ok(())
}
