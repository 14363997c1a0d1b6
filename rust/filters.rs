//! Zero-phase forward-backward filtering with second-order sections, equal to
//! `scipy.signal.sosfiltfilt(sos, x, axis=-1)` with its defaults (odd extension of
//! `3 * (2 * n_sections + 1 - trailing_zero_sections)` samples, steady-state initial conditions
//! from `sosfilt_zi` scaled by the first sample of each pass).
//!
//! The cascade runs sample-major with every section's state in registers (const-generic section
//! counts up to 8), which lets the CPU overlap the sections' recurrences.

use crate::errors::{invalid_signal, EcgError, Result};
use crate::filter_design::Section;
use ndarray::{ArrayD, ArrayView1, ArrayViewD, ArrayViewMut1, Axis};
use rayon::prelude::*;
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// Element types the filters accept; computation is always in f64.
pub trait Sample: Copy + Send + Sync + Default + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Sample for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Sample for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// One lane to filter: its index, the input and the (not yet written) output.
type LanePair<'a, T> = (usize, ArrayView1<'a, T>, ArrayViewMut1<'a, MaybeUninit<T>>);

/// The index of the first NaN or infinite sample of `xs`. `0 · v` is 0 for a finite `v` and
/// NaN otherwise, so each block is summed that way in four lanes (a loop that vectorises) and
/// only a block whose sum is not 0 is searched.
pub(crate) fn first_non_finite(xs: &[f64]) -> Option<usize> {
    const BLOCK: usize = 1024;
    for (b, block) in xs.chunks(BLOCK).enumerate() {
        let mut acc = [0.0f64; 4];
        let quads = block.chunks_exact(4);
        let tail = quads.remainder().iter().fold(0.0, |a, v| a + v * 0.0);
        for q in quads {
            for (a, v) in acc.iter_mut().zip(q) {
                *a += v * 0.0;
            }
        }
        if acc.iter().sum::<f64>() + tail != 0.0 {
            return block
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * BLOCK + i);
        }
    }
    None
}

/// Lanes filtered together in one interleaved pass.
pub const GROUP: usize = 4;

/// A validated SOS cascade with its precomputed steady-state initial conditions.
#[derive(Clone, Debug)]
pub struct SosFilter {
    sections: Vec<Section>,
    zi: Vec<[f64; 2]>,
    padlen: usize,
}

/// `scipy.signal.lfilter_zi` for one section with `a0 == 1`, solved in closed form.
fn section_zi(s: &Section) -> [f64; 2] {
    let (b0, b1, b2, a1, a2) = (s[0], s[1], s[2], s[4], s[5]);
    let rhs0 = b1 - a1 * b0;
    let rhs1 = b2 - a2 * b0;
    let z0 = (rhs0 + rhs1) / (1.0 + a1 + a2);
    [z0, rhs1 - a2 * z0]
}

impl SosFilter {
    pub fn new(sections: Vec<Section>) -> Result<Self> {
        if sections.is_empty() {
            return Err(crate::errors::invalid_parameter(
                "sos must have at least one section",
            ));
        }
        for (i, s) in sections.iter().enumerate() {
            if s.iter().any(|c| !c.is_finite()) {
                return Err(crate::errors::invalid_parameter(format!(
                    "sos section {i} has non-finite coefficients"
                )));
            }
            if s[3] != 1.0 {
                return Err(crate::errors::invalid_parameter(format!(
                    "sos[:, 3] must be all ones (normalised sections); section {i} has a0 = {}",
                    s[3]
                )));
            }
            if 1.0 + s[4] + s[5] == 0.0 {
                return Err(crate::errors::invalid_parameter(format!(
                    "sos section {i} has a pole at z = 1 (no steady state for the initial conditions)"
                )));
            }
        }
        let mut zi = Vec::with_capacity(sections.len());
        let mut scale = 1.0;
        for s in &sections {
            let z = section_zi(s);
            zi.push([scale * z[0], scale * z[1]]);
            scale *= (s[0] + s[1] + s[2]) / (s[3] + s[4] + s[5]);
        }
        let zero_b2 = sections.iter().filter(|s| s[2] == 0.0).count();
        let zero_a2 = sections.iter().filter(|s| s[5] == 0.0).count();
        let ntaps = 2 * sections.len() + 1 - zero_b2.min(zero_a2);
        Ok(Self {
            sections,
            zi,
            padlen: 3 * ntaps,
        })
    }

