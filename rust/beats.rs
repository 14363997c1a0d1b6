//! The beat and interval schema, owned here and used by the synthesizer (exact times), the
//! delineator (measured fiducials) and the beat table: what a beat's fiducials are, how record
//! intervals are reduced from them, and the per-beat rhythm, interval and amplitude features.
//!
//! Times are in seconds with NaN for a missing fiducial, so that the synthesizer's exact wave
//! times and the delineator's sample indices (divided by the rate) go through the same code.

use crate::errors::Result;
use crate::filters::Sample;
use ndarray::{Array2, ArrayView2, ArrayView3};

/// Fiducial columns of a beat, in order.
pub const FIDUCIALS: [&str; 9] = [
    "p_on", "p_peak", "p_off", "qrs_on", "r_peak", "qrs_off", "t_on", "t_peak", "t_off",
];
/// A beat's fiducials as sample indices, [`MISSING`] where absent.
pub type Beat = [i64; 9];
/// A beat's fiducials as times (s), NaN where absent.
pub type BeatTimes = [f64; 9];
pub const MISSING: i64 = -1;

pub const P_ON: usize = 0;
pub const P_PEAK: usize = 1;
pub const P_OFF: usize = 2;
pub const QRS_ON: usize = 3;
pub const R_PEAK: usize = 4;
pub const QRS_OFF: usize = 5;
pub const T_ON: usize = 6;
pub const T_PEAK: usize = 7;
pub const T_OFF: usize = 8;

/// Record intervals (ms unless named): HR (bpm) = 60 000 / median RR, SD of RR, medians of PR,
/// QRS and QT over the beats where both ends exist, QTc by Bazett (QT/√RR) and Fridericia
/// (QT/∛RR) with the median RR in s, and the number of beats.
pub const INTERVALS: [&str; 8] = [
    "hr",
    "rr_std",
    "pr",
    "qrs",
    "qt",
    "qtc_bazett",
    "qtc_fridericia",
    "n_beats",
];

/// Beats averaged for the local RR (the previous ones, this beat's pre-RR included).
pub const LOCAL_BEATS: usize = 10;

/// RR intervals on each side of a beat that make its centred neighbourhood.
pub const CENTRED_HALF: usize = 5;

/// RR intervals on each side of a beat over which `rhythm_irregularity` is measured: long
/// enough (over a minute at 70 bpm) that a few ectopic beats or a short run do not move it,
/// so it tells a sustained irregular rhythm (atrial fibrillation) from ectopy in a regular one.
pub const RHYTHM_HALF: usize = 50;

/// Per-beat features that do not depend on a lead (ms or ratios), in column order:
/// RR before and after the beat, the mean of the last [`LOCAL_BEATS`] RR intervals (ending with
/// `pre_rr`), the record's median RR (robust to ectopic beats and pauses); `pre_rr` and
/// `post_rr` over `local_rr`, `pre_rr` over `post_rr`, `pre_rr` and `local_rr` over
/// `record_rr`; `centred_rr`, the median of the [`CENTRED_HALF`] RR intervals before and after
/// the beat (which one ectopic beat does not move), `pre_rr` over it, and `rr_irregularity`,
/// the median absolute difference of successive RR intervals in that neighbourhood over
/// `centred_rr` (≈ 0.02 in sinus rhythm with an isolated ectopic beat, 0.1-0.4 in atrial
/// fibrillation: what tells a premature beat from an irregular rhythm), `rhythm_irregularity`,
/// how irregularly irregular the [`RHYTHM_HALF`] intervals on each side are (see
/// [`rhythm_irregularity`]: a few ectopic beats, bigeminy or trigeminy leave it near the sinus
/// level, 0.01-0.06; sustained atrial fibrillation holds it at 0.15-0.4); the beat's own PR,
/// QRS and QT.
pub const FEATURES: [&str; 16] = [
    "pre_rr",
    "post_rr",
    "local_rr",
    "record_rr",
    "pre_rr_local",
    "post_rr_local",
    "pre_post_rr",
    "pre_rr_record",
    "local_rr_record",
    "centred_rr",
    "pre_rr_centred",
    "rr_irregularity",
    "rhythm_irregularity",
    "pr",
    "qrs",
    "qt",
];

