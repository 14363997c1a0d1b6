//! Beat selection when muscle noise dominates a record (used by [`crate::detect`]).
//!
//! At low signal-to-noise ratios the adaptive threshold of the Pan-Tompkins rules lets in noise
//! peaks: its levels are running means, and dense broadband noise puts many peaks close to the
//! QRS's in the band, so accepted noise pulls the signal level down and more noise follows. Two
//! things tell beats from noise there that a running threshold does not use:
//!
//! 1. **Shape.** A record's QRS complexes look alike; noise does not. A matched filter with
//!    the record's own QRS template (the medoid of its tallest energy peaks and the five
//!    peaks most like it, 5-25 Hz) adds up a beat's samples coherently and the noise's not.
//!    The score of a sample is the larger of the matched filter's (positive) energy over 40 ms
//!    and half the band's energy (the MWI): beats of another shape (ventricular ectopics)
//!    still count by their energy. Each is scaled by the typical height of its peaks.
//! 2. **Rhythm.** Beats follow one another at intervals near the record's typical RR; a noise
//!    peak between two beats splits one interval into two short ones. The beats are the path
//!    through the score's peaks (at least 200 ms apart) that maximises
//!    `sum log(h_i / theta) - sum (log(RR / RR_typical))^2`: each peak gains by its height over
//!    a threshold `theta` (1.4 times the Otsu split of the log peak heights: between the noise
//!    peaks and the beats), each interval pays by how far it is from the typical one (the
//!    median interval of the peaks above `theta`). Long intervals pay at most 0.5 (an interval
//!    of twice the typical one), so a peak below `theta` gains nothing inside a pause of over
//!    four typical intervals (one part would still pay the most); in a shorter gap (a missed
//!    beat) a peak near `theta` may be taken, as the adaptive rules' search-back does. Two
//!    peaks closer than 360 ms cannot both be beats unless the lower has a quarter of the
//!    other's score, and a peak within 450 ms after a beat with less than half its steepest
//!    slope is that beat's T wave (the adaptive rules' test, over a window that reaches the T
//!    waves of a wide QRS).
//!
//! Long records are scored in 10-s windows (template, scales, `theta` and the typical RR per
//! window); the path runs over the whole record. Chosen on the synthetic and CPSC 2021 sets of
//! `benches/noise_sweep.py`; see BENCHMARKS.md.

use crate::beats::median;
use crate::detect::{moving_energy, seconds};

/// Window (s) over which template, scales, threshold and typical RR are measured.
const WINDOW: f64 = 10.0;
/// Tallest energy peaks considered for the template, and how many of them make it.
const TEMPLATE_CANDIDATES: usize = 12;
const TEMPLATE_MEMBERS: usize = 6;
/// Template half-width (s) and how far (s) a member may shift to align with the medoid.
const TEMPLATE_HALF: f64 = 0.06;
const TEMPLATE_SHIFT: f64 = 0.05;
/// Window (s) over which the matched filter's energy is averaged.
const MATCHED_WINDOW: f64 = 0.04;
/// Weight of the band's energy against the matched filter's in the score.
const ENERGY_WEIGHT: f64 = 0.5;
/// Shortest interval (s) between two candidate peaks (and two beats).
const MIN_RR: f64 = 0.2;
/// Peaks of the score closer than this (s) are one peak when the typical heights are measured.
const HEIGHT_PEAK_DISTANCE: f64 = 0.25;
/// `theta` over the Otsu split of the log peak heights.
const THETA_OVER_SPLIT: f64 = 1.4;
/// Longest interval (s) the path may bridge, and the most a long interval pays.
const MAX_RR: f64 = 6.0;
const LONG_RR_COST: f64 = 0.5;
/// Two beats closer than this (s) need comparable scores ([`CLOSE_RATIO`]).
const CLOSE: f64 = 0.36;
const CLOSE_RATIO: f64 = 0.25;
/// A peak less than this (s) after a beat, with less than [`T_WAVE_SLOPE`] of its steepest
/// slope, is its T wave (the adaptive rules' test; the window reaches the T waves of a wide
/// QRS, which peak up to ~450 ms after it).
const T_WAVE_WINDOW: f64 = 0.45;
const T_WAVE_SLOPE: f64 = 0.5;
/// Half-width (s) of the window in which a peak's steepest slope is measured.
const SLOPE_REACH: f64 = 0.075;

