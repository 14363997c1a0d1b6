//! R-peak detection: a Pan-Tompkins-family detector (Pan & Tompkins 1985, IEEE TBME 32:230) with
//! adaptive signal/noise levels, T-wave discrimination and search-back, as refined in
//! Hamilton & Tompkins (1986) and sleepecg, then localisation of each beat on the input signal.
//!
//! 0. Block averages bring the rate down to 150-300 Hz (the QRS features need no more).
//! 1. Zero-phase Butterworth band-pass 5-25 Hz (order 2): keeps the QRS, removes baseline and
//!    most of P, T and EMG.
//! 2. Feature: squared central derivative, integrated over a centred 120-ms window (MWI).
//! 3. Candidates: local maxima of the MWI. Each is a QRS if it exceeds
//!    `noise + 0.25 (signal - noise)` (running levels, updated with weight 1/8), is outside the
//!    refractory period (180 ms) of the previous QRS, and — within 360 ms of it — its steepest
//!    slope is at least half that QRS's (else it is a T wave). When no QRS came for 1.66 mean RR,
//!    the largest candidate since the last QRS above half the threshold is taken (search-back);
//!    in a regular rhythm, failing that, the largest above a quarter of it outside the last
//!    beat's T window and the next one's P window (a wide PVC keeps its energy below 5 Hz).
//!    A candidate followed within 300 ms by a wave with twice its energy and 1.5 times its slope
//!    is a P wave (or other small wave before a QRS), not a beat; a wave 1.4 times steeper than
//!    the last beat inside its refractory period replaces it (that "beat" was a P or T wave).
//!    At fast rates (RR < 400 ms) each beat moves to a markedly (1.25×) steeper deflection
//!    within 150 ms if there is one, so a T wave taller than R cannot capture the rhythm.
//!    Levels start from the first 2 s and are reset after 2.5 s without a QRS (e.g. after a noise
//!    burst or lead-off), so detection recovers.
//!
//!    When muscle noise dominates most 10-s windows, the band is 5-18 Hz and the beats are
//!    instead the best path through the peaks of a matched filter with the record's own QRS
//!    template, weighing each peak's height against the regularity of the rhythm
//!    ([`crate::detect_noisy`]): a running threshold lets dense noise peaks in.
//! 4. Ventricular flutter/fibrillation has no QRS complexes: where the 1-30 Hz signal is
//!    sinusoid-like (VF filter leakage < 0.5) over at least three 2-s windows in a row,
//!    candidates are not reported (optional; a short run of fast ventricular beats is beats).
//! 5. Localisation: near the band-passed signal's largest deflection, the R peak is the input
//!    sample deviating most from its local (±100 ms) mean within ±50 ms: the extremum of the
//!    dominant QRS deflection, whatever its polarity.
//! 6. Of two beats closer than 250 ms with slower rhythm around them, one is a P or T wave:
//!    the later goes if it is less than half as steep, else the earlier (a P wave).
//! 7. With other leads ([`detect_rpeaks_leads`]): gaps of over 3 s are filled with the beats
//!    the other leads see, and of two beats closer than 0.3 s one much weaker on every lead goes.

use crate::errors::{invalid_signal, Result};
use crate::filter_design::{butter_sos, BandType};
use crate::filters::SosFilter;
use ndarray::ArrayView1;

/// Shortest record worth searching, s.
const MIN_SECONDS: f64 = 0.5;

/// Samples in `s` seconds at `fs` Hz (at least one).
pub(crate) fn seconds(fs: f64, s: f64) -> usize {
    ((fs * s).round() as usize).max(1)
}

/// The samples of a lead as one slice (a copy only for strided input).
pub(crate) fn contiguous<'a, T: Clone>(x: &ArrayView1<'a, T>) -> std::borrow::Cow<'a, [T]> {
    match x.clone().to_slice() {
        Some(s) => s.into(),
        None => x.to_vec().into(),
    }
}

/// An error naming the first NaN or infinite sample of `xs`, if there is one.
pub(crate) fn check_finite(xs: &[f64]) -> Result<()> {
    match crate::filters::first_non_finite(xs) {
        Some(i) => Err(invalid_signal(format!(
            "signal contains NaN or infinity (first at sample {i})"
        ))),
        None => Ok(()),
    }
}

/// Input samples per detection sample: the QRS features need no more than 150-300 Hz.
fn decimation_factor(fs: f64) -> usize {
    ((fs / 150.0).floor() as usize).max(1)
}

/// Means of consecutive blocks of `m` samples (a trailing partial block is dropped); the
/// input itself when `m` is 1.
fn block_averages(xs: &[f64], m: usize) -> std::borrow::Cow<'_, [f64]> {
    let inv = 1.0 / m as f64;
    match m {
        1 => xs.into(),
        2 => xs
            .chunks_exact(2)
            .map(|c| (c[0] + c[1]) * inv)
            .collect::<Vec<_>>()
            .into(),
        _ => xs
            .chunks_exact(m)
            .map(|c| c.iter().sum::<f64>() * inv)
            .collect::<Vec<_>>()
            .into(),
    }
}

/// Detect R peaks in one lead sampled at `fs` Hz. Returns sorted, unique sample indices.
pub fn detect_rpeaks(x: ArrayView1<f64>, fs: f64, skip_fibrillation: bool) -> Result<Vec<i64>> {
    Ok(detect_with_flutter(x, fs, skip_fibrillation)?.0)
}

/// A stretch of samples, `(start, end)`, end exclusive.
type Span = (usize, usize);

