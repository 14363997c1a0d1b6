//! Digital IIR filter design in second-order sections, ported step for step from
//! `scipy.signal.butter(..., output="sos")` (buttap → lp2xx_zpk → bilinear_zpk → zpk2sos with
//! "nearest" pairing) and `scipy.signal.iirnotch`, so that coefficients agree to rounding.

use crate::complex::C64;
use crate::errors::{invalid_parameter, Result};
use std::f64::consts::PI;

/// One second-order section `[b0, b1, b2, a0, a1, a2]` with `a0 == 1`.
pub type Section = [f64; 6];

/// Highest Butterworth order accepted: beyond this the bilinear-transformed poles crowd the unit
/// circle and no ECG use needs it.
pub const MAX_ORDER: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandType {
    Lowpass,
    Highpass,
    Bandpass,
    Bandstop,
}

impl BandType {
    /// Parse scipy's spellings: "low", "lowpass", "high", "highpass", "band", "bandpass",
    /// "bandstop", "stop", "pass".
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "low" | "lowpass" | "lp" => Ok(Self::Lowpass),
            "high" | "highpass" | "hp" => Ok(Self::Highpass),
            "band" | "bandpass" | "bp" | "pass" => Ok(Self::Bandpass),
            "bandstop" | "stop" | "bs" => Ok(Self::Bandstop),
            other => Err(invalid_parameter(format!(
                "btype must be one of 'lowpass', 'highpass', 'bandpass', 'bandstop'; got {other:?}"
            ))),
        }
    }

    fn n_cutoffs(self) -> usize {
        match self {
            Self::Lowpass | Self::Highpass => 1,
            Self::Bandpass | Self::Bandstop => 2,
        }
    }
}

pub fn check_fs(fs: f64) -> Result<()> {
    if !fs.is_finite() || fs <= 0.0 {
        return Err(invalid_parameter(format!(
            "sampling rate fs must be a finite positive number, got {fs}"
        )));
    }
    Ok(())
}

fn check_cutoffs(cutoff: &[f64], fs: f64, btype: BandType) -> Result<()> {
    if cutoff.len() != btype.n_cutoffs() {
        return Err(invalid_parameter(format!(
            "{btype:?} needs {} cutoff frequency(ies), got {}",
            btype.n_cutoffs(),
            cutoff.len()
        )));
    }
    let nyquist = fs / 2.0;
    for &c in cutoff {
        if !c.is_finite() || c <= 0.0 || c >= nyquist {
            return Err(invalid_parameter(format!(
                "cutoff frequencies must satisfy 0 < f < fs/2 = {nyquist} Hz, got {c} Hz"
            )));
        }
    }
    if cutoff.len() == 2 && cutoff[0] >= cutoff[1] {
        return Err(invalid_parameter(format!(
            "band edges must satisfy low < high, got low={} Hz, high={} Hz",
            cutoff[0], cutoff[1]
        )));
    }
    Ok(())
}

/// Analog Butterworth prototype poles (`scipy.signal.buttap`).
fn buttap(order: usize) -> Vec<C64> {
    let n = order as f64;
    let denom = C64::real(2.0 * n);
    (0..order)
        .map(|i| {
            let m = -n + 1.0 + 2.0 * i as f64;
            // NumPy evaluates 1j*pi*m/(2N) as a complex division (Smith), i.e. pi*m*(1/(2N)).
            let theta = (C64::new(0.0, PI * m) / denom).im;
            C64::new(-theta.cos(), -theta.sin())
        })
        .collect()
}

fn product(values: &[C64]) -> C64 {
    values.iter().fold(C64::real(1.0), |acc, &v| acc * v)
}

fn neg_all(values: &[C64]) -> Vec<C64> {
    values.iter().map(|&v| -v).collect()
}

/// Zeros, poles and gain.
struct Zpk {
    z: Vec<C64>,
    p: Vec<C64>,
    k: f64,
}

