//! Wave delineation: P, QRS and T onset, peak and offset of every beat, per lead and across
//! leads, and the record intervals built on them (HR, PR, QRS, QT, QTc).
//!
//! Per lead (native rate, no resampling):
//! 1. Zero-phase Butterworth band-pass 0.5-40 Hz (`y`); its slope `ds` is a central difference
//!    over ±4 ms (the small scale of a wavelet delineator, Martínez et al., IEEE TBME 51:570,
//!    2004).
//! 2. QRS: around the beat, the region where `|ds|` exceeds 40 % of the beat's steepest slope
//!    (gaps under 45 ms bridged) spans the QRS waves. From the steepest slope of its first and
//!    last wave, onset and offset are the last points (going outwards) before `|ds|` stays
//!    below 5 % / 8 % of that slope for 12 ms. The R peak is the QRS's most positive point above
//!    the line joining onset and offset (the R wave, as cardiologists and LUDB mark it); a QS
//!    complex is marked halfway between its highest point and its trough.
//! 3. Slow waves: every QRS is bridged by the line joining its onset and offset and the result
//!    low-passed at 15 Hz (`yl`, slope `dl` over ±10 ms), so no QRS energy leaks into P or T.
//! 4. T wave: in a window after the QRS that scales with RR, the point of `yl` farthest from the
//!    line joining the window's ends is the T peak. T offset is where the trapezium spanned by
//!    the steepest descending point and a later point has the largest area (Vázquez-Seisdedos et
//!    al., Med Biol Eng Comput 49:1073, 2011); T onset is the mirror image.
//! 5. P wave: the same in a window before QRS onset, kept only where the wave stands out of the
//!    lead's noise and, per lead, only if the P-to-R time is consistent from beat to beat (no P
//!    wave is invented in atrial fibrillation or flutter).
//!
//! Across leads (global fiducials, as 12-lead measuring systems do): beats are R peaks detected
//! on every lead and kept when half the leads agree; QRS onset and offset come from the spatial
//! velocity (the norm of all leads' `ds`, a lead far noisier than the rest left out) with the
//! per-lead rule; P and T onsets (offsets) are the 10th (90th) percentile of the leads' own after
//! dropping leads far from their median; a wave is present when a third of the leads see it.

use crate::errors::{invalid_parameter, invalid_signal, EcgError, Result};
use crate::filter_design::{butter_sos, BandType};
use crate::filters::{Sample, SosFilter};
use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

use crate::beats::{median, P_OFF, P_ON, P_PEAK, QRS_OFF, QRS_ON, R_PEAK, T_OFF, T_ON, T_PEAK};
pub use crate::beats::{Beat, FIDUCIALS, INTERVALS, MISSING};

/// Constants of the method (fractions of slopes; times in s). Chosen on LUDB records 1-100 (the
/// development half; 100-200 are kept for independent evaluation) as one set for every lead.
mod k {
    /// Slopes above this fraction of the beat's steepest belong to the QRS.
    pub const QRS_SIGNIFICANT: f64 = 0.4;
    /// Gaps shorter than this inside the QRS are bridged.
    pub const QRS_GAP: f64 = 0.045;
    /// Onset, offset: the slope stays below this fraction of the first, last QRS wave's
    /// steepest slope for QRS_FLAT.
    pub const QRS_EDGE_FRACTION: [f64; 2] = [0.05, 0.08];
    pub const QRS_FLAT: f64 = 0.012;
    /// Farthest QRS onset before, offset after the beat position.
    pub const QRS_REACH: [f64; 2] = [0.12, 0.16];
    /// Positive part of a QRS below this fraction of its extent: a QS complex (no R wave).
    pub const QS_FRACTION: f64 = 0.03;
    /// Cut-off of the slow-wave (P, T) low-pass, Hz.
    pub const LOW_HZ: f64 = 15.0;
    /// T search starts this long after QRS offset and ends at min(T_END[0] · RR, T_END[1] s).
    pub const T_START: f64 = 0.06;
    pub const T_END: [f64; 2] = [0.62, 0.60];
    /// Trapezium reach before (onset) / after (offset) the steepest point of a T or P wave.
    pub const T_REACH: [f64; 2] = [0.08, 0.08];
    pub const P_REACH: [f64; 2] = [0.04, 0.03];
    /// P search window before QRS onset.
    pub const P_WINDOW: f64 = 0.25;
    /// P peak at least this long before QRS onset.
    pub const P_GAP: f64 = 0.02;
    /// Minimum P amplitude relative to the lead's high-frequency noise, and to the QRS.
    pub const P_MIN: [f64; 2] = [1.0, 0.01];
    /// Per lead, P waves whose P-to-R time differs from the median by more than P_CONSISTENT[0]
    /// are dropped; if the median absolute deviation exceeds P_CONSISTENT[1] the lead has no
    /// consistent P wave.
    pub const P_CONSISTENT: [f64; 2] = [0.05, 0.015];
    /// Across leads: onsets/offsets farther than these from the median are outliers (P, QRS, T).
    pub const GLOBAL_TOL: [f64; 3] = [0.04, 0.03, 0.06];
    /// Global P/T onset (offset) = this quantile (1 − it) of the inlier leads' onsets (offsets).
    pub const GLOBAL_Q: f64 = 0.1;
    /// A lead is left out of the spatial velocity when its median |slope| exceeds this multiple
    /// of the leads' median.
    pub const NOISY_LEAD: f64 = 3.0;
}

fn secs(fs: f64, s: f64) -> usize {
    ((fs * s).round() as usize).max(1)
}

/// The delineation filters at one sampling rate: the 0.5-40 Hz band-pass and the slow-wave
/// low-pass, designed once per thread and rate.
fn filters_for(fs: f64) -> Result<(SosFilter, SosFilter)> {
    let f = crate::filters::cached("delineate", fs, || {
        let high = 40.0f64.min(0.4 * fs);
        Ok(vec![
            SosFilter::new(butter_sos(2, &[0.5, high], fs, BandType::Bandpass)?)?,
            SosFilter::new(butter_sos(
                2,
                &[k::LOW_HZ.min(0.3 * fs)],
                fs,
                BandType::Lowpass,
            )?)?,
        ])
    })?;
    Ok((f[0].clone(), f[1].clone()))
}

