//! A digit drawn on the page, prepared as MNIST's digits were: its ink cropped, scaled so that its
//! longer side fills 20 pixels (anti-aliased), and placed in 28×28 by its centre of mass (LeCun et
//! al.'s description of the dataset).

/// MNIST's image side, and the box a digit is scaled into within it.
pub const SIDE: usize = 28;
const BOX: usize = 20;

/// The largest drawing taken: a pad is a few hundred pixels a side.
const MAX_SIDE: usize = 4096;

/// Grey values at or below this count as paper, not ink: the faint edge a canvas antialiases.
const PAPER: u8 = 8;

/// `pixels` (`width`×`height` grey values, row by row, ink bright on dark) as a 28×28 MNIST-like
/// image, or `None` when nothing is drawn.
pub fn mnist_like(pixels: &[u8], width: usize, height: usize) -> Result<Option<Vec<u8>>, String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("a drawing must be 1 to {MAX_SIDE} pixels a side, not {width}×{height}"));
    }
    if pixels.len() != width * height {
        return Err(format!("a {width}×{height} drawing needs {} grey values, not {}", width * height, pixels.len()));
    }
    let Some((left, top, right, bottom)) = ink_box(pixels, width) else { return Ok(None) };
    let (w, h) = (right - left, bottom - top);
    // The longer side becomes 20 pixels; the shorter keeps the proportion (at least a pixel).
    let scale = BOX as f64 / w.max(h) as f64;
    let (out_w, out_h) = (((w as f64 * scale).round() as usize).clamp(1, BOX), ((h as f64 * scale).round() as usize).clamp(1, BOX));
    let rows: Vec<Vec<f64>> = (top..bottom).map(|y| resample(&pixels[y * width + left..y * width + right].iter().map(|&p| p as f64).collect::<Vec<_>>(), out_w)).collect();
    let scaled: Vec<Vec<f64>> = (0..out_w).map(|x| resample(&rows.iter().map(|r| r[x]).collect::<Vec<_>>(), out_h)).collect();
    // scaled[x][y]: place it so that its centre of mass lands on the field's centre.
    let (mut mass, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (x, column) in scaled.iter().enumerate() {
        for (y, &v) in column.iter().enumerate() {
            mass += v;
            mx += v * (x as f64 + 0.5);
            my += v * (y as f64 + 0.5);
        }
    }
    let centre = SIDE as f64 / 2.0;
    let (dx, dy) = ((centre - mx / mass).round() as i64, (centre - my / mass).round() as i64);
    let mut image = vec![0u8; SIDE * SIDE];
    for (x, column) in scaled.iter().enumerate() {
        for (y, &v) in column.iter().enumerate() {
            let (tx, ty) = (x as i64 + dx, y as i64 + dy);
            if (0..SIDE as i64).contains(&tx) && (0..SIDE as i64).contains(&ty) {
                image[ty as usize * SIDE + tx as usize] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(Some(image))
}

/// The smallest box (left, top, right, bottom; right and bottom exclusive) holding every pixel
/// brighter than paper.
fn ink_box(pixels: &[u8], width: usize) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for (i, _) in pixels.iter().enumerate().filter(|(_, p)| **p > PAPER) {
        let (x, y) = (i % width, i / width);
        bounds = Some(match bounds {
            None => (x, y, x + 1, y + 1),
            Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1)),
        });
    }
    bounds
}