fn lp2lp(f: Zpk, wo: f64) -> Zpk {
    let degree = f.p.len() - f.z.len();
    let w = C64::real(wo);
    Zpk {
        z: f.z.iter().map(|&z| z * w).collect(),
        p: f.p.iter().map(|&p| p * w).collect(),
        k: f.k * wo.powi(degree as i32),
    }
}

fn lp2hp(f: Zpk, wo: f64) -> Zpk {
    let degree = f.p.len() - f.z.len();
    let w = C64::real(wo);
    let mut z: Vec<C64> = f.z.iter().map(|&z| w / z).collect();
    let p = f.p.iter().map(|&p| w / p).collect();
    z.extend(std::iter::repeat_n(C64::real(0.0), degree));
    let k = f.k * (product(&neg_all(&f.z)) / product(&neg_all(&f.p))).re;
    Zpk { z, p, k }
}

/// `x ± sqrt(x² − wo²)` for every x, pluses first then minuses (as scipy concatenates them).
fn split_pairs(values: &[C64], wo: f64) -> Vec<C64> {
    let roots: Vec<C64> = values
        .iter()
        .map(|&v| (v * v - C64::real(wo * wo)).sqrt())
        .collect();
    let plus = values.iter().zip(&roots).map(|(&v, &r)| v + r);
    let minus = values.iter().zip(&roots).map(|(&v, &r)| v - r);
    plus.chain(minus).collect()
}

fn lp2bp(f: Zpk, wo: f64, bw: f64) -> Zpk {
    let degree = f.p.len() - f.z.len();
    let half = C64::real(2.0);
    let scale = |v: &C64| (*v * C64::real(bw)) / half;
    let z_lp: Vec<C64> = f.z.iter().map(scale).collect();
    let p_lp: Vec<C64> = f.p.iter().map(scale).collect();
    let mut z = split_pairs(&z_lp, wo);
    z.extend(std::iter::repeat_n(C64::real(0.0), degree));
    Zpk {
        z,
        p: split_pairs(&p_lp, wo),
        k: f.k * bw.powi(degree as i32),
    }
}

fn lp2bs(f: Zpk, wo: f64, bw: f64) -> Zpk {
    let degree = f.p.len() - f.z.len();
    let half_bw = C64::real(bw / 2.0);
    let z_hp: Vec<C64> = f.z.iter().map(|&z| half_bw / z).collect();
    let p_hp: Vec<C64> = f.p.iter().map(|&p| half_bw / p).collect();
    let mut z = split_pairs(&z_hp, wo);
    z.extend(std::iter::repeat_n(C64::new(0.0, wo), degree));
    z.extend(std::iter::repeat_n(C64::new(0.0, -wo), degree));
    let k = f.k * (product(&neg_all(&f.z)) / product(&neg_all(&f.p))).re;
    Zpk {
        z,
        p: split_pairs(&p_hp, wo),
        k,
    }
}

fn bilinear(f: Zpk, fs: f64) -> Zpk {
    let degree = f.p.len() - f.z.len();
    let fs2 = C64::real(2.0 * fs);
    let mut z: Vec<C64> = f.z.iter().map(|&z| (fs2 + z) / (fs2 - z)).collect();
    let p = f.p.iter().map(|&p| (fs2 + p) / (fs2 - p)).collect();
    z.extend(std::iter::repeat_n(C64::real(-1.0), degree));
    let num: Vec<C64> = f.z.iter().map(|&z| fs2 - z).collect();
    let den: Vec<C64> = f.p.iter().map(|&p| fs2 - p).collect();
    let k = f.k * (product(&num) / product(&den)).re;
    Zpk { z, p, k }
}