/// [`detect_rpeaks`] and the flutter spans it skipped (input samples, end exclusive).
///
/// Long because: it is the pipeline in order (checks, resampling, band-pass, derivative, MWI,
/// classification, placement on the input's deflection, edge and flutter checks), each step a
/// short block over the previous step's buffers.
fn detect_with_flutter(
    x: ArrayView1<f64>,
    fs: f64,
    skip_fibrillation: bool,
) -> Result<(Vec<i64>, Vec<Span>)> {
    crate::filter_design::check_fs(fs)?;
    let xs = contiguous(&x);
    let xs: &[f64] = &xs;
    let n = x.len();
    if (n as f64) < MIN_SECONDS * fs {
        check_finite(xs)?; // still reject non-finite input
        return Ok((Vec::new(), Vec::new()));
    }
    // The QRS features need no more than 150-300 Hz: average blocks of `m` samples (the boxcar is
    // the anti-alias filter; the band-pass below removes what it lets through) and detect at
    // fs / m; beats are then placed on the full-rate input. The same pass checks for non-finite
    // samples and measures the range (flat signals have no beats).
    let m = decimation_factor(fs);
    let fs_d = fs / m as f64;
    // Four running minima/maxima so the loop vectorises.
    // `v * 0` is ±0 for finite samples and NaN for NaN/inf, so the sums stay 0 exactly when
    // every sample is finite (vectorises, unlike a boolean flag).
    let mut lo4 = [f64::INFINITY; 4];
    let mut hi4 = [f64::NEG_INFINITY; 4];
    let mut bad4 = [0.0f64; 4];
    let mut quads = xs.chunks_exact(4);
    for c in &mut quads {
        for k in 0..4 {
            let v = c[k];
            bad4[k] += v * 0.0;
            lo4[k] = if v < lo4[k] { v } else { lo4[k] };
            hi4[k] = if v > hi4[k] { v } else { hi4[k] };
        }
    }
    for &v in quads.remainder() {
        bad4[0] += v * 0.0;
        lo4[0] = lo4[0].min(v);
        hi4[0] = hi4[0].max(v);
    }
    let finite = bad4.iter().sum::<f64>() == 0.0;
    let lo = lo4.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = hi4.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let xd = block_averages(xs, m);
    if !finite {
        check_finite(xs)?;
    }
    let x = ArrayView1::from(xs);
    if hi - lo <= 1e-12 * (1.0 + hi.abs().max(lo.abs())) {
        return Ok((Vec::new(), Vec::new())); // flat
    }
    let nd = xd.len();
    let (filter, narrow, vf_filter) = filters_for(fs_d)?;
    if nd <= filter.padlen().max(narrow.padlen()) + 2 {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut y = filtfilt_segmented(&filter, &xd, fs_d)?;
    let mut d = central_difference(&y);
    // In a record dominated by muscle noise the 5-25 Hz signal is kept for the QRS template
    let mut wide = None;
    if muscle_noise_dominates(&xd, &d, fs_d) {
        wide = Some(std::mem::replace(
            &mut y,
            filtfilt_segmented(&narrow, &xd, fs_d)?,
        ));
        d = central_difference(&y);
    }
    let y = &y[..];
    let fs_full = fs;
    let fs = fs_d;
    let n_full = n;

    // The square of the central derivative integrated over a centred window (running sum).
    let half = seconds(fs, 0.12) / 2;
    let mwi = moving_energy(&d, half);

    let mut qrs = match &wide {
        Some(z) => crate::detect_noisy::select_beats(z, &mwi, &d, fs),
        None => prefer_steeper(&classify(&mwi, &d, fs), &d, fs),
    };
    let mut flutter = Vec::new();
    if skip_fibrillation {
        let vf = fibrillation_spans(&xd, &qrs, fs, &vf_filter)?;
        if !vf.is_empty() {
            qrs.retain(|&i| !vf.iter().any(|&(a, b)| a <= i && i < b));
        }
        flutter = vf.iter().map(|&(a, b)| (a * m, b * m)).collect();
    }
    let dec = Decimation { m, fs: fs_d };
    let peaks = localise(&qrs, x, y, &dec, fs_full);
    debug_assert!(peaks.iter().all(|&p| p < n_full));
    let peaks = drop_weak_edge_beats(peaks, x, &d, &dec, fs_full);
    Ok((resolve_close_pairs(peaks, &d, &dec, fs_full), flutter))
}

/// Zero-phase filtering of a long signal as four overlapping segments run as interleaved lanes
/// ([`SosFilter::filtfilt_segments`], 1 s of overlap: far longer than the band-pass's memory).
fn filtfilt_segmented(filter: &SosFilter, x: &[f64], fs: f64) -> Result<Vec<f64>> {
    filter.filtfilt_segments(x, seconds(fs, 1.0))
}

/// The detection band-pass (5-25 Hz) and the flutter band-pass (1-30 Hz) at the detection rate,
/// designed once per thread and rate (batches of records share them).
fn filters_for(fs: f64) -> Result<(SosFilter, SosFilter, SosFilter)> {
    let f = crate::filters::cached("detect", fs, || {
        let high = 25.0f64.min(0.4 * fs);
        let low = 5.0f64.min(0.5 * high);
        let narrow_high = NARROW_HIGH.min(high);
        let vf_high = 30.0f64.min(0.4 * fs);
        Ok(vec![
            SosFilter::new(butter_sos(2, &[low, high], fs, BandType::Bandpass)?)?,
            SosFilter::new(butter_sos(
                2,
                &[low.min(0.5 * narrow_high), narrow_high],
                fs,
                BandType::Bandpass,
            )?)?,
            SosFilter::new(butter_sos(
                2,
                &[1.0f64.min(0.5 * vf_high), vf_high],
                fs,
                BandType::Bandpass,
            )?)?,
        ])
    })?;
    Ok((f[0].clone(), f[1].clone(), f[2].clone()))
}

/// Upper edge (Hz) of the narrow band used when muscle noise dominates a record. 15 Hz gained
/// more at 0 dB SNR but let fibrillatory and fast T waves in on noisy synthetic records with
/// atrial fibrillation or rates > 120 bpm; 18 Hz lost on no noise level of any set
/// (`benches/noise_sweep.py`).
const NARROW_HIGH: f64 = 18.0;
/// Noise floor of a window (lower quartile of |slope| over its 99th percentile, band-passed
/// 5-25 Hz) above which noise reaches the QRS band. Clean records stay below ~0.035 (10-s
/// windows of MIT-BIH DS1 and the paced records: 99th percentile 0.033; LUDB 0.033; CPSC 2021
/// 0.028); muscle noise at 6 dB SNR puts 99 % of CPSC 2021 10-s segments above 0.042. The
/// lower quartile is baseline in a clean record even at fast rates, where the median falls on
/// QRS and T slopes.
const BAND_NOISE: f64 = 0.04;
/// The same ratio for the input's second difference (a crude high-pass), above which the noise
/// is high-frequency (muscle, powerline), not slow waves: fibrillatory waves, T waves at fast
/// rates and wide QRS complexes raise the band floor of clean records (synthetic atrial
/// fibrillation, bundle-branch block or > 120 bpm: 99th percentile 0.056 here), muscle noise
/// even at 18 dB SNR puts 99 % of 10-s segments above 0.10 (CPSC 2021 and synthetic).
const HIGH_FREQUENCY_NOISE: f64 = 0.08;
/// Window (s) over which the noise floors are measured.
const NOISE_WINDOW: f64 = 10.0;

/// `y[i + 1] - y[i - 1]`, zero at both ends.
fn central_difference(y: &[f64]) -> Vec<f64> {
    let mut d = Vec::with_capacity(y.len());
    d.push(0.0);
    d.extend(y.windows(3).map(|w| w[2] - w[0]));
    if y.len() > 1 {
        d.push(0.0);
    }
    d
}

/// Lower quartile of `|v|` (from every 4th sample: a bulk statistic) over its 99th percentile
/// (from every sample); `buf` is scratch space.
fn noise_floor(v: impl Iterator<Item = f64> + Clone, buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.extend(v.clone().map(f64::abs));
    if buf.is_empty() {
        return 0.0;
    }
    let top = (buf.len() * 99 / 100).min(buf.len() - 1);
    let p99 = *buf.select_nth_unstable_by(top, |a, b| a.total_cmp(b)).1;
    buf.clear();
    buf.extend(v.step_by(4).map(f64::abs));
    let quarter = buf.len() / 4;
    let floor = *buf.select_nth_unstable_by(quarter, |a, b| a.total_cmp(b)).1;
    if p99 > 0.0 {
        floor / p99
    } else {
        0.0
    }
}

/// Whether muscle noise dominates most of the record: in more than half of its 10-s windows
/// the noise floor of the 5-25 Hz slope exceeds [`BAND_NOISE`] and that of the input's second
/// difference exceeds [`HIGH_FREQUENCY_NOISE`]. EMG shares the QRS band above ~15 Hz, and
/// its bursts pass the adaptive threshold between beats; the QRS keeps most of its energy below
/// ~15-18 Hz (Thakor et al. 1984), where muscle noise has little, so such a record is detected
/// in the narrower band (5-[`NARROW_HIGH`] Hz), its beats chosen by
/// [`crate::detect_noisy::select_beats`]. Clean records do not switch: the wider band
/// serves sharp QRS complexes better (5-15 Hz throughout lowers F1 on the clean records from
/// 99.52 to 99.14 % on MIT-BIH DS1 and from 99.67 to 98.98 % on CPSC 2021).
fn muscle_noise_dominates(x: &[f64], d: &[f64], fs: f64) -> bool {
    let w = seconds(fs, NOISE_WINDOW).max(8);
    let n_windows = (d.len() / w).max(1);
    // a majority vote: at most NOISE_WINDOWS windows spread over a long record decide it
    let looked_at = n_windows.min(NOISE_WINDOWS);
    let mut noisy = 0usize;
    let mut buf: Vec<f64> = Vec::with_capacity(d.len().min(2 * w));
    for j in 0..looked_at {
        let k = j * n_windows / looked_at;
        // the last window takes the remainder
        let end = if k + 1 == n_windows {
            d.len()
        } else {
            (k + 1) * w
        };
        if noise_floor(d[k * w..end].iter().copied(), &mut buf) <= BAND_NOISE {
            continue;
        }
        let second = x[k * w..end].windows(3).map(|t| t[2] - 2.0 * t[1] + t[0]);
        if noise_floor(second, &mut buf) > HIGH_FREQUENCY_NOISE {
            noisy += 1;
        }
    }
    2 * noisy > looked_at
}

/// Windows [`muscle_noise_dominates`] looks at, at most.
const NOISE_WINDOWS: usize = 32;

/// Leakage below which a window counts as ventricular flutter/fibrillation.
const VF_LEAKAGE: f64 = 0.5;

/// VF filter leakage (Kuo & Dillman 1978; Amann, Tratnig & Unterkofler 2005): with `h` the
/// signal's mean half-period, `Σ|v_i + v_{i-h}| / Σ(|v_i| + |v_{i-h}|)` is near 0 for a sinusoid
/// and large for QRS complexes.
fn leakage(v: &[f64]) -> f64 {
    let num: f64 = v.iter().map(|a| a.abs()).sum();
    let den: f64 = v.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    if den <= 0.0 {
        return 1.0;
    }
    let h = (std::f64::consts::PI * num / den + 0.5).floor() as usize;
    if h < 1 || h >= v.len() {
        return 1.0;
    }
    let (mut top, mut bottom) = (0.0, 0.0);
    for i in h..v.len() {
        top += (v[i] + v[i - h]).abs();
        bottom += v[i].abs() + v[i - h].abs();
    }
    if bottom > 0.0 {
        top / bottom
    } else {
        1.0
    }
}

/// Spans (at the detection rate, end exclusive) of ventricular flutter/fibrillation: the central second of
/// every 2-s window (1-s hop) whose 1-30 Hz signal has a VF filter leakage below `VF_LEAKAGE`.
/// There are no QRS complexes there, so candidates are not beats. Only windows where the
/// candidates come faster than 120 per minute are examined (flutter and fibrillation are fast).
fn fibrillation_spans(
    xd: &[f64],
    qrs: &[usize],
    fs: f64,
    filter: &SosFilter,
) -> Result<Vec<(usize, usize)>> {
    let n = xd.len();
    let mut mask: Vec<(usize, usize)> = Vec::new();
    let win = seconds(fs, 2.0);
    let hop = seconds(fs, 1.0);
    let context = seconds(fs, 1.0);
    if n < win {
        return Ok(mask);
    }
    let mut a = 0;
    while a + win <= n {
        let lo = qrs.partition_point(|&i| i < a);
        let hi = qrs.partition_point(|&i| i < a + win);
        if hi - lo >= 5 {
            // band-pass the window with some context on each side, then measure
            let ca = a.saturating_sub(context);
            let cb = (a + win + context).min(n);
            if cb - ca > filter.padlen() {
                let v = filter.filtfilt(ArrayView1::from(&xd[ca..cb]).into_dyn())?;
                let v = v.as_slice().expect("contiguous output");
                if leakage(&v[a - ca..a - ca + win]) < VF_LEAKAGE {
                    mask.push((a + win / 4, a + 3 * win / 4));
                }
            }
        }
        a += hop;
    }
    Ok(sustained(&mask, hop))
}

/// Flagged windows a flutter/fibrillation stretch needs, at least.
const VF_MIN_WINDOWS: usize = 3;

/// Sustained flutter/fibrillation only: runs of at least `VF_MIN_WINDOWS` flagged windows,
/// each starting at most two hops after the previous one (one unflagged window may lie
/// between), merged into one span from the first flagged second to the last. Ventricular
/// flutter and fibrillation last (207's episodes: 19-98 s); a run of non-sustained
/// ventricular tachycardia of a few fast, sinusoid-like beats flags one or two windows and its
/// beats are beats (205's runs of 5-6 beats at 170-230 bpm were lost to this rule).
fn sustained(mask: &[(usize, usize)], hop: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < mask.len() {
        let mut j = i + 1;
        while j < mask.len() && mask[j].0 <= mask[j - 1].0 + 2 * hop {
            j += 1;
        }
        if j - i >= VF_MIN_WINDOWS {
            out.push((mask[i].0, mask[j - 1].1));
        }
        i = j;
    }
    out
}

/// Mean of `d²` over the centred window `[i - half, i + half]` (truncated at the ends), from
/// prefix sums built as four independent chains (one per quarter) so they overlap in the CPU.
pub(crate) fn moving_energy(d: &[f64], half: usize) -> Vec<f64> {
    const CHAINS: usize = 4;
    let n = d.len();
    let mut p = vec![0.0; n + 1];
    let q = n.div_ceil(CHAINS);
    let mut acc = [0.0f64; CHAINS];
    for j in 0..q {
        for (k, a) in acc.iter_mut().enumerate() {
            let i = k * q + j;
            if i < n {
                *a += d[i] * d[i];
                p[i + 1] = *a;
            }
        }
    }
    for k in 1..CHAINS {
        let start = (k * q).min(n);
        let end = ((k + 1) * q).min(n);
        let off = p[start];
        for v in &mut p[start + 1..=end] {
            *v += off;
        }
    }
    let edge_value = |i: usize| {
        let a = i.saturating_sub(half);
        let b = (i + half + 1).min(n);
        (p[b] - p[a]) / (b - a) as f64
    };
    if n < 2 * half + 2 {
        return (0..n).map(edge_value).collect();
    }
    // Full windows (all but `half` samples at each end) divide by the same width.
    let inv = 1.0 / (2 * half + 1) as f64;
    let mut out = Vec::with_capacity(n);
    out.extend((0..half).map(edge_value));
    out.extend(
        p[2 * half + 1..=n]
            .iter()
            .zip(&p[..n - 2 * half])
            .map(|(b, a)| (b - a) * inv),
    );
    out.extend((n - half..n).map(edge_value));
    out
}

/// How the detection rate relates to the input rate.
struct Decimation {
    /// input samples per detection sample
    m: usize,
    /// detection sampling rate, Hz
    fs: f64,
}

impl Decimation {
    fn to_full(&self, i: usize, n_full: usize) -> usize {
        (i * self.m + self.m / 2).min(n_full - 1)
    }
    fn to_reduced(&self, p: usize) -> usize {
        p / self.m
    }
}

/// Amplitude of the QRS at `p`: deviation of the input from its ±100 ms mean.
fn amplitude(x: ArrayView1<f64>, p: usize, fs: f64) -> f64 {
    let xs = x.as_slice().expect("contiguous");
    (xs[p] - local_mean(xs, p, fs)).abs()
}

/// Mean of the input over ±100 ms around `p` (truncated at the ends): the local baseline a QRS
/// deflection is measured from.
fn local_mean(xs: &[f64], p: usize, fs: f64) -> f64 {
    let base = seconds(fs, 0.1);
    let a = p.saturating_sub(base);
    let b = (p + base + 1).min(xs.len());
    // four partial sums: independent chains instead of one latency-bound one
    let w = &xs[a..b];
    let mut acc = [0.0f64; 4];
    let quads = w.chunks_exact(4);
    let rest: f64 = quads.remainder().iter().sum();
    for q in quads {
        for k in 0..4 {
            acc[k] += q[k];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3]) + rest) / (b - a) as f64
}

