//! Synthetic 12-lead ECG with exact ground-truth fiducials.
//!
//! # Model
//! ECGSYN (McSharry et al. 2003) drives Gaussian P, Q, R, S and T waves with the phase of a limit
//! cycle that turns once per RR interval; Sameni et al. (2007) give each Gaussian a 3-D amplitude
//! so the model describes the cardiac dipole. For a phase that advances linearly within a beat,
//! the ECGSYN ODE integrates to exactly a sum of Gaussians in time, which is what this module
//! evaluates (no integration error, and fiducials known in closed form):
//!
//! `d(t) = Σ_beats Σ_waves a_w · exp(-(t - r_k - μ_w)² / (2 σ_w²))`, `d ∈ R³` (Frank X left,
//! Y inferior, Z posterior), projected onto I, II, V1-V6 with Dower's matrix; III, aVR, aVL and
//! aVF follow from I and II by Einthoven's and Goldberger's identities.
//!
//! Wave timing is set from the requested intervals, per beat `k` with R peak `r_k`:
//! QRS onset at `-f·QRS` (Q Gaussian edge), offset at `(1-f)·QRS` (S Gaussian edge); P onset at
//! QRS onset − PR; T offset at QRS onset + QT_k. A wave's onset/offset is where its Gaussian falls
//! to `EDGE_FRACTION` (5 %) of its peak, `μ ∓ c·σ` with `c = sqrt(2 ln 20)`.
//!
//! RR intervals follow McSharry's bimodal spectrum (Mayer waves ~0.1 Hz, respiratory sinus
//! arrhythmia ~0.25 Hz, LF/HF ratio 0.5) as a sum of random-phase sinusoids. When QT is not fixed,
//! `QT_k = QTc · RR_{k-1}^{1/3}` (Fridericia) with a per-record QTc.

pub mod ecgsyn;
pub mod hearts;
pub mod morphology;
pub mod noise;
pub mod pathology;
pub mod rng;

use crate::errors::{invalid_parameter, Result};
use ndarray::{Array2, Array3, ArrayView3, Axis};
use rayon::prelude::*;
use rng::Rng;
use std::f64::consts::TAU;

pub const LEAD_NAMES: [&str; 12] = [
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
];

/// Independent ("basis") leads; the other four are derived from I and II.
const BASIS: [usize; 8] = [0, 1, 6, 7, 8, 9, 10, 11];

/// Dower (1980) transform from Frank X, Y, Z to I, II, V1-V6 (rows in `BASIS` order).
pub const DOWER: [[f64; 3]; 8] = [
    [0.632, -0.235, 0.059],
    [0.235, 1.066, -0.132],
    [-0.515, 0.157, -0.917],
    [0.044, 0.164, -1.387],
    [0.882, 0.098, -1.277],
    [1.213, 0.127, -0.601],
    [1.125, 0.127, -0.086],
    [0.831, 0.076, 0.230],
];

/// A wave's onset/offset is where its Gaussian has fallen to this fraction of its peak.
pub const EDGE_FRACTION: f64 = 0.05;

/// The distribution the dipole model's per-record waves are drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Population {
    /// The ranges used since the first releases (what synthetic pretraining was tuned with).
    Standard,
    /// Fitted to the median beats of LUDB's sinus records 1-100 (lead II, then the eight
    /// independent leads): atrial repolarisation (Ta) and U waves, the atria's own lead field
    /// (smaller P waves in V3-V6), forward septal forces, mostly small S waves with
    /// rightward-posterior terminal forces, early repolarisation in V1-V3, a frontal axis that
    /// keeps Dower's leads I and II upright, smaller P waves and a wider QRS-T angle
    /// (benches/realism.py).
    Ludb,
}

/// Atrial repolarisation (Ta) wave: centre after the P wave's centre, and width (s).
pub const TA_DELAY: f64 = 0.16;
pub const TA_SIGMA: f64 = 0.07;
/// U wave: centre after T offset, and width (s).
pub const U_DELAY: f64 = 0.08;
pub const U_SIGMA: f64 = 0.04;

/// Per-record parameter bounds, in this order along axis 1 of the bounds array.
pub const PARAMS: [&str; 37] = [
    "hr",             // bpm
    "hrv",            // RR standard deviation, ms
    "pr",             // ms
    "qrs",            // ms
    "qt",             // ms; NaN = derive from qtc and RR per beat
    "qtc",            // Fridericia QTc, ms (used when qt is NaN)
    "noise_baseline", // mV
    "noise_powerline",
    "noise_emg",
    "noise_motion",
    "powerline_freq",  // Hz; 0 = pick 50 or 60
    "af",              // probability that the record is in atrial fibrillation
    "pac_rate",        // probability of a premature atrial beat after a dominant beat
    "pvc_rate",        // probability of a ventricular ectopic event after a dominant beat
    "fusion_rate",     // probability that a sinus beat is a fusion beat
    "lbbb",            // probability of left bundle-branch block
    "rbbb",            // probability of right bundle-branch block
    "paced",           // probability that the ventricles are paced
    "pause_rate",      // probability of a sinus pause (arrest, 2-6 s) after a sinus beat
    "wenckebach",      // probability of second-degree AV block, Mobitz I
    "mobitz2",         // probability of second-degree AV block, Mobitz II
    "complete_avb",    // probability of third-degree (complete) AV block
    "st_elevation",    // probability of ST elevation (injury) in a territory
    "st_depression",   // probability of ST depression (ischaemia)
    "t_inversion",     // probability of T-wave inversion in a territory
    "q_waves",         // probability of Q waves of an old infarction
    "lvh",             // probability of left-ventricular hypertrophy voltage
    "low_voltage",     // probability of low QRS voltage
    "left_axis",       // probability of left axis deviation
    "right_axis",      // probability of right axis deviation
    "rvh",             // probability of right-ventricular hypertrophy
    "lafb",            // probability of left anterior fascicular block
    "vt_rate",         // probability of a run of ventricular tachycardia after a dominant beat
    "flutter",         // probability that the record is in atrial flutter
    "svt_rate",        // probability of a run of supraventricular tachycardia after a dominant beat
    "junctional_rate", // probability of a premature junctional beat after a dominant beat
    "aberrant",        // fraction of premature atrial beats conducted with RBBB aberrancy
];

/// Parameters that are probabilities or rates in [0, 1] (the pathology).
const FIRST_PATHOLOGY_PARAM: usize = 11;

/// Record label columns after the measured intervals ([`crate::beats::INTERVALS`]): the
/// sampled generator parameters.
pub const PARAM_LABELS: [&str; 18] = [
    "param_hr",
    "param_hrv",
    "param_pr",
    "param_qrs",
    "param_qt",
    "param_qtc",
    "param_p_duration",
    "param_qrs_axis",
    "param_r_amplitude",
    "param_p_amplitude",
    "param_t_amplitude",
    "param_resp_rate",
    "param_noise_baseline",
    "param_noise_powerline",
    "param_noise_emg",
    "param_noise_motion",
    "param_powerline_freq",
    "param_t_axis",
];

/// Number of record label columns.
pub const N_LABELS: usize = INTERVALS.len()
    + PARAM_LABELS.len()
    + PATHOLOGY_LABELS.len()
    + MORPHOLOGY_LABELS.len()
    + RHYTHM_LABELS.len();

/// Record label columns of rhythms added after the morphology: atrial flutter (0 none, else its
/// AV conduction ratio, 1 = variable), then the supraventricular ectopy's rates (0 when the
/// record cannot have it).
pub const RHYTHM_LABELS: [&str; 4] = [
    "param_flutter",
    "param_svt_rate",
    "param_junctional_rate",
    "param_aberrant",
];

/// Record label columns: the measured intervals, the generator parameters, the pathology, the
/// morphology.
pub fn labels() -> Vec<&'static str> {
    INTERVALS
        .iter()
        .chain(PARAM_LABELS.iter())
        .chain(PATHOLOGY_LABELS.iter())
        .chain(MORPHOLOGY_LABELS.iter())
        .chain(RHYTHM_LABELS.iter())
        .copied()
        .collect()
}

use morphology::{Morphology, MORPHOLOGY_LABELS};
use pathology::{
    AvBlock, BeatKind, Conduction, Pathology, Pattern, PATHOLOGY_LABELS, P_ABERRANT, P_FLUTTER,
    P_JUNCTIONAL, P_SVT, P_VT,
};

use crate::beats::INTERVALS;
pub use crate::beats::{Beat as BeatRow, BeatTimes, FIDUCIALS};

/// Which generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// 12-lead dipole model with parameterised intervals (the default).
    Dipole,
    /// McSharry's classic single-lead ECGSYN ODE with its published parameters.
    Ecgsyn,
}

#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub method: Method,
    /// Whose hearts the dipole model's waves resemble (see [`Population`]).
    pub population: Population,
    pub fs: f64,
    pub n_samples: usize,
    /// Output leads as indices into `LEAD_NAMES`.
    pub leads: Vec<usize>,
    pub seed: u64,
    pub start: u64,
    /// A bank of hearts fitted to real records ([`hearts`]); empty: the population's drawn
    /// hearts.
    pub hearts: Vec<hearts::Heart>,
    /// How much a record's heart differs from the bank's (1 = the default spread, 0 = none).
    pub heart_jitter: f64,
}

pub struct SynthOutput {
    /// (n_records, n_leads, n_samples), mV.
    pub signals: Array3<f32>,
    /// Beats, labels and per-beat features.
    pub beats: SynthBeats,
}