    /// Samples of odd extension added at each end; signals must be longer than this.
    pub fn padlen(&self) -> usize {
        self.padlen
    }

    /// Filter one lane forward and backward. `ext` is scratch space.
    fn filtfilt_lane<T: Sample>(
        &self,
        x: ArrayView1<T>,
        mut out: ArrayViewMut1<MaybeUninit<T>>,
        ext: &mut Vec<f64>,
    ) -> std::result::Result<(), usize> {
        let n = x.len();
        let edge = self.padlen;
        ext.resize(n + 2 * edge, 0.0);
        self.extend_odd(&x, ext)?;
        let x0 = ext[0];
        cascade(&self.sections, &self.zi, x0, ext.iter_mut());
        let y0 = *ext.last().expect("non-empty");
        cascade(&self.sections, &self.zi, y0, ext.iter_mut().rev());
        for (o, &v) in out.iter_mut().zip(&ext[edge..edge + n]) {
            o.write(T::from_f64(v));
        }
        Ok(())
    }

    /// Fill `ext` (length `n + 2 * padlen`) with the odd extension of `x`; `Err(sample)` on the
    /// first non-finite sample.
    fn extend_odd<T: Sample>(
        &self,
        x: &ArrayView1<T>,
        ext: &mut [f64],
    ) -> std::result::Result<(), usize> {
        let n = x.len();
        let edge = self.padlen;
        let first = x[0].to_f64();
        let last = x[n - 1].to_f64();
        for i in 0..edge {
            ext[i] = 2.0 * first - x[edge - i].to_f64();
        }
        // copy, then check finiteness ([`first_non_finite`])
        let body = &mut ext[edge..edge + n];
        match x.as_slice() {
            Some(s) => body.iter_mut().zip(s).for_each(|(e, &v)| *e = v.to_f64()),
            None => body
                .iter_mut()
                .zip(x.iter())
                .for_each(|(e, &v)| *e = v.to_f64()),
        }
        if let Some(i) = first_non_finite(body) {
            return Err(i);
        }
        for i in 0..edge {
            ext[edge + n + i] = 2.0 * last - x[n - 2 - i].to_f64();
        }
        Ok(())
    }

    /// Zero-phase filtering of one long finite signal as `GROUP` overlapping segments run as
    /// interleaved lanes ([`SosFilter::filtfilt_windows`]): the IIR recurrence is
    /// latency-bound, and four independent ones overlap in the CPU. Each interior boundary has
    /// `overlap` samples of real signal on both sides; when that is much longer than the
    /// filter's memory the result equals whole-signal filtering to rounding (~1e-12 of the
    /// signal) and depends only on the signal's length. Short signals (a core shorter than
    /// four overlaps) are filtered whole.
    pub fn filtfilt_segments(&self, x: &[f64], overlap: usize) -> Result<Vec<f64>> {
        let mut y = Vec::with_capacity(x.len());
        self.filtfilt_segments_append(x, overlap, &mut y)?;
        Ok(y)
    }

    /// [`SosFilter::filtfilt_segments`] appended to `out` (`x.len()` samples; no zeroed output
    /// buffer is written first).
    pub fn filtfilt_segments_append(
        &self,
        x: &[f64],
        overlap: usize,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let n = x.len();
        let core = n.div_ceil(GROUP);
        let len = core + 2 * overlap;
        if core < 4 * overlap || len > n || len <= self.padlen() {
            let y = self.filtfilt(ArrayView1::from(x).into_dyn())?;
            out.extend(y.iter());
            return Ok(());
        }
        let starts: [usize; GROUP] =
            std::array::from_fn(|k| (k * core).saturating_sub(overlap).min(n - len));
        let (filtered, offset) = self.filtfilt_windows(x, &starts, len)?;
        for (k, &st) in starts.iter().enumerate() {
            let a = k * core;
            let b = ((k + 1) * core).min(n);
            out.extend(
                filtered[offset + a - st..offset + b - st]
                    .iter()
                    .map(|row| row[k]),
            );
        }
        Ok(())
    }

