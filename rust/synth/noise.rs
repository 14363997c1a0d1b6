//! Measurement noise for synthetic ECG, each source with its own amplitude (mV) and off at 0:
//!
//! - baseline wander: respiration (the record's breathing rate) plus slow drift (0.03-0.3 Hz),
//!   two shared sources mixed into each lead with its own weights, plus faster wander
//!   (0.3-1.5 Hz, amplitude falling as 1/f; body movement and electrode-skin changes) that a
//!   0.5 Hz high-pass does not remove, a third shared source with its own weights (see
//!   [`Wander`]);
//! - powerline: a 50/60 Hz sinusoid with per-lead amplitude and phase;
//! - muscle (EMG): broadband noise band-limited to 20-150 Hz, independent per lead, RMS = level;
//! - electrode motion: transient bumps `A (t/τ) e^{1-t/τ}` (τ 0.1-0.5 s) at random times, one
//!   per 20 s on average, seen by every lead with its own weight.

use super::rng::Rng;
use crate::filter_design::{butter_sos, BandType, Section};
use std::f64::consts::TAU;

#[derive(Clone, Copy, Debug, Default)]
pub struct NoiseLevels {
    pub baseline: f64,
    pub powerline: f64,
    pub emg: f64,
    pub motion: f64,
    pub powerline_freq: f64,
}

/// Mean number of electrode-motion events per second.
const MOTION_RATE: f64 = 0.05;

/// Slow noise components are computed every this many samples and interpolated.
const SLOW_STEP: usize = 16;

/// Linear interpolation of a coarse grid (one point per `SLOW_STEP` samples) to `n` samples.
fn interpolate(coarse: &[f64], n: usize) -> Vec<f64> {
    interpolate_step(coarse, n, SLOW_STEP)
}

/// Linear interpolation of a coarse grid (one point per `step` samples) to `n` samples.
fn interpolate_step(coarse: &[f64], n: usize, step: usize) -> Vec<f64> {
    let inv = 1.0 / step as f64;
    // room for the last whole step before truncation (no reallocation)
    let mut out = Vec::with_capacity(n + step);
    for w in coarse.windows(2) {
        let (a, d) = (w[0], (w[1] - w[0]) * inv);
        out.extend((0..step).map(|k| a + d * k as f64));
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    out
}

/// `(sin(w t + phase), cos(w t + phase))` for t = 0, 1/fs, ..., by rotation (no per-sample
/// trig): four interleaved oscillators, each stepping four samples, so the recurrences overlap.
fn sin_cos(n: usize, fs: f64, freq: f64, phase: f64) -> (Vec<f64>, Vec<f64>) {
    const LANES: usize = 4;
    let dw = TAU * freq / fs;
    let (rs, rc) = (LANES as f64 * dw).sin_cos();
    let mut s = [0.0; LANES];
    let mut c = [0.0; LANES];
    for k in 0..LANES {
        (s[k], c[k]) = (phase + k as f64 * dw).sin_cos();
    }
    let padded = n.div_ceil(LANES) * LANES;
    let mut out_s = vec![0.0; padded];
    let mut out_c = vec![0.0; padded];
    for (cs, cc) in out_s
        .chunks_exact_mut(LANES)
        .zip(out_c.chunks_exact_mut(LANES))
    {
        for k in 0..LANES {
            cs[k] = s[k];
            cc[k] = c[k];
            let s2 = s[k] * rc + c[k] * rs;
            c[k] = c[k] * rc - s[k] * rs;
            s[k] = s2;
        }
    }
    out_s.truncate(n);
    out_c.truncate(n);
    (out_s, out_c)
}

/// `sin(w t + phase)` for t = 0, 1/fs, ...
fn sinusoid(n: usize, fs: f64, freq: f64, phase: f64) -> Vec<f64> {
    sin_cos(n, fs, freq, phase).0
}

/// An electrode-motion transient: its first sample and its shape (amplitude included).
struct MotionEvent {
    first: usize,
    shape: Vec<f64>,
}

/// The muscle-noise band-pass (20-150 Hz, one biquad) for a sampling rate, with the gain that
/// makes uniform white input come out with unit RMS. Computed once per batch.
#[derive(Clone, Copy, Debug)]
pub struct EmgFilter {
    section: Section,
    unit_gain: f64,
}

impl EmgFilter {
    pub fn new(fs: f64) -> Option<Self> {
        let high = (150.0f64).min(0.45 * fs);
        let low = 20.0f64.min(0.5 * high);
        let s = butter_sos(1, &[low, high], fs, BandType::Bandpass).ok()?[0];
        // Output variance for unit-variance white input is the impulse response energy;
        // uniform [-1, 1) input has variance 1/3.
        let (mut z0, mut z1, mut energy) = (0.0, 0.0, 0.0);
        for i in 0..(20.0 * fs) as usize {
            let x = if i == 0 { 1.0 } else { 0.0 };
            let y = s[0] * x + z0;
            z0 = (s[1] * x + z1) - s[4] * y;
            z1 = s[2] * x - s[5] * y;
            energy += y * y;
        }
        Some(EmgFilter {
            section: s,
            unit_gain: 1.0 / (energy / 3.0).sqrt(),
        })
    }
}

/// Samples per block when [`NoiseGen::project_smooth`] makes the leads together (the shared
/// sources and the dipole of one block, 8 x 2 KiB, stay in the L1 cache).
const SMOOTH_BLOCK: usize = 256;

/// One lead for [`NoiseGen::project_smooth`]: its buffer (overwritten), its projection
/// coefficients, its own generator and its index among the basis leads.
pub struct ProjectedLead<'a> {
    pub buf: &'a mut Vec<f64>,
    pub coef: [f64; 3],
    pub rng: &'a mut Rng,
    pub lead: usize,
}