/// What [`synthesize_into`] returns besides the signals.
pub struct SynthBeats {
    /// One `Vec<BeatRow>` per record: fiducial sample indices, -1 outside the record.
    pub rows: Vec<Vec<BeatRow>>,
    /// The same as exact times (s), NaN outside the record.
    pub times: Vec<Vec<BeatTimes>>,
    /// (n_records, N_LABELS).
    pub labels: Array2<f64>,
    /// Per record, each beat's [`BeatKind`] code (index into `pathology::BEAT_SYMBOLS`).
    pub kinds: Vec<Vec<u8>>,
    /// The beat table's features ([`crate::beats::beat_features`]) of every beat, records in
    /// order: (total beats, `beats::n_feature_columns(n_leads)`); rhythm and intervals from the
    /// exact times, amplitudes from the signals at the fiducial samples.
    pub features: Array2<f64>,
}

/// Output of one record.
type RecordOutput = (Vec<BeatRow>, Vec<BeatTimes>, Vec<f64>, Vec<u8>);

/// One record and its beat features: what each worker does per record.
type RecordJob = (RecordOutput, Array2<f64>);

/// `Population::Ludb`: each heart's own small QRS forces, the notches and slurs that make real
/// QRS complexes differ from patient to patient beyond three smooth waves: this many Gaussians
/// at random times inside the QRS (its extent unchanged) ...
const OWN_QRS_FORCES: usize = 3;
/// ... each this wide (fraction of the QRS duration) ...
const OWN_FORCE_SIGMA: (f64, f64) = (0.05, 0.10);
/// ... and this strong (fraction of R), in a random direction.
const OWN_FORCE_AMP: (f64, f64) = (0.05, 0.4);

fn edge_c() -> f64 {
    (2.0 * (1.0 / EDGE_FRACTION).ln()).sqrt()
}

#[derive(Clone, Copy, Debug)]
pub struct Wave {
    /// Centre relative to the R peak, s.
    pub mu: f64,
    pub sigma: f64,
    pub amp: [f64; 3],
}

fn unit(azimuth_deg: f64, elevation_deg: f64) -> [f64; 3] {
    let (a, e) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
    [a.cos() * e.cos(), a.sin() * e.cos(), e.sin()]
}

fn scale(v: [f64; 3], s: f64) -> [f64; 3] {
    [v[0] * s, v[1] * s, v[2] * s]
}

/// Everything sampled once per record.
#[derive(Clone)]
struct RecordModel {
    hr: f64,
    hrv_ms: f64,
    pr: f64,
    qrs: f64,
    qt_fixed: Option<f64>,
    qtc: f64,
    p_duration: f64,
    onset_fraction: f64,
    tpe_fraction: f64,
    t1_ratio: f64,
    /// Atrial repolarisation (Ta) wave: amplitude as a fraction of the P wave's, opposite sign.
    ta_ratio: f64,
    /// U wave: amplitude as a fraction of the T wave's descending limb.
    u_ratio: f64,
    /// The atria's own lead field: per basis lead, the gain of Dower's coefficients for the
    /// atrial waves (None: the ventricles' lead field).
    atrial_gain: Option<[f64; 8]>,
    /// Early repolarisation: a small ST elevation vector of healthy hearts (None: none).
    j_elevation: Option<[f64; 3]>,
    /// This heart's own small QRS forces (notches, slurs) inside the sinus QRS
    /// ([`OWN_QRS_FORCES`]; none with a bundle-branch block, which has its own shape).
    own_qrs: Vec<Wave>,
    qrs_axis: f64,
    t_axis: f64,
    r_amp: f64,
    p_amp: f64,
    t_amp: f64,
    fixed_waves: [Wave; 4], // P, Q, R, S
    /// Bundle-branch block: the terminal QRS wave and the QRS span (onset, offset) around R.
    blocked: Option<(Wave, f64, f64)>,
    /// ST elevation or depression: the shift vector (mV) of the ST wave.
    st: Option<[f64; 3]>,
    t_dir: [f64; 3],
    /// The T1 wave's own amplitude vector (a heart from a bank; None: along `t_dir`).
    t1_amp: Option<[f64; 3]>,
    /// Per basis lead, a gain on Dower's coefficients (a heart from a bank; None: Dower's).
    lead_gain: Option<[f64; 8]>,
    resp_rate: f64,
    resp_phase: f64,
    resp_depth: f64,
    noise: noise::NoiseLevels,
}

fn draw(rng: &mut Rng, b: &[[f64; 2]], i: usize) -> f64 {
    rng.between(b[i][0], b[i][1])
}

impl RecordModel {
    /// Draw every parameter of one record.
    ///
    /// Long because: the draws are one list in stream order, and that order *is* the record
    /// (record i = stream (seed, i)); kept in one place so that it cannot change by accident.
    fn sample(rng: &mut Rng, b: &[[f64; 2]], population: Population) -> Self {
        let ludb = population == Population::Ludb;
        let c = edge_c();
        let hr = draw(rng, b, 0);
        let hrv_ms = draw(rng, b, 1);
        let pr = draw(rng, b, 2) / 1000.0;
        let qrs = draw(rng, b, 3) / 1000.0;
        let qt_draw = rng.uniform();
        let qt_fixed = if b[4][0].is_nan() {
            None
        } else {
            Some((b[4][0] + (b[4][1] - b[4][0]) * qt_draw) / 1000.0)
        };
        let qtc = draw(rng, b, 5) / 1000.0;
        let noise = noise::NoiseLevels {
            baseline: draw(rng, b, 6),
            powerline: draw(rng, b, 7),
            emg: draw(rng, b, 8),
            motion: draw(rng, b, 9),
            powerline_freq: {
                let f = b[10][0];
                let u = rng.uniform();
                if f > 0.0 {
                    f
                } else if u < 0.5 {
                    50.0
                } else {
                    60.0
                }
            },
        };

        // Morphology (Frank axes: X left, Y inferior, Z posterior). Ranges set so that lead II
        // of sinus records matches LUDB's sinus records 1-100 (R 0.3-0.85 mV, QRS
        // peak-to-peak 0.6-0.9 mV, T 0-0.3 mV between their 10th and 90th percentiles;
        // benches/realism.py); `Population::Ludb` also fits the shape of their median beats.
        // Both populations take the same draws in the same order, Ludb two more.
        // Ludb: the R peak later in the QRS, so that the terminal (S) forces end with LUDB's
        let onset_fraction = if ludb {
            rng.between(0.45, 0.53)
        } else {
            rng.between(0.40, 0.48)
        };
        let p_duration = rng.between(0.080, 0.115).min(0.75 * pr);
        // Ludb: -5..60 degrees keeps the QRS upright in Dower's lead I (zero at 70 degrees)
        // and II (zero at -12 degrees), as in LUDB's sinus records.
        let qrs_axis = if ludb {
            rng.between(-5.0, 60.0)
        } else {
            rng.between(0.0, 80.0)
        };
        let r_elev = rng.between(-5.0, 35.0);
        let r_amp = rng.between(0.6, 1.2);
        // Ludb: septal (Q) forces 0.05-0.25 of R, mostly small (the square of a uniform) and
        // pointing forward, so that they make V1's r wave rather than a Q in the limb leads;
        // S mostly small (median 0.25 of R)
        let q_rel = if ludb {
            0.05 + 0.2 * rng.uniform().powi(2)
        } else {
            rng.between(0.06, 0.18)
        };
        let s_rel = if ludb {
            0.1 + 0.6 * rng.uniform().powi(2)
        } else {
            rng.between(0.1, 0.4)
        };
        // Ludb: the P axis in Dower's frame (15-55 degrees keeps the P wave in lead I about as
        // tall, relative to the QRS, as LUDB's) and slightly posterior (left atrium: the
        // negative P in V1)
        let (p_axis, p_elev) = if ludb {
            (rng.between(15.0, 55.0), rng.between(-10.0, 30.0))
        } else {
            (rng.between(35.0, 75.0), rng.between(-25.0, 25.0))
        };
        let p_amp = if ludb {
            rng.between(0.05, 0.14)
        } else {
            rng.between(0.08, 0.2)
        };
        let qrs_t_angle = if ludb { 55.0 } else { 35.0 };
        let t_axis = qrs_axis + rng.between(-qrs_t_angle, qrs_t_angle);
        let t_elev = rng.between(-40.0, 0.0);
        let t_amp = rng.between(0.06, 0.26);
        let tpe_fraction = rng.between(0.20, 0.26);
        let t1_ratio = rng.between(0.3, 0.6);
        let q_azimuth = rng.between(150.0, 230.0);
        let q_dir = if ludb {
            unit(q_azimuth, rng.between(-80.0, -50.0))
        } else {
            unit(q_azimuth, rng.between(-60.0, -30.0))
        };
        // Ludb: terminal forces rightward and posterior (S in I and V4-V6 as deep as LUDB's,
        // deep in V1-V3, small in II)
        let (s_azimuth, s_elev) = if ludb {
            (rng.between(160.0, 230.0), rng.between(30.0, 65.0))
        } else {
            (rng.between(200.0, 280.0), rng.between(20.0, 55.0))
        };
        let s_dir = unit(s_azimuth, s_elev);
        let resp_rate = rng.between(0.15, 0.40);
        let resp_phase = rng.uniform() * TAU;
        let resp_depth = rng.between(0.0, 0.08);
        let (ta_ratio, u_ratio) = if ludb {
            (rng.between(0.25, 0.45), rng.between(0.0, 0.2))
        } else {
            (0.0, 0.0)
        };
        // Ludb: the atria's own lead field. The atria lie further from V3-V6 than the
        // ventricles, so one dipole through Dower's matrix makes P waves there 3-4 times too
        // tall for their QRS; V1, over the right atrium, keeps Dower's gain, V2 most of it.
        let atrial_gain = ludb.then(|| {
            let g = rng.between(0.3, 0.6);
            [1.0, 1.0, 1.0, 0.8 + 0.2 * g, g, g, g, g]
        });
        // Ludb: early repolarisation, the ST elevation of healthy hearts in V1-V3 (0-0.05 mV
        // along the anterior axis)
        let j_elevation = ludb.then(|| [0.0, 0.0, -rng.between(0.0, 0.05)]);

        let q_sigma = qrs * rng.between(0.07, 0.10);
        let r_sigma = qrs * rng.between(0.08, 0.11);
        let s_sigma = qrs * rng.between(0.08, 0.12);
        let qrs_on = -onset_fraction * qrs;
        let qrs_off = (1.0 - onset_fraction) * qrs;
        let p_sigma = p_duration / (2.0 * c);
        let fixed_waves = [
            Wave {
                mu: qrs_on - pr + p_duration / 2.0,
                sigma: p_sigma,
                amp: scale(unit(p_axis, p_elev), p_amp),
            },
            Wave {
                mu: qrs_on + c * q_sigma,
                sigma: q_sigma,
                amp: scale(q_dir, q_rel * r_amp),
            },
            Wave {
                mu: 0.0,
                sigma: r_sigma,
                amp: scale(unit(qrs_axis, r_elev), r_amp),
            },
            Wave {
                mu: qrs_off - c * s_sigma,
                sigma: s_sigma,
                amp: scale(s_dir, s_rel * r_amp),
            },
        ];
        RecordModel {
            hr,
            hrv_ms,
            pr,
            qrs,
            qt_fixed,
            qtc,
            p_duration,
            onset_fraction,
            tpe_fraction,
            t1_ratio,
            ta_ratio,
            u_ratio,
            atrial_gain,
            j_elevation,
            own_qrs: Vec::new(),
            qrs_axis,
            t_axis,
            r_amp,
            p_amp,
            t_amp,
            fixed_waves,
            blocked: None,
            st: None,
            t_dir: unit(t_axis, t_elev),
            t1_amp: None,
            lead_gain: None,
            resp_rate,
            resp_phase,
            resp_depth,
            noise,
        }
    }

