//! Pacemaker spike detection: a pacing spike is a deflection of 0.5-2 ms, far narrower than any
//! wave the heart makes (the sharpest QRS takes 10-20 ms to rise). What a running median over
//! ±2 ms cannot follow is a spike; QRS, P and T waves pass the median almost unchanged.
//!
//! Spikes survive only in recordings whose bandwidth carries them (sampling ≥ 500 Hz without a
//! low-pass below ~150 Hz). In recorders filtered to ~100 Hz (MIT-BIH) a spike is smeared into
//! the QRS upstroke and cannot be told from it by shape alone.

use ndarray::ArrayView1;

use crate::errors::Result;

/// Minimum spike height in robust noise units (the residual's MAD × 1.4826).
const NOISE_UNITS: f64 = 10.0;
/// Minimum spike height as a fraction of the record's amplitude (the 0.5-99.5 % range).
const AMPLITUDE_FRACTION: f64 = 0.1;
/// Half-width of the running median (s).
const MEDIAN_HALF: f64 = 0.002;
/// Largest residual allowed within 10 ms of a spike (outside its own lobes), relative to it.
const ISOLATION: f64 = 0.3;
/// Two candidates closer than this (s) are one spike (a biphasic spike has two lobes).
const MERGE: f64 = 0.010;

/// Sample indices of pacing spikes in one lead sampled at `fs` Hz (sorted); a spike is at
/// least `min_height` high (in the signal's unit).
pub fn detect_pacing(x: ArrayView1<f64>, fs: f64, min_height: f64) -> Result<Vec<i64>> {
    crate::filter_design::check_fs(fs)?;
    let xs = crate::detect::contiguous(&x);
    let xs: &[f64] = &xs;
    crate::detect::check_finite(xs)?;
    let n = xs.len();
    let h = ((MEDIAN_HALF * fs).round() as usize).clamp(1, 16);
    if n < 2 * h + 3 {
        return Ok(Vec::new());
    }
    let residual = median_residual(xs, h);
    let scale = {
        let mut a: Vec<f64> = residual.iter().map(|v| v.abs()).collect();
        1.4826 * quantile(&mut a, 0.5)
    };
    let span = {
        let mut v = xs.to_vec();
        let hi = quantile(&mut v, 0.995);
        hi - quantile(&mut v, 0.005)
    };
    let threshold = (NOISE_UNITS * scale)
        .max(AMPLITUDE_FRACTION * span)
        .max(min_height);
    if threshold <= 0.0 {
        return Ok(Vec::new());
    }
    let merge = ((MERGE * fs).round() as usize).max(1);
    let core = h + 1;
    let mut out: Vec<(usize, f64)> = Vec::new();
    for i in 1..n - 1 {
        let v = residual[i].abs();
        if v < threshold || v < residual[i - 1].abs() || v <= residual[i + 1].abs() {
            continue;
        }
        // isolated: high-frequency noise oscillates, a spike stands alone (its own lobes
        // within ±(2 ms + 1 sample) aside)
        let around = |a: usize, b: usize| residual[a..b].iter().fold(0.0f64, |m, r| m.max(r.abs()));
        let left = around(i.saturating_sub(merge), i.saturating_sub(core));
        let right = around((i + core + 1).min(n), (i + merge + 1).min(n));
        if left.max(right) > ISOLATION * v {
            continue;
        }
        match out.last_mut() {
            Some(last) if i - last.0 < merge => {
                if v > last.1 {
                    *last = (i, v);
                }
            }
            _ => out.push((i, v)),
        }
    }
    Ok(out.into_iter().map(|(i, _)| i as i64).collect())
}

/// `x - median(x[i-h..=i+h])` (the window shrinks at the ends).
fn median_residual(x: &[f64], h: usize) -> Vec<f64> {
    (0..x.len())
        .map(|i| x[i] - crate::detect::median_around(x, i, h))
        .collect()
}

/// The `q` quantile of `v` (reorders `v`).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    *v.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
}

/// Pacing spikes on every row of a 2-D array, rows in parallel.
pub fn detect_pacing_rows(
    x: ndarray::ArrayView2<f64>,
    fs: f64,
    min_height: f64,
) -> Result<Vec<Vec<i64>>> {
    crate::filter_design::check_fs(fs)?;
    crate::detect::each_row(x, |row| detect_pacing(row, fs, min_height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn gauss(n: usize, fs: f64, at: f64, sigma: f64, amp: f64) -> Array1<f64> {
        Array1::from_shape_fn(n, |i| {
            let t = i as f64 / fs - at;
            amp * (-0.5 * (t / sigma).powi(2)).exp()
        })
    }

    #[test]
    fn a_spike_is_found_and_a_qrs_is_not() {
        let fs = 1000.0;
        let n = 3000;
        // QRS-like waves (sigma 10 ms, 1.5 mV) and T waves; one 1-ms spike of 0.5 mV
        let mut x = gauss(n, fs, 0.5, 0.010, 1.5)
            + gauss(n, fs, 1.5, 0.010, 1.5)
            + gauss(n, fs, 2.5, 0.010, 1.5)
            + gauss(n, fs, 0.8, 0.05, 0.4)
            + gauss(n, fs, 1.8, 0.05, 0.4);
        x += &gauss(n, fs, 1.45, 0.0008, 0.5);
        let found = detect_pacing(x.view(), fs, 0.2).unwrap();
        assert_eq!(found, vec![1450]);
    }

    #[test]
    fn nothing_in_a_flat_or_smooth_signal() {
        let fs = 500.0;
        assert!(detect_pacing(Array1::zeros(2000).view(), fs, 0.2)
            .unwrap()
            .is_empty());
        let x = gauss(2000, fs, 2.0, 0.012, 1.0);
        assert!(detect_pacing(x.view(), fs, 0.2).unwrap().is_empty());
    }

    #[test]
    fn non_finite_input_is_an_error() {
        let mut x = Array1::zeros(100);
        x[5] = f64::NAN;
        assert!(detect_pacing(x.view(), 500.0, 0.2).is_err());
    }
}