    /// Zero-phase filter `GROUP` windows `x[s..s + len]` (`s` in `starts`) of one finite signal
    /// together, each exactly as [`SosFilter::filtfilt`] filters it alone (odd padding, steady
    /// state start). Returns the filtered windows interleaved, with the padding: element
    /// `offset + j` of the returned `(rows, offset)` holds sample `j` of every window. Reads `x`
    /// once, with no intermediate copies.
    pub fn filtfilt_windows(
        &self,
        x: &[f64],
        starts: &[usize; GROUP],
        len: usize,
    ) -> Result<(Vec<[f64; GROUP]>, usize)> {
        let edge = self.padlen;
        if len <= edge || starts.iter().any(|&s| s + len > x.len()) {
            return Err(EcgError::Internal("filtfilt_windows: bad window".into()));
        }
        let m = len + 2 * edge;
        let mut inter: Vec<[f64; GROUP]> = Vec::with_capacity(m);
        let first = starts.map(|s| x[s]);
        let last = starts.map(|s| x[s + len - 1]);
        inter.extend(
            (0..edge).map(|i| std::array::from_fn(|k| 2.0 * first[k] - x[starts[k] + edge - i])),
        );
        inter.extend((0..len).map(|j| std::array::from_fn(|k| x[starts[k] + j])));
        inter.extend(
            (0..edge).map(|i| std::array::from_fn(|k| 2.0 * last[k] - x[starts[k] + len - 2 - i])),
        );
        let x0 = inter[0];
        cascade_group(&self.sections, &self.zi, x0, inter.iter_mut());
        let y0 = inter[m - 1];
        cascade_group(&self.sections, &self.zi, y0, inter.iter_mut().rev());
        Ok((inter, edge))
    }

    /// Filter up to `GROUP` lanes of equal length together. Each lane is padded into its own
    /// stretch of `scratch`; the cascade then runs over blocks of `BLOCK` samples interleaved
    /// into a small buffer (the `GROUP` recurrences advance together while the data stay in
    /// cache), forward and then backward, with the state carried from block to block. Per lane
    /// the arithmetic is that of [`SosFilter::filtfilt_lane`], bit for bit.
    fn filtfilt_group<T: Sample>(
        &self,
        lanes: &mut [LanePair<T>],
        scratch: &mut Vec<f64>,
    ) -> std::result::Result<(), (usize, usize)> {
        let n = lanes[0].1.len();
        let edge = self.padlen;
        let m = n + 2 * edge;
        let used = lanes.len();
        scratch.resize(m * used, 0.0);
        for (k, (_, xin, _)) in lanes.iter().enumerate() {
            self.extend_odd(xin, &mut scratch[k * m..(k + 1) * m])
                .map_err(|sample| (k, sample))?;
        }
        // unused lanes of a partial group stay zero (lanes never mix)
        let mut block = [[0.0f64; GROUP]; BLOCK];
        let mut run = |scratch: &mut [f64], lo: usize, hi: usize, state: &mut GroupState, rev| {
            let len = hi - lo;
            for k in 0..used {
                let lane = &scratch[k * m + lo..k * m + hi];
                for (b, &v) in block.iter_mut().zip(lane) {
                    b[k] = v;
                }
            }
            if rev {
                cascade_group_resume(&self.sections, state, block[..len].iter_mut().rev());
            } else {
                cascade_group_resume(&self.sections, state, block[..len].iter_mut());
            }
            for k in 0..used {
                let lane = &mut scratch[k * m + lo..k * m + hi];
                for (v, b) in lane.iter_mut().zip(&block) {
                    *v = b[k];
                }
            }
        };
        let x0: [f64; GROUP] = std::array::from_fn(|k| if k < used { scratch[k * m] } else { 0.0 });
        let mut state = group_state(&self.zi, x0);
        for lo in (0..m).step_by(BLOCK) {
            run(scratch, lo, (lo + BLOCK).min(m), &mut state, false);
        }
        let y0: [f64; GROUP] = std::array::from_fn(|k| {
            if k < used {
                scratch[k * m + m - 1]
            } else {
                0.0
            }
        });
        let mut state = group_state(&self.zi, y0);
        let mut hi = m;
        while hi > 0 {
            let lo = hi.saturating_sub(BLOCK);
            run(scratch, lo, hi, &mut state, true);
            hi = lo;
        }
        for (k, (_, _, xout)) in lanes.iter_mut().enumerate() {
            let lane = &scratch[k * m + edge..k * m + edge + n];
            for (o, &v) in xout.iter_mut().zip(lane) {
                o.write(T::from_f64(v));
            }
        }
        Ok(())
    }

