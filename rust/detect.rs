//! R-peak detection: a Pan-Tompkins-family detector (Pan & Tompkins 1985, IEEE TBME 32:230) with
//! adaptive signal/noise levels, T-wave discrimination and search-back, as refined in
//! Hamilton & Tompkins (1986) and sleepecg, then localisation of each beat on the input signal.
//!
//! 1. Zero-phase Butterworth band-pass 5-25 Hz (order 2): keeps the QRS, removes baseline and
//!    most of P, T and EMG.
//! 2. Feature: squared central derivative, integrated over a centred 120-ms window (MWI).
//! 3. Candidates: local maxima of the MWI. Each is a QRS if it exceeds
//!    `noise + 0.25 (signal - noise)` (running levels, updated with weight 1/8), is outside the
//!    refractory period (180 ms) of the previous QRS, and — within 360 ms of it — its steepest
//!    slope is at least half that QRS's (else it is a T wave). When no QRS came for 1.66 mean RR,
//!    the largest candidate since the last QRS above half the threshold is taken (search-back).
//!    A candidate followed within 300 ms by a wave with twice its energy and 1.5 times its slope
//!    is a P wave (or other small wave before a QRS), not a beat.
//!    Levels start from the first 2 s and are reset after 2.5 s without a QRS (e.g. after a noise
//!    burst or lead-off), so detection recovers.
//! 4. Localisation: near the band-passed signal's largest deflection, the R peak is the input
//!    sample deviating most from its local (±100 ms) mean within ±50 ms: the extremum of the
//!    dominant QRS deflection, whatever its polarity.

use crate::errors::{invalid_signal, Result};
use crate::filter_design::{butter_sos, BandType};
use crate::filters::SosFilter;
use ndarray::ArrayView1;

/// Shortest record worth searching, s.
const MIN_SECONDS: f64 = 0.5;

fn seconds(fs: f64, s: f64) -> usize {
    ((fs * s).round() as usize).max(1)
}

/// Detect R peaks in one lead sampled at `fs` Hz. Returns sorted, unique sample indices.
pub fn detect_rpeaks(x: ArrayView1<f64>, fs: f64) -> Result<Vec<i64>> {
    crate::filter_design::check_fs(fs)?;
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(invalid_signal(format!(
            "signal contains NaN or infinity (first at sample {i})"
        )));
    }
    let n = x.len();
    let high = 25.0f64.min(0.4 * fs);
    let low = 5.0f64.min(0.5 * high);
    let filter = SosFilter::new(butter_sos(2, &[low, high], fs, BandType::Bandpass)?)?;
    if (n as f64) < MIN_SECONDS * fs || n <= filter.padlen() {
        return Ok(Vec::new());
    }
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if hi - lo <= 1e-12 * (1.0 + hi.abs().max(lo.abs())) {
        return Ok(Vec::new()); // flat
    }
    let y = filter.filtfilt(x.into_dyn())?;
    let y = y.as_slice().expect("contiguous output");

    // Squared derivative and its centred moving integral.
    let mut d = vec![0.0; n];
    for i in 1..n - 1 {
        d[i] = y[i + 1] - y[i - 1];
    }
    let w = seconds(fs, 0.12);
    let half = w / 2;
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for v in &d {
        acc += v * v;
        prefix.push(acc);
    }
    let mwi: Vec<f64> = (0..n)
        .map(|i| {
            let a = i.saturating_sub(half);
            let b = (i + half + 1).min(n);
            (prefix[b] - prefix[a]) / (b - a) as f64
        })
        .collect();

    let qrs = classify(&mwi, &d, fs);
    let peaks = localise(&qrs, x, y, fs);
    Ok(drop_weak_edge_beats(peaks, x, &d, fs))
}

/// Amplitude of the QRS at `p`: deviation of the input from its ±100 ms mean.
fn amplitude(x: ArrayView1<f64>, p: usize, fs: f64) -> f64 {
    let base = seconds(fs, 0.1);
    let a = p.saturating_sub(base);
    let b = (p + base + 1).min(x.len());
    let mean = x.slice(ndarray::s![a..b]).sum() / (b - a) as f64;
    (x[p] - mean).abs()
}