/// One lead's weights for the shared slow sources (0 for a source that is off).
#[derive(Clone, Copy, Debug, Default)]
struct SmoothWeights {
    resp: f64,
    drift: f64,
    sin: f64,
    cos: f64,
    fast: f64,
}

impl SmoothWeights {
    /// `base` plus every slow source at one sample (respiration, drift, powerline sine and
    /// cosine, fast wander), in the one order both [`NoiseGen::add_smooth`] and
    /// [`NoiseGen::project_smooth`] use, so that they agree bitwise.
    #[inline(always)]
    fn add_all(&self, base: f64, r: f64, d: f64, s: f64, c: f64, f: f64) -> f64 {
        let v = base + (self.resp * r + self.drift * d + self.sin * s + self.cos * c);
        v + self.fast * f
    }
}

pub struct NoiseGen {
    levels: NoiseLevels,
    fs: f64,
    resp: Vec<f64>,
    drift: Vec<f64>,
    pl_sin: Vec<f64>,
    pl_cos: Vec<f64>,
    emg: Option<EmgFilter>,
    emg_gain: f64,
    motion: Vec<MotionEvent>,
    wander: Wander,
}

impl NoiseGen {
    pub fn new(
        rng: &mut Rng,
        levels: &NoiseLevels,
        fs: f64,
        n: usize,
        resp_rate: f64,
        resp_phase: f64,
        emg: Option<EmgFilter>,
    ) -> Self {
        let duration = n as f64 / fs;
        let mut gen = NoiseGen {
            levels: *levels,
            fs,
            resp: Vec::new(),
            drift: Vec::new(),
            pl_sin: Vec::new(),
            pl_cos: Vec::new(),
            emg: None,
            emg_gain: 0.0,
            motion: Vec::new(),
            wander: Wander::none(),
        };
        if levels.baseline > 0.0 {
            // Below 0.5 Hz: computed every SLOW_STEP samples and interpolated linearly
            // (error < 0.5 % of the amplitude).
            let coarse = n / SLOW_STEP + 2;
            let cfs = fs / SLOW_STEP as f64;
            let resp = sinusoid(coarse, cfs, resp_rate, resp_phase);
            let mut drift = vec![0.0; coarse];
            for _ in 0..3 {
                let f = 0.03 + 0.27 * rng.uniform();
                let s = sinusoid(coarse, cfs, f, rng.uniform() * TAU);
                for (d, v) in drift.iter_mut().zip(s) {
                    *d += v / 3f64.sqrt();
                }
            }
            gen.resp = interpolate(&resp, n);
            gen.drift = interpolate(&drift, n);
        }
        if levels.powerline > 0.0 && levels.powerline_freq < fs / 2.0 {
            (gen.pl_sin, gen.pl_cos) = sin_cos(n, fs, levels.powerline_freq, 0.0);
        }
        if levels.emg > 0.0 {
            if let Some(f) = emg {
                gen.emg_gain = levels.emg * f.unit_gain;
                gen.emg = Some(f);
            }
        }
        if levels.motion > 0.0 {
            // Poisson process by exponential gaps.
            let mut t = -(1.0 - rng.uniform()).ln() / MOTION_RATE - 1.0;
            while t < duration {
                let tau = 0.1 + 0.4 * rng.uniform();
                let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
                let amp = levels.motion * (0.5 + 0.5 * rng.uniform()) * sign;
                // amp * x * exp(1 - x), x = (time - t) / tau, over 10 tau, by recurrence.
                let first = (t * fs).ceil().max(0.0) as usize;
                let last = (((t + 10.0 * tau) * fs).floor().max(-1.0) + 1.0) as usize;
                let last = last.min(n);
                if first < last {
                    let x0 = (first as f64 / fs - t) / tau;
                    let dx = 1.0 / (fs * tau);
                    let decay = (-dx).exp();
                    let mut e = (1.0 - x0).exp();
                    let shape = (0..last - first)
                        .map(|k| {
                            let v = amp * (x0 + k as f64 * dx) * e;
                            e *= decay;
                            v
                        })
                        .collect();
                    gen.motion.push(MotionEvent { first, shape });
                }
                t += -(1.0 - rng.uniform()).ln() / MOTION_RATE;
            }
        }
        gen
    }