/// Shortest signal delineated, s (shorter ones give no beats).
pub const MIN_SECONDS: f64 = 1.0;

fn check_finite(x: ArrayView2<f64>) -> Result<()> {
    for (lead, row) in x.outer_iter().enumerate() {
        let row = crate::detect::contiguous(&row);
        if let Some(i) = crate::filters::first_non_finite(&row) {
            return Err(invalid_signal(format!(
                "signal contains NaN or infinity (lead {lead}, sample {i})"
            )));
        }
    }
    Ok(())
}

/// Ask the CPU to bring `v[lo..hi]` (clipped to `v`) into cache ahead of its use: the per-beat
/// searches jump from beat to beat through whole-record arrays, which hardware prefetchers do
/// not follow across pages. A hint only: no effect on results.
#[inline]
pub(crate) fn prefetch<T>(v: &[T], lo: usize, hi: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let hi = hi.min(v.len());
        // one request per 64-byte line
        let step = (64 / std::mem::size_of::<T>().max(1)).max(1);
        for i in (lo.min(hi)..hi).step_by(step) {
            // SAFETY: `i < v.len()`, so the pointer is inside the slice; a prefetch never faults.
            unsafe { _mm_prefetch(v.as_ptr().add(i).cast::<i8>(), _MM_HINT_T0) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, lo, hi);
}

/// Central difference `v[i + h] − v[i − h]` with the ends clamped.
#[inline]
fn central_difference(v: &[f64], h: usize, i: usize) -> f64 {
    v[(i + h).min(v.len() - 1)] - v[i.saturating_sub(h)]
}

/// One lead's filtered signals (rows of the record's [`Filtered`] arrays) and the half-widths
/// of their slopes. The slopes are central differences taken where they are needed (around
/// the beats), not whole-record arrays: a 30-min record's slope arrays cost more to write and
/// read back from memory than the few hundred differences per beat the searches use.
#[derive(Clone, Copy)]
struct Lead<'a> {
    y: &'a [f64],
    yl: &'a [f64],
    /// Half-width of the QRS-scale slope of `y` (±4 ms) and of the slow-wave slope of `yl`
    /// (±10 ms), samples.
    h: usize,
    hl: usize,
}

/// The central differences of `v` (half-width `h`, ends clamped) at `lo..=hi`, each mapped by
/// `f`, written to `out` (one loop over plain slices where the ends are out of reach).
fn differences_into(
    v: &[f64],
    h: usize,
    (lo, hi): (usize, usize),
    f: impl Fn(f64) -> f64,
    out: &mut Vec<f64>,
) {
    out.clear();
    if lo >= h && hi + h < v.len() {
        out.extend(
            v[lo + h..=hi + h]
                .iter()
                .zip(&v[lo - h..=hi - h])
                .map(|(a, b)| f(a - b)),
        );
    } else {
        out.extend((lo..=hi).map(|i| f(central_difference(v, h, i))));
    }
}

impl Lead<'_> {
    /// |slope| of `y` at `i` (the QRS scale).
    #[inline]
    fn slope(&self, i: usize) -> f64 {
        central_difference(self.y, self.h, i).abs()
    }
}

/// A record's filtered signals `(n_leads, n_samples)`: the band-passed leads `y` and the
/// slow-wave signals `yl` (empty until [`slow_waves`] has run).
struct Filtered {
    y: Array2<f64>,
    yl: Array2<f64>,
    h: usize,
    hl: usize,
}

fn row(a: &Array2<f64>, k: usize) -> &[f64] {
    if a.is_empty() {
        return &[];
    }
    a.row(k)
        .to_slice()
        .expect("filtered arrays are standard-layout")
}

impl Filtered {
    fn lead(&self, k: usize) -> Lead<'_> {
        Lead {
            y: row(&self.y, k),
            yl: row(&self.yl, k),
            h: self.h,
            hl: self.hl,
        }
    }

    fn leads(&self) -> Vec<Lead<'_>> {
        (0..self.y.nrows()).map(|k| self.lead(k)).collect()
    }
}

/// An edit of one lead's samples (given the lead's index) before it is filtered.
type LeadEdit<'a> = &'a dyn Fn(usize, &mut [f64]);

/// Zero-phase filter every lead, each first edited by `edit` (given the lead's index and a
/// copy of its samples) when there is one. A record of one or two leads fills at most half of a
/// filter group's lanes, so a long one is filtered lead by lead as overlapping segments
/// ([`SosFilter::filtfilt_segments`]; equal to whole-lead filtering to rounding when `overlap`
/// outlasts the filter's memory); otherwise all leads go through one grouped pass.
fn filter_leads(
    filter: &SosFilter,
    x: ArrayView2<f64>,
    overlap: usize,
    edit: Option<LeadEdit<'_>>,
) -> Result<Array2<f64>> {
    let (leads, n) = x.dim();
    if 2 * leads > crate::filters::GROUP || n < 8 * crate::filters::GROUP * overlap {
        let y = match edit {
            None => filter.filtfilt(x.into_dyn())?,
            Some(edit) => {
                let mut xe = x.to_owned();
                for (k, mut row) in xe.outer_iter_mut().enumerate() {
                    edit(
                        k,
                        row.as_slice_mut()
                            .expect("an owned array is standard-layout"),
                    );
                }
                filter.filtfilt(xe.view().into_dyn())?
            }
        };
        return y.into_dimensionality::<ndarray::Ix2>().map_err(internal);
    }
    // each lead appended in turn (no zeroed output written first); an edited lead goes
    // through one reused buffer
    let mut y = Vec::with_capacity(leads * n);
    let mut buf = Vec::new();
    for (k, row) in x.outer_iter().enumerate() {
        let xs = crate::detect::contiguous(&row);
        let xs: &[f64] = match edit {
            None => &xs,
            Some(edit) => {
                buf.clear();
                buf.extend_from_slice(&xs);
                edit(k, &mut buf);
                &buf
            }
        };
        filter.filtfilt_segments_append(xs, overlap, &mut y)?;
    }
    Array2::from_shape_vec((leads, n), y).map_err(internal)
}

