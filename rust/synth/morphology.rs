//! Record morphology beyond the healthy range: ST elevation and depression by territory,
//! T-wave inversion, Q waves of an old infarction, left-ventricular hypertrophy voltage, low
//! QRS voltage and frontal axis deviation. Each is drawn per record with its own probability
//! from the record's morphology stream (fork 7 of the record's generator), so a record without
//! any of them is the same as before they existed.
//!
//! Electrophysiology kept (Frank axes: X left, Y inferior, Z posterior; a territory is the
//! direction from the heart's centre to the wall: anterior -Z, inferior +Y, lateral +X):
//! - ST elevation (acute injury): the injury current points to the territory; a dome from the
//!   J point into the T wave (a Gaussian centred at 45 % of the way from J to the T peak, σ 35 %
//!   of it) adds 0.1-0.3 mV along it, so the ST segment is raised in the leads facing the
//!   territory, merging into T, and depressed in the opposite ones;
//! - ST depression (subendocardial ischaemia): the same wave, -0.05..-0.2 mV along the
//!   lateral or inferior direction; ST elevation wins if both are drawn;
//! - T-wave inversion: the T vector mirrored about the plane normal to the territory (T turns
//!   negative in the leads facing it);
//! - Q waves (old infarction): the initial QRS force points away from the territory, 40-60 ms
//!   wide and 0.25-0.5 of R, and the R force toward the territory loses 40-70 %;
//! - LVH: QRS forces × 1.8-2.6 (Sokolow-Lyon voltage), T opposite the QRS in half the records
//!   (strain); low voltage: QRS and T forces × 0.3-0.5 (LVH wins if both are drawn);
//! - axis deviation: the R force's frontal axis moved to -75..-35 deg (left) or 100-150 deg
//!   (right), its elevation kept; left wins if both are drawn;
//! - right-ventricular hypertrophy: the R force turned right and anterior (frontal axis
//!   100-140 deg, 25-50 deg anterior: a tall R in V1, R/S > 1, and a deep S in V5-V6), QRS
//!   forces × 1.2-1.6 unless LVH sets them, the S force halved, T opposite the R force in half
//!   the records (right-ventricular strain);
//! - left anterior fascicular block: the R force's frontal axis at -80..-45 deg (the left
//!   anterior fascicle activates late, from below: rS in II, III and aVF, qR in aVL) and a small
//!   initial Q force (0.1-0.25 of R) toward the right and down (the septum and inferior wall
//!   first); the QRS stays narrow. It wins over RVH and sets the axis label to "left".

use super::rng::Rng;
use super::{edge_c, scale, unit, Wave};

/// Indices of the morphology probabilities in the bounds array.
pub const M_ST_ELEVATION: usize = 22;
pub const M_ST_DEPRESSION: usize = 23;
pub const M_T_INVERSION: usize = 24;
pub const M_Q_WAVES: usize = 25;
pub const M_LVH: usize = 26;
pub const M_LOW_VOLTAGE: usize = 27;
pub const M_LEFT_AXIS: usize = 28;
pub const M_RIGHT_AXIS: usize = 29;
pub const M_RVH: usize = 30;
pub const M_LAFB: usize = 31;

/// Territories in the order of the `param_territory` label (0 = none).
pub const TERRITORIES: [&str; 4] = ["none", "anterior", "inferior", "lateral"];

/// Record label columns of the morphology, in the order of [`Morphology::labels`].
pub const MORPHOLOGY_LABELS: [&str; 9] = [
    "param_st_shift",
    "param_territory",
    "param_t_inversion",
    "param_q_waves",
    "param_lvh",
    "param_low_voltage",
    "param_axis_deviation",
    "param_rvh",
    "param_lafb",
];

fn territory_dir(k: usize) -> [f64; 3] {
    match k {
        1 => [0.0, 0.0, -1.0],
        2 => [0.0, 1.0, 0.0],
        _ => [1.0, 0.0, 0.0],
    }
}

/// The ST wave of a beat whose J point and T peak lie at `j` and `t_peak` (s, relative to R):
/// a dome from J into T, at its top ~45 % of the way.
pub fn st_wave(amp: [f64; 3], j: f64, t_peak: f64) -> Wave {
    let span = (t_peak - j).max(0.08);
    Wave {
        mu: j + 0.45 * span,
        sigma: 0.35 * span,
        amp,
    }
}

