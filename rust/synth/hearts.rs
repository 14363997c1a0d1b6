//! Hearts fitted to real records: the shape of a sinus beat in the dipole model's own waves.
//!
//! A heart is one row of a bank (`ecgfast.hearts.fit_hearts` fits them; `hearts="ludb"` is
//! the bank shipped with the package). Its wave widths and positions are fractions of the QRS
//! duration and its amplitudes are 3-D vectors in Frank axes (X left, Y inferior, Z posterior)
//! with the R wave of unit size, so that the record's own intervals (PR, QRS, QT from the
//! parameter bounds) and size (`r_amp`) still apply: the bank gives the shape, the bounds the
//! timing, and every fiducial stays exact.

use super::rng::Rng;

/// The columns of a heart bank, in order.
pub const HEART_PARAMS: [&str; 45] = [
    "onset_fraction", // QRS onset before R, fraction of the QRS
    "q_sigma",        // Q wave width, fraction of the QRS
    "r_sigma",        // R wave width
    "s_sigma",        // S wave width
    "f1_sigma",       // the heart's own QRS forces: width ...
    "f1_position",    // ... and position, 0 = as early as the QRS allows, 1 = as late
    "f2_sigma",
    "f2_position",
    "f3_sigma",
    "f3_position",
    "p_duration",  // s
    "ta_ratio",    // atrial repolarisation wave, fraction of P (opposite sign)
    "atrial_gain", // the atria's lead field in V3-V6, fraction of the ventricles'
    "tpe_fraction",
    "u_ratio",
    "p_x",
    "p_y",
    "p_z",
    "q_x",
    "q_y",
    "q_z",
    "r_x",
    "r_y",
    "r_z",
    "s_x",
    "s_y",
    "s_z",
    "f1_x",
    "f1_y",
    "f1_z",
    "f2_x",
    "f2_y",
    "f2_z",
    "f3_x",
    "f3_y",
    "f3_z",
    "j_x", // early repolarisation: the ST wave from J into T
    "j_y",
    "j_z",
    "t1_x", // T1, the wide early part of T
    "t1_y",
    "t1_z",
    "t2_x", // T2, its descending limb
    "t2_y",
    "t2_z",
];

/// Number of the heart's own QRS forces.
pub const FORCES: usize = 3;
/// Column indices of the scalars ([`HEART_PARAMS`]).
pub const ONSET_FRACTION: usize = 0;
/// Q, R and S widths.
pub const QRS_SIGMAS: [usize; 3] = [1, 2, 3];
/// Width and position of force `f` (0-based) are columns `FORCE_SIGMA + 2 f` and
/// `FORCE_POSITION + 2 f`.
pub const FORCE_SIGMA: usize = 4;
pub const FORCE_POSITION: usize = 5;
pub const P_DURATION: usize = 10;
pub const TA_RATIO: usize = 11;
pub const ATRIAL_GAIN: usize = 12;
pub const TPE_FRACTION: usize = 13;
pub const U_RATIO: usize = 14;
/// Indices of the amplitude vectors ([`VECTORS`]).
pub const P: usize = 0;
pub const Q: usize = 1;
pub const R: usize = 2;
pub const S: usize = 3;
pub const F1: usize = 4;
pub const J: usize = 7;
pub const T1: usize = 8;
pub const T2: usize = 9;
const FIRST_VECTOR: usize = 15;
/// The 3-D amplitude vectors, in column order.
pub const VECTORS: [&str; 10] = ["p", "q", "r", "s", "f1", "f2", "f3", "j", "t1", "t2"];

/// Plausible ranges of the scalar columns (what `fit_hearts` can give and more).
pub const SCALAR_LIMITS: [(f64, f64); FIRST_VECTOR] = [
    (0.1, 0.9),
    (0.01, 0.4),
    (0.01, 0.4),
    (0.01, 0.4),
    (0.01, 0.4),
    (0.0, 1.0),
    (0.01, 0.4),
    (0.0, 1.0),
    (0.01, 0.4),
    (0.0, 1.0),
    (0.03, 0.2),
    (0.0, 1.5),
    (0.05, 2.0),
    (0.1, 0.4),
    (0.0, 1.0),
];

/// How much a record's heart differs from the bank's: SD of a rotation of the whole heart
/// (degrees), of each wave's log amplitude, of each width's log, and of each force position.
const JITTER_ROTATION_DEG: f64 = 8.0;
const JITTER_LOG_AMP: f64 = 0.12;
const JITTER_LOG_WIDTH: f64 = 0.06;
const JITTER_POSITION: f64 = 0.05;