/// Band-pass every lead (one grouped filter pass).
fn prepare(x: ArrayView2<f64>, fs: f64) -> Result<Filtered> {
    let (band, _) = filters_for(fs)?;
    // the 0.5-Hz high-pass decays by e^-2.2 per second: 20 s of overlap is ~1e-19
    let y = filter_leads(&band, x, secs(fs, 20.0), None)?;
    Ok(Filtered {
        y,
        yl: Array2::zeros((0, 0)),
        h: secs(fs, 0.004),
        hl: secs(fs, 0.010),
    })
}

/// The slow-wave signals of every lead: the lead with every QRS complex replaced by the line
/// joining its onset and offset (so the QRS does not leak into P and T), low-passed at 15 Hz
/// (all leads in one grouped filter pass).
fn slow_waves(f: &mut Filtered, per_lead: &[Vec<Beat>], fs: f64) -> Result<()> {
    let (_, low) = filters_for(fs)?;
    let y = &f.y;
    let bridge = |k: usize, row: &mut [f64]| {
        let yk = crate::delineate::row(y, k);
        for b in &per_lead[k] {
            if b[QRS_ON] == MISSING {
                continue;
            }
            let (on, off) = (b[QRS_ON] as usize, b[QRS_OFF] as usize);
            for (i, v) in row.iter_mut().enumerate().take(off + 1).skip(on) {
                *v = line_at(yk, on, off, i);
            }
        }
    };
    // the 15-Hz low-pass forgets in well under 1 s
    f.yl = filter_leads(&low, y.view(), secs(fs, 2.0), Some(&bridge))?;
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> EcgError {
    EcgError::Internal(e.to_string())
}

/// The first index of the largest `f` over `range` (None when it is empty). A NaN is never
/// larger than anything, so a NaN first value is kept only when nothing beats it.
fn argmax_by(range: std::ops::RangeInclusive<usize>, f: impl Fn(usize) -> f64) -> Option<usize> {
    let (start, end) = range.into_inner();
    if start > end {
        return None;
    }
    let (mut best, mut top) = (start, f(start));
    for i in start + 1..=end {
        let v = f(i);
        if v > top {
            (best, top) = (i, v);
        }
    }
    Some(best)
}

/// Offset from `start` of the first largest `|v[i] − line_at(v, a, b, i)|` over
/// `start..=end` (None when empty): the distances are computed into `buf` in one loop without
/// branches on the data (so it vectorises), then scanned.
fn argmax_from_baseline(
    v: &[f64],
    a: usize,
    b: usize,
    start: usize,
    end: usize,
    buf: &mut Vec<f64>,
) -> Option<usize> {
    if start > end {
        return None;
    }
    buf.clear();
    buf.extend(
        v[start..=end]
            .iter()
            .zip(start..)
            .map(|(&x, i)| (x - line_at(v, a, b, i)).abs()),
    );
    argmax(buf)
}

/// [`argmax_by`] over a slice, in two loops without a loop-carried branch: the largest value
/// (four running maxima, which vectorise), then its first position.
fn argmax(v: &[f64]) -> Option<usize> {
    let first = *v.first()?;
    if first.is_nan() {
        return Some(0); // as argmax_by: nothing is larger than a NaN first value
    }
    let mut lanes = [f64::NEG_INFINITY; 4];
    let chunks = v.chunks_exact(4);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    for c in chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = m.max(x);
        }
    }
    let top = lanes.iter().fold(tail, |m, &x| m.max(x));
    v.iter().position(|&x| x == top)
}

/// Value at `i` of the line through `(a, v[a])` and `(b, v[b])`.
fn line_at(v: &[f64], a: usize, b: usize, i: usize) -> f64 {
    if b == a {
        return v[a];
    }
    v[a] + (v[b] - v[a]) * (i as f64 - a as f64) / (b as f64 - a as f64)
}

/// Trapezium knee after `xm` (towards `xr`): argmax |v[xm] − v[i]| · (2 xr − i − xm).
/// `buf` is scratch.
fn knee_after(v: &[f64], xm: usize, xr: usize, buf: &mut Vec<f64>) -> usize {
    if xr <= xm {
        return xm;
    }
    buf.clear();
    buf.extend((xm..=xr).map(|i| (v[xm] - v[i]).abs() * (2 * xr - i - xm) as f64));
    xm + argmax(buf).unwrap_or(0)
}

/// Mirror image of [`knee_after`]: the knee before `xm` (towards `xl`).
fn knee_before(v: &[f64], xm: usize, xl: usize, buf: &mut Vec<f64>) -> usize {
    if xl >= xm {
        return xm;
    }
    buf.clear();
    buf.extend((xl..=xm).map(|i| (v[xm] - v[i]).abs() * (i + xm - 2 * xl) as f64));
    xl + argmax(buf).unwrap_or(xm - xl)
}

/// Robust scale of a median magnitude (1.4826 · MAD for Gaussian noise).
const MAD_SCALE: f64 = 1.4826;

/// Whether `amp` reaches `factor` times the lead's noise level over `a..=b`: the robust scale
/// of the high-frequency residual `y − yl`, `MAD_SCALE` · its median magnitude (the upper
/// median, element `len / 2` in order, for an even count; 0 for an empty range). Decided
/// without selecting the median: `factor · (MAD_SCALE · r) ≤ amp` holds for the median `r`
/// exactly when it holds for at least `len / 2 + 1` of the magnitudes (the scaling keeps
/// their order), which one loop counts.
fn reaches_noise_level(lead: &Lead, a: usize, b: usize, factor: f64, amp: f64) -> bool {
    if b < a {
        return amp >= 0.0;
    }
    let below = lead.y[a..=b]
        .iter()
        .zip(&lead.yl[a..=b])
        .map(|(y, yl)| usize::from(factor * (MAD_SCALE * (y - yl).abs()) <= amp))
        .sum::<usize>();
    below > (b + 1 - a) / 2
}