/// `scipy.signal._filter_design._cplxreal`: one element of each conjugate pair (positive
/// imaginary part, averaged with its partner) followed by the real values.
fn cplxreal(values: &[C64]) -> Result<Vec<C64>> {
    let tol = 100.0 * f64::EPSILON;
    let mut z = values.to_vec();
    // lexsort((abs(imag), real)): by real part, ties by |imag|; stable.
    z.sort_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then_with(|| a.im.abs().total_cmp(&b.im.abs()))
    });
    let is_real = |v: &C64| v.im.abs() <= tol * v.abs();
    let reals: Vec<C64> = z
        .iter()
        .filter(|v| is_real(v))
        .map(|v| C64::real(v.re))
        .collect();
    let cplx: Vec<C64> = z.iter().filter(|v| !is_real(v)).copied().collect();
    let mut zp: Vec<C64> = cplx.iter().filter(|v| v.im > 0.0).copied().collect();
    let mut zn: Vec<C64> = cplx.iter().filter(|v| v.im < 0.0).copied().collect();
    if zp.len() != zn.len() {
        return Err(crate::errors::EcgError::Internal(
            "filter design produced a complex value with no matching conjugate".into(),
        ));
    }
    // Runs of (nearly) equal real parts are ordered by |imag| on each side.
    let mut start = 0;
    while start < zp.len() {
        let mut stop = start;
        while stop + 1 < zp.len() && zp[stop + 1].re - zp[stop].re <= tol * zp[stop].abs() {
            stop += 1;
        }
        if stop > start {
            for side in [&mut zp, &mut zn] {
                side[start..=stop].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
            }
        }
        start = stop + 1;
    }
    let mut out = Vec::with_capacity(zp.len() + reals.len());
    for (p, n) in zp.iter().zip(&zn) {
        if (*p - n.conj()).abs() > tol * n.abs() {
            return Err(crate::errors::EcgError::Internal(
                "filter design produced a complex value with no matching conjugate".into(),
            ));
        }
        out.push((*p + n.conj()) / C64::real(2.0));
    }
    out.extend(reals);
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Real,
    Complex,
    Any,
}

/// Index of the element of `from` nearest to `to` that is real / complex / either.
fn nearest(from: &[C64], to: C64, which: Which) -> usize {
    let mut order: Vec<usize> = (0..from.len()).collect();
    order.sort_by(|&a, &b| (from[a] - to).abs().total_cmp(&(from[b] - to).abs()));
    order
        .into_iter()
        .find(|&i| match which {
            Which::Any => true,
            Which::Real => from[i].is_real(),
            Which::Complex => !from[i].is_real(),
        })
        .expect("zpk2sos pairing: no candidate zero left")
}

/// Digital "worst" pole: closest to the unit circle (first on ties, as `np.argmin`).
fn idx_worst(p: &[C64], candidates: impl Iterator<Item = usize>) -> usize {
    let mut best = usize::MAX;
    let mut best_dist = f64::INFINITY;
    for i in candidates {
        let d = (1.0 - p[i].abs()).abs();
        if best == usize::MAX || d < best_dist {
            best = i;
            best_dist = d;
        }
    }
    best
}

/// Polynomial with the given roots (`np.poly`), real part.
fn poly(roots: &[C64]) -> Vec<f64> {
    let mut a = vec![C64::real(1.0)];
    for &r in roots {
        let mut next = vec![C64::real(0.0); a.len() + 1];
        for (i, &c) in a.iter().enumerate() {
            next[i] = next[i] + c * C64::real(1.0);
            next[i + 1] = next[i + 1] + c * (-r);
        }
        a = next;
    }
    a.into_iter().map(|c| c.re).collect()
}

fn single_section(z: &[C64], p: &[C64]) -> Section {
    let mut sos = [0.0; 6];
    let b = poly(z);
    let a = poly(p);
    sos[3 - b.len()..3].copy_from_slice(&b);
    sos[6 - a.len()..6].copy_from_slice(&a);
    sos
}