/// Near the record's ends only part of a wave is visible, so a T or P wave cut by the edge can
/// pass for a beat: keep an edge detection only if its amplitude and steepest slope are at least
/// half the median of the other beats'.
fn drop_weak_edge_beats(peaks: Vec<usize>, x: ArrayView1<f64>, d: &[f64], fs: f64) -> Vec<i64> {
    let n = x.len();
    let edge = seconds(fs, 0.1);
    let near_edge = |p: usize| p < edge || p + edge >= n;
    let median = |mut v: Vec<f64>| -> Option<f64> {
        if v.len() < 3 {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        Some(v[v.len() / 2])
    };
    let inner: Vec<usize> = peaks.iter().copied().filter(|&p| !near_edge(p)).collect();
    let amp = median(inner.iter().map(|&p| amplitude(x, p, fs)).collect());
    let slope = median(inner.iter().map(|&p| slope_at(d, p, fs)).collect());
    peaks
        .into_iter()
        // an extremum on the record's first or last sample is not a verifiable peak
        .filter(|&p| p > 0 && p + 1 < n)
        .filter(|&p| match (amp, slope) {
            (Some(a), Some(s)) if near_edge(p) => {
                amplitude(x, p, fs) >= 0.5 * a && slope_at(d, p, fs) >= 0.25 * s
            }
            _ => true,
        })
        .map(|p| p as i64)
        .collect()
}

/// Steepest |slope| of the band-passed signal within ±75 ms of `i`.
fn slope_at(d: &[f64], i: usize, fs: f64) -> f64 {
    let r = seconds(fs, 0.075);
    let a = i.saturating_sub(r);
    let b = (i + r + 1).min(d.len());
    d[a..b].iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

struct Levels {
    signal: f64,
    noise: f64,
}

impl Levels {
    fn threshold(&self) -> f64 {
        self.noise + 0.25 * (self.signal - self.noise)
    }
}

fn init_levels(mwi: &[f64], start: usize, fs: f64) -> Levels {
    let end = (start + seconds(fs, 2.0)).min(mwi.len());
    let seg = &mwi[start.min(end)..end];
    let max = seg.iter().cloned().fold(0.0, f64::max);
    let mean = seg.iter().sum::<f64>() / seg.len().max(1) as f64;
    Levels {
        signal: 0.5 * max,
        noise: 0.5 * mean,
    }
}

/// Pan-Tompkins decision rules over the MWI local maxima; returns MWI peak indices of QRS.
fn classify(mwi: &[f64], d: &[f64], fs: f64) -> Vec<usize> {
    let n = mwi.len();
    let refractory = seconds(fs, 0.18);
    let t_window = seconds(fs, 0.36);
    let p_window = seconds(fs, 0.3);
    let edge = seconds(fs, 0.06);
    let reset_after = seconds(fs, 2.5);
    let mut levels = init_levels(mwi, 0, fs);
    let mut qrs: Vec<usize> = Vec::new();
    let mut qrs_slope = 0.0;
    let mut rr: Vec<usize> = Vec::new();
    // candidates since the last QRS, for search-back: (index, height)
    let mut pending: Vec<(usize, f64)> = Vec::new();
    let mut last_reset = 0usize;

    let mean_rr = |rr: &[usize]| -> Option<f64> {
        if rr.is_empty() {
            None
        } else {
            let k = rr.len().min(8);
            Some(rr[rr.len() - k..].iter().sum::<usize>() as f64 / k as f64)
        }
    };

    let accept = |i: usize,
                      h: f64,
                      weight: f64,
                      levels: &mut Levels,
                      qrs: &mut Vec<usize>,
                      rr: &mut Vec<usize>,
                      qrs_slope: &mut f64,
                      pending: &mut Vec<(usize, f64)>| {
        levels.signal += weight * (h - levels.signal);
        if let Some(&last) = qrs.last() {
            rr.push(i - last);
        }
        qrs.push(i);
        *qrs_slope = slope_at(d, i, fs);
        pending.retain(|&(j, _)| j > i);
    };

    for i in 0..n {
        // local maxima, the record's ends included (a beat may sit right at an edge)
        let left_ok = i == 0 || mwi[i] >= mwi[i - 1];
        let right_ok = i + 1 == n || mwi[i] > mwi[i + 1];
        if !(left_ok && right_ok) {
            continue;
        }
        let h = mwi[i];
        // Search-back: a beat was probably missed.
        if let (Some(&last), Some(m)) = (qrs.last(), mean_rr(&rr)) {
            if (i - last) as f64 > 1.66 * m {
                let half_thr = 0.5 * levels.threshold();
                if let Some(&(j, hj)) = pending
                    .iter()
                    .filter(|&&(j, hj)| hj > half_thr && j - last >= refractory)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                {
                    accept(
                        j,
                        hj,
                        0.25,
                        &mut levels,
                        &mut qrs,
                        &mut rr,
                        &mut qrs_slope,
                        &mut pending,
                    );
                }
            }
        }
        // Re-initialise the levels after a long gap (noise burst, lead-off, pause).
        let last_event = qrs.last().copied().unwrap_or(0).max(last_reset);
        if i - last_event > reset_after {
            levels = init_levels(mwi, i.saturating_sub(seconds(fs, 1.0)), fs);
            rr.clear();
            last_reset = i;
        }
        let last = qrs.last().copied();
        if let Some(last) = last {
            if i - last < refractory {
                continue;
            }
        }
        // Within 60 ms of the record's ends at most half a QRS is visible.
        let edge_factor = if i < edge || i + edge >= n { 0.5 } else { 1.0 };
        if h > edge_factor * levels.threshold() {
            let is_t_wave = match last {
                Some(last) if i - last < t_window => slope_at(d, i, fs) < 0.5 * qrs_slope,
                _ => false,
            };
            // A P wave (or other small wave) just before a much larger QRS: look ahead.
            let is_before_larger = {
                let end = (i + p_window + 1).min(n);
                let ahead_h = mwi[(i + 1).min(end)..end].iter().cloned().fold(0.0, f64::max);
                ahead_h > 2.0 * h && {
                    let ahead_slope =
                        d[(i + 1).min(end)..end].iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    ahead_slope > 1.5 * slope_at(d, i, fs)
                }
            };
            if is_t_wave || is_before_larger {
                levels.noise += 0.125 * (h - levels.noise);
                pending.push((i, h));
            } else {
                accept(
                    i,
                    h,
                    0.125,
                    &mut levels,
                    &mut qrs,
                    &mut rr,
                    &mut qrs_slope,
                    &mut pending,
                );
            }
        } else {
            levels.noise += 0.125 * (h - levels.noise);
            pending.push((i, h));
        }
    }
    qrs
}

/// Move each detection onto the R extremum of the input signal: near the band-passed
/// signal's largest deflection, the sample of the input that deviates most from its local mean
/// (the dominant QRS deflection, whichever its polarity).
fn localise(qrs: &[usize], x: ArrayView1<f64>, y: &[f64], fs: f64) -> Vec<usize> {
    let n = x.len();
    let search = seconds(fs, 0.08);
    let refine = seconds(fs, 0.05);
    let base = seconds(fs, 0.1);
    let mut out: Vec<usize> = Vec::with_capacity(qrs.len());
    for &i in qrs {
        let a = i.saturating_sub(search);
        let b = (i + search + 1).min(n);
        let p = (a..b).fold(i, |bp, j| if y[j].abs() > y[bp].abs() { j } else { bp });
        let ba = p.saturating_sub(base);
        let bb = (p + base + 1).min(n);
        let mean = x.slice(ndarray::s![ba..bb]).sum() / (bb - ba) as f64;
        let ra = p.saturating_sub(refine);
        let rb = (p + refine + 1).min(n);
        let mut best = p;
        let mut best_v = f64::NEG_INFINITY;
        for j in ra..rb {
            let v = (x[j] - mean).abs();
            if v > best_v {
                best_v = v;
                best = j;
            }
        }
        if out.last().is_none_or(|&l| best > l) {
            out.push(best);
        }
    }
    out
}

/// Detect on every row of a 2-D array in parallel.
pub fn detect_rpeaks_rows(x: ndarray::ArrayView2<f64>, fs: f64) -> Result<Vec<Vec<i64>>> {
    use rayon::prelude::*;
    crate::filter_design::check_fs(fs)?;
    x.outer_iter()
        .into_par_iter()
        .enumerate()
        .map(|(r, row)| {
            detect_rpeaks(row, fs).map_err(|e| match e {
                crate::errors::EcgError::InvalidSignal(m) => {
                    invalid_signal(format!("record {r}: {m}"))
                }
                other => other,
            })
        })
        .collect()
}