/// Local maxima of `f` (a plateau counts once, at its last sample; the ends count), kept from
/// the highest down unless a kept one lies within `dist` samples; returned in order.
fn separated_peaks(f: &[f64], dist: usize) -> Vec<usize> {
    let n = f.len();
    let mut cands: Vec<usize> = (0..n)
        .filter(|&i| (i == 0 || f[i] >= f[i - 1]) && (i + 1 == n || f[i] > f[i + 1]))
        .collect();
    cands.sort_by(|&a, &b| f[b].total_cmp(&f[a]).then(a.cmp(&b)));
    // `blocked[j]`: a kept peak lies within `dist` samples of j
    let mut blocked = vec![false; n];
    let mut kept = Vec::new();
    for i in cands {
        if !blocked[i] {
            kept.push(i);
            blocked[i.saturating_sub(dist - 1)..(i + dist).min(n)].fill(true);
        }
    }
    kept.sort_unstable();
    kept
}

/// Quantile `q` with linear interpolation between order statistics (numpy's default).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable_by(|a, b| a.total_cmp(b));
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (pos - lo as f64) * (s[hi] - s[lo])
}

/// The peaks of `f` (at least [`HEIGHT_PEAK_DISTANCE`] apart) that [`beat_height`] and
/// [`template`] measure.
fn height_peaks(f: &[f64], fs: f64) -> Vec<usize> {
    separated_peaks(f, seconds(fs, HEIGHT_PEAK_DISTANCE))
}

/// Typical height of a beat in `f`: the median of its `peaks` ([`height_peaks`]) above 0.4 of
/// their 90th percentile. 1 when `f` has no positive peak.
fn beat_height(f: &[f64], peaks: &[usize]) -> f64 {
    let h: Vec<f64> = peaks.iter().map(|&i| f[i]).collect();
    if h.is_empty() {
        return 1.0;
    }
    let top = 0.4 * quantile(&h, 0.9);
    let mut tall: Vec<f64> = h.into_iter().filter(|&v| v > top).collect();
    let m = if tall.is_empty() {
        0.0
    } else {
        median(&mut tall)
    };
    if m > 0.0 && m.is_finite() {
        m
    } else {
        1.0
    }
}

fn demeaned(s: &[f64]) -> Vec<f64> {
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    s.iter().map(|v| v - mean).collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 0.0 && bb > 0.0 {
        ab / (aa * bb).sqrt()
    } else {
        0.0
    }
}