/// `scipy.signal.zpk2sos(z, p, k)` for digital filters with the default "nearest" pairing.
fn zpk2sos(f: Zpk) -> Result<Vec<Section>> {
    let Zpk { mut z, mut p, k } = f;
    if z.is_empty() && p.is_empty() {
        return Ok(vec![[k, 0.0, 0.0, 1.0, 0.0, 0.0]]);
    }
    if z.len() > p.len() {
        p.resize(z.len(), C64::real(0.0));
    }
    if p.len() > z.len() {
        z.resize(p.len(), C64::real(0.0));
    }
    let n_sections = p.len().div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(C64::real(0.0));
        z.push(C64::real(0.0));
    }
    let mut z = cplxreal(&z)?;
    let mut p = cplxreal(&p)?;
    let count_real = |v: &[C64]| v.iter().filter(|c| c.is_real()).count();
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let p1_idx = idx_worst(&p, 0..p.len());
        let p1 = p.remove(p1_idx);
        if p1.is_real() && count_real(&p) == 0 {
            let z1 = z.remove(nearest(&z, p1, Which::Real));
            sos[si] = single_section(&[z1, C64::real(0.0)], &[p1, C64::real(0.0)]);
        } else if p.len() + 1 == z.len()
            && !p1.is_real()
            && count_real(&p) == 1
            && count_real(&z) == 1
        {
            let z1 = z.remove(nearest(&z, p1, Which::Complex));
            sos[si] = single_section(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if p1.is_real() {
                let reals: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_real()).collect();
                let idx = idx_worst(&p, reals.into_iter());
                p.remove(idx)
            } else {
                p1.conj()
            };
            if z.is_empty() {
                sos[si] = single_section(&[], &[p1, p2]);
            } else {
                let z1 = z.remove(nearest(&z, p1, Which::Any));
                if !z1.is_real() {
                    sos[si] = single_section(&[z1, z1.conj()], &[p1, p2]);
                } else if !z.is_empty() {
                    let z2 = z.remove(nearest(&z, p1, Which::Real));
                    sos[si] = single_section(&[z1, z2], &[p1, p2]);
                } else {
                    sos[si] = single_section(&[z1], &[p1, p2]);
                }
            }
        }
    }
    for c in &mut sos[0][..3] {
        *c *= k;
    }
    Ok(sos)
}

/// Butterworth digital filter in second-order sections, equal to
/// `scipy.signal.butter(order, cutoff, btype, fs=fs, output="sos")`.
pub fn butter_sos(order: usize, cutoff: &[f64], fs: f64, btype: BandType) -> Result<Vec<Section>> {
    check_fs(fs)?;
    if order == 0 || order > MAX_ORDER {
        return Err(invalid_parameter(format!(
            "filter order must be an integer in [1, {MAX_ORDER}], got {order}"
        )));
    }
    check_cutoffs(cutoff, fs, btype)?;
    let proto = Zpk {
        z: Vec::new(),
        p: buttap(order),
        k: 1.0,
    };
    // Normalise to Nyquist, then pre-warp for the bilinear transform with fs = 2 (as scipy).
    let warped: Vec<f64> = cutoff
        .iter()
        .map(|&c| 2.0 * 2.0 * (PI * (c / (fs / 2.0)) / 2.0).tan())
        .collect();
    let analog = match btype {
        BandType::Lowpass => lp2lp(proto, warped[0]),
        BandType::Highpass => lp2hp(proto, warped[0]),
        BandType::Bandpass | BandType::Bandstop => {
            let bw = warped[1] - warped[0];
            let wo = (warped[0] * warped[1]).sqrt();
            if btype == BandType::Bandpass {
                lp2bp(proto, wo, bw)
            } else {
                lp2bs(proto, wo, bw)
            }
        }
    };
    zpk2sos(bilinear(analog, 2.0))
}