    /// The atrial repolarisation (Ta) wave of a P wave: opposite in direction, broad, centred
    /// 160 ms after the P wave's centre, so that it depresses the PR and early ST segments as
    /// in real records (lead II PR segment below the baseline; LUDB, benches/realism.py).
    /// None where the population has none, so that nothing, not even zeros, is added.
    fn ta_wave(&self, p: &Wave) -> Option<Wave> {
        (self.ta_ratio > 0.0).then(|| Wave {
            mu: p.mu + TA_DELAY,
            sigma: TA_SIGMA,
            amp: scale(p.amp, -self.ta_ratio),
        })
    }

    /// A P wave and its Ta wave (if the population has one), in the order they are added.
    fn p_and_ta(&self, p: &Wave) -> impl Iterator<Item = Wave> {
        std::iter::once(*p).chain(self.ta_wave(p))
    }

    /// The U wave after a T wave: small, in the direction of T, 80 ms after T offset (None
    /// as for [`Self::ta_wave`]).
    fn u_wave(&self, t_waves: &[Wave; 2]) -> Option<Wave> {
        let t2 = &t_waves[1];
        (self.u_ratio > 0.0).then(|| Wave {
            mu: t2.mu + edge_c() * t2.sigma + U_DELAY,
            sigma: U_SIGMA,
            amp: scale(t2.amp, self.u_ratio),
        })
    }

    /// The two T Gaussians (T1 wide and early, T2 the descending limb) for a beat with this QT.
    fn t_waves(&self, qt: f64) -> [Wave; 2] {
        let qrs_on = -self.onset_fraction * self.qrs;
        let mut t = self.t_waves_after(qrs_on, self.qrs, qt, self.t_dir, self.t_amp);
        if let Some(a) = self.t1_amp {
            t[0].amp = a;
        }
        t
    }

    /// T waves of a QRS starting at `qrs_on` (relative to R) lasting `qrs`, with this QT,
    /// direction and amplitude.
    fn t_waves_after(&self, qrs_on: f64, qrs: f64, qt: f64, dir: [f64; 3], amp: f64) -> [Wave; 2] {
        let c = edge_c();
        let t_off = qrs_on + qt;
        // Keep T onset (t_off - 7.28 σ2) at least 20 ms after QRS offset.
        let room = (qt - qrs - 0.020).max(0.02);
        let sigma2 = (self.tpe_fraction * qt / c).min(room / (c + 1.4 + 1.4 * c));
        let mu2 = t_off - c * sigma2;
        let sigma1 = 1.4 * sigma2;
        let mu1 = mu2 - 1.4 * sigma2;
        [
            Wave {
                mu: mu1,
                sigma: sigma1,
                amp: scale(dir, amp * self.t1_ratio),
            },
            Wave {
                mu: mu2,
                sigma: sigma2,
                amp: scale(dir, amp),
            },
        ]
    }

    /// Bundle-branch block: the sinus QRS and T replaced by the blocked ones (QRS widened,
    /// P kept at the same PR from the new QRS onset).
    fn block(&mut self, rng: &mut Rng, conduction: Conduction) {
        let [_, q, r, s_] = self.fixed_waves;
        let Some(b) = pathology::bundle_branch_block(rng, conduction, &[q, r, s_], self.r_amp)
        else {
            return;
        };
        let p = self.fixed_waves[0];
        self.fixed_waves = [
            Wave {
                mu: b.onset - self.pr + self.p_duration / 2.0,
                ..p
            },
            b.q,
            b.r,
            b.s,
        ];
        self.qrs = b.offset - b.onset;
        self.onset_fraction = -b.onset / self.qrs;
        self.blocked = Some((b.extra, b.onset, b.offset));
        self.t_dir = b.t_dir;
        self.t1_amp = None;
        self.own_qrs.clear();
    }
}

impl RecordModel {
    /// This heart's own QRS forces ([`OWN_QRS_FORCES`]), drawn from `rng`.
    fn add_own_qrs_forces(&mut self, rng: &mut Rng) {
        let c = edge_c();
        let [_, q, _, s] = self.fixed_waves;
        let (on, off) = (q.mu - c * q.sigma, s.mu + c * s.sigma);
        for _ in 0..OWN_QRS_FORCES {
            let sigma = self.qrs * rng.between(OWN_FORCE_SIGMA.0, OWN_FORCE_SIGMA.1);
            let amp = self.r_amp * rng.between(OWN_FORCE_AMP.0, OWN_FORCE_AMP.1);
            // uniform on the sphere
            let dir = unit(
                rng.uniform() * 360.0,
                (2.0 * rng.uniform() - 1.0).asin().to_degrees(),
            );
            let u = rng.uniform();
            let (lo, hi) = (on + c * sigma, off - c * sigma);
            if hi > lo {
                self.own_qrs.push(Wave {
                    mu: lo + u * (hi - lo),
                    sigma,
                    amp: scale(dir, amp),
                });
            }
        }
    }

    /// The sinus beat's shape taken from a heart of a bank ([`hearts`]): its waves replace
    /// the drawn P, Q, R, S, own forces, early repolarisation and T, at the record's own
    /// intervals (PR, QRS; QT per beat) and size (the R wave `r_amp` mV); its Ta and U waves
    /// and atrial lead field replace the population's.
    fn apply_heart(&mut self, h: &hearts::Heart) {
        let c = edge_c();
        let k = self.r_amp;
        let qrs = self.qrs;
        let onset = h.scalar(hearts::ONSET_FRACTION);
        let (qrs_on, qrs_off) = (-onset * qrs, (1.0 - onset) * qrs);
        let v = |i: usize| scale(h.vector(i), k);
        self.onset_fraction = onset;
        self.p_duration = h.scalar(hearts::P_DURATION).min(0.75 * self.pr);
        let [q_sigma, r_sigma, s_sigma] = hearts::QRS_SIGMAS.map(|i| h.scalar(i) * qrs);
        self.fixed_waves = [
            Wave {
                mu: qrs_on - self.pr + self.p_duration / 2.0,
                sigma: self.p_duration / (2.0 * c),
                amp: v(hearts::P),
            },
            Wave {
                mu: qrs_on + c * q_sigma,
                sigma: q_sigma,
                amp: v(hearts::Q),
            },
            Wave {
                mu: 0.0,
                sigma: r_sigma,
                amp: v(hearts::R),
            },
            Wave {
                mu: qrs_off - c * s_sigma,
                sigma: s_sigma,
                amp: v(hearts::S),
            },
        ];
        self.own_qrs = (0..hearts::FORCES)
            .map(|f| {
                let sigma = h.scalar(hearts::FORCE_SIGMA + 2 * f) * qrs;
                let (lo, hi) = (qrs_on + c * sigma, qrs_off - c * sigma);
                Wave {
                    mu: lo + h.scalar(hearts::FORCE_POSITION + 2 * f) * (hi - lo).max(0.0),
                    sigma,
                    amp: v(hearts::F1 + f),
                }
            })
            .collect();
        self.ta_ratio = h.scalar(hearts::TA_RATIO);
        let g = h.scalar(hearts::ATRIAL_GAIN);
        self.atrial_gain = Some([1.0, 1.0, 1.0, 0.8 + 0.2 * g, g, g, g, g]);
        self.tpe_fraction = h.scalar(hearts::TPE_FRACTION);
        self.u_ratio = h.scalar(hearts::U_RATIO);
        self.j_elevation = Some(v(hearts::J));
        let (t1, t2) = (v(hearts::T1), v(hearts::T2));
        self.t_amp = hearts::norm(t2);
        self.t_dir = scale(t2, 1.0 / self.t_amp.max(1e-12));
        // the sinus T1 is the heart's own vector; `t1_ratio` stays the drawn one for the T
        // waves of other beats (ectopic, paced, blocked), which a small T2 would make huge
        self.t1_amp = Some(t1);
        self.p_amp = hearts::norm(v(hearts::P));
        let frontal = |a: [f64; 3]| a[1].atan2(a[0]).to_degrees();
        self.qrs_axis = frontal(v(hearts::R));
        self.t_axis = frontal(t2);
    }