    /// Zero-phase filter every lane along the last axis of `x` into a new array of the same shape.
    /// Lanes run in parallel on the current rayon pool; each lane's result is independent of the
    /// thread count.
    pub fn filtfilt<T: Sample>(&self, x: ArrayViewD<T>) -> Result<ArrayD<T>> {
        if x.ndim() == 0 {
            return Err(invalid_signal("signal must have at least one dimension"));
        }
        if x.is_empty() {
            return Err(invalid_signal(format!(
                "signal is empty (shape {:?})",
                x.shape()
            )));
        }
        let axis = Axis(x.ndim() - 1);
        let n = x.len_of(axis);
        if n <= self.padlen {
            return Err(EcgError::SignalTooShort(format!(
                "signal has {n} samples but this filter needs more than {} (odd padding of \
                 3 * (2 * n_sections + 1) samples, as scipy.signal.sosfiltfilt)",
                self.padlen
            )));
        }
        // Every element is written below, so the output need not be zeroed first.
        let mut out = ArrayD::<T>::uninit(x.raw_dim());
        let first_bad: Mutex<Option<(usize, usize)>> = Mutex::new(None);
        thread_local! {
            static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
        }
        let n_lanes = x.len() / n;
        let mut lanes: Vec<LanePair<T>> = x
            .lanes(axis)
            .into_iter()
            .zip(out.lanes_mut(axis))
            .enumerate()
            .map(|(i, (a, b))| (i, a, b))
            .collect();
        let report = |lane: usize, sample: usize| {
            let mut bad = first_bad.lock().unwrap_or_else(|e| e.into_inner());
            if bad.is_none_or(|(l, _)| lane < l) {
                *bad = Some((lane, sample));
            }
        };
        let work = |chunk: &mut [LanePair<T>]| {
            SCRATCH.with(|s| {
                let mut scratch = s.borrow_mut();
                if chunk.len() > 1 {
                    if let Err((k, sample)) = self.filtfilt_group(chunk, &mut scratch) {
                        report(chunk[k].0, sample);
                    }
                } else {
                    for (i, xin, xout) in chunk.iter_mut() {
                        if let Err(sample) =
                            self.filtfilt_lane(xin.view(), xout.view_mut(), &mut scratch)
                        {
                            report(*i, sample);
                        }
                    }
                }
            })
        };
        if n_lanes <= GROUP {
            work(&mut lanes);
        } else {
            // Lanes go in groups of GROUP through one interleaved cascade (independent
            // recurrences keep the FPU busy); each lane's arithmetic is the same as alone, so
            // results do not depend on grouping or thread count.
            lanes.par_chunks_mut(GROUP).for_each(work);
        }
        drop(lanes);
        if let Some((lane, sample)) = first_bad.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(invalid_signal(format!(
                "signal contains NaN or infinity (first at lane {lane}, sample {sample}); \
                 clean or interpolate it before filtering"
            )));
        }
        // SAFETY: without an error every lane was filtered and each of its samples written.
        Ok(unsafe { out.assume_init() })
    }
}

/// `$fixed::<N>(sections, zi, x0, samples)` with the sections as fixed-size arrays when there
/// are 1 to 8 of them (the cascade then unrolls), else `$fallback`.
macro_rules! by_section_count {
    ($fixed:ident, $sections:expr, $zi:expr, $x0:expr, $samples:expr, $fallback:expr) => {
        by_section_count!(@arms $fixed, $sections, $zi, $x0, $samples, $fallback; 1 2 3 4 5 6 7 8)
    };
    (@arms $fixed:ident, $sections:expr, $zi:expr, $x0:expr, $samples:expr, $fallback:expr;
     $($n:literal)*) => {
        match $sections.len() {
            $($n => $fixed::<$n>(
                $sections.try_into().expect("length checked"),
                $zi.try_into().expect("length checked"),
                $x0,
                $samples,
            ),)*
            _ => $fallback,
        }
    };
}