/// The QRS template of `z[a..b]` (the 5-25 Hz signal): of the [`TEMPLATE_CANDIDATES`] tallest
/// peaks of `mwi` in the window (`peaks`: [`height_peaks`] of `mwi[a..b]`), the medoid (highest median correlation with the others) and
/// the [`TEMPLATE_MEMBERS`] most correlated with it, each shifted by up to
/// [`TEMPLATE_SHIFT`] to align with the medoid, averaged and demeaned. `None` with fewer than
/// three peaks away from the record's ends.
fn template(z: &[f64], mwi: &[f64], a: usize, peaks: &[usize], fs: f64) -> Option<Vec<f64>> {
    let half = seconds(fs, TEMPLATE_HALF);
    let shift = seconds(fs, TEMPLATE_SHIFT);
    let reach = half + shift;
    let mut peaks: Vec<usize> = peaks
        .iter()
        .map(|&i| i + a)
        .filter(|&p| p >= reach && p + reach < z.len())
        .collect();
    peaks.sort_by(|&p, &q| mwi[q].total_cmp(&mwi[p]).then(p.cmp(&q)));
    peaks.truncate(TEMPLATE_CANDIDATES);
    if peaks.len() < 3 {
        return None;
    }
    let mids: Vec<Vec<f64>> = peaks
        .iter()
        .map(|&p| demeaned(&z[p - half..=p + half]))
        .collect();
    let k = mids.len();
    let corr: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| correlation(&mids[i], &mids[j])).collect())
        .collect();
    let medoid = (0..k)
        .map(|i| median(&mut corr[i].clone()))
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, m)| {
            if m > best.1 {
                (i, m)
            } else {
                best
            }
        })
        .0;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&i, &j| corr[medoid][j].total_cmp(&corr[medoid][i]).then(i.cmp(&j)));
    order.truncate(TEMPLATE_MEMBERS);
    let width = 2 * half + 1;
    let mut acc = vec![0.0; width];
    for &i in &order {
        let seg = &z[peaks[i] - reach..=peaks[i] + reach];
        // the shift with the largest (raw) correlation with the medoid's centre
        let best = (0..=2 * shift)
            .map(|s| {
                seg[s..s + width]
                    .iter()
                    .zip(&mids[medoid])
                    .map(|(x, y)| x * y)
                    .sum::<f64>()
            })
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (s, c)| if c > b.1 { (s, c) } else { b },
            )
            .0;
        for (a, v) in acc.iter_mut().zip(&seg[best..best + width]) {
            *a += v;
        }
    }
    let t = demeaned(
        &acc.iter()
            .map(|v| v / order.len() as f64)
            .collect::<Vec<_>>(),
    );
    let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
    (norm > 0.0).then(|| t.iter().map(|v| v / norm).collect())
}

/// The score of `[a, b)`: max(matched energy / its beat height, [`ENERGY_WEIGHT`] x MWI / its
/// beat height); the MWI alone without a template.
fn window_score(z: &[f64], mwi: &[f64], a: usize, b: usize, fs: f64) -> Vec<f64> {
    let mwi_peaks = height_peaks(&mwi[a..b], fs);
    let energy_scale = ENERGY_WEIGHT / beat_height(&mwi[a..b], &mwi_peaks);
    let Some(t) = template(z, mwi, a, &mwi_peaks, fs) else {
        return mwi[a..b]
            .iter()
            .map(|v| v * energy_scale / ENERGY_WEIGHT)
            .collect();
    };
    let half = t.len() / 2;
    // correlation of z with the template centred on each sample (zero beyond the record)
    let tap = |i: usize| -> f64 {
        if i >= half && i + half < z.len() {
            let c: f64 = z[i - half..=i + half]
                .iter()
                .zip(&t)
                .map(|(v, w)| v * w)
                .sum();
            return c;
        }
        t.iter()
            .enumerate()
            .filter_map(|(k, w)| {
                (i + k)
                    .checked_sub(half)
                    .and_then(|j| z.get(j))
                    .map(|v| v * w)
            })
            .sum()
    };
    // the filter's positive part, its energy averaged over MATCHED_WINDOW
    let positive: Vec<f64> = (a..b).map(|i| tap(i).max(0.0)).collect();
    let matched = moving_energy(&positive, seconds(fs, MATCHED_WINDOW) / 2);
    let matched_scale = 1.0 / beat_height(&matched, &height_peaks(&matched, fs));
    matched
        .iter()
        .zip(&mwi[a..b])
        .map(|(m, e)| (m * matched_scale).max(e * energy_scale))
        .collect()
}