    /// Peak-to-peak of the sinus QRS (Q, R, S and own forces) in each basis lead through
    /// Dower's matrix, sampled every millisecond.
    fn qrs_sizes(&self) -> [f64; 8] {
        let [_, q, _, s] = self.fixed_waves;
        let c = edge_c();
        let (on, off) = (q.mu - c * q.sigma, s.mu + c * s.sigma);
        let waves: Vec<&Wave> = self.fixed_waves[1..].iter().chain(&self.own_qrs).collect();
        let mut lo = [f64::INFINITY; 8];
        let mut hi = [f64::NEG_INFINITY; 8];
        let steps = ((off - on) / 0.001).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = on + (off - on) * i as f64 / steps as f64;
            let mut v = [0.0; 3];
            for w in &waves {
                let g = (-0.5 * ((t - w.mu) / w.sigma).powi(2)).exp();
                for (vk, ak) in v.iter_mut().zip(w.amp) {
                    *vk += ak * g;
                }
            }
            for (b, row) in DOWER.iter().enumerate() {
                let x = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
                lo[b] = lo[b].min(x);
                hi[b] = hi[b].max(x);
            }
        }
        std::array::from_fn(|b| hi[b] - lo[b])
    }

    /// Morphology (ST, T, Q waves, voltage, axis) applied to the sinus waves, after any
    /// bundle-branch block (whose terminal wave scales with the QRS voltage).
    fn reshape(&mut self, morph: &Morphology) {
        let qrs_on = -self.onset_fraction * self.qrs;
        let t_before = (self.t_dir, self.t_amp);
        self.st = morph.apply(
            &mut self.fixed_waves,
            &mut self.t_dir,
            &mut self.t_amp,
            &mut self.qrs_axis,
            self.r_amp,
            qrs_on,
        );
        // a changed T (inverted, flattened, strain) is one wave's direction again
        if (self.t_dir, self.t_amp) != t_before {
            self.t1_amp = None;
        }
        if let Some((extra, _, _)) = &mut self.blocked {
            extra.amp = scale(extra.amp, morph.qrs_voltage());
        }
        for w in &mut self.own_qrs {
            w.amp = scale(w.amp, morph.qrs_voltage());
        }
    }
}

/// RR interval process: mean 60/hr s, McSharry's bimodal spectrum, SD `hrv_ms`.
struct RrProcess {
    mean: f64,
    comps: Vec<(f64, f64, f64)>, // (angular frequency, amplitude, phase)
}

impl RrProcess {
    fn new(rng: &mut Rng, hr: f64, hrv_ms: f64, resp_rate: f64) -> Self {
        const N: usize = 24;
        let (f_lf, f_hf, sd_f) = (0.1, resp_rate, 0.01);
        let lf_hf = 0.5;
        let mut comps = Vec::with_capacity(N);
        let mut power = Vec::with_capacity(N);
        for i in 0..N {
            // frequencies concentrated around the two peaks, each component equally weighted
            let (centre, w) = if i % 3 == 0 {
                (f_lf, lf_hf)
            } else {
                (f_hf, 1.0)
            };
            let f = (centre + sd_f * rng.normal()).max(0.01);
            power.push(w);
            comps.push((TAU * f, 0.0, rng.uniform() * TAU));
        }
        // Scale so the process SD equals hrv (sum of sinusoids: var = Σ A²/2).
        let total: f64 = power.iter().sum();
        let sd = hrv_ms / 1000.0;
        for (c, p) in comps.iter_mut().zip(&power) {
            c.1 = sd * (2.0 * p / total).sqrt();
        }
        RrProcess {
            mean: 60.0 / hr,
            comps,
        }
    }

    fn at(&self, t: f64) -> f64 {
        let v: f64 = self
            .comps
            .iter()
            .map(|&(w, a, ph)| a * (w * t + ph).sin())
            .sum();
        (self.mean + v).max(0.6 * self.mean).max(0.2)
    }
}

/// Add `amp * exp(-((t - centre)/sigma)^2 / 2)` to the three dipole channels, by recurrence.
fn add_gaussian(d: &mut [Vec<f64>; 3], fs: f64, centre: f64, sigma: f64, amp: [f64; 3]) {
    let n = d[0].len() as i64;
    let reach = 5.0 * sigma;
    let j0 = (((centre - reach) * fs).ceil() as i64).max(0);
    let j1 = (((centre + reach) * fs).floor() as i64).min(n - 1);
    if j0 > j1 {
        return;
    }
    let h = 1.0 / (fs * sigma);
    let x0 = (j0 as f64 / fs - centre) / sigma;
    let mut g = (-0.5 * x0 * x0).exp();
    let mut r = (-(2.0 * x0 * h + h * h) / 2.0).exp();
    let q = (-h * h).exp();
    let (dx, rest) = d.split_at_mut(1);
    let (dy, dz) = rest.split_at_mut(1);
    let range = j0 as usize..=j1 as usize;
    for ((x, y), z) in dx[0][range.clone()]
        .iter_mut()
        .zip(&mut dy[0][range.clone()])
        .zip(&mut dz[0][range])
    {
        *x += amp[0] * g;
        *y += amp[1] * g;
        *z += amp[2] * g;
        g *= r;
        r *= q;
    }
}

/// The cardiac dipole's three channels, with the atrial waves (P, Ta, flutter and fibrillatory
/// waves) in channels of their own when the record projects them with their own lead field
/// ([`RecordModel::atrial_gain`]); otherwise everything is in `heart`.
#[derive(Default)]
struct Dipole {
    heart: [Vec<f64>; 3],
    atria: [Vec<f64>; 3],
    separate: bool,
}

impl Dipole {
    /// Zeroed channels of `n` samples (the atrial ones only when separate).
    fn reset(&mut self, n: usize, separate: bool) {
        self.separate = separate;
        for ch in self.heart.iter_mut() {
            ch.clear();
            ch.resize(n, 0.0);
        }
        for ch in self.atria.iter_mut() {
            ch.clear();
            if separate {
                ch.resize(n, 0.0);
            }
        }
    }

    /// The channels the atrial waves go to.
    fn atria_mut(&mut self) -> &mut [Vec<f64>; 3] {
        if self.separate {
            &mut self.atria
        } else {
            &mut self.heart
        }
    }

    /// Add a Gaussian wave, to the atrial channels if `atrial`.
    fn add(&mut self, atrial: bool, fs: f64, centre: f64, sigma: f64, amp: [f64; 3]) {
        let d = if atrial {
            self.atria_mut()
        } else {
            &mut self.heart
        };
        add_gaussian(d, fs, centre, sigma, amp);
    }
}

/// Peak time of `w[0] + w[1]` (same direction), between their centres: golden-section search.
fn t_peak(w: &[Wave; 2]) -> f64 {
    let norm = |a: &[f64; 3]| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (m0, m1) = (norm(&w[0].amp), norm(&w[1].amp));
    let f = |t: f64| {
        let x0 = (t - w[0].mu) / w[0].sigma;
        let x1 = (t - w[1].mu) / w[1].sigma;
        m0 * (-0.5 * x0 * x0).exp() + m1 * (-0.5 * x1 * x1).exp()
    };
    let (mut a, mut b) = (w[0].mu, w[1].mu + 0.5 * w[1].sigma);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..22 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if f(c) > f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    (a + b) / 2.0
}

/// Per-thread scratch buffers.
#[derive(Default)]
struct Scratch {
    dipole: Dipole,
    ecgsyn: Vec<f64>,
    basis: Vec<Vec<f64>>,
    emg: Vec<f64>,
}

/// What is shared by every record of a call.
struct Context {
    emg: Option<noise::EmgFilter>,
}

/// What one record's job is given: the call's settings, the record's parameter bounds and
/// index, its rows of the output (n_leads x n_samples) and the worker's scratch buffers.
struct RecordTask<'a, 'o> {
    cfg: &'a SynthConfig,
    ctx: &'a Context,
    bounds: &'a [[f64; 2]],
    index: u64,
    out: ndarray::ArrayViewMut2<'o, std::mem::MaybeUninit<f32>>,
    scratch: &'a mut Scratch,
}