    /// The same generator with the faster baseline wander of the record (drawn from its own
    /// stream by [`Wander::new`]; present exactly when baseline wander is).
    pub fn with_wander(mut self, wander: Wander) -> Self {
        debug_assert_eq!(wander.signal.is_empty(), self.resp.is_empty());
        self.wander = wander;
        self
    }

    /// Add the slowly varying noise (baseline wander, powerline, electrode motion) of basis
    /// lead `lead`, drawing that lead's weights and phases from `rng`.
    #[inline(always)]
    pub fn add_smooth(&self, buf: &mut [f64], rng: &mut Rng, lead: usize) {
        let w = self.smooth_weights(rng, lead);
        self.add_sources(buf, &w);
        self.add_motion(buf, rng);
    }

    /// Fill each lead's buffer with the projection `coef · dipole` of a dipole (three
    /// components, `n` samples each) plus that lead's slowly varying noise, its weights drawn
    /// from its own generator: bitwise what filling the buffer with the projection and then
    /// calling [`NoiseGen::add_smooth`] gives. When both wander and powerline are on (the
    /// default) all leads are made together in blocks of samples, one pass in which the shared
    /// sources and the dipole stay in the L1 cache while every lead reads them.
    #[inline(always)]
    pub fn project_smooth(&self, dipole: [&[f64]; 3], leads: &mut [ProjectedLead<'_>]) {
        let weights: Vec<SmoothWeights> = leads
            .iter_mut()
            .map(|l| self.smooth_weights(l.rng, l.lead))
            .collect();
        let [dx, dy, dz] = dipole;
        let n = dx.len();
        let fused = !self.resp.is_empty() && !self.pl_sin.is_empty();
        for l in leads.iter_mut() {
            l.buf.clear();
            l.buf.reserve(n);
        }
        // blocks only pay when the leads share the fused pass
        let block = if fused { SMOOTH_BLOCK } else { n.max(1) };
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let r = start..end;
            for (l, w) in leads.iter_mut().zip(&weights) {
                let c = l.coef;
                let projected = dx[r.clone()]
                    .iter()
                    .zip(&dy[r.clone()])
                    .zip(&dz[r.clone()])
                    .map(|((x, y), z)| c[0] * x + c[1] * y + c[2] * z);
                if fused {
                    let src = self.resp[r.clone()]
                        .iter()
                        .zip(&self.drift[r.clone()])
                        .zip(self.pl_sin[r.clone()].iter().zip(&self.pl_cos[r.clone()]))
                        .zip(&self.wander.signal[r.clone()]);
                    l.buf.extend(
                        projected
                            .zip(src)
                            .map(|(p, (((r, d), (s, c)), f))| w.add_all(p, *r, *d, *s, *c, *f)),
                    );
                } else {
                    l.buf.extend(projected);
                    self.add_sources(l.buf, w);
                }
            }
            start = end;
        }
        for l in leads.iter_mut() {
            self.add_motion(l.buf, l.rng);
        }
    }