/// Threshold between two groups of `h` in the log domain (Otsu: largest between-group
/// variance), the geometric midpoint of the two values that bound the split.
fn otsu_log_split(h: &[f64]) -> f64 {
    let mut l: Vec<f64> = h.iter().map(|v| v.max(f64::MIN_POSITIVE).ln()).collect();
    l.sort_unstable_by(|a, b| a.total_cmp(b));
    let n = l.len();
    let total: f64 = l.iter().sum();
    let mut best = (f64::NEG_INFINITY, l[n / 2]);
    let mut low = 0.0;
    for k in 1..n {
        low += l[k - 1];
        let (ma, mb) = (low / k as f64, (total - low) / (n - k) as f64);
        let v = (k * (n - k)) as f64 * (ma - mb) * (ma - mb);
        if v > best.0 {
            best = (v, 0.5 * (l[k - 1] + l[k]));
        }
    }
    best.1.exp()
}

/// Per-window parameters of the path: threshold and typical RR (s).
#[derive(Clone, Copy, Debug)]
struct WindowModel {
    theta: f64,
    rr: f64,
}

fn window_model(peaks: &[usize], h: &[f64], fs: f64) -> WindowModel {
    if h.len() < 3 {
        return WindowModel {
            theta: h
                .iter()
                .cloned()
                .fold(f64::INFINITY, f64::min)
                .max(f64::MIN_POSITIVE),
            rr: 0.8,
        };
    }
    let theta = (THETA_OVER_SPLIT * otsu_log_split(h)).max(f64::MIN_POSITIVE);
    let above: Vec<usize> = peaks
        .iter()
        .zip(h)
        .filter(|(_, &v)| v > theta)
        .map(|(&p, _)| p)
        .collect();
    let rr = if above.len() > 2 {
        let mut d: Vec<f64> = above
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / fs)
            .collect();
        median(&mut d)
    } else {
        0.8
    };
    WindowModel {
        theta,
        rr: rr.clamp(0.25, 2.0),
    }
}

/// Cost of an interval of `g` s when the typical one is `rr` s.
fn interval_cost(g: f64, rr: f64) -> f64 {
    let c = (g / rr).ln().powi(2);
    if g > rr {
        c.min(LONG_RR_COST)
    } else {
        c
    }
}

/// The best path through the candidate peaks (`t` samples, scores `h`, steepest slopes
/// `slope`, window models `model` of each peak) of a record of `n` samples; returns the
/// indices into `t` of its beats.
fn best_path(
    t: &[usize],
    h: &[f64],
    slope: &[f64],
    model: &[WindowModel],
    n: usize,
    fs: f64,
) -> Vec<usize> {
    let m = t.len();
    if m == 0 {
        return Vec::new();
    }
    let secs = |i: usize| t[i] as f64 / fs;
    // an edge gap (before the first or after the last beat) pays like an interval when it is
    // longer than 1.2 typical RR (shorter: the beat before it lies outside the record)
    let edge_cost = |g: f64, rr: f64| {
        if g > 1.2 * rr {
            interval_cost(g, rr)
        } else {
            0.0
        }
    };
    let mut best = vec![f64::NEG_INFINITY; m];
    let mut prev = vec![usize::MAX; m];
    for i in 0..m {
        let WindowModel { theta, rr } = model[i];
        let w = (h[i].max(f64::MIN_POSITIVE) / theta).ln();
        best[i] = w - edge_cost(secs(i), rr);
        for j in (0..i).rev() {
            let g = secs(i) - secs(j);
            if g < MIN_RR {
                continue;
            }
            if g > MAX_RR {
                break;
            }
            if g < CLOSE && h[i].min(h[j]) < CLOSE_RATIO * h[i].max(h[j]) {
                continue;
            }
            if g < T_WAVE_WINDOW && slope[i] < T_WAVE_SLOPE * slope[j] {
                continue;
            }
            let v = best[j] + w - interval_cost(g, rr);
            if v > best[i] {
                best[i] = v;
                prev[i] = j;
            }
        }
    }
    let duration = n as f64 / fs;
    let mut last = 0;
    let mut top = f64::NEG_INFINITY;
    for i in 0..m {
        let v = best[i] - edge_cost(duration - secs(i), model[i].rr);
        if v > top {
            top = v;
            last = i;
        }
    }
    let mut path = vec![last];
    while prev[*path.last().expect("non-empty")] != usize::MAX {
        path.push(prev[*path.last().expect("non-empty")]);
    }
    path.reverse();
    path
}