/// Per-beat, per-lead amplitudes (signal units, mV): R (at `r_peak`) and T (at `t_peak`) above
/// the level at QRS onset, and the QRS peak-to-peak between onset and offset.
pub const AMPLITUDES: [&str; 3] = ["r_amplitude", "qrs_peak_to_peak", "t_amplitude"];

/// Median (mean of the two middle values for an even count); NaN for none. Reorders `v`.
pub fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lower, mid, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    let upper = *mid;
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (below + upper)
    }
}

/// Fiducial times (s) of sample-index beats.
pub fn times_of(beats: &[Beat], fs: f64) -> Vec<BeatTimes> {
    beats
        .iter()
        .map(|b| {
            b.map(|v| {
                if v == MISSING {
                    f64::NAN
                } else {
                    v as f64 / fs
                }
            })
        })
        .collect()
}

/// Sample indices of beat times in a record of `n` samples ([`MISSING`] where the time is NaN
/// or outside the record), and the times with those fiducials set to NaN.
pub fn to_samples(times: &[BeatTimes], fs: f64, n: usize) -> (Vec<Beat>, Vec<BeatTimes>) {
    let mut rows = Vec::with_capacity(times.len());
    let mut inside = Vec::with_capacity(times.len());
    for t in times {
        let mut row = [MISSING; 9];
        let mut kept = [f64::NAN; 9];
        for k in 0..9 {
            let j = (t[k] * fs).round();
            if t[k].is_finite() && j >= 0.0 && (j as usize) < n {
                row[k] = j as i64;
                kept[k] = t[k];
            }
        }
        rows.push(row);
        inside.push(kept);
    }
    (rows, inside)
}

fn span(b: &BeatTimes, a: usize, z: usize) -> f64 {
    (b[z] - b[a]) * 1000.0 // NaN if either end is missing
}