/// Walk `path` (indices going away from the QRS) and return the last index where `slope`
/// (a |slope|) exceeds `thr`, stopping once it has stayed at or below `thr` for `quiet` samples.
fn last_active(
    slope: impl Fn(usize) -> f64,
    from: usize,
    path: impl Iterator<Item = usize>,
    thr: f64,
    quiet: usize,
) -> usize {
    let mut last = from;
    let mut run = 0;
    for i in path {
        if slope(i) > thr {
            last = i;
            run = 0;
        } else {
            run += 1;
            if run >= quiet {
                break;
            }
        }
    }
    last
}

/// QRS onset and offset around the beat at `r`, searched within `[lo, hi]`, from `slope` (the
/// |slope| at a sample: one lead's, or the spatial velocity).
fn qrs_bounds(
    slope: impl Fn(usize) -> f64 + Copy,
    r: usize,
    lo: usize,
    hi: usize,
    fs: f64,
) -> Option<(usize, usize)> {
    let ds = slope;
    let core = secs(fs, 0.06);
    let smax = (r.saturating_sub(core).max(lo)..=(r + core).min(hi))
        .map(ds)
        .fold(0.0, f64::max);
    if smax <= 0.0 {
        return None;
    }
    // the connected region of significant slopes (short gaps bridged) spans the QRS waves
    let thr = k::QRS_SIGNIFICANT * smax;
    let gap = secs(fs, k::QRS_GAP);
    let first = last_active(ds, r, (lo..r).rev(), thr, gap);
    let last = last_active(ds, r, r + 1..=hi, thr, gap);
    // steepest slope of the first and of the last wave
    let reach = secs(fs, 0.02);
    let pre = argmax_by(first..=(first + reach).min(r), ds).unwrap_or(first);
    let post = argmax_by(last.saturating_sub(reach).max(r)..=last, ds).unwrap_or(last);
    // outwards until the slope stays below a fraction of that wave's for QRS_FLAT
    let flat = secs(fs, k::QRS_FLAT);
    let on = last_active(
        ds,
        pre,
        (lo..pre).rev(),
        k::QRS_EDGE_FRACTION[0] * ds(pre),
        flat,
    );
    let off = last_active(
        ds,
        post,
        post + 1..=hi,
        k::QRS_EDGE_FRACTION[1] * ds(post),
        flat,
    );
    Some((on.saturating_sub(1).max(lo), (off + 1).min(hi)))
}

/// The R wave's peak and the QRS's peak-to-peak amplitude. The R peak is the most positive
/// point of the QRS above the line joining its onset and offset. A QS complex (positive part
/// under `QS_FRACTION` of the complex) has no R wave; its mark is then halfway between that
/// highest point and the trough, where cardiologists place it on average (LUDB). `buf` is
/// scratch: the heights above the line are computed once, in one loop that vectorises.
fn r_wave(y: &[f64], on: usize, off: usize, buf: &mut Vec<f64>) -> (usize, f64) {
    buf.clear();
    buf.extend((on..=off).map(|i| y[i] - line_at(y, on, off, i)));
    let (mut top, mut trough) = (0, 0);
    for (j, &v) in buf.iter().enumerate() {
        if v > buf[top] {
            top = j;
        }
        if v < buf[trough] {
            trough = j;
        }
    }
    let (up, down) = (buf[top], -buf[trough]);
    let (lowest, highest) = crate::beats::extent(&y[on..=off]);
    let amp = highest - lowest;
    let peak = if up < k::QS_FRACTION * (up + down) {
        (top + trough) / 2
    } else {
        top
    };
    (on + peak, amp)
}

/// Where the QRS of beat `b` may lie: a fixed reach around it, at most 45 % of the RR intervals.
fn qrs_window(beats: &[usize], b: usize, default_rr: usize, n: usize, fs: f64) -> (usize, usize) {
    let r = beats[b];
    let rr_prev = if b > 0 { r - beats[b - 1] } else { default_rr };
    let rr_next = if b + 1 < beats.len() {
        beats[b + 1] - r
    } else {
        default_rr
    };
    let lo = r.saturating_sub(secs(fs, k::QRS_REACH[0]).min(rr_prev * 45 / 100));
    let hi = (r + secs(fs, k::QRS_REACH[1]).min(rr_next * 45 / 100)).min(n - 1);
    (lo, hi)
}

/// Slopes a lead's noise level is estimated from (at most about this many).
const NOISE_SAMPLES: usize = 1 << 16;