    /// The weights of lead `lead` for the shared slow sources, drawn from `rng`.
    fn smooth_weights(&self, rng: &mut Rng, lead: usize) -> SmoothWeights {
        let lv = &self.levels;
        let mut w = SmoothWeights {
            fast: self.wander.weight(lead),
            ..SmoothWeights::default()
        };
        if !self.resp.is_empty() {
            w.resp = lv.baseline * (0.3 + 0.7 * rng.uniform()) * sign(rng);
            w.drift = lv.baseline * (0.3 + 0.7 * rng.uniform()) * sign(rng);
        }
        if !self.pl_sin.is_empty() {
            let amp = lv.powerline * (0.5 + 0.5 * rng.uniform());
            let (ps, pc) = (rng.uniform() * TAU).sin_cos();
            (w.sin, w.cos) = (amp * pc, amp * ps);
        }
        w
    }

    /// Add wander and powerline with weights `w`, in one pass for whichever sources are on.
    fn add_sources(&self, buf: &mut [f64], w: &SmoothWeights) {
        let fast = &self.wander.signal;
        match (self.resp.is_empty(), self.pl_sin.is_empty()) {
            (false, false) => {
                let src = self
                    .resp
                    .iter()
                    .zip(&self.drift)
                    .zip(self.pl_sin.iter().zip(&self.pl_cos))
                    .zip(fast);
                for (b, (((r, d), (s, c)), f)) in buf.iter_mut().zip(src) {
                    *b = w.add_all(*b, *r, *d, *s, *c, *f);
                }
            }
            (false, true) => {
                let src = self.resp.iter().zip(&self.drift).zip(fast);
                for (b, ((r, d), f)) in buf.iter_mut().zip(src) {
                    *b += w.resp * r + w.drift * d;
                    *b += w.fast * f;
                }
            }
            (true, false) => {
                for ((b, s), c) in buf.iter_mut().zip(&self.pl_sin).zip(&self.pl_cos) {
                    *b += w.sin * s + w.cos * c;
                }
            }
            (true, true) => {}
        }
    }

    /// Add the electrode-motion transients, each with a weight for this lead drawn from `rng`.
    fn add_motion(&self, buf: &mut [f64], rng: &mut Rng) {
        for ev in &self.motion {
            let w = rng.uniform() * 2.0 - 1.0;
            for (b, v) in buf[ev.first..].iter_mut().zip(&ev.shape) {
                *b += w * v;
            }
        }
    }