/// The record intervals of [`INTERVALS`] from beat times (NaN where undefined). RR is taken
/// between consecutive beats with an R peak.
pub fn record_intervals(beats: &[BeatTimes]) -> [f64; 8] {
    let r: Vec<f64> = beats
        .iter()
        .map(|b| b[R_PEAK])
        .filter(|v| v.is_finite())
        .collect();
    let mut rr: Vec<f64> = r.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
    let rr_std = if rr.len() >= 2 {
        let m = rr.iter().sum::<f64>() / rr.len() as f64;
        (rr.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (rr.len() - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let rr_med = median(&mut rr);
    let med_span = |a: usize, z: usize| {
        let mut v: Vec<f64> = beats
            .iter()
            .map(|b| span(b, a, z))
            .filter(|v| v.is_finite())
            .collect();
        median(&mut v)
    };
    let qt = med_span(QRS_ON, T_OFF);
    let rr_s = rr_med / 1000.0;
    [
        60_000.0 / rr_med,
        rr_std,
        med_span(P_ON, QRS_ON),
        med_span(QRS_ON, QRS_OFF),
        qt,
        qt / rr_s.sqrt(),
        qt / rr_s.cbrt(),
        beats.len() as f64,
    ]
}

/// Number of rhythm features (the first columns of [`FEATURES`]).
pub const N_RHYTHM: usize = 13;

/// Longest repeat of a regularly irregular rhythm that [`rhythm_irregularity`] allows for:
/// bigeminy repeats every 2 intervals, trigeminy every 3, quadrigeminy every 4.
pub const RHYTHM_LAGS: usize = 4;

/// How irregularly irregular `rr` is: the smallest, over lags k = 1..=[`RHYTHM_LAGS`], of the
/// median |RR(i) − RR(i−k)|, over the median RR. A regular rhythm is small at lag 1, a
/// regularly irregular one (bigeminy, trigeminy, fixed 2:1/3:1 patterns) at its period;
/// atrial fibrillation is large at every lag. NaN for fewer than two intervals.
///
/// `lag_medians[k - 1]` and `rr_median` are those medians over `rr` (see
/// [`rhythm_features`], which keeps them up to date as its window slides).
fn rhythm_irregularity(len: usize, lag_medians: &[f64], rr_median: f64) -> f64 {
    let mut best = f64::NAN;
    for &m in &lag_medians[..RHYTHM_LAGS.min(len.saturating_sub(1))] {
        if best.is_nan() || m < best {
            best = m;
        }
    }
    best / rr_median
}

/// The values of a window sliding forward over a sequence, kept sorted (by `total_cmp`), so
/// its median is read in O(1) and each step costs one binary search and a short move. The
/// median is that of [`median`], bit for bit.
struct SlidingMedian {
    sorted: Vec<f64>,
    /// The window `[lo, hi)` of the sequence held now.
    lo: usize,
    hi: usize,
}

impl SlidingMedian {
    fn new() -> Self {
        Self {
            sorted: Vec::new(),
            lo: 0,
            hi: 0,
        }
    }

    /// Move to the window `[lo, hi)` of `seq` (neither end may move back) and return its median
    /// (NaN when empty).
    fn median_over(&mut self, seq: impl Fn(usize) -> f64, lo: usize, hi: usize) -> f64 {
        let hi = hi.max(lo);
        debug_assert!(lo >= self.lo && hi >= self.hi);
        // the usual step, one value in and one out: one move of the values between them
        while self.hi < hi && self.lo < lo && self.lo < self.hi {
            let (old, new) = (seq(self.lo), seq(self.hi));
            let from = self
                .sorted
                .binary_search_by(|x| x.total_cmp(&old))
                .expect("a value in the window");
            let to = self.sorted.partition_point(|x| x.total_cmp(&new).is_lt());
            if to > from {
                self.sorted.copy_within(from + 1..to, from);
                self.sorted[to - 1] = new;
            } else {
                self.sorted.copy_within(to..from, to + 1);
                self.sorted[to] = new;
            }
            self.lo += 1;
            self.hi += 1;
        }
        while self.hi < hi {
            let v = seq(self.hi);
            let at = self.sorted.partition_point(|x| x.total_cmp(&v).is_lt());
            self.sorted.insert(at, v);
            self.hi += 1;
        }
        while self.lo < lo {
            let v = seq(self.lo);
            let at = self
                .sorted
                .binary_search_by(|x| x.total_cmp(&v))
                .expect("a value in the window");
            self.sorted.remove(at);
            self.lo += 1;
        }
        let n = self.sorted.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => self.sorted[n / 2],
            _ => 0.5 * (self.sorted[n / 2 - 1] + self.sorted[n / 2]),
        }
    }
}

/// One beat's rhythm features from its RR before and after, the local mean and record RR
/// (`[pre, post, local, record]`, ms), the centred RR, the median successive difference around
/// it and the rhythm irregularity.
fn rhythm_row(
    [pre, post, local, record_rr]: [f64; 4],
    centred: f64,
    successive: f64,
    irregularity: f64,
) -> [f64; N_RHYTHM] {
    [
        pre,
        post,
        local,
        record_rr,
        pre / local,
        post / local,
        pre / post,
        pre / record_rr,
        local / record_rr,
        centred,
        pre / centred,
        successive / centred,
        irregularity,
    ]
}

/// The rhythm features (the first [`N_RHYTHM`] of [`FEATURES`]) of beats at times `r` (s,
/// increasing).
pub fn rhythm_features(r: &[f64]) -> Vec<[f64; N_RHYTHM]> {
    let rr: Vec<f64> = r.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
    let record_rr = median(&mut rr.clone());
    // prefix sums for the local means
    let mut cum = Vec::with_capacity(rr.len() + 1);
    cum.push(0.0);
    for v in &rr {
        cum.push(cum.last().copied().unwrap_or(0.0) + v);
    }
    // the medians of the centred and wide windows of RR and of their lag-k differences, each
    // window sliding forward with the beat
    let rr_ref = &rr;
    let lagged = move |k: usize| move |j: usize| (rr_ref[j + k] - rr_ref[j]).abs();
    let (mut centred_rr, mut centred_diff) = (SlidingMedian::new(), SlidingMedian::new());
    let mut wide_rr = SlidingMedian::new();
    let mut wide_lags: Vec<SlidingMedian> =
        (0..RHYTHM_LAGS).map(|_| SlidingMedian::new()).collect();
    let mut lag_medians = [f64::NAN; RHYTHM_LAGS];
    (0..r.len())
        .map(|i| {
            // rr[i - 1] is the interval ending at beat i
            let pre = if i > 0 { rr[i - 1] } else { f64::NAN };
            let post = rr.get(i).copied().unwrap_or(f64::NAN);
            let local = if i > 0 {
                let lo = i.saturating_sub(LOCAL_BEATS);
                (cum[i] - cum[lo]) / (i - lo) as f64
            } else {
                f64::NAN
            };
            let (lo, hi) = (
                i.saturating_sub(CENTRED_HALF),
                (i + CENTRED_HALF).min(rr.len()),
            );
            let centred = centred_rr.median_over(|j| rr[j], lo, hi);
            let successive = centred_diff.median_over(lagged(1), lo, hi.saturating_sub(1));
            let (lo, hi) = (
                i.saturating_sub(RHYTHM_HALF),
                (i + RHYTHM_HALF).min(rr.len()),
            );
            let wide = wide_rr.median_over(|j| rr[j], lo, hi);
            for (k, (window, m)) in wide_lags.iter_mut().zip(&mut lag_medians).enumerate() {
                *m = window.median_over(lagged(k + 1), lo, hi.saturating_sub(k + 1));
            }
            let irregularity = rhythm_irregularity(hi.saturating_sub(lo), &lag_medians, wide);
            rhythm_row(
                [pre, post, local, record_rr],
                centred,
                successive,
                irregularity,
            )
        })
        .collect()
}

/// The smallest and largest value of `seg` (NaNs ignored; infinities for none), with four
/// running minima and maxima (a loop that vectorises; the same values as one running pair).
pub(crate) fn extent<T: Sample>(seg: &[T]) -> (f64, f64) {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let quads = seg.chunks_exact(4);
    let tail = quads.remainder();
    for q in quads {
        for k in 0..4 {
            let v = q[k].to_f64();
            lo[k] = lo[k].min(v);
            hi[k] = hi[k].max(v);
        }
    }
    for (k, v) in tail.iter().enumerate() {
        lo[k] = lo[k].min(v.to_f64());
        hi[k] = hi[k].max(v.to_f64());
    }
    (
        lo.iter().copied().fold(f64::INFINITY, f64::min),
        hi.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// The amplitudes of [`AMPLITUDES`] of one beat on one lead (NaN where a fiducial is missing).
fn amplitudes<T: Sample>(lead: &[T], b: &Beat) -> [f64; 3] {
    let at = |k: usize| {
        if b[k] == MISSING {
            f64::NAN
        } else {
            lead[b[k] as usize].to_f64()
        }
    };
    let base = at(QRS_ON);
    let pp = if b[QRS_ON] != MISSING && b[QRS_OFF] != MISSING {
        let (lo, hi) = extent(&lead[b[QRS_ON] as usize..=b[QRS_OFF] as usize]);
        hi - lo
    } else {
        f64::NAN
    };
    [at(R_PEAK) - base, pp, at(T_PEAK) - base]
}

/// Number of columns of [`beat_features`] for `n_leads` leads.
pub fn n_feature_columns(n_leads: usize) -> usize {
    FEATURES.len() + AMPLITUDES.len() * n_leads
}

/// Per-beat features: the columns of [`FEATURES`], then [`AMPLITUDES`] lead by lead.
///
/// `x` is the record `(n_leads, n_samples)`, `r` the beat times used for the rhythm (s; the
/// annotated or detected beat positions, or the generator's exact R times), `times` the beats'
/// fiducial times (s, NaN where missing) for the intervals, and `rows` the same as sample
/// indices for the amplitudes. `r`, `times` and `rows` have one entry per beat.
#[inline(always)]
pub fn beat_features<T: Sample>(
    x: ArrayView2<T>,
    r: &[f64],
    times: &[BeatTimes],
    rows: &[Beat],
) -> Array2<f64> {
    let n_leads = x.nrows();
    let mut out = Array2::<f64>::zeros((r.len(), n_feature_columns(n_leads)));
    // contiguous leads (the synthesizer's and most callers' rows) are borrowed, not copied
    let lanes: Vec<_> = x
        .outer_iter()
        .map(|l| crate::detect::contiguous(&l))
        .collect();
    for (i, rhythm) in rhythm_features(r).into_iter().enumerate() {
        let mut row = out.row_mut(i);
        let t = &times[i];
        let fixed = rhythm.into_iter().chain([
            span(t, P_ON, QRS_ON),
            span(t, QRS_ON, QRS_OFF),
            span(t, QRS_ON, T_OFF),
        ]);
        // the record's samples at the beats a few rows on (a row's work is short, so further
        // ahead than the delineator's loops)
        if let Some(ahead) = rows.get(i + 8) {
            let (lo, hi) = (ahead[QRS_ON], ahead[T_PEAK].max(ahead[QRS_OFF]));
            if lo != MISSING && hi != MISSING {
                for l in &lanes {
                    crate::delineate::prefetch(l, lo as usize, hi as usize + 1);
                }
            }
        }
        let amps = lanes.iter().flat_map(|l| amplitudes(l, &rows[i]));
        for (o, v) in row.iter_mut().zip(fixed.chain(amps)) {
            *o = v;
        }
    }
    out
}

/// One record's beat table: beat positions (the given `rpeaks`, or R peaks detected and fused
/// across leads), their global fiducials from [`crate::delineate::delineate_record`], and
/// [`beat_features`] with the rhythm taken from the beat positions.
pub struct BeatTable {
    pub positions: Vec<usize>,
    pub fiducials: Vec<Beat>,
    pub features: Array2<f64>,
}

/// The beat table of one record `(n_leads, n_samples)`.
pub fn beat_table(x: ArrayView2<f64>, fs: f64, rpeaks: Option<&[i64]>) -> Result<BeatTable> {
    let (_, fiducials, positions) = crate::delineate::delineate_record(x, fs, rpeaks)?;
    let r: Vec<f64> = positions.iter().map(|&p| p as f64 / fs).collect();
    let features = beat_features(x, &r, &times_of(&fiducials, fs), &fiducials);
    Ok(BeatTable {
        positions,
        fiducials,
        features,
    })
}

/// Beat tables of a batch `(n_records, n_leads, n_samples)`, records in parallel.
pub fn beat_table_batch<T: Sample>(x: ArrayView3<T>, fs: f64) -> Result<Vec<BeatTable>> {
    crate::delineate::per_record(x, fs, |rec| beat_table(rec, fs, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// [`rhythm_features`] as it was written before the sliding medians: every window's
    /// medians selected afresh.
    fn rhythm_features_reference(r: &[f64]) -> Vec<[f64; N_RHYTHM]> {
        let rr: Vec<f64> = r.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
        let record_rr = median(&mut rr.clone());
        let irregularity = |w: &[f64]| {
            let mut best = f64::NAN;
            for k in 1..=RHYTHM_LAGS.min(w.len().saturating_sub(1)) {
                let mut d: Vec<f64> = w[k..].iter().zip(w).map(|(a, b)| (a - b).abs()).collect();
                let m = median(&mut d);
                if best.is_nan() || m < best {
                    best = m;
                }
            }
            best / median(&mut w.to_vec())
        };
        (0..r.len())
            .map(|i| {
                let pre = if i > 0 { rr[i - 1] } else { f64::NAN };
                let post = rr.get(i).copied().unwrap_or(f64::NAN);
                let local = if i > 0 {
                    let lo = i.saturating_sub(LOCAL_BEATS);
                    rr[lo..i].iter().sum::<f64>() / (i - lo) as f64
                } else {
                    f64::NAN
                };
                let near = &rr[i.saturating_sub(CENTRED_HALF)..(i + CENTRED_HALF).min(rr.len())];
                let mut diffs: Vec<f64> = near.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
                let (centred, successive) = (median(&mut near.to_vec()), median(&mut diffs));
                let wide = &rr[i.saturating_sub(RHYTHM_HALF)..(i + RHYTHM_HALF).min(rr.len())];
                let row = [pre, post, local, record_rr];
                rhythm_row(row, centred, successive, irregularity(wide))
            })
            .collect()
    }

    #[test]
    fn extent_is_the_running_minimum_and_maximum() {
        let pool = [0.5, -2.0, 3.0, f64::NAN, -0.0, 7.5, -7.5];
        for len in 0..14 {
            for start in 0..pool.len() {
                let seg: Vec<f64> = (0..len)
                    .map(|i| pool[(start + 3 * i) % pool.len()])
                    .collect();
                let want = seg
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                let got = extent(&seg);
                assert_eq!(got.0.to_bits(), want.0.to_bits(), "{seg:?}");
                assert_eq!(got.1.to_bits(), want.1.to_bits(), "{seg:?}");
            }
        }
    }

    #[test]
    fn sliding_medians_equal_medians_selected_afresh() {
        // RR on a 360 Hz grid (many ties), regular stretches, bigeminy and AF-like noise, at
        // every length from 0 to 130 beats and one of 400
        let mut state = 12345u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in (0..=130).chain([400]) {
            let mut r = vec![0.0];
            for k in 1..n {
                let base = if k % 40 < 20 {
                    0.8
                } else {
                    0.5 + 0.6 * uniform()
                };
                let rr = if k % 7 == 3 { 0.5 } else { base };
                r.push(r[k - 1] + (rr * 360.0).round() / 360.0);
            }
            r.truncate(n);
            let (got, want) = (rhythm_features(&r), rhythm_features_reference(&r));
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                for c in 0..N_RHYTHM {
                    // the local mean: prefix sums in the package, a fresh sum here
                    if c == 2 || c == 4 || c == 5 || c == 8 {
                        assert!(
                            (g[c] - w[c]).abs() <= 1e-9 * w[c].abs()
                                || (g[c].is_nan() && w[c].is_nan())
                        );
                    } else {
                        assert!(
                            g[c].to_bits() == w[c].to_bits() || (g[c].is_nan() && w[c].is_nan()),
                            "n {n} beat {i} column {c}: {} vs {}",
                            g[c],
                            w[c]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn median_odd_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn rhythm_of_a_premature_beat() {
        // regular 1 s rhythm, beat 5 comes 0.4 s early
        let mut r: Vec<f64> = (0..10).map(|k| k as f64).collect();
        r[5] -= 0.4;
        let f = rhythm_features(&r);
        assert_eq!(FEATURES[N_RHYTHM], "pr");
        assert!(f[0][0].is_nan() && f[0][2].is_nan());
        assert!(f[9][1].is_nan());
        assert!((f[5][0] - 600.0).abs() < 1e-9);
        assert!((f[5][1] - 1400.0).abs() < 1e-9);
        // local mean of the previous 5 intervals (1000 x 4 + 600)
        assert!((f[5][2] - 920.0).abs() < 1e-9);
        assert!((f[5][4] - 600.0 / 920.0).abs() < 1e-12);
        assert!((f[5][6] - 600.0 / 1400.0).abs() < 1e-12);
        assert!((f[5][3] - 1000.0).abs() < 1e-9); // median of 8 x 1000, 600, 1400
                                                  // centred: intervals 0..10 = 1000 x 7, 600, 1400 -> median 1000; successive
                                                  // differences 0 x 6, 400, 800, 400 -> median 0
        assert!((f[5][9] - 1000.0).abs() < 1e-9);
        assert!((f[5][10] - 0.6).abs() < 1e-12);
        assert!(f[5][11].abs() < 1e-12);
    }

    #[test]
    fn irregular_rhythm_is_irregular() {
        // alternating 700 / 1100 ms intervals (irregular), against a regular train
        let mut r = vec![0.0];
        for k in 0..30 {
            let last = *r.last().unwrap();
            r.push(last + if k % 2 == 0 { 0.7 } else { 1.1 });
        }
        let f = rhythm_features(&r);
        assert!((f[15][11] - 400.0 / f[15][9]).abs() < 1e-9 && f[15][11] > 0.3);
        let regular: Vec<f64> = (0..30).map(|k| k as f64 * 0.9).collect();
        assert!(rhythm_features(&regular)[15][11].abs() < 1e-9);
    }

    #[test]
    fn rhythm_irregularity_ignores_a_few_ectopic_beats_and_not_fibrillation() {
        // a regular 800 ms rhythm with three premature beats (500 ms, then a 1100 ms pause)
        let mut rr = vec![800.0; 120];
        for k in [40, 60, 80] {
            rr[k] = 500.0;
            rr[k + 1] = 1100.0;
        }
        let times = |rr: &[f64]| {
            let mut r = vec![0.0];
            for v in rr {
                r.push(r.last().unwrap() + v / 1000.0);
            }
            r
        };
        let f = rhythm_features(&times(&rr));
        for i in [41, 61, 81] {
            assert!(f[i][0] < 600.0 && f[i][12].abs() < 1e-9, "{}", f[i][12]);
        }
        // an irregularly irregular rhythm: RR uniform in 450-1050 ms (a fixed LCG)
        let mut state = 12345u64;
        let af: Vec<f64> = (0..120)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                450.0 + 600.0 * ((state >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect();
        let g = rhythm_features(&times(&af));
        assert!(g[60][12] > 0.1, "{}", g[60][12]);
        // the smallest over lags 1-4 of the median |RR(i) - RR(i-k)|, over the median RR, of
        // the ±50 intervals
        let wide = &af[10..110];
        let expected = (1..=4)
            .map(|k| {
                let mut d: Vec<f64> = (k..wide.len())
                    .map(|i| (wide[i] - wide[i - k]).abs())
                    .collect();
                median(&mut d)
            })
            .fold(f64::INFINITY, f64::min)
            / median(&mut wide.to_vec());
        assert!((g[60][12] - expected).abs() < 1e-12);
        // bigeminy and trigeminy are irregular beat to beat but regular at their period
        for period in [2, 3] {
            let rr: Vec<f64> = (0..120)
                .map(|k| if k % period == 0 { 550.0 } else { 950.0 })
                .collect();
            let f = rhythm_features(&times(&rr));
            assert!(
                f[60][11] > 0.3 && f[60][12].abs() < 1e-9,
                "{:?}",
                &f[60][11..13]
            );
        }
    }

    #[test]
    fn local_window_is_the_last_ten_intervals() {
        // 20 intervals of 800 ms then 20 of 1200 ms
        let mut r = vec![0.0];
        for k in 0..40 {
            let last = *r.last().unwrap();
            r.push(last + if k < 20 { 0.8 } else { 1.2 });
        }
        let f = rhythm_features(&r);
        // beat 25's local mean: intervals 15..25 (5 short, 5 long)
        let expected: f64 = (15..25)
            .map(|k| if k < 20 { 800.0 } else { 1200.0 })
            .sum::<f64>()
            / 10.0;
        assert!(
            (f[25][2] - expected).abs() < 1e-9,
            "{} {}",
            f[25][2],
            expected
        );
    }

    #[test]
    fn intervals_from_times() {
        let beat = |r: f64| -> BeatTimes {
            [
                r - 0.2,
                r - 0.15,
                r - 0.1,
                r - 0.05,
                r,
                r + 0.05,
                r + 0.15,
                r + 0.25,
                r + 0.35,
            ]
        };
        let mut beats: Vec<BeatTimes> = (0..5).map(|k| beat(k as f64 * 0.8)).collect();
        beats[2][P_ON] = f64::NAN;
        let iv = record_intervals(&beats);
        assert!((iv[0] - 75.0).abs() < 1e-9);
        assert!((iv[2] - 150.0).abs() < 1e-9);
        assert!((iv[3] - 100.0).abs() < 1e-9);
        assert!((iv[4] - 400.0).abs() < 1e-9);
        assert!((iv[5] - 400.0 / 0.8f64.sqrt()).abs() < 1e-9);
        assert_eq!(iv[7], 5.0);
        assert!(record_intervals(&[]).iter().take(7).all(|v| v.is_nan()));
    }

    #[test]
    fn amplitudes_against_the_baseline_at_qrs_onset() {
        let mut x = Array2::<f64>::from_elem((1, 100), 0.5);
        x[[0, 20]] = 2.0; // R
        x[[0, 23]] = -0.5; // S
        x[[0, 50]] = 0.8; // T
        let b: Beat = [MISSING, MISSING, MISSING, 15, 20, 25, 40, 50, 60];
        let r = [20.0 / 100.0];
        let times = times_of(&[b], 100.0);
        let f = beat_features(x.view(), &r, &times, &[b]);
        assert_eq!(f.ncols(), n_feature_columns(1));
        let amp = &f.row(0).to_vec()[FEATURES.len()..];
        assert!((amp[0] - 1.5).abs() < 1e-12);
        assert!((amp[1] - 2.5).abs() < 1e-12);
        assert!((amp[2] - 0.3).abs() < 1e-12);
        assert!(f[[0, N_RHYTHM]].is_nan()); // no P wave, no PR
        assert!((f[[0, N_RHYTHM + 1]] - 100.0).abs() < 1e-9);
    }

    #[test]
    fn to_samples_masks_outside() {
        let t: BeatTimes = [-0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 10.0];
        let (rows, kept) = to_samples(&[t], 100.0, 100);
        assert_eq!(rows[0][0], MISSING);
        assert_eq!(rows[0][1], 0);
        assert_eq!(rows[0][8], MISSING);
        assert!(kept[0][8].is_nan() && kept[0][0].is_nan());
        assert_eq!(kept[0][4], 0.3);
    }
}