/// Second-order IIR notch (`scipy.signal.iirnotch(freq, quality, fs)`) as one section.
pub fn notch_sos(freq: f64, quality: f64, fs: f64) -> Result<Vec<Section>> {
    check_fs(fs)?;
    if !freq.is_finite() || freq <= 0.0 || freq >= fs / 2.0 {
        return Err(invalid_parameter(format!(
            "notch frequency must satisfy 0 < freq < fs/2 = {} Hz, got {freq} Hz",
            fs / 2.0
        )));
    }
    if !quality.is_finite() || quality <= 0.0 {
        return Err(invalid_parameter(format!(
            "notch quality factor must be a finite positive number, got {quality}"
        )));
    }
    let w0 = 2.0 * freq / fs;
    let bw = w0 / quality * PI;
    let w0 = w0 * PI;
    let beta = (bw / 2.0).tan();
    let gain = 1.0 / (1.0 + beta);
    Ok(vec![[
        gain * 1.0,
        gain * (-2.0 * w0.cos()),
        gain * 1.0,
        1.0,
        -2.0 * gain * w0.cos(),
        2.0 * gain - 1.0,
    ]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frequency response magnitude of a cascade at `f` Hz.
    fn gain_at(sos: &[Section], f: f64, fs: f64) -> f64 {
        let w = 2.0 * PI * f / fs;
        let zinv = C64::new(w.cos(), -w.sin());
        let zinv2 = zinv * zinv;
        sos.iter()
            .map(|s| {
                let num = C64::real(s[0]) + C64::real(s[1]) * zinv + C64::real(s[2]) * zinv2;
                let den = C64::real(s[3]) + C64::real(s[4]) * zinv + C64::real(s[5]) * zinv2;
                (num / den).abs()
            })
            .product()
    }

    #[test]
    fn butterworth_is_minus_3db_at_cutoff() {
        let half_power = std::f64::consts::FRAC_1_SQRT_2;
        for order in 1..=8 {
            let lp = butter_sos(order, &[40.0], 500.0, BandType::Lowpass).unwrap();
            assert!((gain_at(&lp, 40.0, 500.0) - half_power).abs() < 1e-9);
            assert!((gain_at(&lp, 0.0, 500.0) - 1.0).abs() < 1e-9);
            let hp = butter_sos(order, &[0.5], 500.0, BandType::Highpass).unwrap();
            assert!((gain_at(&hp, 0.5, 500.0) - half_power).abs() < 1e-9);
            assert!(gain_at(&hp, 0.0, 500.0) < 1e-9);
            let bp = butter_sos(order, &[0.5, 40.0], 500.0, BandType::Bandpass).unwrap();
            assert_eq!(bp.len(), order);
            assert!((gain_at(&bp, 0.5, 500.0) - half_power).abs() < 1e-6);
            assert!((gain_at(&bp, 40.0, 500.0) - half_power).abs() < 1e-6);
            let bs = butter_sos(order, &[45.0, 55.0], 500.0, BandType::Bandstop).unwrap();
            // the null sits at the geometric centre of the pre-warped edges
            let warp = |f: f64| (PI * f / 500.0).tan();
            let centre = 500.0 / PI * (warp(45.0) * warp(55.0)).sqrt().atan();
            assert!(gain_at(&bs, centre, 500.0) < 1e-9);
        }
    }

    #[test]
    fn first_order_lowpass_matches_closed_form() {
        // Bilinear transform of wc/(s+wc): b = [g, g], a = [1, (K-1)... ] with K = tan(pi fc/fs).
        let sos = butter_sos(1, &[50.0], 500.0, BandType::Lowpass).unwrap();
        let k = (PI * 50.0 / 500.0).tan();
        let g = k / (1.0 + k);
        let a1 = (k - 1.0) / (k + 1.0);
        let s = sos[0];
        assert!((s[0] - g).abs() < 1e-14 && (s[1] - g).abs() < 1e-14 && s[2] == 0.0);
        assert!(s[3] == 1.0 && (s[4] - a1).abs() < 1e-14 && s[5] == 0.0);
    }

    #[test]
    fn notch_rejects_its_frequency() {
        let sos = notch_sos(50.0, 30.0, 500.0).unwrap();
        assert!(gain_at(&sos, 50.0, 500.0) < 1e-12);
        assert!((gain_at(&sos, 10.0, 500.0) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        assert!(butter_sos(0, &[1.0], 100.0, BandType::Lowpass).is_err());
        assert!(butter_sos(4, &[60.0], 100.0, BandType::Lowpass).is_err());
        assert!(butter_sos(4, &[10.0, 5.0], 100.0, BandType::Bandpass).is_err());
        assert!(butter_sos(4, &[10.0], f64::NAN, BandType::Lowpass).is_err());
        assert!(butter_sos(4, &[10.0], 100.0, BandType::Bandpass).is_err());
        assert!(notch_sos(50.0, 0.0, 500.0).is_err());
        assert!(BandType::parse("sideways").is_err());
    }
}