/// Near the record's ends only part of a wave is visible, so a T or P wave cut by the edge can
/// pass for a beat: keep an edge detection only if its amplitude is at least half, and its
/// steepest slope a quarter, of the median of the nearest inner beats'.
fn drop_weak_edge_beats(
    peaks: Vec<usize>,
    x: ArrayView1<f64>,
    d: &[f64],
    dec: &Decimation,
    fs: f64,
) -> Vec<i64> {
    let slope_of = |p: usize| slope_at(d, dec.to_reduced(p).min(d.len() - 1), dec.fs);
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
    if !peaks.iter().any(|&p| near_edge(p)) {
        return peaks.into_iter().map(|p| p as i64).collect();
    }
    // Each end is compared with its own neighbourhood: the (up to) NEIGHBOURS inner beats
    // nearest to it.
    let inner: Vec<usize> = peaks.iter().copied().filter(|&p| !near_edge(p)).collect();
    let k = inner.len().min(NEIGHBOURS);
    let reference = |beats: &[usize]| {
        (
            median(beats.iter().map(|&p| amplitude(x, p, fs)).collect()),
            median(beats.iter().map(|&p| slope_of(p)).collect()),
        )
    };
    let first = reference(&inner[..k]);
    let last = reference(&inner[inner.len() - k..]);
    peaks
        .into_iter()
        // an extremum on the record's first or last sample is not a verifiable peak
        .filter(|&p| p > 0 && p + 1 < n)
        .filter(|&p| {
            let (amp, slope) = if p < n / 2 { first } else { last };
            match (amp, slope) {
                (Some(a), Some(s)) if near_edge(p) => {
                    amplitude(x, p, fs) >= 0.5 * a && slope_of(p) >= 0.25 * s
                }
                _ => true,
            }
        })
        .map(|p| p as i64)
        .collect()
}