/// Generate one record into `task.out`; returns its beats and labels.
///
/// Long because: the stages (RR series, beat timing, dipole sum, lead projection, noise,
/// labels) share the record's scratch buffers and model; they are in order, one block each.
/// Always inlined, so that [`record_job`] compiles it for each [`crate::simd::Level`].
#[inline(always)]
fn synth_record(task: &mut RecordTask) -> RecordOutput {
    let (cfg, ctx, bounds, index) = (task.cfg, task.ctx, task.bounds, task.index);
    let (out, scratch) = (&mut task.out, &mut *task.scratch);
    let fs = cfg.fs;
    let n = cfg.n_samples;
    let mut rng = Rng::for_record(cfg.seed, index);
    let mut m = RecordModel::sample(&mut rng, bounds, cfg.population);
    // The pathology has its own stream: without pathology a record is what it always was.
    let mut prng = Rng::for_record(cfg.seed, index).fork(3);
    let mut pacing_rng = Rng::for_record(cfg.seed, index).fork(4);
    let mut pause_rng = Rng::for_record(cfg.seed, index).fork(5);
    let mut av_rng = Rng::for_record(cfg.seed, index).fork(6);
    let mut path = Pathology::sample(
        &mut prng,
        &mut pacing_rng,
        &mut pause_rng,
        &mut av_rng,
        bounds,
        m.r_amp,
    );
    // runs of ventricular tachycardia: their own stream (fork 8), none with AV block
    let vt_rate = Rng::for_record(cfg.seed, index)
        .fork(8)
        .between(bounds[P_VT][0], bounds[P_VT][1]);
    if path.av.block == AvBlock::None {
        path.vt_rate = vt_rate;
    }
    // atrial flutter: its own stream (fork 9); not with fibrillation, pacing or AV block
    let mut flutter_rng = Rng::for_record(cfg.seed, index).fork(9);
    let p_flutter = flutter_rng.between(bounds[P_FLUTTER][0], bounds[P_FLUTTER][1]);
    let in_flutter = flutter_rng.uniform() < p_flutter;
    let flutter = pathology::Flutter::sample(&mut flutter_rng);
    if in_flutter && !path.af && path.pacing.is_none() && path.av.block == AvBlock::None {
        path.enter_flutter(flutter);
    }
    // supraventricular tachycardia, junctional beats, aberrancy: their own stream (fork 10)
    let mut sv_rng = Rng::for_record(cfg.seed, index).fork(10);
    let sv = [P_SVT, P_JUNCTIONAL, P_ABERRANT].map(|i| sv_rng.between(bounds[i][0], bounds[i][1]));
    path.allow_supraventricular(sv[0], sv[1], sv[2]);
    // this heart's own QRS forces: their own stream (fork 11)
    if !cfg.hearts.is_empty() {
        // a heart of the bank, and how this record's differs: their own stream (fork 12)
        let mut heart_rng = Rng::for_record(cfg.seed, index).fork(12);
        let pick = (heart_rng.uniform() * cfg.hearts.len() as f64) as usize;
        let heart =
            cfg.hearts[pick.min(cfg.hearts.len() - 1)].jittered(&mut heart_rng, cfg.heart_jitter);
        m.apply_heart(&heart);
        let sizes = m.qrs_sizes();
        let size = hearts::SIZE_PER_R_AMP * m.r_amp;
        m.lead_gain = Some(hearts::lead_gains(
            sizes,
            &mut heart_rng,
            0.5 * cfg.heart_jitter,
            size,
        ));
    } else if cfg.population == Population::Ludb {
        m.add_own_qrs_forces(&mut Rng::for_record(cfg.seed, index).fork(11));
    }
    // the sinus QRS conducted with right bundle-branch-block aberrancy, before the block below
    let mut aberrant_model = (path.sv.aberrant > 0.0).then(|| {
        let mut ma = m.clone();
        ma.block(&mut sv_rng, Conduction::Rbbb);
        ma
    });
    m.block(&mut prng, path.conduction);
    let morph = Morphology::sample(&mut Rng::for_record(cfg.seed, index).fork(7), bounds);
    if morph.any() {
        m.reshape(&morph);
        if let Some(ma) = aberrant_model.as_mut() {
            ma.reshape(&morph);
        }
    }
    let mut rr_rng = rng.fork(1);
    let rr = RrProcess::new(&mut rr_rng, m.hr, m.hrv_ms, m.resp_rate);

    let (beat_times, kinds, n_pauses, n_blocked) = match cfg.method {
        Method::Dipole => {
            let mut rngs = BeatRngs {
                record: &mut rng,
                pathology: &mut prng,
                pause: &mut pause_rng,
                av: &mut av_rng,
                supraventricular: &mut sv_rng,
            };
            let models = Models {
                sinus: &m,
                aberrant: aberrant_model.as_ref(),
            };
            dipole_beats(&models, &path, &rr, &mut rngs, fs, n, scratch)
        }
        Method::Ecgsyn => {
            let warmup = 1.5 + rng.uniform() * rr.mean;
            let (z, beats) = ecgsyn::generate(fs, n, m.hr, warmup, |t| rr.at(t - warmup));
            scratch.ecgsyn = z;
            let kinds = vec![BeatKind::Normal as u8; beats.len()];
            (beats.into_iter().map(|b| b.times).collect(), kinds, 0, 0)
        }
    };

    // Project to the leads, add noise, derive the augmented/limb leads.
    // Derived leads (III, aVR, aVL, aVF) need both I and II.
    let want_derived = cfg.leads.iter().any(|&l| (2..6).contains(&l));
    let need: Vec<bool> = BASIS
        .iter()
        .map(|&l| (l < 2 && want_derived) || cfg.leads.contains(&l))
        .collect();
    scratch.basis.resize_with(BASIS.len(), Vec::new);
    let mut noise_rng = rng.fork(2);
    let noise_gen = noise::NoiseGen::new(
        &mut noise_rng,
        &m.noise,
        fs,
        n,
        m.resp_rate,
        m.resp_phase,
        ctx.emg,
    );
    // Every basis lead gets its own streams whether or not it is made, so a lead's noise does
    // not depend on which other leads were asked for.
    let mut smooth_rngs: Vec<Rng> = (0..BASIS.len())
        .map(|b| noise_rng.fork(100 + b as u64))
        .collect();
    let mut emg_rngs: Vec<Rng> = (0..BASIS.len())
        .map(|b| noise_rng.fork(200 + b as u64))
        .collect();
    let wander = noise::Wander::new(&mut noise_rng.fork(300), &m.noise, fs, n, BASIS.len());
    let noise_gen = noise_gen.with_wander(wander);
    let mut projected = Vec::with_capacity(BASIS.len());
    for (b, ((buf, &needed), rng)) in scratch
        .basis
        .iter_mut()
        .zip(&need)
        .zip(smooth_rngs.iter_mut())
        .enumerate()
    {
        buf.clear();
        if !needed {
            continue;
        }
        if cfg.method == Method::Ecgsyn {
            buf.extend_from_slice(&scratch.ecgsyn);
            noise_gen.add_smooth(buf, rng, b);
        } else {
            projected.push(noise::ProjectedLead {
                buf,
                coef: scale(DOWER[b], m.lead_gain.map_or(1.0, |g| g[b])),
                rng,
                lead: b,
            });
        }
    }
    if !projected.is_empty() {
        let [dx, dy, dz] = &scratch.dipole.heart;
        noise_gen.project_smooth([dx, dy, dz], &mut projected);
    }
    // the atria through their own lead field
    if let (Some(gain), true) = (m.atrial_gain, scratch.dipole.separate) {
        let [ax, ay, az] = &scratch.dipole.atria;
        for (b, buf) in scratch.basis.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            let c = scale(DOWER[b], gain[b] * m.lead_gain.map_or(1.0, |g| g[b]));
            for (((o, x), y), z) in buf.iter_mut().zip(ax).zip(ay).zip(az) {
                *o += c[0] * x + c[1] * y + c[2] * z;
            }
        }
    }
    {
        let mut bufs: Vec<&mut [f64]> = Vec::with_capacity(BASIS.len());
        let mut rngs: Vec<Rng> = Vec::with_capacity(BASIS.len());
        for ((buf, &needed), r) in scratch.basis.iter_mut().zip(&need).zip(emg_rngs.drain(..)) {
            if needed {
                bufs.push(buf.as_mut_slice());
                rngs.push(r);
            }
        }
        noise_gen.add_emg(&mut bufs, &rngs, &mut scratch.emg);
    }
    let basis_pos = |lead: usize| BASIS.iter().position(|&l| l == lead);
    for (row, &lead) in cfg.leads.iter().enumerate() {
        let mut dst_view = out.row_mut(row);
        let dst = dst_view.as_slice_mut().expect("output rows are contiguous");
        if let Some(b) = basis_pos(lead) {
            for (o, v) in dst.iter_mut().zip(&scratch.basis[b]) {
                o.write(*v as f32);
            }
            continue;
        }
        // Derived leads in float32 arithmetic from the float32 I and II, so the identities hold
        // exactly on the returned arrays.
        let (i, ii) = (&scratch.basis[0], &scratch.basis[1]);
        match lead {
            2 => write_derived(dst, i, ii, |i, ii| ii - i),
            3 => write_derived(dst, i, ii, |i, ii| -(i + ii) / 2.0),
            4 => write_derived(dst, i, ii, |i, ii| i - ii / 2.0),
            _ => write_derived(dst, i, ii, |i, ii| ii - i / 2.0),
        }
    }

    // Fiducials outside the record are missing, as a delineator would find them.
    let (beat_rows, inside) = crate::beats::to_samples(&beat_times, fs, n);
    let mut labels = crate::beats::record_intervals(&inside).to_vec();
    labels.extend([
        m.hr,
        m.hrv_ms,
        m.pr * 1000.0,
        m.qrs * 1000.0,
        m.qt_fixed.map_or(f64::NAN, |q| q * 1000.0),
        m.qtc * 1000.0,
        m.p_duration * 1000.0,
        m.qrs_axis,
        m.r_amp,
        m.p_amp,
        m.t_amp,
        m.resp_rate * 60.0,
        m.noise.baseline,
        m.noise.powerline,
        m.noise.emg,
        m.noise.motion,
        m.noise.powerline_freq,
        m.t_axis,
    ]);
    labels.extend(path.labels());
    labels.push(n_pauses as f64);
    labels.push(n_blocked as f64);
    labels.extend(morph.labels());
    labels.push(path.flutter.as_ref().map_or(0.0, |f| f.ratio as f64));
    labels.extend([path.sv.svt_rate, path.sv.junctional_rate, path.sv.aberrant]);
    (beat_rows, inside, labels, kinds)
}