/// Global QRS onset and offset from the spatial velocity (the norm of all leads' slopes), the
/// multi-lead counterpart of the per-lead rule: the earliest and latest activity any lead shows,
/// with the noise of the leads averaged rather than the extreme of their separate estimates.
fn spatial_qrs(
    leads: &[Lead<'_>],
    beats: &[usize],
    default_rr: usize,
    global: &mut [Beat],
    fs: f64,
) {
    let n = leads[0].y.len();
    // a lead whose typical slope (mostly noise and baseline: median |slope|) is far above the
    // others' is left out, so one noisy lead cannot widen every QRS
    // (on long records, from every `stride`-th sample: the median of 65,536 or more slopes is
    // as good a noise level, at a fraction of the cost; records up to that length use all)
    // (with two leads the median is their mean, and no lead is three times the mean of two:
    // both are kept without measuring them)
    let stride = n.div_ceil(NOISE_SAMPLES).max(1);
    let measured = leads.len() > 2;
    let noise: Vec<f64> = leads
        .iter()
        .filter(|_| measured)
        .map(|l| {
            let mut v: Vec<f64> = (0..n).step_by(stride).map(|i| l.slope(i)).collect();
            median(&mut v)
        })
        .collect();
    let typical = median(&mut noise.clone());
    let kept: Vec<&[f64]> = leads
        .iter()
        .enumerate()
        .filter(|&(i, _)| !measured || noise[i] <= k::NOISY_LEAD * typical)
        .map(|(_, l)| l.y)
        .collect();
    let h = leads[0].h;
    let (mut velocity, mut d) = (Vec::new(), Vec::new());
    for (b, &r) in beats.iter().enumerate() {
        if b + PREFETCH_BEATS < beats.len() {
            let (lo, hi) = qrs_window(beats, b + PREFETCH_BEATS, default_rr, n, fs);
            for y in &kept {
                prefetch(y, lo.saturating_sub(h), hi + h + 1);
            }
        }
        if global[b][QRS_ON] == MISSING {
            continue;
        }
        let (lo, hi) = qrs_window(beats, b, default_rr, n, fs);
        // the norm of the kept leads' slopes over the window, summed in lead order from 0
        velocity.clear();
        velocity.resize(hi - lo + 1, 0.0);
        for y in &kept {
            differences_into(y, h, (lo, hi), |v| v, &mut d);
            for (acc, v) in velocity.iter_mut().zip(&d) {
                *acc += v * v;
            }
        }
        velocity.iter_mut().for_each(|v| *v = v.sqrt());
        if let Some((on, off)) = qrs_bounds(|i| velocity[i - lo], r, lo, hi, fs) {
            global[b][QRS_ON] = on as i64;
            global[b][QRS_OFF] = off as i64;
        }
    }
}

/// How many beats ahead the per-beat loops prefetch.
const PREFETCH_BEATS: usize = 2;

/// QRS onset, R peak and offset of every beat on one lead, and each QRS's peak-to-peak
/// amplitude (0 where no QRS was found).
fn lead_qrs(lead: &Lead, beats: &[usize], default_rr: usize, fs: f64) -> (Vec<Beat>, Vec<f64>) {
    let n = lead.y.len();
    let mut out: Vec<Beat> = Vec::with_capacity(beats.len());
    let mut qrs_amp = Vec::with_capacity(beats.len());
    let (mut buf, mut slopes) = (Vec::new(), Vec::new());
    let y = lead.y;
    for (b, &r) in beats.iter().enumerate() {
        let mut beat = [MISSING; 9];
        if let Some(&ahead) = beats.get(b + PREFETCH_BEATS) {
            let (lo, hi) = qrs_window(beats, b + PREFETCH_BEATS, default_rr, n, fs);
            prefetch(y, lo.saturating_sub(lead.h), (hi + lead.h + 1).max(ahead));
        }
        let (lo, hi) = qrs_window(beats, b, default_rr, n, fs);
        // the window's |slopes| in one vectorised loop, then the searches over them
        differences_into(y, lead.h, (lo, hi), f64::abs, &mut slopes);
        let Some((on, off)) = qrs_bounds(|i| slopes[i - lo], r, lo, hi, fs) else {
            out.push(beat);
            qrs_amp.push(0.0);
            continue;
        };
        let (rp, amp) = r_wave(y, on, off, &mut buf);
        qrs_amp.push(amp);
        beat[QRS_ON] = on as i64;
        beat[R_PEAK] = rp as i64;
        beat[QRS_OFF] = off as i64;
        out.push(beat);
    }
    (out, qrs_amp)
}

/// T and P waves of one lead, given its QRS complexes (`out`, from [`lead_qrs`]) and its
/// slow-wave signal. One pass over the beats: beat `b`'s P wave (bounded by beat `b − 1`'s T
/// wave) and then its T wave (bounded by beat `b + 1`'s QRS), so each stretch of the record is
/// read once while it is in cache.
fn lead_waves(
    lead: &Lead,
    beats: &[usize],
    default_rr: usize,
    out: &mut [Beat],
    qrs_amp: &[f64],
    fs: f64,
) {
    let mut scratch = Vec::new();
    let (before, after) = (
        secs(fs, k::P_WINDOW + k::QRS_REACH[0]),
        secs(fs, k::T_END[1]),
    );
    for b in 0..out.len() {
        if let Some(&ahead) = beats.get(b + PREFETCH_BEATS) {
            let lo = ahead.saturating_sub(before);
            prefetch(lead.yl, lo, ahead + after);
            prefetch(lead.y, lo, ahead);
        }
        if let Some(p) = p_wave(lead, beats, out, qrs_amp[b], b, fs, &mut scratch) {
            out[b][P_ON] = p.0 as i64;
            out[b][P_PEAK] = p.1 as i64;
            out[b][P_OFF] = p.2 as i64;
        }
        if let Some(t) = t_wave(lead, beats, default_rr, out, b, fs, &mut scratch) {
            out[b][T_ON] = t.0 as i64;
            out[b][T_PEAK] = t.1 as i64;
            out[b][T_OFF] = t.2 as i64;
        }
    }
    keep_consistent_p(out, beats, fs);
}

/// Beat `b`'s T wave: after its QRS offset, in a window that scales with the next RR and ends
/// at the next QRS onset.
fn t_wave(
    lead: &Lead,
    beats: &[usize],
    default_rr: usize,
    out: &[Beat],
    b: usize,
    fs: f64,
    scratch: &mut Vec<f64>,
) -> Option<(usize, usize, usize)> {
    let off = out[b][QRS_OFF];
    if off == MISSING {
        return None;
    }
    let r = beats[b];
    let rr_next = if b + 1 < beats.len() {
        beats[b + 1] - r
    } else {
        default_rr
    };
    let mut end = r + secs(fs, k::T_END[1]).min((rr_next as f64 * k::T_END[0]) as usize);
    if b + 1 < out.len() && out[b + 1][QRS_ON] != MISSING {
        end = end.min(out[b + 1][QRS_ON] as usize);
    }
    let end = end.min(lead.y.len() - 1);
    let start = off as usize + secs(fs, k::T_START);
    if end <= start + secs(fs, 0.06) {
        return None;
    }
    wave(
        lead,
        (off as usize, end),
        start,
        end,
        fs,
        k::T_REACH,
        scratch,
    )
}

/// Beat `b`'s P wave: before its QRS onset, after the previous beat's T wave (or halfway from
/// the previous beat), kept only where it stands out of the QRS and of the lead's noise.
fn p_wave(
    lead: &Lead,
    beats: &[usize],
    out: &[Beat],
    qrs_amp: f64,
    b: usize,
    fs: f64,
    scratch: &mut Vec<f64>,
) -> Option<(usize, usize, usize)> {
    let on = out[b][QRS_ON];
    if on == MISSING {
        return None;
    }
    let on = on as usize;
    let mut start = on.saturating_sub(secs(fs, k::P_WINDOW));
    if b > 0 {
        let prev = &out[b - 1];
        let bound = if prev[T_OFF] != MISSING {
            prev[T_OFF] as usize
        } else {
            beats[b - 1] + (on - beats[b - 1].min(on)) / 2
        };
        start = start.max(bound);
    }
    let gap = secs(fs, k::P_GAP);
    if on < start + gap + secs(fs, 0.04) {
        return None;
    }
    let p = wave(lead, (start, on), start, on - gap, fs, k::P_REACH, scratch)?;
    let amp = (lead.yl[p.1] - line_at(lead.yl, start, on, p.1)).abs();
    (amp >= k::P_MIN[1] * qrs_amp && reaches_noise_level(lead, start, on, k::P_MIN[0], amp))
        .then_some(p)
}

/// Onset, peak and offset of a slow wave (P or T) whose peak lies in `[start, end]`; `(base,
/// base_end)` are the ends of the baseline line; `reach` bounds the trapezia; `buf` is scratch.
fn wave(
    lead: &Lead,
    (base, base_end): (usize, usize),
    start: usize,
    end: usize,
    fs: f64,
    reach: [f64; 2],
    buf: &mut Vec<f64>,
) -> Option<(usize, usize, usize)> {
    let yl = &lead.yl;
    let peak = start + argmax_from_baseline(yl, base, base_end, start, end, buf)?;
    let (reach_on, reach_off) = (secs(fs, reach[0]), secs(fs, reach[1]));
    // steepest points on both sides of the peak (the first of the largest |slope|)
    let mut steepest = |lo: usize, hi: usize| {
        if lo > hi {
            return None;
        }
        differences_into(yl, lead.hl, (lo, hi), f64::abs, buf);
        Some(lo + argmax(buf)?)
    };
    let up = steepest(start.max(peak.saturating_sub(reach_on)), peak)?;
    let down = steepest(peak, (peak + reach_off).min(base_end))?;
    let on = knee_before(yl, up, up.saturating_sub(reach_on).max(base), buf);
    let off = knee_after(yl, down, (down + reach_off).min(base_end), buf);
    if on < peak && peak < off {
        Some((on, peak, off))
    } else {
        None
    }
}

/// Drop P waves whose P-to-R time is inconsistent (or all of them when it varies like AF).
fn keep_consistent_p(out: &mut [Beat], beats: &[usize], fs: f64) {
    let pr: Vec<(usize, f64)> = out
        .iter()
        .zip(beats)
        .enumerate()
        .filter(|(_, (b, _))| b[P_PEAK] != MISSING)
        .map(|(i, (b, &r))| (i, (r as f64 - b[P_PEAK] as f64) / fs))
        .collect();
    if pr.is_empty() {
        return;
    }
    let mut v: Vec<f64> = pr.iter().map(|p| p.1).collect();
    let med = median(&mut v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&mut dev);
    let few = pr.len() * 2 < beats.len();
    for &(i, t) in &pr {
        if mad > k::P_CONSISTENT[1] || (t - med).abs() > k::P_CONSISTENT[0] || few {
            out[i][P_ON] = MISSING;
            out[i][P_PEAK] = MISSING;
            out[i][P_OFF] = MISSING;
        }
    }
}

fn median_rr(beats: &[usize]) -> Option<usize> {
    if beats.len() < 2 {
        return None;
    }
    let mut rr: Vec<f64> = beats.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    Some(median(&mut rr) as usize)
}

/// Beat positions for a record: the given ones, or R peaks detected on every lead and fused
/// (a beat is kept when at least half the leads see it; its position is the median).
fn beat_positions(x: ArrayView2<f64>, fs: f64) -> Result<Vec<usize>> {
    let per_lead: Vec<Vec<i64>> = x
        .outer_iter()
        .map(|row| crate::detect::detect_rpeaks(row, fs, true))
        .collect::<Result<_>>()?;
    if per_lead.len() == 1 {
        return Ok(per_lead[0].iter().map(|&p| p as usize).collect());
    }
    let mut all: Vec<i64> = per_lead.iter().flatten().copied().collect();
    all.sort_unstable();
    let tol = (0.1 * fs) as i64;
    let need = per_lead.len().div_ceil(2);
    let mut out: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1] - all[i] <= tol {
            j += 1;
        }
        if j + 1 - i >= need {
            let pos = all[i + (j - i) / 2] as usize;
            if out.last().is_none_or(|&l| pos > l) {
                out.push(pos);
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    Ok(out)
}

fn check_beats(beats: &[i64], n: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(beats.len());
    for (k, &b) in beats.iter().enumerate() {
        if b < 0 || b as usize >= n {
            return Err(invalid_parameter(format!(
                "rpeaks[{k}] = {b} is outside the signal (0..{n})"
            )));
        }
        if k > 0 && b <= beats[k - 1] {
            return Err(invalid_parameter(
                "rpeaks must be strictly increasing sample indices",
            ));
        }
        out.push(b as usize);
    }
    Ok(out)
}

/// Combine per-lead beats into global fiducials.
fn global_beats(per_lead: &[Vec<Beat>], beats: &[usize], fs: f64) -> Vec<Beat> {
    let n_leads = per_lead.len();
    if n_leads == 1 {
        return per_lead[0].clone();
    }
    let need = n_leads.div_ceil(3);
    let mut out = Vec::with_capacity(beats.len());
    let mut vals: Vec<f64> = Vec::with_capacity(n_leads);
    let mut present: Vec<&Beat> = Vec::with_capacity(n_leads);
    for (b, &r) in beats.iter().enumerate() {
        let mut g = [MISSING; 9];
        for (w, cols) in [
            [P_ON, P_PEAK, P_OFF],
            [QRS_ON, R_PEAK, QRS_OFF],
            [T_ON, T_PEAK, T_OFF],
        ]
        .iter()
        .enumerate()
        {
            present.clear();
            present.extend(
                per_lead
                    .iter()
                    .map(|l| &l[b])
                    .filter(|x| cols.iter().all(|&c| x[c] != MISSING)),
            );
            if present.len() < need {
                continue;
            }
            let tol = k::GLOBAL_TOL[w] * fs;
            for (j, &c) in cols.iter().enumerate() {
                vals.clear();
                vals.extend(present.iter().map(|x| x[c] as f64));
                let med = median(&mut vals);
                // inliers near the median, then a low (onsets) or high (offsets) quantile of
                // them: the earliest/latest lead, without the bias of taking the extreme of
                // noisy per-lead estimates
                vals.retain(|&v| (v - med).abs() <= tol);
                if vals.is_empty() {
                    vals.push(med.round());
                }
                vals.sort_unstable_by(|a, b| a.total_cmp(b));
                let q = k::GLOBAL_Q;
                let pos = |f: f64| vals[((vals.len() - 1) as f64 * f).round() as usize];
                g[c] = match j {
                    0 => pos(q),
                    2 => pos(1.0 - q),
                    _ => med.round(),
                } as i64;
            }
        }
        if g[QRS_ON] != MISSING {
            g[R_PEAK] = r as i64;
        }
        out.push(g);
    }
    out
}

/// Global fiducials come from different leads (and the QRS from the spatial velocity), so a
/// late global QRS offset can pass an early global T onset; a fiducial is never earlier than
/// the one before it in the beat (it is moved up to it).
fn keep_in_order(beat: &mut Beat) {
    let mut last = i64::MIN;
    for v in beat.iter_mut() {
        if *v == MISSING {
            continue;
        }
        if *v < last {
            *v = last;
        }
        last = *v;
    }
}

/// A record's delineation: each lead's beats, the global beats and the beat positions used.
pub type Delineation = (Vec<Vec<Beat>>, Vec<Beat>, Vec<usize>);

/// Delineate one record `(n_leads, n_samples)`: per-lead fiducials and the global ones.
pub fn delineate_record(
    x: ArrayView2<f64>,
    fs: f64,
    rpeaks: Option<&[i64]>,
) -> Result<Delineation> {
    crate::filter_design::check_fs(fs)?;
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(invalid_signal("signal is empty"));
    }
    check_finite(x)?;
    let n = x.ncols();
    if (n as f64) < MIN_SECONDS * fs {
        return Ok((vec![Vec::new(); x.nrows()], Vec::new(), Vec::new()));
    }
    let beats = match rpeaks {
        Some(p) => check_beats(p, n)?,
        None => beat_positions(x, fs)?,
    };
    // the RR assumed before the first and after the last beat
    let default_rr = median_rr(&beats).unwrap_or(fs as usize);
    let mut filtered = prepare(x, fs)?;
    let (mut per_lead, qrs_amp): (Vec<Vec<Beat>>, Vec<Vec<f64>>) = filtered
        .leads()
        .iter()
        .map(|l| lead_qrs(l, &beats, default_rr, fs))
        .unzip();
    slow_waves(&mut filtered, &per_lead, fs)?;
    let leads = filtered.leads();
    for ((lead, out), amp) in leads.iter().zip(per_lead.iter_mut()).zip(&qrs_amp) {
        lead_waves(lead, &beats, default_rr, out, amp, fs);
    }
    let mut global = global_beats(&per_lead, &beats, fs);
    if leads.len() > 1 {
        spatial_qrs(&leads, &beats, default_rr, &mut global, fs);
        global.iter_mut().for_each(keep_in_order);
    }
    Ok((per_lead, global, beats))
}

/// Record intervals from global beats (see [`INTERVALS`]); NaN where undefined.
pub fn record_intervals(beats: &[Beat], fs: f64) -> [f64; 8] {
    crate::beats::record_intervals(&crate::beats::times_of(beats, fs))
}

/// `e` with the record's index in its message (for batch errors).
fn in_record(e: EcgError, i: usize) -> EcgError {
    match e {
        EcgError::InvalidSignal(m) => invalid_signal(format!("record {i}: {m}")),
        other => other,
    }
}

/// `f` on every record `(n_leads, n_samples)` of a batch, as f64, records in parallel; an
/// error names the record it came from.
pub fn per_record<T: Sample, R: Send>(
    x: ArrayView3<T>,
    fs: f64,
    f: impl Fn(ArrayView2<f64>) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    crate::filter_design::check_fs(fs)?;
    x.outer_iter()
        .into_par_iter()
        .enumerate()
        .map(|(i, rec)| f(rec.mapv(|v| v.to_f64()).view()).map_err(|e| in_record(e, i)))
        .collect()
}

/// Delineate a batch `(n_records, n_leads, n_samples)` in parallel; global beats per record.
pub fn delineate_batch<T: Sample>(x: ArrayView3<T>, fs: f64) -> Result<Vec<Vec<Beat>>> {
    per_record(x, fs, |rec| {
        delineate_record(rec, fs, None).map(|(_, g, _)| g)
    })
}

/// Record intervals of a batch `(n_records, n_leads, n_samples)` in parallel.
pub fn intervals_batch<T: Sample>(x: ArrayView3<T>, fs: f64) -> Result<Array2<f64>> {
    let beats = delineate_batch(x, fs)?;
    let mut out = Array2::<f64>::zeros((beats.len(), INTERVALS.len()));
    for (mut row, b) in out.axis_iter_mut(Axis(0)).zip(&beats) {
        for (o, v) in row.iter_mut().zip(record_intervals(b, fs)) {
            *o = v;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::rng::splitmix64;
    use ndarray::Array2;

    /// A train of Gaussian "P, QRS, T" waves at 500 Hz with known edges.
    fn gaussian_beats(n_beats: usize, rr: usize) -> (Array2<f64>, Vec<usize>) {
        let n = rr * (n_beats + 1);
        let mut x = Array2::<f64>::zeros((1, n));
        let mut r = Vec::new();
        for b in 1..=n_beats {
            let c = b * rr;
            r.push(c);
            for (centre, width, amp) in [(c - 80, 10.0, 0.15), (c, 5.0, 1.0), (c + 160, 25.0, 0.3)]
            {
                for i in 0..n {
                    let d = (i as f64 - centre as f64) / width;
                    x[[0, i]] += amp * (-0.5 * d * d).exp();
                }
            }
        }
        (x, r)
    }

    #[test]
    fn noise_test_equals_the_selected_median() {
        // the count decides exactly as comparing with the selected median did (ties, zeros,
        // even and odd lengths, amplitudes at the threshold)
        let mut state = 3u64;
        let mut next = || (splitmix64(&mut state) % 7) as f64 * 0.25;
        for len in 1..30 {
            for _ in 0..50 {
                let y: Vec<f64> = (0..len).map(|_| next()).collect();
                let yl: Vec<f64> = (0..len).map(|_| next()).collect();
                let lead = Lead {
                    y: &y,
                    yl: &yl,
                    h: 1,
                    hl: 1,
                };
                let mut r: Vec<f64> = y.iter().zip(&yl).map(|(a, b)| (a - b).abs()).collect();
                r.sort_by(f64::total_cmp);
                let level = MAD_SCALE * r[len / 2];
                for amp in [0.0, level, next(), next() * 2.0, level * (1.0 - 1e-16)] {
                    assert_eq!(
                        reaches_noise_level(&lead, 0, len - 1, 1.0, amp),
                        amp >= 1.0 * level,
                        "len {len} amp {amp} level {level}"
                    );
                }
            }
        }
    }

    #[test]
    fn argmax_of_a_slice_is_argmax_by() {
        // ties, NaNs (first and later), infinities, every length up to 11 (chunks and tails)
        let pool = [
            0.5,
            2.0,
            2.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
        ];
        let mut state = 7u64;
        for len in 0..12 {
            for _ in 0..200 {
                let v: Vec<f64> = (0..len)
                    .map(|_| pool[splitmix64(&mut state) as usize % pool.len()])
                    .collect();
                let want = if v.is_empty() {
                    None
                } else {
                    argmax_by(0..=len - 1, |i| v[i])
                };
                assert_eq!(argmax(&v), want, "{v:?}");
            }
        }
    }

    #[test]
    fn argmax_by_takes_the_first_largest() {
        let v = [1.0, 3.0, 2.0, 3.0, f64::NAN];
        assert_eq!(argmax_by(0..=4, |i| v[i]), Some(1));
        assert_eq!(argmax_by(2..=2, |i| v[i]), Some(2));
        let (from, to) = (3, 2);
        assert_eq!(argmax_by(from..=to, |i| v[i]), None);
        assert_eq!(argmax_by(4..=4, |i| v[i]), Some(4));
        let w = [f64::NAN, 1.0];
        assert_eq!(argmax_by(0..=1, |i| w[i]), Some(0)); // nothing is larger than a NaN
    }

    #[test]
    fn central_difference_clamps_the_ends_at_every_length() {
        for n in 1..12 {
            for h in 1..5 {
                let v: Vec<f64> = (0..n).map(|i| ((i * i + 3) as f64).sin()).collect();
                for i in 0..n {
                    let hi = if i + h < n { v[i + h] } else { v[n - 1] };
                    let lo = if i >= h { v[i - h] } else { v[0] };
                    let want = hi - lo;
                    let got = central_difference(&v, h, i);
                    assert_eq!(got.to_bits(), want.to_bits(), "n {n} h {h} i {i}");
                }
            }
        }
    }

    #[test]
    fn last_active_stops_after_quiet_run() {
        let ds = [0.0, 5.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 9.0];
        // bridging gaps of 2: reaches index 4, then three quiet samples stop it before 8
        let slope = |i: usize| ds[i];
        assert_eq!(last_active(slope, 0, 1..ds.len(), 1.0, 3), 4);
        assert_eq!(last_active(slope, 0, 1..ds.len(), 1.0, 1), 1);
    }

    #[test]
    fn gaussian_waves_are_found_in_order() {
        let (x, r) = gaussian_beats(8, 400);
        let (per_lead, global, beats) = delineate_record(x.view(), 500.0, None).unwrap();
        assert_eq!(beats.len(), r.len());
        assert_eq!(per_lead[0], global);
        for (b, &c) in global.iter().zip(&r) {
            assert!(b.iter().all(|&v| v != MISSING), "{b:?}");
            assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
            assert!((b[R_PEAK] - c as i64).abs() <= 1);
            assert!((b[P_PEAK] - (c as i64 - 80)).abs() <= 2);
            assert!((b[T_PEAK] - (c as i64 + 160)).abs() <= 2);
            // QRS edges of a Gaussian of sd 5 samples lie within ~3 sd of its centre
            assert!(
                (c as i64 - b[QRS_ON]) <= 18 && (c as i64 - b[QRS_ON]) >= 6,
                "{b:?}"
            );
            assert!(
                (b[QRS_OFF] - c as i64) <= 18 && (b[QRS_OFF] - c as i64) >= 6,
                "{b:?}"
            );
        }
        let iv = record_intervals(&global, 500.0);
        assert!((iv[0] - 75.0).abs() < 1e-9); // HR from RR = 400 samples
        assert!((iv[5] - iv[4] / 0.8f64.sqrt()).abs() < 1e-9);
        assert_eq!(iv[7], 8.0);
    }

    #[test]
    fn bad_beats_and_signals_are_errors() {
        let (x, _) = gaussian_beats(3, 400);
        assert!(delineate_record(x.view(), 500.0, Some(&[10, 5])).is_err());
        assert!(delineate_record(x.view(), 500.0, Some(&[-1])).is_err());
        assert!(delineate_record(x.view(), 500.0, Some(&[1_000_000])).is_err());
        let mut bad = x.clone();
        bad[[0, 7]] = f64::NAN;
        assert!(matches!(
            delineate_record(bad.view(), 500.0, None),
            Err(EcgError::InvalidSignal(_))
        ));
        assert!(delineate_record(x.view(), -1.0, None).is_err());
    }
}