/// Run the cascade over `samples` in place (direct form II transposed, as `scipy.signal.sosfilt`),
/// starting from the steady state `zi * x0`.
fn cascade<'a>(
    sections: &[Section],
    zi: &[[f64; 2]],
    x0: f64,
    samples: impl Iterator<Item = &'a mut f64>,
) {
    by_section_count!(
        cascade_fixed,
        sections,
        zi,
        x0,
        samples,
        cascade_any(sections, zi, x0, samples)
    )
}

#[inline(always)]
fn cascade_fixed<'a, const N: usize>(
    sections: &[Section; N],
    zi: &[[f64; 2]; N],
    x0: f64,
    samples: impl Iterator<Item = &'a mut f64>,
) {
    let mut state = [[0.0f64; 2]; N];
    for s in 0..N {
        state[s] = [zi[s][0] * x0, zi[s][1] * x0];
    }
    for v in samples {
        let mut x = *v;
        for s in 0..N {
            let c = &sections[s];
            let y = c[0] * x + state[s][0];
            state[s][0] = (c[1] * x + state[s][1]) - c[4] * y;
            state[s][1] = c[2] * x - c[5] * y;
            x = y;
        }
        *v = x;
    }
}

/// Samples per block of the blocked group filter (interleaved, 32 KiB: the block stays in L1).
const BLOCK: usize = 1024;

/// The cascade state of `GROUP` interleaved lanes: per section, the two delay values per lane.
type GroupState = Vec<[[f64; GROUP]; 2]>;

/// The steady state `zi * x0` of every section, per lane.
fn group_state(zi: &[[f64; 2]], x0: [f64; GROUP]) -> GroupState {
    zi.iter()
        .map(|z| [x0.map(|x| z[0] * x), x0.map(|x| z[1] * x)])
        .collect()
}

/// [`cascade`] for `GROUP` interleaved lanes; per lane the arithmetic is identical.
fn cascade_group<'a>(
    sections: &[Section],
    zi: &[[f64; 2]],
    x0: [f64; GROUP],
    samples: impl Iterator<Item = &'a mut [f64; GROUP]>,
) {
    cascade_group_resume(sections, &mut group_state(zi, x0), samples)
}

/// [`cascade_group`] from a given state, which is left as the samples leave it (so a long
/// signal can be filtered block by block).
fn cascade_group_resume<'a>(
    sections: &[Section],
    state: &mut [[[f64; GROUP]; 2]],
    samples: impl Iterator<Item = &'a mut [f64; GROUP]>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            return unsafe { cascade_group_avx(sections, state, samples) };
        }
    }
    cascade_group_impl(sections, state, samples)
}

/// The same code compiled with AVX, so each step of the `GROUP` lanes is one 256-bit operation.
/// Only separate multiplies and adds are used (no FMA), so results are bitwise those of the
/// portable path and of the single-lane cascade.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn cascade_group_avx<'a>(
    sections: &[Section],
    state: &mut [[[f64; GROUP]; 2]],
    samples: impl Iterator<Item = &'a mut [f64; GROUP]>,
) {
    cascade_group_impl(sections, state, samples)
}

#[inline(always)]
fn cascade_group_impl<'a>(
    sections: &[Section],
    state: &mut [[[f64; GROUP]; 2]],
    samples: impl Iterator<Item = &'a mut [f64; GROUP]>,
) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match sections.len() {
                $($n => return cascade_group_fixed::<$n>(
                    sections.try_into().expect("length checked"),
                    state.try_into().expect("length checked"),
                    samples,
                ),)*
                _ => {}
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8);
    // Rare (> 8 sections): the same recurrence with the sections in a loop.
    for v in samples {
        let mut x = *v;
        for (c, st) in sections.iter().zip(state.iter_mut()) {
            x = group_section(c, st, x);
        }
        *v = x;
    }
}

/// One section's step for `GROUP` lanes (direct form II transposed, as [`cascade_fixed`]).
#[inline(always)]
fn group_section(c: &Section, st: &mut [[f64; GROUP]; 2], x: [f64; GROUP]) -> [f64; GROUP] {
    let mut y = [0.0f64; GROUP];
    for k in 0..GROUP {
        y[k] = c[0] * x[k] + st[0][k];
        st[0][k] = (c[1] * x[k] + st[1][k]) - c[4] * y[k];
        st[1][k] = c[2] * x[k] - c[5] * y[k];
    }
    y
}