    /// Add muscle noise to each lead in `bufs`, from that lead's own generator in `rngs`.
    ///
    /// A lead's noise is made as `EMG_SEGMENTS` consecutive segments, each from its own stream
    /// (forked from the lead's generator) and its own warmed-up filter, so the segments run as
    /// independent vector lanes in lock-step (`crate::simd`) instead of one long recurrence. A
    /// lead's noise depends only on its own generator, never on which other leads are made.
    #[inline(always)]
    pub fn add_emg(&self, bufs: &mut [&mut [f64]], rngs: &[Rng], scratch: &mut Vec<f64>) {
        let Some(filter) = self.emg else { return };
        assert_eq!(bufs.len(), rngs.len());
        let Some(n) = bufs.first().map(|b| b.len()) else {
            return;
        };
        let seg = n.div_ceil(EMG_SEGMENTS);
        if seg == 0 {
            return;
        }
        let warm = (0.1 * self.fs) as usize;
        let g = self.emg_gain;
        let mut lead = 0;
        while lead < bufs.len() {
            // Two leads (8 lanes) at a time, or the last one alone (4 lanes).
            let leads_now = (bufs.len() - lead).min(2);
            let lanes = leads_now * EMG_SEGMENTS;
            let mut states = Vec::with_capacity(lanes);
            for lead_rng in &rngs[lead..lead + leads_now] {
                let mut r = lead_rng.clone();
                for q in 0..EMG_SEGMENTS {
                    states.push(r.fork(q as u64).state());
                }
            }
            // every value is written by emg_lanes: no need to clear the scratch first
            scratch.resize(seg * lanes, 0.0);
            if lanes == 8 {
                emg_lanes::<8>(&filter.section, &states, scratch, warm);
            } else {
                emg_lanes::<4>(&filter.section, &states, scratch, warm);
            }
            // Lane `j * EMG_SEGMENTS + q` is segment q of lead j (the last segment may be shorter).
            for (j, buf) in bufs[lead..lead + leads_now].iter_mut().enumerate() {
                for (q, dst) in buf.chunks_mut(seg).enumerate() {
                    let lane = &scratch[(j * EMG_SEGMENTS + q) * seg..][..seg];
                    for (b, e) in dst.iter_mut().zip(lane) {
                        *b += g * e;
                    }
                }
            }
            lead += leads_now;
        }
    }
}

/// Segments per lead in the muscle-noise generator.
const EMG_SEGMENTS: usize = 4;

/// xoshiro256++ in `L` lanes -> uniform [-1, 1) -> biquad band-pass, per lane; `out` holds the
/// lanes one after the other (`out.len() / L` samples each). Inlined: muscle noise is made
/// inside the synthesizer's per-record job, which is compiled for the CPU's widest vector
/// instructions ([`crate::simd`]).
#[inline(always)]
fn emg_lanes<const L: usize>(section: &Section, states: &[[u64; 4]], out: &mut [f64], warm: usize) {
    let [b0, b1, b2, _, a1, a2] = *section;
    let mut s0 = [0u64; L];
    let mut s1 = [0u64; L];
    let mut s2 = [0u64; L];
    let mut s3 = [0u64; L];
    for l in 0..L {
        [s0[l], s1[l], s2[l], s3[l]] = states[l];
    }
    let mut z0 = [0.0f64; L];
    let mut z1 = [0.0f64; L];
    let len = out.len() / L;
    let steps = warm + len;
    for i in 0..steps {
        let mut y = [0.0f64; L];
        for l in 0..L {
            let result = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
            // 52 random mantissa bits: [1, 2) -> [-1, 1)
            let x = f64::from_bits((result >> 12) | 0x3FF0_0000_0000_0000) * 2.0 - 3.0;
            let v = b0 * x + z0[l];
            z0[l] = (b1 * x + z1[l]) - a1 * v;
            z1[l] = b2 * x - a2 * v;
            y[l] = v;
        }
        if i >= warm {
            let k = i - warm;
            for l in 0..L {
                out[l * len + k] = y[l];
            }
        }
    }
}