/// Write a derived limb lead from leads I and II, in float32 arithmetic.
#[inline(always)]
fn write_derived(
    dst: &mut [std::mem::MaybeUninit<f32>],
    lead_i: &[f64],
    lead_ii: &[f64],
    derive: impl Fn(f32, f32) -> f32,
) {
    for (o, (a, b)) in dst.iter_mut().zip(lead_i.iter().zip(lead_ii)) {
        o.write(derive(*a as f32, *b as f32));
    }
}

/// What kind of beat comes next after a dominant beat, and the state of an ectopic episode.
#[derive(Default)]
struct Ectopy {
    /// Dominant beats left in a bigeminy / trigeminy episode, and the position in its cycle.
    episode: usize,
    cycle: usize,
}

enum Event {
    None,
    Pac,
    Pvc(usize),
    /// A run of ventricular tachycardia of this many beats.
    Run(usize),
    /// A run of supraventricular tachycardia of this many beats.
    SvtRun(usize),
    /// A premature junctional beat.
    Pjc,
}

impl Ectopy {
    /// The ectopic event (if any) after the next dominant beat. Draws only when a rate is set.
    fn next(&mut self, prng: &mut Rng, path: &Pathology) -> Event {
        if self.episode > 0 {
            self.episode -= 1;
            self.cycle += 1;
            let every = if path.pattern == Pattern::Bigeminy {
                1
            } else {
                2
            };
            return if self.cycle.is_multiple_of(every) {
                Event::Pvc(1)
            } else {
                Event::None
            };
        }
        if path.pvc_rate > 0.0 && prng.uniform() < path.pvc_rate {
            return match path.pattern {
                Pattern::Isolated => Event::Pvc(1),
                Pattern::Couplets => Event::Pvc(2),
                Pattern::Bigeminy | Pattern::Trigeminy => {
                    self.episode = 4 + (prng.uniform() * 16.0) as usize;
                    self.cycle = 0;
                    Event::Pvc(1)
                }
            };
        }
        if path.vt_rate > 0.0 && prng.uniform() < path.vt_rate {
            return Event::Run(3 + ((prng.uniform() * 8.0) as usize).min(7));
        }
        if path.sv.svt_rate > 0.0 && prng.uniform() < path.sv.svt_rate {
            return Event::SvtRun(3 + ((prng.uniform() * 13.0) as usize).min(12));
        }
        if path.sv.junctional_rate > 0.0 && prng.uniform() < path.sv.junctional_rate {
            return Event::Pjc;
        }
        if path.pacing.is_none() && path.pac_rate > 0.0 && prng.uniform() < path.pac_rate {
            return Event::Pac;
        }
        Event::None
    }
}

/// One RR interval of atrial fibrillation: Gamma-distributed around the mean, >= 0.28 s.
fn af_interval(prng: &mut Rng, mean: f64, shape: f64) -> f64 {
    (mean * prng.gamma(shape) / shape).clamp(0.28, 3.0 * mean)
}

/// Add one beat of `kind` with R at `t` to the dipole and return its fiducial times (s, NaN for
/// an absent wave). `prev_rr` sets the QT (Fridericia) unless QT is fixed; `pr_extra` (s)
/// lengthens the PR of a sinus beat (its P wave moves earlier; AV block).
///
/// Long because: each kind of beat (sinus, blocked, premature atrial, ventricular, fusion) is
/// one arm that lists its waves and fiducials together, so that what is drawn is what is
/// labelled; the sinus arm keeps the exact arithmetic of the model without pathology.
#[allow(clippy::too_many_arguments)]
fn emit_beat(
    d: &mut Dipole,
    fs: f64,
    m: &RecordModel,
    path: &Pathology,
    kind: BeatKind,
    focus: usize,
    t: f64,
    prev_rr: f64,
    pr_extra: f64,
) -> [f64; 9] {
    let c = edge_c();
    let nan = f64::NAN;
    let qt = match m.qt_fixed {
        Some(q) => q,
        None => (m.qtc * prev_rr.cbrt()).min(0.9 * prev_rr),
    };
    let resp = 1.0 + m.resp_depth * (TAU * m.resp_rate * t + m.resp_phase).sin();
    let mut add = |w: &Wave, gain: f64, atrial: bool| {
        d.add(atrial, fs, t + w.mu, w.sigma, scale(w.amp, resp * gain));
    };
    let [p, q, r, s] = &m.fixed_waves;
    let sinus_span = match m.blocked {
        Some((_, on, off)) => (t + on, t + off),
        None => (t + q.mu - c * q.sigma, t + s.mu + c * s.sigma),
    };
    let p_fid = |pw: &Option<Wave>| match pw {
        Some(pw) => [
            t + pw.mu - c * pw.sigma,
            t + pw.mu,
            t + pw.mu + c * pw.sigma,
        ],
        None => [nan; 3],
    };
    let t_fid = |tw: &[Wave; 2]| {
        [
            t + tw[0].mu - c * tw[0].sigma,
            t + t_peak(tw),
            t + tw[1].mu + c * tw[1].sigma,
        ]
    };
    // a QRS from a ventricular focus (ectopic, escape or paced) and its discordant T; returns
    // the T fiducials
    let ventricular = |add: &mut dyn FnMut(&Wave, f64, bool), f: &pathology::Focus| {
        for w in &f.qrs {
            add(w, 1.0, false);
        }
        let t_waves = m.t_waves_after(f.onset, f.duration, qt + f.qt_extra, f.t_dir, f.t_amp);
        for w in &t_waves {
            add(w, 1.0, false);
        }
        t_fid(&t_waves)
    };
    match kind {
        BeatKind::Normal
        | BeatKind::Lbbb
        | BeatKind::Rbbb
        | BeatKind::Pac
        | BeatKind::AberrantPac
        | BeatKind::JunctionalEscape
        | BeatKind::JunctionalPremature => {
            let t_waves = m.t_waves(qt);
            let p_wave = if matches!(kind, BeatKind::Pac | BeatKind::AberrantPac) {
                let qrs_on = sinus_span.0 - t;
                let pr = m.pr * path.pac_pr_scale;
                Some(Wave {
                    mu: qrs_on - pr + m.p_duration / 2.0,
                    sigma: p.sigma,
                    amp: scale(path.pac_p_dir, m.p_amp * path.pac_p_scale),
                })
            } else if path.af
                || path.flutter.is_some()
                || matches!(
                    kind,
                    BeatKind::JunctionalEscape | BeatKind::JunctionalPremature
                )
            {
                None
            } else {
                Some(Wave {
                    mu: p.mu - pr_extra,
                    ..*p
                })
            };
            for w in p_wave.iter().flat_map(|pw| m.p_and_ta(pw)) {
                add(&w, 1.0, true);
            }
            for w in [q, r, s].into_iter().chain(&m.own_qrs) {
                add(w, 1.0, false);
            }
            if let Some((extra, _, _)) = &m.blocked {
                add(extra, 1.0, false);
            }
            // an injury or ischaemia ST shift, then the ST lift of early repolarisation
            for st in m.st.iter().chain(&m.j_elevation) {
                let j_point = sinus_span.1 - t;
                add(
                    &morphology::st_wave(*st, j_point, t_peak(&t_waves)),
                    1.0,
                    false,
                );
            }
            for w in &t_waves {
                add(w, 1.0, false);
            }
            if let Some(u) = m.u_wave(&t_waves) {
                add(&u, 1.0, false);
            }
            let [p_on, p_pk, p_off] = p_fid(&p_wave);
            let [t_on, t_pk, t_off] = t_fid(&t_waves);
            [
                p_on,
                p_pk,
                p_off,
                sinus_span.0,
                t,
                sinus_span.1,
                t_on,
                t_pk,
                t_off,
            ]
        }
        BeatKind::Pvc | BeatKind::VentricularEscape => {
            let f = &path.foci[focus];
            let [t_on, t_pk, t_off] = ventricular(&mut add, f);
            let on = t + f.onset;
            [nan, nan, nan, on, t, on + f.duration, t_on, t_pk, t_off]
        }
        BeatKind::Paced => {
            let pacing = path
                .pacing
                .as_ref()
                .expect("paced beats come from paced records");
            let f = &pacing.focus;
            let p_wave = (pacing.tracking && !path.af).then(|| Wave {
                mu: f.onset - pacing.av_delay + m.p_duration / 2.0,
                ..*p
            });
            for w in p_wave.iter().flat_map(|pw| m.p_and_ta(pw)) {
                add(&w, 1.0, true);
            }
            // the spike is sharper than a sample at low rates: keep it at least one sample wide
            let spike = Wave {
                sigma: pacing.spike.sigma.max(0.6 / fs),
                ..pacing.spike
            };
            add(&spike, 1.0, false);
            let [t_on, t_pk, t_off] = ventricular(&mut add, f);
            let [p_on, p_pk, p_off] = p_fid(&p_wave);
            let on = t + f.onset;
            [p_on, p_pk, p_off, on, t, on + f.duration, t_on, t_pk, t_off]
        }
        BeatKind::Fusion => {
            let f = &path.foci[focus];
            let mix = path.fusion_mix;
            let t_waves = m.t_waves(qt);
            for w in m.p_and_ta(p) {
                add(&w, 1.0, true);
            }
            for w in [q, r, s] {
                add(w, 1.0 - mix, false);
            }
            if let Some((extra, _, _)) = &m.blocked {
                add(extra, 1.0 - mix, false);
            }
            for w in &f.qrs {
                add(w, mix, false);
            }
            for w in &t_waves {
                add(w, 1.0 - mix, false);
            }
            if let Some(u) = m.u_wave(&t_waves) {
                add(&u, 1.0 - mix, false);
            }
            let [t_on, t_pk, t_off] = t_fid(&t_waves);
            let on = sinus_span.0.min(t + f.onset);
            let off = sinus_span.1.max(t + f.onset + f.duration);
            [
                t + p.mu - c * p.sigma,
                t + p.mu,
                t + p.mu + c * p.sigma,
                on,
                t,
                off,
                t_on,
                t_pk,
                t_off,
            ]
        }
    }
}