/// The typical size of each basis lead's QRS (I, II, V1-V6) relative to their geometric mean,
/// and the spread of its log between records: median beats of the 48 raw 12-lead records of
/// the CinC 2021 sample (benches/lead_sizes.py). LUDB, which the banks are fitted to, scales
/// every lead to 1 mV, so a bank cannot say how large a heart's leads are; a record with a
/// heart of a bank gets per-lead gains that give its QRS these sizes (a lead Dower's matrix
/// makes nearly perpendicular to the heart would otherwise be all noise).
pub const LEAD_SIZE: [f64; 8] = [0.722, 0.844, 0.906, 1.295, 1.219, 1.338, 1.182, 0.976];
pub const LEAD_SIZE_LOG_SD: [f64; 8] = [0.572, 0.39, 0.415, 0.423, 0.444, 0.412, 0.309, 0.295];
/// Gains outside this range are clamped (a lead nearly perpendicular to the heart stays small).
pub const LEAD_GAIN_RANGE: (f64, f64) = (0.25, 3.0);

/// The geometric mean over the eight basis leads of the QRS peak-to-peak, in mV per unit of
/// the record's `r_amp` (0.6-1.2 by default): 1.28 puts the median record at the 1.15 mV of the
/// same raw CinC 2021 records (10th-90th percentile 0.8-1.7 mV).
pub const SIZE_PER_R_AMP: f64 = 1.28;

/// Per-lead gains (basis leads) that bring QRS peak-to-peak sizes `sizes` (as Dower's matrix
/// projects the heart) to [`LEAD_SIZE`] times a random factor per lead (`scale` times the
/// spread of [`LEAD_SIZE_LOG_SD`]), with geometric mean `size` (mV). Draws 8 values.
pub fn lead_gains(sizes: [f64; 8], rng: &mut Rng, scale: f64, size: f64) -> [f64; 8] {
    let target: [f64; 8] =
        std::array::from_fn(|b| LEAD_SIZE[b] * (scale * LEAD_SIZE_LOG_SD[b] * rng.normal()).exp());
    let gmean = (target.iter().map(|x| x.ln()).sum::<f64>() / 8.0).exp();
    std::array::from_fn(|b| {
        (size * target[b] / gmean / sizes[b].max(1e-12)).clamp(LEAD_GAIN_RANGE.0, LEAD_GAIN_RANGE.1)
    })
}

/// One heart of a bank.
#[derive(Clone, Copy, Debug)]
pub struct Heart(pub [f64; HEART_PARAMS.len()]);

impl Heart {
    /// The `i`-th column ([`HEART_PARAMS`]).
    pub fn scalar(&self, i: usize) -> f64 {
        self.0[i]
    }

    /// The `k`-th amplitude vector ([`VECTORS`] order).
    pub fn vector(&self, k: usize) -> [f64; 3] {
        let i = FIRST_VECTOR + 3 * k;
        [self.0[i], self.0[i + 1], self.0[i + 2]]
    }

    fn set_vector(&mut self, k: usize, v: [f64; 3]) {
        let i = FIRST_VECTOR + 3 * k;
        self.0[i..i + 3].copy_from_slice(&v);
    }

    /// Why this row cannot be a heart, if it cannot.
    pub fn check(row: &[f64]) -> Result<Heart, String> {
        if row.len() != HEART_PARAMS.len() {
            return Err(format!(
                "a heart has {} columns (ecgfast.hearts.HEART_PARAMS), got {}",
                HEART_PARAMS.len(),
                row.len()
            ));
        }
        if let Some(i) = row.iter().position(|v| !v.is_finite()) {
            return Err(format!("{} is not finite", HEART_PARAMS[i]));
        }
        for (i, &(lo, hi)) in SCALAR_LIMITS.iter().enumerate() {
            if !(lo..=hi).contains(&row[i]) {
                return Err(format!(
                    "{} must be in [{lo}, {hi}], got {}",
                    HEART_PARAMS[i], row[i]
                ));
            }
        }
        let mut h = Heart([0.0; HEART_PARAMS.len()]);
        h.0.copy_from_slice(row);
        if norm(h.vector(R)) < 1e-6 {
            return Err("the R wave's amplitude vector is zero".into());
        }
        Ok(h)
    }

    /// This heart as one record's: turned as a whole by a small random rotation, each wave's
    /// size (the QRS waves together) and width varied a little (`scale` times the default spread; 0: the heart as it
    /// is), the R wave scaled back to unit size. Draws a fixed number of values whatever the
    /// heart and scale.
    pub fn jittered(&self, rng: &mut Rng, scale: f64) -> Heart {
        let mut h = *self;
        let axis = {
            let z = 2.0 * rng.uniform() - 1.0;
            let a = rng.uniform() * std::f64::consts::TAU;
            let r = (1.0 - z * z).sqrt();
            [r * a.cos(), r * a.sin(), z]
        };
        let angle = (scale * JITTER_ROTATION_DEG * rng.normal()).to_radians();
        // one size for the QRS waves together (they overlap: their sum is the QRS), one for
        // each other wave
        let g: [f64; VECTORS.len()] =
            std::array::from_fn(|_| (scale * JITTER_LOG_AMP * rng.normal()).exp());
        for k in 0..VECTORS.len() {
            let qrs_wave = (Q..F1 + FORCES).contains(&k);
            let gk = if qrs_wave { g[R] } else { g[k] };
            let v = rotate(h.vector(k), axis, angle);
            h.set_vector(k, [v[0] * gk, v[1] * gk, v[2] * gk]);
        }
        let force_sigmas = (0..FORCES).map(|f| FORCE_SIGMA + 2 * f);
        for i in QRS_SIGMAS.into_iter().chain(force_sigmas) {
            let (lo, hi) = SCALAR_LIMITS[i];
            h.0[i] = (h.0[i] * (scale * JITTER_LOG_WIDTH * rng.normal()).exp()).clamp(lo, hi);
        }
        for i in (0..FORCES).map(|f| FORCE_POSITION + 2 * f) {
            h.0[i] = (h.0[i] + scale * JITTER_POSITION * rng.normal()).clamp(0.0, 1.0);
        }
        let r = norm(h.vector(R));
        for k in 0..VECTORS.len() {
            let v = h.vector(k);
            h.set_vector(k, [v[0] / r, v[1] / r, v[2] / r]);
        }
        h
    }
}