/// Components of the faster baseline wander.
const WANDER_COMPONENTS: usize = 8;
/// Its frequency range, Hz.
const WANDER_HZ: [f64; 2] = [0.3, 1.5];
/// Its RMS in a lead relative to the record's baseline-wander level (before the lead's weight).
const WANDER_GAIN: f64 = 0.6;

/// Faster baseline wander, shared by the leads of a record, each with its own weight. Real
/// records keep visible wander above 0.5 Hz, where the respiration and slow drift components
/// have none: without it the TP and ST segments of filtered synthetic records are flatter than
/// real ones (`evaluate.realism`: the flat fraction and the 0.5-5 Hz power gave them away).
/// Drawn from its own stream, so the other noise sources are unchanged by it; added in the
/// same pass over a lead as the other slow sources ([`NoiseGen::add_smooth`]).
pub struct Wander {
    signal: Vec<f64>,
    weights: Vec<f64>,
}

impl Wander {
    /// `n` samples at `fs` for a record with these noise levels, and one weight per lead of
    /// `n_leads` (empty when the record has no baseline wander).
    pub fn new(rng: &mut Rng, levels: &NoiseLevels, fs: f64, n: usize, n_leads: usize) -> Self {
        if levels.baseline <= 0.0 {
            return Wander::none();
        }
        // on a grid of at least 40 Hz, interpolated linearly (error < 1 % at 1.5 Hz)
        let step = ((fs / 40.0).floor() as usize).max(1);
        let coarse = n / step + 2;
        let cfs = fs / step as f64;
        let mut grid = vec![0.0; coarse];
        let mut power = 0.0;
        for _ in 0..WANDER_COMPONENTS {
            let f = rng.between(WANDER_HZ[0], WANDER_HZ[1]).min(0.45 * fs);
            let amp = 1.0 / f;
            let s = sinusoid(coarse, cfs, f, rng.uniform() * TAU);
            for (d, v) in grid.iter_mut().zip(s) {
                *d += amp * v;
            }
            power += 0.5 * amp * amp;
        }
        let signal = interpolate_step(&grid, n, step);
        let unit = levels.baseline * WANDER_GAIN / power.sqrt();
        let weights = (0..n_leads)
            .map(|_| unit * (0.3 + 0.7 * rng.uniform()) * sign(rng))
            .collect();
        Wander { signal, weights }
    }