/// Dipole model: fill `scratch.dipole` with every beat's waves and return the fiducial times
/// (s) and kinds of the beats whose R peak lies in the record, the number of sinus pauses
/// that overlap the record and the number of P waves in it that conducted no QRS.
///
/// The random streams of a record's beat train: the record's own, the pathology's and the
/// sinus pauses' (each its own, so that adding a kind of event leaves earlier records as
/// they were).
struct BeatRngs<'a> {
    record: &'a mut Rng,
    pathology: &'a mut Rng,
    pause: &'a mut Rng,
    av: &'a mut Rng,
    supraventricular: &'a mut Rng,
}

/// The record's beat model, and the same heart conducting with right bundle-branch-block
/// aberrancy (when the record has aberrant premature atrial beats).
struct Models<'a> {
    sinus: &'a RecordModel,
    aberrant: Option<&'a RecordModel>,
}

/// Long because: the beat train (dominant beats, ectopic events with their coupling and
/// pauses, fusion) is one walk through time; splitting it would scatter the timing rules.
fn dipole_beats(
    models: &Models,
    path: &Pathology,
    rr: &RrProcess,
    rngs: &mut BeatRngs,
    fs: f64,
    n: usize,
    scratch: &mut Scratch,
) -> (Vec<[f64; 9]>, Vec<u8>, usize, usize) {
    let m = models.sinus;
    let (rng, prng) = (&mut *rngs.record, &mut *rngs.pathology);
    let mut n_pauses = 0;
    let duration = n as f64 / fs;
    scratch.dipole.reset(n, m.atrial_gain.is_some());
    if path.af {
        pathology::add_fibrillation(scratch.dipole.atria_mut(), fs, &path.fib);
    }
    if let Some(flutter) = &path.flutter {
        pathology::add_flutter(scratch.dipole.atria_mut(), fs, flutter);
    }
    let dominant = match (path.pacing, path.conduction) {
        (Some(_), _) => BeatKind::Paced,
        (None, Conduction::Normal) => BeatKind::Normal,
        (None, Conduction::Lbbb) => BeatKind::Lbbb,
        (None, Conduction::Rbbb) => BeatKind::Rbbb,
    };
    let mut beats = Vec::new();
    let mut kinds = Vec::new();
    if path.av.block != AvBlock::None {
        let (beats, kinds, n_blocked) = av_block_beats(m, path, rr, rngs, dominant, fs, n, scratch);
        return (beats, kinds, 0, n_blocked);
    }
    let mut push =
        |d: &mut Dipole, model: &RecordModel, kind: BeatKind, focus: usize, t: f64, prev: f64| {
            let fid = emit_beat(d, fs, model, path, kind, focus, t, prev, 0.0);
            let r_sample = (t * fs).round();
            if r_sample >= 0.0 && (r_sample as usize) < n {
                beats.push(fid);
                kinds.push(kind as u8);
            }
        };
    let pick_focus = |prng: &mut Rng| {
        if path.foci.len() > 1 {
            ((prng.uniform() * path.foci.len() as f64) as usize).min(path.foci.len() - 1)
        } else {
            0
        }
    };
    // a premature atrial beat, conducted with aberrancy for a fraction `path.sv.aberrant` of them
    let atrial = |sv: &mut Rng| match models.aberrant {
        Some(ma) if sv.uniform() < path.sv.aberrant => (ma, BeatKind::AberrantPac),
        _ => (m, BeatKind::Pac),
    };
    let mut ectopy = Ectopy::default();
    // Beat train from well before the record to well after it, so edge waves are complete.
    let mut t = -2.0 + rng.uniform() * rr.mean;
    let mut prev_rr = rr.at(t - rr.mean);
    while t < duration + 1.5 {
        let fused =
            path.pacing.is_none() && path.fusion_rate > 0.0 && prng.uniform() < path.fusion_rate;
        if fused {
            let focus = pick_focus(prng);
            push(&mut scratch.dipole, m, BeatKind::Fusion, focus, t, prev_rr);
        } else {
            push(&mut scratch.dipole, m, dominant, 0, t, prev_rr);
        }
        let nominal = if path.pacing.is_some() {
            rr.mean // a fixed programmed rate
        } else if path.af {
            af_interval(prng, rr.mean, path.af_shape)
        } else if let Some(flutter) = &path.flutter {
            flutter.interval(prng)
        } else {
            rr.at(t)
        };
        match ectopy.next(prng, path) {
            Event::None => {
                // a sinus pause (arrest): no P, no QRS for 2-6 s; its own stream
                let pause = dominant != BeatKind::Paced
                    && !path.af
                    && path.pause_rate > 0.0
                    && rngs.pause.uniform() < path.pause_rate;
                let interval = if pause {
                    rngs.pause.between(2.0, 6.0).max(1.5 * nominal)
                } else {
                    nominal
                };
                n_pauses += (pause && t + interval > 0.0 && t < duration) as usize;
                prev_rr = interval;
                t += interval;
            }
            event @ (Event::Pac | Event::Pjc) => {
                // one premature supraventricular beat; the sinus node is reset
                let earliest = if matches!(event, Event::Pac) {
                    0.55
                } else {
                    0.60
                };
                let coupling = (nominal * prng.between(earliest, 0.85)).max(0.3);
                let tc = t + coupling;
                let (model, kind) = match event {
                    Event::Pac => atrial(rngs.supraventricular),
                    _ => (m, BeatKind::JunctionalPremature),
                };
                push(&mut scratch.dipole, model, kind, 0, tc, coupling);
                let next = rr.at(tc);
                prev_rr = next;
                t = tc + next;
            }
            Event::SvtRun(count) => {
                // a run of atrial tachycardia at a steady 150-220 bpm; the sinus node is reset
                let cycle = prng.between(0.27, 0.40);
                let mut last = t;
                for k in 0..count {
                    let coupling = if k == 0 {
                        (cycle * prng.between(1.0, 1.2)).min(0.85 * nominal)
                    } else {
                        cycle * prng.between(0.95, 1.05)
                    };
                    let (model, kind) = atrial(rngs.supraventricular);
                    push(
                        &mut scratch.dipole,
                        model,
                        kind,
                        0,
                        last + coupling,
                        coupling,
                    );
                    last += coupling;
                }
                let next = rr.at(last);
                prev_rr = next;
                t = last + next;
            }
            event @ (Event::Pvc(_) | Event::Run(_)) => {
                // a run of VT: one focus (monomorphic) at a steady 120-200 bpm (± 3 %)
                let (count, run) = match event {
                    Event::Run(count) => (count, Some((prng.between(0.30, 0.50), 0))),
                    Event::Pvc(count) => (count, None),
                    _ => unreachable!(),
                };
                let mut last = t;
                for k in 0..count {
                    let coupling = if k == 0 {
                        (nominal * prng.between(0.45, 0.70)).max(0.28)
                    } else if let Some((cycle, _)) = run {
                        cycle * prng.between(0.97, 1.03)
                    } else {
                        prng.between(0.35, 0.55)
                    };
                    let focus = run.map_or_else(|| pick_focus(prng), |(_, f)| f);
                    push(
                        &mut scratch.dipole,
                        m,
                        BeatKind::Pvc,
                        focus,
                        last + coupling,
                        coupling,
                    );
                    last += coupling;
                }
                // sinus: the next sinus beat that finds the ventricles recovered keeps its
                // time (compensatory pause); fibrillation: a fresh irregular interval
                let next = if path.af {
                    last + af_interval(prng, rr.mean, path.af_shape).max(0.45)
                } else {
                    let mut next = t + 2.0 * nominal;
                    while next < last + 0.4 {
                        next += nominal;
                    }
                    next
                };
                prev_rr = next - last;
                t = next;
            }
        }
    }
    (beats, kinds, n_pauses, 0)
}