/// Windows `[a, b)` of about [`WINDOW`] s covering `n` samples (a short tail joins the last).
fn windows(n: usize, fs: f64) -> Vec<(usize, usize)> {
    let w = seconds(fs, WINDOW);
    let k = (n / w).max(1);
    (0..k)
        .map(|j| (j * w, if j + 1 == k { n } else { (j + 1) * w }))
        .collect()
}

/// Beats (indices at the detection rate) of a record dominated by muscle noise: `z` is the
/// 5-25 Hz signal, `mwi` the detector's energy feature and `d` the slope it is made of (both
/// of the 5-18 Hz band).
pub(crate) fn select_beats(z: &[f64], mwi: &[f64], d: &[f64], fs: f64) -> Vec<usize> {
    let n = mwi.len();
    if n == 0 || z.len() != n {
        return Vec::new();
    }
    let wins = windows(n, fs);
    let mut score = Vec::with_capacity(n);
    for &(a, b) in &wins {
        score.extend(window_score(z, mwi, a, b, fs));
    }
    let peaks = separated_peaks(&score, seconds(fs, MIN_RR));
    let h: Vec<f64> = peaks.iter().map(|&p| score[p]).collect();
    let mut model = Vec::with_capacity(peaks.len());
    for &(a, b) in &wins {
        let lo = peaks.partition_point(|&p| p < a);
        let hi = peaks.partition_point(|&p| p < b);
        let wm = window_model(&peaks[lo..hi], &h[lo..hi], fs);
        model.extend(std::iter::repeat_n(wm, hi - lo));
    }
    let reach = seconds(fs, SLOPE_REACH);
    let slope: Vec<f64> = peaks
        .iter()
        .map(|&p| {
            d[p.saturating_sub(reach)..(p + reach + 1).min(d.len())]
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
        })
        .collect();
    best_path(&peaks, &h, &slope, &model, n, fs)
        .into_iter()
        .map(|i| peaks[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_peaks_keep_the_tallest() {
        let f = [0.0, 1.0, 0.0, 3.0, 0.0, 0.0, 2.0, 0.0];
        assert_eq!(separated_peaks(&f, 3), vec![3, 6]);
        assert_eq!(separated_peaks(&f, 2), vec![1, 3, 6]);
    }

    #[test]
    fn otsu_splits_two_groups() {
        let h = [0.01, 0.012, 0.009, 0.011, 1.0, 0.9, 1.1];
        let t = otsu_log_split(&h);
        assert!(t > 0.012 && t < 0.9, "{t}");
    }

    #[test]
    fn quantile_and_median_match_numpy() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 4.0]), 2.5);
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9) - 4.6).abs() < 1e-12);
    }

    /// Beats every second (score 1) with noise peaks of 0.3 between them and a 5-s pause with
    /// a peak of 0.35 (threshold 0.4) in its middle: the path takes the beats only. The same
    /// peak in a gap of two intervals (a missed beat) is taken.
    #[test]
    fn path_skips_noise_and_pauses() {
        let path_of = |gap: usize, extra: usize| {
            let mut beats: Vec<usize> = (0..10usize)
                .map(|k| 50 + 100 * k + if k >= 5 { gap - 100 } else { 0 })
                .collect();
            let mut peaks: Vec<(usize, f64)> = beats.iter().map(|&b| (b, 1.0)).collect();
            peaks.extend(beats.iter().map(|&b| (b + 45, 0.3)));
            peaks.push((beats[4] + extra, 0.35));
            peaks.sort_by_key(|p| p.0);
            let t: Vec<usize> = peaks.iter().map(|p| p.0).collect();
            let h: Vec<f64> = peaks.iter().map(|p| p.1).collect();
            let model = vec![
                WindowModel {
                    theta: 0.4,
                    rr: 1.0
                };
                t.len()
            ];
            let n = beats[9] + 100;
            let path: Vec<usize> = best_path(&t, &h, &vec![1.0; t.len()], &model, n, 100.0)
                .into_iter()
                .map(|i| t[i])
                .collect();
            beats.sort_unstable();
            (path, beats)
        };
        let (path, beats) = path_of(500, 250);
        assert_eq!(path, beats);
        let (path, mut beats) = path_of(200, 100);
        beats.push(beats[4] + 100);
        beats.sort_unstable();
        assert_eq!(path, beats);
    }

    /// A T wave 300 ms after each beat with a fifth of its score is not a beat even when it
    /// is above the threshold.
    #[test]
    fn close_pairs_need_comparable_scores() {
        let fs = 100.0;
        let mut t = Vec::new();
        let mut h = Vec::new();
        for k in 0..8usize {
            t.push(20 + 60 * k);
            h.push(1.0);
            t.push(20 + 60 * k + 30);
            h.push(0.2);
        }
        let model = vec![
            WindowModel {
                theta: 0.1,
                rr: 0.3
            };
            t.len()
        ];
        let path: Vec<usize> = best_path(&t, &h, &vec![1.0; t.len()], &model, 500, fs)
            .into_iter()
            .map(|i| t[i])
            .collect();
        assert_eq!(path, (0..8usize).map(|k| 20 + 60 * k).collect::<Vec<_>>());
    }

    /// A wide QRS's T wave 400 ms after it, as tall in the score but a third as steep, is
    /// not a beat; the same peak as steep as the QRS (a fast rhythm) is.
    #[test]
    fn a_flat_wave_after_a_beat_is_its_t_wave() {
        let fs = 100.0;
        let path_with = |t_slope: f64| {
            let mut t = Vec::new();
            let (mut h, mut slope) = (Vec::new(), Vec::new());
            for k in 0..8usize {
                t.extend([20 + 80 * k, 60 + 80 * k]);
                h.extend([1.0, 0.9]);
                slope.extend([1.0, t_slope]);
            }
            let model = vec![
                WindowModel {
                    theta: 0.3,
                    rr: 0.8
                };
                t.len()
            ];
            best_path(&t, &h, &slope, &model, 660, fs)
                .into_iter()
                .map(|i| t[i])
                .collect::<Vec<_>>()
        };
        assert_eq!(
            path_with(0.3),
            (0..8usize).map(|k| 20 + 80 * k).collect::<Vec<_>>()
        );
        assert_eq!(path_with(0.9).len(), 16);
    }

    /// Sharp pulses in loud noise: the template is the pulse and the beats are found.
    #[test]
    fn beats_of_pulses_in_noise() {
        let fs = 200.0;
        let n = 2000;
        let mut z = vec![0.0; n];
        let mut state = 12345u64;
        for v in z.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = 0.4 * (((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5);
        }
        let beats: Vec<usize> = (0..11).map(|k| 100 + 170 * k).collect();
        for &b in &beats {
            for k in 0..9usize {
                let s = (k as f64 - 4.0) / 2.0;
                z[b + k - 4] += (1.0 - s * s) * (-0.5 * s * s).exp();
            }
        }
        let d: Vec<f64> = (0..n)
            .map(|i| {
                if i == 0 || i + 1 == n {
                    0.0
                } else {
                    z[i + 1] - z[i - 1]
                }
            })
            .collect();
        let mwi = moving_energy(&d, 12);
        let found = select_beats(&z, &mwi, &d, fs);
        assert_eq!(found.len(), beats.len(), "{found:?}");
        for (f, b) in found.iter().zip(&beats) {
            assert!(f.abs_diff(*b) <= 10, "{found:?}"); // within 50 ms: `localise` reaches 80
        }
    }
}