    /// No wander (a record without baseline wander).
    fn none() -> Self {
        Wander {
            signal: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Lead `lead`'s weight (0 without wander).
    fn weight(&self, lead: usize) -> f64 {
        self.weights.get(lead).copied().unwrap_or(0.0)
    }
}

fn sign(rng: &mut Rng) -> f64 {
    if rng.uniform() < 0.5 {
        -1.0
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(baseline: f64, powerline: f64) -> NoiseLevels {
        NoiseLevels {
            baseline,
            powerline,
            emg: 0.02,
            motion: 0.3,
            powerline_freq: 50.0,
        }
    }

    /// A noise generator of `n` samples at 500 Hz with wander (when `baseline` > 0), with at
    /// least one electrode-motion event.
    fn generator(lv: &NoiseLevels, n: usize, seed: u64) -> NoiseGen {
        let fs = 500.0;
        for s in seed.. {
            let mut rng = Rng::for_record(s, 0);
            let gen = NoiseGen::new(&mut rng, lv, fs, n, 0.25, 0.3, EmgFilter::new(fs));
            if !gen.motion.is_empty() {
                let wander = Wander::new(&mut rng.fork(300), lv, fs, n, 8);
                return gen.with_wander(wander);
            }
        }
        unreachable!()
    }

    #[test]
    fn project_smooth_is_the_projection_plus_add_smooth_bitwise() {
        // every combination of wander and powerline; lengths around a multiple of the block
        for (baseline, powerline) in [(0.1, 0.02), (0.1, 0.0), (0.0, 0.02), (0.0, 0.0)] {
            for n in [
                16 * SMOOTH_BLOCK - 1,
                16 * SMOOTH_BLOCK,
                16 * SMOOTH_BLOCK + 17,
            ] {
                let gen = generator(&levels(baseline, powerline), n, 1);
                let mut src = Rng::for_record(9, 9);
                let dipole: Vec<Vec<f64>> = (0..3)
                    .map(|_| (0..n).map(|_| src.normal()).collect())
                    .collect();
                let coefs = [[0.3, -0.2, 0.9], [1.1, 0.4, -0.5]];
                let mut rngs: Vec<Rng> = (0..2).map(|b| Rng::for_record(5, b)).collect();
                let mut bufs = [Vec::new(), Vec::new()];
                let mut leads: Vec<ProjectedLead> = bufs
                    .iter_mut()
                    .zip(rngs.iter_mut())
                    .enumerate()
                    .map(|(b, (buf, rng))| ProjectedLead {
                        buf,
                        coef: coefs[b],
                        rng,
                        lead: b,
                    })
                    .collect();
                gen.project_smooth([&dipole[0], &dipole[1], &dipole[2]], &mut leads);
                drop(leads);
                for (b, coef) in coefs.iter().enumerate() {
                    let mut expected: Vec<f64> = (0..n)
                        .map(|k| {
                            coef[0] * dipole[0][k] + coef[1] * dipole[1][k] + coef[2] * dipole[2][k]
                        })
                        .collect();
                    gen.add_smooth(&mut expected, &mut Rng::for_record(5, b as u64), b);
                    assert_eq!(bufs[b], expected, "lead {b}, n {n}, {baseline} {powerline}");
                }
            }
        }
    }

    /// Muscle noise of one lead the slow way: each segment its own forked stream and its own
    /// filter, warmed up, one sample at a time.
    fn emg_reference(gen: &NoiseGen, rng: &Rng, n: usize) -> Vec<f64> {
        let filter = gen.emg.expect("muscle noise on");
        let [b0, b1, b2, _, a1, a2] = filter.section;
        let seg = n.div_ceil(EMG_SEGMENTS);
        let warm = (0.1 * gen.fs) as usize;
        let mut lead_rng = rng.clone();
        let mut out = Vec::with_capacity(n);
        for q in 0..EMG_SEGMENTS {
            let mut r = lead_rng.fork(q as u64);
            let (mut z0, mut z1) = (0.0, 0.0);
            for i in 0..warm + seg {
                let x = f64::from_bits((r.next_u64() >> 12) | 0x3FF0_0000_0000_0000) * 2.0 - 3.0;
                let v = b0 * x + z0;
                z0 = (b1 * x + z1) - a1 * v;
                z1 = b2 * x - a2 * v;
                if i >= warm && out.len() < n {
                    out.push(gen.emg_gain * v);
                }
            }
        }
        out
    }

    #[test]
    fn muscle_noise_matches_the_segment_by_segment_reference() {
        // three leads: one pair of 8 lanes and one lead of 4; lengths not a multiple of 4
        for n in [4001, 4002, 5000] {
            let gen = generator(&levels(0.1, 0.02), n, 3);
            let rngs: Vec<Rng> = (0..3).map(|b| Rng::for_record(7, b)).collect();
            let mut bufs = vec![vec![0.0; n]; 3];
            let mut views: Vec<&mut [f64]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
            gen.add_emg(&mut views, &rngs, &mut Vec::new());
            for (b, rng) in rngs.iter().enumerate() {
                let expected = emg_reference(&gen, rng, n);
                assert_eq!(bufs[b], expected, "lead {b}, n {n}");
            }
            // the level asked for (RMS of band-limited uniform noise scaled to unit RMS)
            let rms = (bufs[0].iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
            assert!((rms / 0.02 - 1.0).abs() < 0.15, "rms {rms}");
        }
    }
}