/// One record's morphology.
#[derive(Clone, Copy, Debug, Default)]
pub struct Morphology {
    /// ST shift at J+60 ms along the territory direction, mV (+ elevation, - depression).
    pub st_shift: f64,
    /// 0 none, else the index into [`TERRITORIES`] of the ST change, T inversion and Q waves.
    pub territory: usize,
    pub t_inversion: bool,
    pub q_waves: bool,
    pub lvh: bool,
    pub low_voltage: bool,
    /// 0 none, 1 left, 2 right.
    pub axis_deviation: u8,
    pub rvh: bool,
    pub lafb: bool,
    voltage: f64,
    strain: bool,
    axis: f64,
    q_width: f64,
    q_depth: f64,
    r_loss: f64,
    /// elevation of the R force (deg, + posterior) for RVH; NaN keeps the record's own
    r_elevation: f64,
    s_factor: f64,
    /// initial Q force of LAFB, fraction of R (0 none)
    lafb_q: f64,
}

/// Whether an option with the bounds `b[i]` is drawn (two draws, whatever the outcome).
fn chosen(rng: &mut Rng, b: &[[f64; 2]], i: usize) -> bool {
    let p = rng.between(b[i][0], b[i][1]);
    rng.uniform() < p
}

impl Morphology {
    /// Draw from the record's morphology stream; the same number of draws whatever is drawn.
    ///
    /// Long because: every option's draws in a fixed order (options added later draw after
    /// the earlier ones, so records without them stay the same), then their precedence.
    pub fn sample(rng: &mut Rng, b: &[[f64; 2]]) -> Self {
        let st_up = chosen(rng, b, M_ST_ELEVATION);
        let st_down = chosen(rng, b, M_ST_DEPRESSION);
        let t_inversion = chosen(rng, b, M_T_INVERSION);
        let q_waves = chosen(rng, b, M_Q_WAVES);
        let lvh = chosen(rng, b, M_LVH);
        let low = chosen(rng, b, M_LOW_VOLTAGE);
        let left = chosen(rng, b, M_LEFT_AXIS);
        let right = chosen(rng, b, M_RIGHT_AXIS);
        let territory = 1 + ((rng.uniform() * 3.0) as usize).min(2);
        let elevation = rng.between(0.10, 0.30);
        let depression = rng.between(0.05, 0.20);
        let depression_territory = if rng.uniform() < 0.6 { 3 } else { 2 };
        let lvh_voltage = rng.between(1.8, 2.6);
        let strain = rng.uniform() < 0.5;
        let low_voltage = rng.between(0.3, 0.5);
        let left_axis = rng.between(-75.0, -35.0);
        let right_axis = rng.between(100.0, 150.0);
        let q_width = rng.between(0.040, 0.060);
        let q_depth = rng.between(0.25, 0.5);
        let r_loss = rng.between(0.4, 0.7);
        // added after the options above: RVH and LAFB
        let lafb = chosen(rng, b, M_LAFB);
        let rvh = chosen(rng, b, M_RVH) && !lafb;
        let rvh_axis = rng.between(100.0, 140.0);
        let rvh_elevation = -rng.between(25.0, 50.0);
        let rvh_voltage = rng.between(1.2, 1.6);
        let rvh_strain = rng.uniform() < 0.5;
        let lafb_axis = rng.between(-80.0, -45.0);
        let lafb_q = rng.between(0.1, 0.25);
        let (st_shift, st_territory) = if st_up {
            (elevation, territory)
        } else if st_down {
            (-depression, depression_territory)
        } else {
            (0.0, 0)
        };
        let any_territory = st_up || st_down || t_inversion || q_waves;
        let (axis_deviation, axis) = if lafb {
            (1, lafb_axis)
        } else if rvh {
            (2, rvh_axis)
        } else if left {
            (1, left_axis)
        } else if right {
            (2, right_axis)
        } else {
            (0, right_axis)
        };
        Morphology {
            st_shift,
            territory: if !any_territory {
                0
            } else if st_territory > 0 {
                st_territory
            } else {
                territory
            },
            t_inversion,
            q_waves,
            lvh,
            low_voltage: low && !lvh && !rvh,
            axis_deviation,
            rvh,
            lafb,
            voltage: if lvh {
                lvh_voltage
            } else if rvh {
                rvh_voltage
            } else if low {
                low_voltage
            } else {
                1.0
            },
            strain: (lvh && strain) || (rvh && rvh_strain),
            axis,
            q_width,
            q_depth,
            r_loss,
            r_elevation: if rvh { rvh_elevation } else { f64::NAN },
            s_factor: if rvh { 0.5 } else { 1.0 },
            lafb_q: if lafb { lafb_q } else { 0.0 },
        }
    }