/// The beat train of a record with second- or third-degree AV block (sinus atria; no ectopy):
/// beats and kinds as [`dipole_beats`], and the number of P waves in the record that conducted
/// no QRS.
///
/// Long because: the three blocks share the sinus P-wave walk and differ only in which P waves
/// conduct and with what PR (complete block: none, and an escape rhythm of its own).
#[allow(clippy::too_many_arguments)]
fn av_block_beats(
    m: &RecordModel,
    path: &Pathology,
    rr: &RrProcess,
    rngs: &mut BeatRngs,
    dominant: BeatKind,
    fs: f64,
    n: usize,
    scratch: &mut Scratch,
) -> (Vec<[f64; 9]>, Vec<u8>, usize) {
    let av = &path.av;
    let duration = n as f64 / fs;
    let d = &mut scratch.dipole;
    let p = m.fixed_waves[0];
    let in_record = |t: f64| t >= 0.0 && t < duration;
    // a P wave alone (not conducted), at the place it has in a sinus beat with R at `t`
    let lone_p = |d: &mut Dipole, t: f64| {
        let resp = 1.0 + m.resp_depth * (TAU * m.resp_rate * t + m.resp_phase).sin();
        for w in m.p_and_ta(&p) {
            d.add(true, fs, t + w.mu, w.sigma, scale(w.amp, resp));
        }
    };
    let (mut beats, mut kinds) = (Vec::new(), Vec::new());
    let mut push = |d: &mut Dipole, kind: BeatKind, focus: usize, t, prev, extra| {
        let fid = emit_beat(d, fs, m, path, kind, focus, t, prev, extra);
        let r_sample = (t * fs).round();
        if r_sample >= 0.0 && (r_sample as usize) < n {
            beats.push(fid);
            kinds.push(kind as u8);
        }
    };
    let mut n_blocked = 0;
    let mut t = -2.0 + rngs.record.uniform() * rr.mean;
    if av.block == AvBlock::Complete {
        // atria and ventricles each at their own rate
        while t < duration + 1.5 {
            lone_p(d, t);
            n_blocked += in_record(t + p.mu) as usize;
            t += rr.at(t);
        }
        let (kind, jitter) = if av.ventricular_escape {
            (BeatKind::VentricularEscape, 0.04)
        } else {
            (BeatKind::JunctionalEscape, 0.02)
        };
        // the escape pacemaker is slower than the sinus node (else it would not be an escape)
        let escape_rr = av.escape_rr.max(1.2 * rr.mean);
        let mut tv = -2.0 + rngs.av.uniform() * escape_rr;
        while tv < duration + 1.5 {
            let interval = escape_rr * (1.0 + jitter * (2.0 * rngs.av.uniform() - 1.0));
            push(d, kind, 0, tv, interval, 0.0);
            tv += interval;
        }
        return (beats, kinds, n_blocked);
    }
    // second degree: sinus P waves, some not conducted; the PR of Wenckebach cycles lengthens
    // by decreasing steps, at most to what leaves the QRS before the next P wave
    let room = (0.55 * rr.mean - m.pr - m.qrs).max(0.0);
    let step = av.pr_step.min(room);
    let mut prev_r = t - rr.mean;
    let (mut j, mut last_blocked) = (0usize, false);
    while t < duration + 1.5 {
        let blocked = match av.block {
            AvBlock::Wenckebach => j + 1 == av.cycle,
            _ if av.two_to_one => j % 2 == 1,
            _ => !last_blocked && j > 0 && rngs.av.uniform() < av.drop_rate,
        };
        if blocked {
            lone_p(d, t);
            n_blocked += in_record(t + p.mu) as usize;
            j = if av.block == AvBlock::Wenckebach {
                0
            } else {
                j + 1
            };
        } else {
            let extra = if av.block == AvBlock::Wenckebach {
                step * (1.0 - av.pr_ratio.powi(j as i32))
            } else {
                0.0
            };
            let r = t + extra;
            push(d, dominant, 0, r, r - prev_r, extra);
            prev_r = r;
            j += 1;
        }
        last_blocked = blocked;
        t += rr.at(t);
    }
    (beats, kinds, n_blocked)
}

/// Check one record's bounds (the Python layer checks more, with friendlier messages).
fn check_bounds(b: &[[f64; 2]], record: usize) -> Result<()> {
    for (i, pair) in b.iter().enumerate() {
        let qt_derived = i == 4 && pair[0].is_nan() && pair[1].is_nan();
        if qt_derived {
            continue;
        }
        if !pair[0].is_finite() || !pair[1].is_finite() || pair[0] > pair[1] {
            return Err(invalid_parameter(format!(
                "record {record}: parameter {} has invalid bounds [{}, {}]",
                PARAMS[i], pair[0], pair[1]
            )));
        }
    }
    for (i, pair) in b.iter().enumerate().skip(FIRST_PATHOLOGY_PARAM) {
        if pair[0] < 0.0 || pair[1] > 1.0 {
            return Err(invalid_parameter(format!(
                "record {record}: {} must lie in [0, 1], got [{}, {}]",
                PARAMS[i], pair[0], pair[1]
            )));
        }
    }
    let lo_hi = |i: usize| (b[i][0], b[i][1]);
    let (hr_lo, _) = lo_hi(0);
    if hr_lo <= 0.0 {
        return Err(invalid_parameter(format!(
            "record {record}: hr must be > 0"
        )));
    }
    if b[2][0] <= 0.0 || b[3][0] <= 0.0 || b[5][0] <= 0.0 {
        return Err(invalid_parameter(format!(
            "record {record}: pr, qrs and qtc must be > 0"
        )));
    }
    Ok(())
}

/// Generate `bounds.len_of(Axis(0))` records. `bounds` is (n_records, PARAMS.len(), 2): the
/// low/high bounds of each parameter (equal for a fixed value). Runs in parallel over records;
/// record `i` depends only on `(cfg.seed, cfg.start + i)`.
pub fn synthesize(bounds: ArrayView3<f64>, cfg: &SynthConfig) -> Result<SynthOutput> {
    let n_records = bounds.len_of(Axis(0));
    let mut signals = Array3::<f32>::uninit((n_records, cfg.leads.len(), cfg.n_samples));
    let beats = synthesize_into(bounds, cfg, signals.view_mut())?;
    // SAFETY: synthesize_into succeeded, so every sample of every record was written.
    let signals = unsafe { signals.assume_init() };
    Ok(SynthOutput { signals, beats })
}

/// One record ([`synth_record`]) and its beat features, computed while the record is still in
/// the cache.
#[inline(always)]
fn record_features(mut task: RecordTask) -> RecordJob {
    let record = synth_record(&mut task);
    // SAFETY: synth_record writes every sample of `task.out`.
    let x = unsafe { task.out.assume_init() };
    let (rows, times) = (&record.0, &record.1);
    let r: Vec<f64> = times.iter().map(|t| t[crate::beats::R_PEAK]).collect();
    let features = crate::beats::beat_features(x.view(), &r, times, rows);
    (record, features)
}

crate::simd::multiversion!(
    /// [`record_features`] compiled for the instruction-set level given (bitwise the same
    /// output at every level).
    fn record_job => record_features, (task: RecordTask<'_, '_>) -> RecordJob
);

/// [`synthesize`] into a caller-provided `(n_records, n_leads, n_samples)` array, every sample
/// of which is written on success. Lets callers allocate where memory is best reused (e.g. on
/// the thread that will free it).
pub fn synthesize_into(
    bounds: ArrayView3<f64>,
    cfg: &SynthConfig,
    mut signals: ndarray::ArrayViewMut3<std::mem::MaybeUninit<f32>>,
) -> Result<SynthBeats> {
    let n_records = bounds.len_of(Axis(0));
    if signals.shape() != [n_records, cfg.leads.len(), cfg.n_samples] {
        return Err(crate::errors::EcgError::Internal(format!(
            "output array has shape {:?}, expected {:?}",
            signals.shape(),
            [n_records, cfg.leads.len(), cfg.n_samples]
        )));
    }
    if bounds.len_of(Axis(1)) != PARAMS.len() || bounds.len_of(Axis(2)) != 2 {
        return Err(invalid_parameter(format!(
            "bounds must have shape (n, {}, 2), got {:?}",
            PARAMS.len(),
            bounds.shape()
        )));
    }
    crate::filter_design::check_fs(cfg.fs)?;
    if cfg.n_samples == 0 {
        return Err(invalid_parameter("n_samples must be > 0"));
    }
    if cfg.method == Method::Ecgsyn && cfg.leads != [1] {
        return Err(invalid_parameter(
            "the ecgsyn method makes one lead (index 1)",
        ));
    }
    if cfg.leads.is_empty() || cfg.leads.iter().any(|&l| l >= LEAD_NAMES.len()) {
        return Err(invalid_parameter(
            "leads must be a non-empty list of lead indices 0..12",
        ));
    }
    let per_record: Vec<Vec<[f64; 2]>> = bounds
        .outer_iter()
        .map(|rec| rec.outer_iter().map(|p| [p[0], p[1]]).collect())
        .collect();
    for (i, b) in per_record.iter().enumerate() {
        check_bounds(b, i)?;
        let pathological = b[FIRST_PATHOLOGY_PARAM..].iter().any(|p| p[1] > 0.0);
        if cfg.method == Method::Ecgsyn && pathological {
            return Err(invalid_parameter(
                "the ecgsyn method makes sinus rhythm only (no rhythm, ectopy or conduction)",
            ));
        }
    }
    let ctx = Context {
        emg: noise::EmgFilter::new(cfg.fs),
    };
    let level = crate::simd::level();
    let results: Vec<RecordJob> = signals
        .outer_iter_mut()
        .into_par_iter()
        .zip(per_record.par_iter())
        .enumerate()
        .map_init(Scratch::default, |scratch, (i, (out, bounds))| {
            let task = RecordTask {
                cfg,
                ctx: &ctx,
                bounds,
                index: cfg.start + i as u64,
                out,
                scratch,
            };
            record_job(level, task)
        })
        .collect();
    Ok(collect_records(results, cfg.leads.len()))
}

/// The records' jobs gathered into one [`SynthBeats`], records in order.
fn collect_records(results: Vec<RecordJob>, n_leads: usize) -> SynthBeats {
    let n_records = results.len();
    let mut labels = Array2::<f64>::zeros((n_records, N_LABELS));
    let mut rows = Vec::with_capacity(n_records);
    let mut times = Vec::with_capacity(n_records);
    let mut kinds = Vec::with_capacity(n_records);
    let mut parts = Vec::with_capacity(n_records);
    for (i, ((r, t, lab, k), f)) in results.into_iter().enumerate() {
        for (dst, v) in labels.row_mut(i).iter_mut().zip(lab) {
            *dst = v;
        }
        rows.push(r);
        times.push(t);
        kinds.push(k);
        parts.push(f);
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let features = if views.is_empty() {
        Array2::zeros((0, crate::beats::n_feature_columns(n_leads)))
    } else {
        ndarray::concatenate(Axis(0), &views).expect("same number of columns")
    };
    SynthBeats {
        rows,
        times,
        labels,
        kinds,
        features,
    }
}

#[cfg(test)]
mod tests;