/// The hearts of a bank (one per row), or why a row is not one (or the jitter out of range).
pub fn bank(rows: ndarray::ArrayView2<f64>, jitter: f64) -> crate::errors::Result<Vec<Heart>> {
    if !(0.0..=10.0).contains(&jitter) {
        return Err(crate::errors::invalid_parameter(format!(
            "heart_jitter must be in [0, 10], got {jitter}"
        )));
    }
    if rows.nrows() == 0 {
        return Err(crate::errors::invalid_parameter("the heart bank is empty"));
    }
    rows.rows()
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            Heart::check(&row.to_vec())
                .map_err(|e| crate::errors::invalid_parameter(format!("heart {i}: {e}")))
        })
        .collect()
}

pub fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `v` turned by `angle` (radians) about the unit vector `k` (Rodrigues).
fn rotate(v: [f64; 3], k: [f64; 3], angle: f64) -> [f64; 3] {
    let (s, c) = angle.sin_cos();
    let cross = [
        k[1] * v[2] - k[2] * v[1],
        k[2] * v[0] - k[0] * v[2],
        k[0] * v[1] - k[1] * v[0],
    ];
    let dot = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
    [0, 1, 2].map(|i| v[i] * c + cross[i] * s + k[i] * dot * (1.0 - c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heart() -> Heart {
        let mut row = [0.0; HEART_PARAMS.len()];
        row[..FIRST_VECTOR].copy_from_slice(&[
            0.45, 0.08, 0.09, 0.1, 0.07, 0.3, 0.07, 0.5, 0.07, 0.7, 0.1, 0.3, 0.5, 0.22, 0.1,
        ]);
        let mut h = Heart(row);
        for k in 0..VECTORS.len() {
            h.set_vector(k, [0.1 * k as f64 + 0.05, 0.2, -0.1]);
        }
        h.set_vector(2, [0.6, 0.8, 0.0]);
        h
    }

    #[test]
    fn rotation_keeps_length_and_angles() {
        let k = [0.0, 0.0, 1.0];
        let v = rotate([1.0, 0.0, 0.0], k, std::f64::consts::FRAC_PI_2);
        assert!((v[0]).abs() < 1e-12 && (v[1] - 1.0).abs() < 1e-12);
        let a = rotate([0.3, -0.2, 0.5], [0.6, 0.8, 0.0], 0.7);
        assert!((norm(a) - norm([0.3, -0.2, 0.5])).abs() < 1e-12);
    }

    #[test]
    fn jitter_is_small_deterministic_and_keeps_r_unit() {
        let h = heart();
        let a = h.jittered(&mut Rng::for_record(1, 2), 1.0);
        let b = h.jittered(&mut Rng::for_record(1, 2), 1.0);
        let same = h.jittered(&mut Rng::for_record(1, 2), 0.0);
        for (x, y) in same.0.iter().zip(&h.0) {
            assert!((x - y).abs() < 1e-12);
        }
        assert_eq!(a.0, b.0);
        assert!((norm(a.vector(2)) - 1.0).abs() < 1e-12);
        for ((x, y), name) in a.0.iter().zip(&h.0).zip(HEART_PARAMS).take(FIRST_VECTOR) {
            assert!((x - y).abs() < 0.5 * y.max(0.2), "{name}");
        }
        assert!(Heart::check(&a.0).is_ok());
    }

    #[test]
    fn check_rejects_bad_rows() {
        let h = heart();
        assert!(Heart::check(&h.0).is_ok());
        assert!(Heart::check(&h.0[..10]).is_err());
        let mut bad = h.0;
        bad[0] = f64::NAN;
        assert!(Heart::check(&bad).unwrap_err().contains("onset_fraction"));
        let mut bad = h.0;
        bad[10] = 5.0;
        assert!(Heart::check(&bad).unwrap_err().contains("p_duration"));
        let mut bad = h.0;
        bad[FIRST_VECTOR + 6..FIRST_VECTOR + 9].copy_from_slice(&[0.0; 3]);
        assert!(Heart::check(&bad).unwrap_err().contains("R wave"));
    }
}