/// Two ventricular depolarisations cannot follow each other within this many seconds outside a
/// fast run (the ventricles are refractory; a P wave precedes its QRS by 120-250 ms).
const CLOSE_PAIR: f64 = 0.25;
/// A pair is isolated, and so not part of a fast run, when the intervals before and after it
/// are longer than this, s.
const ISOLATED: f64 = 0.4;

/// Of two detections closer than [`CLOSE_PAIR`] with slower rhythm on both sides
/// ([`ISOLATED`]), only one is a QRS: the later one is dropped when its steepest 5-25 Hz slope
/// (±50 ms) is below half the earlier one's (a T wave, as in the T-wave rule), otherwise the
/// earlier one (a P wave as tall and sharp as the QRS on this lead, the case the look-ahead
/// misses because the QRS is not twice as large).
fn resolve_close_pairs(peaks: Vec<i64>, d: &[f64], dec: &Decimation, fs: f64) -> Vec<i64> {
    let close = seconds(fs, CLOSE_PAIR) as i64;
    let isolated = seconds(fs, ISOLATED) as i64;
    let h = seconds(dec.fs, 0.05);
    let slope = |p: i64| steepest(d, dec.to_reduced(p as usize).min(d.len() - 1), h);
    let n = peaks.len();
    let mut keep = vec![true; n];
    let mut i = 0;
    while i + 1 < n {
        let before = if i > 0 {
            peaks[i] - peaks[i - 1]
        } else {
            i64::MAX
        };
        let after = if i + 2 < n {
            peaks[i + 2] - peaks[i + 1]
        } else {
            i64::MAX
        };
        if peaks[i + 1] - peaks[i] < close && before > isolated && after > isolated {
            if slope(peaks[i + 1]) < 0.5 * slope(peaks[i]) {
                keep[i + 1] = false;
            } else {
                keep[i] = false;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    peaks
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// Inner beats an edge detection is compared with.
const NEIGHBOURS: usize = 15;

/// Steepest |slope| of the band-passed signal within ±75 ms of `i`.
fn slope_at(d: &[f64], i: usize, fs: f64) -> f64 {
    steepest(d, i, seconds(fs, 0.075))
}

/// Largest |d| within `half` samples of `i` (the window clamped to `d`).
fn steepest(d: &[f64], i: usize, half: usize) -> f64 {
    d[i.saturating_sub(half)..(i + half + 1).min(d.len())]
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
}

struct Levels {
    signal: f64,
    noise: f64,
}

impl Levels {
    fn threshold(&self) -> f64 {
        self.noise + THRESHOLD_FRACTION * (self.signal - self.noise)
    }
}

/// The threshold's place between the noise and signal levels (Pan & Tompkins: a quarter).
const THRESHOLD_FRACTION: f64 = 0.25;

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

/// Levels at the start of a record: those of the first 2 s ([`init_levels`]), the signal level
/// raised to half the upper quartile of the maxima of 1.5-s windows over the first 12 s, so
/// that a record starting in a pause (or a slow bradycardia) does not take baseline noise for
/// its beats.
fn initial_levels(mwi: &[f64], fs: f64) -> Levels {
    let first = init_levels(mwi, 0, fs);
    let w = seconds(fs, 1.5).max(1);
    let end = seconds(fs, 12.0).min(mwi.len());
    let mut maxima: Vec<f64> = mwi[..end]
        .chunks(w)
        .filter(|c| c.len() * 2 >= w)
        .map(|c| c.iter().cloned().fold(0.0, f64::max))
        .collect();
    if maxima.len() < 4 {
        return first;
    }
    maxima.sort_unstable_by(|a, b| a.total_cmp(b));
    Levels {
        signal: first.signal.max(0.5 * maxima[maxima.len() * 3 / 4]),
        noise: first.noise,
    }
}

/// The decisions so far: accepted beats, their RR intervals, the running levels and the
/// candidates rejected since the last beat (for search-back).
struct Decisions<'a> {
    d: &'a [f64],
    fs: f64,
    levels: Levels,
    qrs: Vec<usize>,
    rr: Vec<usize>,
    /// steepest slope of the last accepted beat
    qrs_slope: f64,
    /// steepest slopes of the last (up to) 8 accepted beats, oldest first
    slopes: Vec<f64>,
    pending: Vec<(usize, f64)>,
}

impl Decisions<'_> {
    /// Accept candidate `i` of height `h` as a beat; `weight` updates the signal level.
    fn accept(&mut self, i: usize, h: f64, weight: f64) {
        self.levels.signal += weight * (h - self.levels.signal);
        if let Some(&last) = self.qrs.last() {
            self.rr.push(i - last);
        }
        self.qrs.push(i);
        self.qrs_slope = slope_at(self.d, i, self.fs);
        if self.slopes.len() == 8 {
            self.slopes.remove(0);
        }
        self.slopes.push(self.qrs_slope);
        self.pending.retain(|&(j, _)| j > i);
    }

    /// Whether candidate `i`, found in a gap (by search-back, or after the levels were reset
    /// by a long gap), looks like a beat of this record: its steepest slope is at least
    /// [`GAP_SLOPE`] of the median of the last beats'. A sinus pause holds only baseline, T
    /// waves and noise, whose slopes are far below the QRS's. The memory is forgotten after
    /// [`GAP_MEMORY`] s without a beat (lead change, amplitude change).
    fn looks_like_a_beat(&self, i: usize) -> bool {
        let recent = self
            .qrs
            .last()
            .is_some_and(|&l| ((i - l) as f64) < GAP_MEMORY * self.fs);
        if !recent || self.slopes.is_empty() {
            return true;
        }
        let mut s = self.slopes.clone();
        s.sort_unstable_by(|a, b| a.total_cmp(b));
        slope_at(self.d, i, self.fs) >= GAP_SLOPE * s[s.len() / 2]
    }

    /// Reject candidate `i`: it updates the noise level and waits for a possible search-back.
    fn reject(&mut self, i: usize, h: f64) {
        self.levels.noise += 0.125 * (h - self.levels.noise);
        self.pending.push((i, h));
    }

    /// Mean of the last (up to) 8 RR intervals, in samples.
    fn mean_rr(&self) -> Option<f64> {
        let k = self.rr.len().min(8);
        (k > 0).then(|| self.rr[self.rr.len() - k..].iter().sum::<usize>() as f64 / k as f64)
    }

    /// Spread of the last (up to) 8 RR intervals: (max - min) / mean.
    fn rr_spread(&self) -> f64 {
        let k = self.rr.len().min(8);
        if k < 4 {
            return f64::INFINITY;
        }
        let w = &self.rr[self.rr.len() - k..];
        let (lo, hi) = (
            *w.iter().min().unwrap() as f64,
            *w.iter().max().unwrap() as f64,
        );
        (hi - lo) / (w.iter().sum::<usize>() as f64 / k as f64)
    }
}

/// Largest (max - min) / mean of the last 8 RR intervals for which a gap means a missed beat.
const REGULAR_SPREAD: f64 = 0.3;

/// Fraction of the record's typical QRS slope that a beat found in a gap must reach.
const GAP_SLOPE: f64 = 0.2;
/// Seconds after the last beat during which the record's typical QRS slope is remembered.
const GAP_MEMORY: f64 = 8.0;

/// At fast rates (RR < 400 ms) a T wave can pass every test and, once taken for a beat, push
/// the next R wave into its refractory period, so the detector locks onto T waves. R waves are
/// steeper: move each fast beat to a markedly steeper deflection within 150 ms (not inside the
/// previous beat's refractory period), then keep the steeper of any two beats that end up
/// closer than the refractory period.
fn prefer_steeper(qrs: &[usize], d: &[f64], fs: f64) -> Vec<usize> {
    let n = d.len();
    if n == 0 || qrs.len() < 3 {
        return qrs.to_vec();
    }
    let fast = seconds(fs, 0.4);
    let near = seconds(fs, 0.03);
    let reach = seconds(fs, 0.15);
    let refractory = seconds(fs, 0.18);
    let steep = |i: usize| steepest(d, i, near);
    let mut out = qrs.to_vec();
    for k in 0..out.len() {
        let rr = if k == 0 {
            out[1] - out[0]
        } else if k + 1 == out.len() {
            out[k] - out[k - 1]
        } else {
            (out[k + 1] - out[k - 1]) / 2
        };
        if rr >= fast {
            continue;
        }
        let i = out[k];
        let mut lo = i.saturating_sub(reach);
        if k > 0 {
            lo = lo.max(out[k - 1] + refractory);
        }
        let hi = (i + reach).min(n - 1);
        if lo >= hi {
            continue;
        }
        let j = (lo..=hi).fold(lo, |b, j| if d[j].abs() > d[b].abs() { j } else { b });
        if steep(j) > STEEPER * steep(i) {
            out[k] = j;
        }
    }
    out.sort_unstable();
    let mut merged: Vec<usize> = Vec::with_capacity(out.len());
    for i in out {
        match merged.last() {
            Some(&l) if i - l < refractory => {
                if steep(i) > steep(l) {
                    *merged.last_mut().expect("non-empty") = i;
                }
            }
            _ => merged.push(i),
        }
    }
    merged
}

/// How much steeper a nearby deflection must be to take a fast beat's place.
const STEEPER: f64 = 1.25;

/// Indices `i` with `v[i] >= v[i - 1]` and `v[i] > v[i + 1]` (a missing neighbour at either end
/// counts as satisfied), in order. Branch-free: most samples are not maxima, and an
/// unpredictable branch per sample cost more than the decisions on the maxima.
fn local_maxima(v: &[f64]) -> Vec<usize> {
    let n = v.len();
    if n < 3 {
        return (0..n)
            .filter(|&i| (i == 0 || v[i] >= v[i - 1]) && (i + 1 == n || v[i] > v[i + 1]))
            .collect();
    }
    // Compacted through a small stack buffer per block (no record-sized scratch to zero).
    const BLOCK: usize = 2048;
    let mut out = Vec::with_capacity(n / 16 + 2);
    if v[0] > v[1] {
        out.push(0);
    }
    let mut buf = [0u32; BLOCK];
    let mut i0 = 0;
    while i0 + 2 < n {
        let i1 = (i0 + BLOCK).min(n - 2);
        let mut k = 0;
        for (j, w) in v[i0..i1 + 2].windows(3).enumerate() {
            buf[k] = j as u32;
            k += ((w[1] >= w[0]) & (w[1] > w[2])) as usize;
        }
        out.extend(buf[..k].iter().map(|&j| i0 + 1 + j as usize));
        i0 = i1;
    }
    if v[n - 1] >= v[n - 2] {
        out.push(n - 1);
    }
    out
}

/// Pan-Tompkins decision rules over the MWI local maxima; returns MWI peak indices of QRS.
///
/// Long because: one pass over the candidates with the adaptive levels, refractory and
/// search-back rules acting on shared state (the hot loop of the detector).
fn classify(mwi: &[f64], d: &[f64], fs: f64) -> Vec<usize> {
    let n = mwi.len();
    let refractory = seconds(fs, 0.18);
    let t_window = seconds(fs, 0.36);
    let p_window = seconds(fs, 0.3);
    let edge = seconds(fs, 0.06);
    let reset_after = seconds(fs, 2.5);
    let mut st = Decisions {
        d,
        fs,
        levels: initial_levels(mwi, fs),
        qrs: Vec::new(),
        rr: Vec::new(),
        qrs_slope: 0.0,
        slopes: Vec::new(),
        pending: Vec::new(),
    };
    let mut last_reset = 0usize;

    // Candidates: the MWI's local maxima, the record's ends included (a beat may sit right at
    // an edge). The max of the MWI over any window lies on one of them or on the window's ends.
    let cands = local_maxima(mwi);
    for (ci, &i) in cands.iter().enumerate() {
        let h = mwi[i];
        // Search-back: a beat was probably missed.
        if let (Some(&last), Some(m)) = (st.qrs.last(), st.mean_rr()) {
            if (i - last) as f64 > 1.66 * m {
                let half_thr = 0.5 * st.levels.threshold();
                if let Some(&(j, hj)) = st
                    .pending
                    .iter()
                    .filter(|&&(j, hj)| hj > half_thr && j - last >= refractory)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                {
                    if st.looks_like_a_beat(j) {
                        st.accept(j, hj, 0.25);
                    }
                } else if st.rr_spread() <= REGULAR_SPREAD {
                    // A regular rhythm with a gap of about two beats: a beat is missing, most
                    // likely a wide ectopic beat whose energy lies below the detection band.
                    // Take the largest candidate above a quarter of the threshold that is
                    // neither in the last beat's T window nor in the next one's P window.
                    if let Some(&(j, hj)) = st
                        .pending
                        .iter()
                        .filter(|&&(j, hj)| {
                            hj > 0.25 * st.levels.threshold()
                                && j - last >= t_window
                                && i - j >= t_window
                        })
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                    {
                        if st.looks_like_a_beat(j) {
                            st.accept(j, hj, 0.25);
                        }
                    }
                }
            }
        }
        // Re-initialise the levels after a long gap (noise burst, lead-off, pause).
        let last_event = st.qrs.last().copied().unwrap_or(0).max(last_reset);
        if i - last_event > reset_after {
            st.levels = init_levels(mwi, i.saturating_sub(seconds(fs, 1.0)), fs);
            st.rr.clear();
            last_reset = i;
        }
        let last = st.qrs.last().copied();
        if let Some(last) = last {
            if i - last < refractory {
                // A much steeper wave inside the refractory period means the last "beat" was a
                // T or P wave (as when T waves are taller than R at high rates): take this one.
                if h > st.levels.threshold() && slope_at(d, i, fs) > 1.4 * st.qrs_slope {
                    st.qrs.pop();
                    st.rr.pop();
                    st.accept(i, h, 0.125);
                }
                continue;
            }
        }
        // Within 60 ms of the record's ends at most half a QRS is visible.
        let edge_factor = if i < edge || i + edge >= n { 0.5 } else { 1.0 };
        if h > edge_factor * st.levels.threshold() {
            let slope = slope_at(d, i, fs);
            let is_t_wave = match last {
                Some(last) if i - last < t_window => slope < 0.5 * st.qrs_slope,
                _ => false,
            };
            // A P wave (or other small wave) just before a much larger QRS: look ahead.
            let is_before_larger = {
                let end = (i + p_window + 1).min(n);
                let ahead = (i + 1).min(end)..end;
                let ahead_h = if ahead.is_empty() {
                    0.0
                } else {
                    cands[ci + 1..]
                        .iter()
                        .take_while(|&&j| j < end)
                        .fold(mwi[ahead.start].max(mwi[end - 1]), |m, &j| m.max(mwi[j]))
                };
                ahead_h > 2.0 * h && {
                    let ahead_slope = d[ahead].iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    ahead_slope > 1.5 * slope
                }
            };
            let after_reset = last_reset > last.unwrap_or(0) && !st.looks_like_a_beat(i);
            if is_t_wave || is_before_larger || after_reset {
                st.reject(i, h);
            } else {
                st.accept(i, h, 0.125);
            }
        } else {
            st.reject(i, h);
        }
    }
    st.qrs
}

/// Move each detection onto the R extremum of the input signal: near the band-passed
/// signal's largest deflection, the sample of the input that deviates most from its local mean
/// (the dominant QRS deflection, whichever its polarity).
fn localise(qrs: &[usize], x: ArrayView1<f64>, y: &[f64], dec: &Decimation, fs: f64) -> Vec<usize> {
    let n = x.len();
    let nd = y.len();
    let search = seconds(dec.fs, 0.08);
    let refine = seconds(fs, 0.05) + dec.m;
    // half-width of the spike-rejecting median: 4 ms (at most 16 samples)
    let spike = ((0.004 * fs).round() as usize).clamp(1, 16);
    let refractory = seconds(fs, 0.18);
    let mut out: Vec<usize> = Vec::with_capacity(qrs.len());
    for &i in qrs {
        let a = i.saturating_sub(search);
        let b = (i + search + 1).min(nd);
        let (mut pd, mut top) = (i, y[i].abs());
        for (j, v) in y.iter().enumerate().take(b).skip(a) {
            if v.abs() > top {
                (pd, top) = (j, v.abs());
            }
        }
        let p = dec.to_full(pd, n);
        let xs = x.as_slice().expect("contiguous");
        let mean = local_mean(xs, p, fs);
        let ra = p.saturating_sub(refine);
        let rb = (p + refine + 1).min(n);
        // Deviation of a short running median, so a pacing spike (a few ms wide) cannot be
        // taken for the R wave; then the raw extremum next to it.
        let median_at = |j: usize| median_around(xs, j, spike);
        // Largest raw deviation first; only if it is a narrow spike (the short median
        // disagrees with it by more than half its height) search again on the median.
        let mut centre = p;
        let mut best_v = f64::NEG_INFINITY;
        for (j, &xj) in xs.iter().enumerate().take(rb).skip(ra) {
            let v = (xj - mean).abs();
            if v > best_v {
                best_v = v;
                centre = j;
            }
        }
        if (xs[centre] - median_at(centre)).abs() > 0.5 * best_v {
            best_v = f64::NEG_INFINITY;
            for j in ra..rb {
                let v = (median_at(j) - mean).abs();
                if v > best_v {
                    best_v = v;
                    centre = j;
                }
            }
        }
        let sign = if median_at(centre) >= mean { 1.0 } else { -1.0 };
        let (fa, fb) = (centre.saturating_sub(spike), (centre + spike + 1).min(n));
        let mut best = centre;
        let mut best_raw = f64::NEG_INFINITY;
        for (j, &xj) in xs.iter().enumerate().take(fb).skip(fa) {
            let v = sign * (xj - mean);
            if v > best_raw {
                best_raw = v;
                best = j;
            }
        }
        push_beat(&mut out, best, xs, fs, refractory);
    }
    out
}

/// Append a localised beat. Two detections localised into one QRS (a broad notched QRS, e.g.
/// bundle-branch block, whose band-passed energy has two lobes) are one beat: R waves cannot be
/// closer than the refractory period; the larger deviation from the local mean is kept.
fn push_beat(out: &mut Vec<usize>, best: usize, xs: &[f64], fs: f64, refractory: usize) {
    match out.last() {
        Some(&l) if best < l + refractory => {
            let deviation = |j: usize| (xs[j] - local_mean(xs, j, fs)).abs();
            if deviation(best) > deviation(l) {
                *out.last_mut().expect("non-empty") = best;
            }
        }
        _ => out.push(best),
    }
}

/// The median of `xs[j-h..=j+h]` (the window shrinks at the ends; `h` at most 16).
pub(crate) fn median_around(xs: &[f64], j: usize, h: usize) -> f64 {
    let a = j.saturating_sub(h);
    let b = (j + h + 1).min(xs.len());
    let mut w: [f64; 33] = [0.0; 33];
    let k = (b - a).min(33);
    w[..k].copy_from_slice(&xs[a..a + k]);
    let w = &mut w[..k];
    w.sort_unstable_by(|p, q| p.total_cmp(q));
    w[k / 2]
}

/// `find` on every row of a 2-D array in parallel; a bad row's error names its record.
pub(crate) fn each_row(
    x: ndarray::ArrayView2<f64>,
    find: impl Fn(ArrayView1<f64>) -> Result<Vec<i64>> + Sync,
) -> Result<Vec<Vec<i64>>> {
    use rayon::prelude::*;
    x.outer_iter()
        .into_par_iter()
        .enumerate()
        .map(|(r, row)| find(row).map_err(|e| e.in_part(format_args!("record {r}"))))
        .collect()
}

/// Detect on every row of a 2-D array in parallel.
pub fn detect_rpeaks_rows(
    x: ndarray::ArrayView2<f64>,
    fs: f64,
    skip_fibrillation: bool,
) -> Result<Vec<Vec<i64>>> {
    crate::filter_design::check_fs(fs)?;
    each_row(x, |row| detect_rpeaks(row, fs, skip_fibrillation))
}

/// Two detections closer than this (s) are compared across leads: a P-wave and QRS pair is
/// 0.12-0.3 s apart, while two real beats this close (ventricular tachycardia at > 200 bpm)
/// both carry a QRS on every lead.
const PAIR_SECONDS: f64 = 0.3;
/// Of such a pair, a detection whose steepest slope, as a geometric mean over the leads of
/// its ratio to its partner's, is below this is not a QRS: a P or T wave that looks like one
/// on the detection lead is small on the others (MIT-BIH 108, whose tall sharp P waves on MLII
/// are small on V1; on DS1 and the paced records the rule removed no true beat).
const CROSS_LEAD_RATIO: f64 = 0.5;

/// Steepest 5-25 Hz slope of `lead` (finite) within ±50 ms of each of `peaks` (computed at
/// the detector's 150-300 Hz rate).
fn beat_slopes(lead: ArrayView1<f64>, peaks: &[i64], fs: f64) -> Result<Vec<f64>> {
    let xs = contiguous(&lead);
    let m = decimation_factor(fs);
    let fs_d = fs / m as f64;
    let xd = block_averages(&xs, m);
    let (filter, _, _) = filters_for(fs_d)?;
    if xd.len() <= filter.padlen() + 2 {
        return Ok(vec![0.0; peaks.len()]);
    }
    let d = central_difference(&filtfilt_segmented(&filter, &xd, fs_d)?);
    let h = seconds(fs_d, 0.05);
    Ok(peaks
        .iter()
        .map(|&p| steepest(&d, (p as usize / m).min(d.len() - 1), h))
        .collect())
}

/// Mean over the leads of ln(slope of beat `i` / slope of beat `j`); leads flat at both beats
/// do not vote.
fn log_slope_ratio(slopes: &[Vec<f64>], i: usize, j: usize) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for s in slopes {
        let (a, b) = (s[i], s[j]);
        if a + b > 0.0 {
            let tiny = 1e-9 * (a + b);
            sum += (a.max(tiny) / b.max(tiny)).ln();
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// `peaks` without the detections that, paired with a neighbour closer than `PAIR_SECONDS`,
/// are much weaker than it across the leads (`slopes[lead][beat]`).
fn confirm_across_leads(peaks: &[i64], slopes: &[Vec<f64>], fs: f64) -> Vec<i64> {
    let pair = seconds(fs, PAIR_SECONDS) as i64;
    let weak = CROSS_LEAD_RATIO.ln();
    let mut kept: Vec<usize> = Vec::with_capacity(peaks.len());
    'beats: for i in 0..peaks.len() {
        while let Some(&j) = kept.last() {
            if peaks[i] - peaks[j] >= pair {
                break;
            }
            let g = log_slope_ratio(slopes, i, j);
            if g < weak {
                continue 'beats; // i is the P or T wave of the pair
            }
            if g > -weak {
                kept.pop(); // j was
            } else {
                break;
            }
        }
        kept.push(i);
    }
    kept.into_iter().map(|i| peaks[i]).collect()
}

/// A gap in the first lead's beats longer than this many times its recent median RR may be
/// filled from the other leads.
const GAP_FILL_RR: f64 = 1.5;

/// ... and at least this long, s (longer than the level reset after 2.5 s without a beat).
const GAP_FILL_SECONDS: f64 = 3.0;

/// `peaks` (the first lead's beats) with the beats the other leads see where the first lead has
/// a gap: longer than [`GAP_FILL_RR`] × the median of its last (up to) 8 RR intervals (at least
/// 3). A lead votes in a gap only if it has a beat within 150 ms of both beats bounding it (it
/// sees this record's QRS there; a flat or noisy lead does not vote); a beat at least 0.3 median
/// RR from both bounding beats is added when at least half of the voting leads have it (within
/// 100 ms; the median of their positions). Mechanism: a lead that goes flat or loses its QRS
/// for a while (electrode, posture) leaves a gap the others do not have; a pause or a long RR
/// in atrial fibrillation is empty on every lead. Gaps overlapping the first lead's flutter
/// spans are left alone.
fn fill_gaps(peaks: &[i64], others: &[Vec<i64>], flutter: &[(usize, usize)], fs: f64) -> Vec<i64> {
    let tol = seconds(fs, 0.15) as i64;
    let cluster = seconds(fs, 0.1) as i64;
    let near = |o: &[i64], p: i64| {
        let i = o.partition_point(|&q| q < p - tol);
        i < o.len() && o[i] <= p + tol
    };
    let mut out: Vec<i64> = Vec::with_capacity(peaks.len());
    for k in 0..peaks.len() {
        out.push(peaks[k]);
        if k < 3 || k + 1 == peaks.len() {
            continue;
        }
        let (a, b) = (peaks[k], peaks[k + 1]);
        let mut rr: Vec<i64> = (k.saturating_sub(8)..k)
            .map(|j| peaks[j + 1] - peaks[j])
            .collect();
        rr.sort_unstable();
        let med = rr[rr.len() / 2] as f64;
        if ((b - a) as f64) <= GAP_FILL_RR * med || ((b - a) as f64) < GAP_FILL_SECONDS * fs {
            continue;
        }
        if flutter
            .iter()
            .any(|&(f0, f1)| (f0 as i64) < b && (f1 as i64) > a)
        {
            continue; // the first lead saw flutter there, not a lost QRS
        }
        let margin = (0.3 * med) as i64;
        let voters: Vec<&Vec<i64>> = others.iter().filter(|o| near(o, a) && near(o, b)).collect();
        let mut cands: Vec<i64> = voters
            .iter()
            .flat_map(|o| {
                o.iter()
                    .copied()
                    .filter(|&c| c > a + margin && c < b - margin)
            })
            .collect();
        cands.sort_unstable();
        let need = voters.len().div_ceil(2).max(1);
        let mut i = 0;
        while i < cands.len() {
            let mut j = i + 1;
            while j < cands.len() && cands[j] - cands[i] <= cluster {
                j += 1;
            }
            if j - i >= need {
                out.push(cands[i + (j - i) / 2]);
            }
            i = j;
        }
    }
    out
}

/// Detect R peaks on a record's first lead (`x`: leads × samples) and drop, of two
/// detections closer than 0.3 s, one whose QRS slope is less than half its partner's across
/// the leads (geometric mean of the per-lead ratios). Returns sorted sample indices.
pub fn detect_rpeaks_leads(
    x: ndarray::ArrayView2<f64>,
    fs: f64,
    skip_fibrillation: bool,
) -> Result<Vec<i64>> {
    if x.nrows() == 0 {
        return Err(invalid_signal("no leads"));
    }
    let (peaks, flutter) = detect_with_flutter(x.row(0), fs, skip_fibrillation)?; // checks lead 0
    for (l, row) in x.outer_iter().enumerate().skip(1) {
        check_finite(&contiguous(&row)).map_err(|e| e.in_part(format_args!("lead {l}")))?;
    }
    if x.nrows() < 2 || peaks.len() < 2 {
        return Ok(peaks);
    }
    let others = x
        .outer_iter()
        .skip(1)
        .map(|row| detect_rpeaks(row, fs, skip_fibrillation))
        .collect::<Result<Vec<_>>>()?;
    let peaks = fill_gaps(&peaks, &others, &flutter, fs);
    let slopes = x
        .outer_iter()
        .map(|row| beat_slopes(row, &peaks, fs))
        .collect::<Result<Vec<_>>>()?;
    Ok(confirm_across_leads(&peaks, &slopes, fs))
}

/// [`detect_rpeaks_leads`] on every record of a 3-D array (records × leads × samples) in
/// parallel; a bad record's error names it.
pub fn detect_rpeaks_leads_records(
    x: ndarray::ArrayView3<f64>,
    fs: f64,
    skip_fibrillation: bool,
) -> Result<Vec<Vec<i64>>> {
    use rayon::prelude::*;
    crate::filter_design::check_fs(fs)?;
    x.outer_iter()
        .into_par_iter()
        .enumerate()
        .map(|(r, rec)| {
            detect_rpeaks_leads(rec, fs, skip_fibrillation)
                .map_err(|e| e.in_part(format_args!("record {r}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    /// The definition, one sample at a time.
    fn naive_maxima(v: &[f64]) -> Vec<usize> {
        let n = v.len();
        (0..n)
            .filter(|&i| (i == 0 || v[i] >= v[i - 1]) && (i + 1 == n || v[i] > v[i + 1]))
            .collect()
    }

    #[test]
    fn a_gap_is_filled_from_a_lead_that_sees_the_beats() {
        let fs = 100.0;
        let first: Vec<i64> = vec![0, 80, 160, 240, 320, 640, 720, 800];
        // lead 1 sees every beat, lead 2 is flat in the gap, lead 3 misses the bounding beats
        let seen: Vec<i64> = (0..11).map(|k| 80 * k + 2).collect();
        let flat: Vec<i64> = vec![0, 80, 160, 240, 320, 640, 720, 800];
        let noisy: Vec<i64> = vec![100, 400, 500, 700];
        let filled = fill_gaps(&first, std::slice::from_ref(&seen), &[], fs);
        assert_eq!(
            filled,
            vec![0, 80, 160, 240, 320, 402, 482, 562, 640, 720, 800]
        );
        // two voters, one of them with nothing in the gap: half the voters are enough
        assert_eq!(
            fill_gaps(&first, &[seen.clone(), flat.clone()], &[], fs),
            filled
        );
        // a lead that does not see the bounding beats does not vote
        assert_eq!(fill_gaps(&first, &[noisy], &[], fs), first);
        // a pause empty on every lead stays empty
        assert_eq!(fill_gaps(&first, &[flat], &[], fs), first);
        // a gap the first lead left for flutter is not filled
        assert_eq!(fill_gaps(&first, &[seen], &[(330, 630)], fs), first);
    }

    #[test]
    fn an_isolated_close_pair_keeps_one_member() {
        let fs = 100.0;
        let dec = Decimation { m: 1, fs };
        let mut d = vec![0.0; 1200];
        for (p, s) in [(100, 1.0), (120, 1.0), (300, 1.0), (320, 0.3), (600, 1.0)] {
            d[p] = s;
        }
        for p in [640, 660, 680, 700] {
            d[p] = 1.0; // a fast run: 200 ms apart, but not isolated
        }
        let peaks = vec![100, 120, 300, 320, 600, 640, 660, 680, 700, 1000];
        // equally steep: the earlier (a P wave) goes; a much weaker later one (a T wave) goes
        let kept = resolve_close_pairs(peaks, &d, &dec, fs);
        assert_eq!(kept, vec![120, 300, 600, 640, 660, 680, 700, 1000]);
    }

    #[test]
    fn only_sustained_flutter_is_a_span() {
        let hop = 100;
        // central seconds of flagged windows, as `fibrillation_spans` builds them
        let at = |w: &[usize]| -> Vec<(usize, usize)> {
            w.iter().map(|&k| (k * hop + 50, k * hop + 150)).collect()
        };
        // two windows (a short run of fast beats) are not flutter; three are
        assert!(sustained(&at(&[4, 5]), hop).is_empty());
        assert_eq!(sustained(&at(&[4, 5, 6]), hop), vec![(450, 750)]);
        // one unflagged window inside an episode does not split it; two do
        assert_eq!(sustained(&at(&[10, 12, 14]), hop), vec![(1050, 1550)]);
        assert!(sustained(&at(&[10, 13, 16]), hop).is_empty());
        // a pair beside an episode joins it only when close
        assert_eq!(
            sustained(&at(&[1, 2, 20, 21, 22, 24]), hop),
            vec![(2050, 2550)]
        );
        assert!(sustained(&[], hop).is_empty());
    }

    #[test]
    fn cross_lead_check_drops_the_weak_member_of_a_close_pair() {
        let fs = 100.0;
        let peaks = [100i64, 120, 300, 320, 500, 700, 720];
        // lead 0 cannot tell them apart (all equal); on lead 1, 100 is small next to 120 (a
        // P wave before its QRS), 300 and 320 are both steep (two real fast beats), 720 is
        // small next to 700 (a T wave)
        let lead0 = vec![1.0; 7];
        let lead1 = vec![0.05, 1.0, 1.0, 0.9, 1.0, 1.0, 0.1];
        let kept = confirm_across_leads(&peaks, &[lead0.clone(), lead1], fs);
        assert_eq!(kept, vec![120, 300, 320, 500, 700]);
        // one lead: nothing to compare with, nothing dropped
        assert_eq!(
            confirm_across_leads(&peaks, std::slice::from_ref(&lead0), fs),
            peaks.to_vec()
        );
        // a flat second lead does not vote
        let kept = confirm_across_leads(&peaks, &[lead0, vec![0.0; 7]], fs);
        assert_eq!(kept, peaks.to_vec());
    }

    #[test]
    fn local_maxima_match_the_definition() {
        // plateaus, ties, ends and lengths around the block size
        let mut state = 12345u64;
        for n in [0, 1, 2, 3, 4, 5, 17, 2047, 2048, 2049, 2050, 4097, 10_000] {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 60) % 5) as f64 // few levels: many plateaus
                })
                .collect();
            assert_eq!(local_maxima(&v), naive_maxima(&v), "n = {n}");
        }
    }

    /// A clean fast rhythm with fibrillatory waves: Gaussian QRS complexes at 150 bpm, broad T
    /// waves and a 6 Hz sinusoid; `noise` scales white noise (a fixed LCG) relative to the QRS.
    fn fast_rhythm(fs: f64, noise: f64) -> Vec<f64> {
        let mut state = 99u64;
        (0..(20.0 * fs) as usize)
            .map(|i| {
                let t = i as f64 / fs;
                let phase = t % 0.4;
                let qrs = (-((phase - 0.1) / 0.012).powi(2) / 2.0).exp();
                let tw = 0.3 * (-((phase - 0.28) / 0.04).powi(2) / 2.0).exp();
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let white = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 3.46;
                qrs + tw + 0.08 * (TAU * 6.0 * t).sin() + noise * white
            })
            .collect()
    }

    #[test]
    fn muscle_noise_switches_the_band_and_a_clean_fast_rhythm_does_not() {
        let fs = 200.0;
        let (wide, _, _) = filters_for(fs).unwrap();
        for (noise, expected) in [(0.0, false), (0.01, false), (0.3, true)] {
            let x = fast_rhythm(fs, noise);
            let d = central_difference(&filtfilt_segmented(&wide, &x, fs).unwrap());
            assert_eq!(
                muscle_noise_dominates(&x, &d, fs),
                expected,
                "noise {noise}"
            );
        }
        // and the narrow band finds the beats in the noisy one
        let x = fast_rhythm(fs, 0.3);
        let peaks = detect_rpeaks(ArrayView1::from(&x[..]), fs, false).unwrap();
        assert!(
            (48..=52).contains(&peaks.len()),
            "{} beats in 20 s at 150 bpm",
            peaks.len()
        );
    }

    #[test]
    fn windows_filter_like_whole_lanes() {
        let fs = 180.0;
        let filter =
            SosFilter::new(butter_sos(2, &[5.0, 25.0], fs, BandType::Bandpass).unwrap()).unwrap();
        let x: Vec<f64> = (0..5000)
            .map(|i| (i as f64 * 0.07).sin() + 0.3 * (i as f64 * 0.9).cos())
            .collect();
        let (starts, len) = ([0, 1000, 2500, 3900], 1100);
        let (rows, offset) = filter.filtfilt_windows(&x, &starts, len).unwrap();
        for (k, &s) in starts.iter().enumerate() {
            let alone = filter
                .filtfilt(ArrayView1::from(&x[s..s + len]).into_dyn())
                .unwrap();
            for j in 0..len {
                assert_eq!(rows[offset + j][k].to_bits(), alone[j].to_bits());
            }
        }
    }
}