#[inline(always)]
fn cascade_group_fixed<'a, const N: usize>(
    sections: &[Section; N],
    state: &mut [[[f64; GROUP]; 2]; N],
    samples: impl Iterator<Item = &'a mut [f64; GROUP]>,
) {
    let mut st = *state;
    for v in samples {
        let mut x = *v;
        for s in 0..N {
            x = group_section(&sections[s], &mut st[s], x);
        }
        *v = x;
    }
    *state = st;
}

fn cascade_any<'a>(
    sections: &[Section],
    zi: &[[f64; 2]],
    x0: f64,
    samples: impl Iterator<Item = &'a mut f64>,
) {
    let mut state: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * x0, z[1] * x0]).collect();
    for v in samples {
        let mut x = *v;
        for (c, st) in sections.iter().zip(state.iter_mut()) {
            let y = c[0] * x + st[0];
            st[0] = (c[1] * x + st[1]) - c[4] * y;
            st[1] = c[2] * x - c[5] * y;
            x = y;
        }
        *v = x;
    }
}

/// Filters designed once per thread, name and sampling rate: kernels that run record after
/// record at one rate (batches) reuse them instead of redesigning.
pub fn cached(
    name: &'static str,
    fs: f64,
    build: impl FnOnce() -> Result<Vec<SosFilter>>,
) -> Result<Vec<SosFilter>> {
    type Entry = (&'static str, u64, Vec<SosFilter>);
    thread_local! {
        static CACHE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    }
    let key = fs.to_bits();
    if let Some(hit) = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(n, k, _)| *n == name && *k == key)
            .map(|(_, _, f)| f.clone())
    }) {
        return Ok(hit);
    }
    let filters = build()?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(n, _, _)| *n != name); // one rate per name: batches share a rate
        c.push((name, key, filters.clone()));
    });
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter_design::{butter_sos, BandType};
    use ndarray::{Array1, Array2};

    fn bandpass() -> SosFilter {
        SosFilter::new(butter_sos(4, &[0.5, 40.0], 500.0, BandType::Bandpass).unwrap()).unwrap()
    }

    #[test]
    fn segments_filter_like_the_whole_signal() {
        // 30 min at 360 Hz through the delineator's 0.5-40 Hz band-pass, segments overlapping
        // by 20 s: the 0.5-Hz poles' transient is gone below rounding
        let fs = 360.0;
        let f =
            SosFilter::new(butter_sos(2, &[0.5, 40.0], fs, BandType::Bandpass).unwrap()).unwrap();
        let n = 648_000;
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                (t * 7.3).sin() + 0.4 * (t * 0.21).cos() + 0.05 * ((i * 7919 % 1000) as f64 / 1e3)
            })
            .collect();
        let whole = f.filtfilt(ArrayView1::from(&x[..]).into_dyn()).unwrap();
        let parts = f.filtfilt_segments(&x, (20.0 * fs) as usize).unwrap();
        assert_eq!(parts.len(), n);
        let worst = parts
            .iter()
            .zip(whole.iter())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-12, "largest difference {worst:e}");
        // half a second of overlap is not enough for the 0.5-Hz poles
        let rough = f.filtfilt_segments(&x, (0.5 * fs) as usize).unwrap();
        let off = rough
            .iter()
            .zip(whole.iter())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(off > 1e-6, "largest difference {off:e}");
        // too short for four segments: filtered whole, bit for bit
        let short = f
            .filtfilt_segments(&x[..50_000], (20.0 * fs) as usize)
            .unwrap();
        let alone = f
            .filtfilt(ArrayView1::from(&x[..50_000]).into_dyn())
            .unwrap();
        assert!(short
            .iter()
            .zip(alone.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn first_non_finite_finds_the_first_bad_sample() {
        for n in [0usize, 1, 3, 4, 5, 1023, 1024, 1025, 5000] {
            let x: Vec<f64> = (0..n).map(|i| (i as f64).sin() * 1e300).collect();
            assert_eq!(first_non_finite(&x), None, "n {n}");
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                for at in [0, n / 2, n.saturating_sub(1)] {
                    if at >= n {
                        continue;
                    }
                    let mut y = x.clone();
                    y[at] = bad;
                    if at + 1 < n {
                        y[n - 1] = f64::NAN; // a later one does not hide the first
                    }
                    assert_eq!(first_non_finite(&y), Some(at), "n {n} at {at} {bad}");
                }
            }
        }
    }

    #[test]
    fn padlen_matches_scipy_rule() {
        assert_eq!(bandpass().padlen(), 27);
        // odd order lowpass: one first-order section with b2 = a2 = 0
        let f = SosFilter::new(butter_sos(3, &[40.0], 500.0, BandType::Lowpass).unwrap()).unwrap();
        assert_eq!(f.padlen(), 3 * (2 * 2 + 1 - 1));
    }

    #[test]
    fn constant_signal_passes_lowpass_unchanged() {
        let f = SosFilter::new(butter_sos(4, &[40.0], 500.0, BandType::Lowpass).unwrap()).unwrap();
        let x = Array1::from_elem(200, 3.25f64).into_dyn();
        let y = f.filtfilt(x.view()).unwrap();
        for v in y.iter() {
            assert!((v - 3.25).abs() < 1e-12, "{v}");
        }
    }

    #[test]
    fn zero_phase_keeps_a_symmetric_pulse_symmetric() {
        // A short impulse response (40 Hz low-pass) so the edges do not reach the centre.
        let f = SosFilter::new(butter_sos(4, &[40.0], 500.0, BandType::Lowpass).unwrap()).unwrap();
        let n = 1001;
        let x = Array1::from_shape_fn(n, |i| if i == n / 2 { 1.0 } else { 0.0 }).into_dyn();
        let y = f.filtfilt(x.view()).unwrap();
        let peak = y
            .iter()
            .cloned()
            .enumerate()
            .fold((0, f64::MIN), |a, (i, v)| if v > a.1 { (i, v) } else { a });
        assert_eq!(peak.0, n / 2);
        for k in 1..100 {
            assert!((y[[n / 2 - k]] - y[[n / 2 + k]]).abs() < 1e-9);
        }
    }

    #[test]
    fn rows_are_independent_and_input_untouched() {
        let f = bandpass();
        let x = Array2::from_shape_fn((3, 500), |(r, i)| ((i * (r + 1)) as f64 * 0.01).sin());
        let copy = x.clone();
        let y = f.filtfilt(x.view().into_dyn()).unwrap();
        assert_eq!(x, copy);
        let row1 = f.filtfilt(x.row(1).into_dyn()).unwrap();
        for i in 0..500 {
            assert_eq!(y[[1, i]], row1[[i]]);
        }
    }

    #[test]
    fn grouped_lanes_equal_single_lanes_bitwise() {
        // full groups (interleaved, AVX when available) and a partial remainder group; signals
        // shorter and longer than a block (the state is carried from block to block)
        let f = bandpass();
        for (rows, n) in [
            (2 * GROUP + 3, 700),
            (2, 3 * BLOCK + 17),
            (GROUP + 1, BLOCK - 1),
        ] {
            let x =
                Array2::from_shape_fn((rows, n), |(r, i)| ((i * 7 + r * 13) as f64 * 0.013).sin());
            let y = f.filtfilt(x.view().into_dyn()).unwrap();
            for r in 0..rows {
                let single = f.filtfilt(x.row(r).into_dyn()).unwrap();
                for i in 0..n {
                    assert_eq!(y[[r, i]].to_bits(), single[[i]].to_bits(), "{rows}x{n}");
                }
            }
        }
    }

    #[test]
    fn bad_signals_are_errors() {
        let f = bandpass();
        let short = Array1::<f64>::zeros(27).into_dyn();
        assert!(matches!(
            f.filtfilt(short.view()),
            Err(EcgError::SignalTooShort(_))
        ));
        let mut nan = Array1::<f64>::zeros(100);
        nan[50] = f64::NAN;
        assert!(matches!(
            f.filtfilt(nan.into_dyn().view()),
            Err(EcgError::InvalidSignal(_))
        ));
        let empty = Array2::<f64>::zeros((0, 100)).into_dyn();
        assert!(matches!(
            f.filtfilt(empty.view()),
            Err(EcgError::InvalidSignal(_))
        ));
    }

    #[test]
    fn unnormalised_sos_rejected() {
        assert!(SosFilter::new(vec![[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]).is_err());
        assert!(SosFilter::new(vec![]).is_err());
    }
}