    /// Factor on the QRS forces (LVH above 1, low voltage below).
    pub fn qrs_voltage(&self) -> f64 {
        self.voltage
    }

    /// Whether anything is drawn (else the record is left as it is).
    pub fn any(&self) -> bool {
        self.territory > 0 || self.voltage != 1.0 || self.axis_deviation > 0 || self.lafb
    }

    /// Apply to the record's sinus waves `[P, Q, R, S]`, T direction and amplitude, and QRS
    /// axis label; `qrs_on` is the QRS onset relative to R (s). Returns the ST shift vector
    /// (mV; placed per beat between its J point and T peak by [`st_wave`]), if any.
    pub fn apply(
        &self,
        waves: &mut [Wave; 4],
        t_dir: &mut [f64; 3],
        t_amp: &mut f64,
        qrs_axis: &mut f64,
        r_amp: f64,
        qrs_on: f64,
    ) -> Option<[f64; 3]> {
        if self.axis_deviation > 0 {
            let a = waves[2].amp;
            let norm = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
            let own = (a[2] / norm.max(1e-12))
                .clamp(-1.0, 1.0)
                .asin()
                .to_degrees();
            let elev = if self.r_elevation.is_nan() {
                own
            } else {
                self.r_elevation
            };
            waves[2].amp = scale(unit(self.axis, elev), norm);
            *qrs_axis = self.axis;
        }
        waves[3].amp = scale(waves[3].amp, self.s_factor);
        if self.lafb_q > 0.0 {
            waves[1].amp = scale(unit(120.0, 0.0), self.lafb_q * r_amp);
        }
        let dir = territory_dir(self.territory);
        if self.q_waves {
            let c = edge_c();
            let sigma = self.q_width / (2.0 * c);
            waves[1] = Wave {
                mu: qrs_on + c * sigma,
                sigma,
                amp: scale(dir, -self.q_depth * r_amp),
            };
            let r = waves[2].amp;
            let along = r[0] * dir[0] + r[1] * dir[1] + r[2] * dir[2];
            if along > 0.0 {
                waves[2].amp = [
                    r[0] - self.r_loss * along * dir[0],
                    r[1] - self.r_loss * along * dir[1],
                    r[2] - self.r_loss * along * dir[2],
                ];
            }
        }
        for w in waves[1..].iter_mut() {
            w.amp = scale(w.amp, self.voltage);
        }
        if self.voltage < 1.0 {
            *t_amp *= self.voltage;
        }
        if self.strain {
            let r = waves[2].amp;
            let n = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt().max(1e-12);
            *t_dir = scale(r, -1.0 / n);
        }
        if self.t_inversion {
            let along = t_dir[0] * dir[0] + t_dir[1] * dir[1] + t_dir[2] * dir[2];
            if along > 0.0 {
                *t_dir = [
                    t_dir[0] - 2.0 * along * dir[0],
                    t_dir[1] - 2.0 * along * dir[1],
                    t_dir[2] - 2.0 * along * dir[2],
                ];
            } else {
                // already pointing away: turn it fully away from the territory
                *t_dir = scale(dir, -1.0);
            }
        }
        (self.st_shift != 0.0).then(|| scale(dir, self.st_shift))
    }

    /// The record label values, in the order of [`MORPHOLOGY_LABELS`].
    pub fn labels(&self) -> [f64; 9] {
        [
            self.st_shift,
            self.territory as f64,
            self.t_inversion as u8 as f64,
            self.q_waves as u8 as f64,
            self.lvh as u8 as f64,
            self.low_voltage as u8 as f64,
            self.axis_deviation as f64,
            self.rvh as u8 as f64,
            self.lafb as u8 as f64,
        ]
    }
}