/// `values` resampled to `len` values, each the mean of the stretch of the input it covers
/// (a box filter: the anti-aliasing of a reduction; pieces of pixels count by their share).
fn resample(values: &[f64], len: usize) -> Vec<f64> {
    let step = values.len() as f64 / len as f64;
    (0..len)
        .map(|i| {
            let (from, to) = (i as f64 * step, (i + 1) as f64 * step);
            let mut sum = 0.0;
            for (j, &v) in values.iter().enumerate().take(to.ceil() as usize).skip(from.floor() as usize) {
                let covered = (to.min(j as f64 + 1.0) - from.max(j as f64)).max(0.0);
                sum += covered * v;
            }
            sum / step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `side`×`side` drawing with the rectangles given (x, y, width, height) in full ink.
    fn drawing(side: usize, strokes: &[(usize, usize, usize, usize)]) -> Vec<u8> {
        let mut pixels = vec![0u8; side * side];
        for &(x0, y0, w, h) in strokes {
            for y in y0..y0 + h {
                pixels[y * side + x0..y * side + x0 + w].fill(255);
            }
        }
        pixels
    }

    fn ink_rows_and_columns(image: &[u8]) -> (Vec<usize>, Vec<usize>) {
        let rows = (0..SIDE).filter(|y| (0..SIDE).any(|x| image[y * SIDE + x] > 0)).collect();
        let columns = (0..SIDE).filter(|x| (0..SIDE).any(|y| image[y * SIDE + x] > 0)).collect();
        (rows, columns)
    }

    fn centre_of_mass(image: &[u8]) -> (f64, f64) {
        let (mut m, mut x, mut y) = (0.0, 0.0, 0.0);
        for (i, &v) in image.iter().enumerate() {
            let v = v as f64;
            m += v;
            x += v * ((i % SIDE) as f64 + 0.5);
            y += v * ((i / SIDE) as f64 + 0.5);
        }
        (x / m, y / m)
    }

    #[test]
    fn a_stroke_in_a_corner_is_scaled_to_20_pixels_and_centred() {
        // A vertical bar 200 pixels high and 20 wide, in the pad's top-left corner.
        let image = mnist_like(&drawing(280, &[(10, 5, 20, 200)]), 280, 280).unwrap().unwrap();
        let (rows, columns) = ink_rows_and_columns(&image);
        assert_eq!(rows.len(), 20, "the longer side fills the 20-pixel box");
        assert_eq!(columns.len(), 2, "the shorter side keeps the proportion");
        let (x, y) = centre_of_mass(&image);
        assert!((x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5, "centre of mass at ({x}, {y})");
        assert!(image.iter().all(|&v| v == 0 || v == 255), "whole pixels of full ink stay full ink");
    }

    #[test]
    fn the_centre_of_mass_not_the_box_is_centred() {
        // A ⊢: a long bar and a heavy arm to the right; the box's centre is not the mass's.
        let image = mnist_like(&drawing(100, &[(0, 0, 10, 100), (10, 40, 90, 20)]), 100, 100).unwrap().unwrap();
        let (x, y) = centre_of_mass(&image);
        assert!((x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5, "centre of mass at ({x}, {y})");
        // Centred by its box, the 20 columns would start at column 4; the mass sits left, so further right.
        let (_, columns) = ink_rows_and_columns(&image);
        assert_eq!((columns.len(), columns[0]), (20, 7));
    }

    #[test]
    fn a_reduction_averages_what_each_pixel_covers() {
        assert_eq!(resample(&[255.0, 0.0, 255.0, 0.0], 2), [127.5, 127.5]);
        // Three into two: each output pixel covers one and a half input pixels.
        assert_eq!(resample(&[0.0, 90.0, 180.0], 2), [30.0, 150.0]);
        assert_eq!(resample(&[60.0], 2), [60.0, 60.0], "an enlargement repeats");
    }

    #[test]
    fn nothing_drawn_is_none_and_bad_sizes_are_refused() {
        assert_eq!(mnist_like(&[0; 100], 10, 10), Ok(None));
        assert_eq!(mnist_like(&[PAPER; 100], 10, 10), Ok(None), "a canvas's faint antialiasing is not ink");
        assert!(mnist_like(&[0; 99], 10, 10).unwrap_err().contains("needs 100 grey values, not 99"));
        assert!(mnist_like(&[], 0, 0).is_err());
        assert!(mnist_like(&[0; 10], 5000, 0).is_err());
    }
}
