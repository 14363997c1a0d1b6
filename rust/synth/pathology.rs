//! Pathology of a synthetic record: its rhythm (sinus or atrial fibrillation), conduction
//! (normal, left or right bundle-branch block) and ectopic beats (premature atrial and
//! ventricular beats, uni- or multiform, isolated, in couplets, bigeminy or trigeminy, and
//! fusion beats), with the waves of every kind of beat and their exact fiducials.
//!
//! Everything is drawn from the record's own pathology streams (forks 3 and 4 of a copy of the
//! record's generator), so a record without pathology is the same as before the pathology
//! existed, and every record depends only on `(seed, index)`.
//!
//! Electrophysiology kept (Frank axes: X left, Y inferior, Z posterior):
//! - premature atrial beat: early (coupling 55-85 % of the sinus RR), an ectopic P wave (other
//!   axis and amplitude, PR 85-115 % of the sinus PR), normal QRS and T; the sinus node is reset,
//!   so the pause after it is not compensatory;
//! - premature ventricular beat: early (45-70 %), no P wave, a wide (120-180 ms) QRS of two
//!   Gaussians in the focus' own direction, larger than the sinus QRS, a discordant T and a QT
//!   40-80 ms longer; the next sinus beat keeps its time (compensatory pause). One to three foci
//!   per record (multiform when more than one);
//! - fusion beat: a ventricular focus firing at the time of a sinus beat: sinus P, QRS the blend
//!   of the sinus and the focus' QRS (30-70 %), T of the sinus beat shrunk by the blend;
//! - atrial fibrillation: no P waves, fibrillatory waves (4-9 Hz, frequency- and
//!   amplitude-modulated, directed mostly to V1), RR intervals independent Gamma draws (CV
//!   0.18-0.35), no premature atrial beats;
//! - ventricular pacing: every dominant beat paced at a fixed rate (the record's mean RR): a
//!   spike (unipolar 2-6 mV or bipolar 0.3-1.2 mV) 4 ms before a wide (140-180 ms) QRS from the
//!   right-ventricular apex (superior axis, left-bundle-branch-block-like), discordant T; half
//!   the records track the sinus P wave (DDD, AV delay 120-200 ms), half show no P (VVI);
//! - left bundle-branch block: no septal Q, a broad notched QRS directed left, down (frontal
//!   axis -10..50 deg) and posterior
//!   (QRS 120-170 ms), T discordant to it; right bundle-branch block: the normal initial QRS
//!   and a slow terminal wave directed right and anterior (rSR' in V1, wide S in I and V6),
//!   QRS 120-160 ms, T opposite to the terminal wave;
//! - sinus pause (sinus arrest): after a sinus beat, with the record's rate, neither P nor QRS
//!   for 2-6 s (at least 1.5 RR); then sinus rhythm resumes. Not in fibrillation or pacing.
//! - second-degree AV block, Mobitz I (Wenckebach): cycles of 3-6 sinus P waves whose PR
//!   lengthens by decreasing steps (PR_j = PR + step (1 - ratio^j), step 80-250 ms, ratio
//!   0.4-0.65) until the last P of the cycle is not conducted (a P wave without QRS);
//! - second-degree AV block, Mobitz II: a constant PR and, in 40 % of the records, 2:1
//!   conduction, otherwise single P waves blocked at random (10-30 % of the P waves, never two
//!   in a row);
//! - third-degree (complete) AV block: sinus P waves at the sinus rate and, independent of
//!   them, an escape rhythm: junctional (60 %: 40-60 bpm, the record's own QRS, symbol `j`) or
//!   ventricular (20-40 bpm, a wide QRS from a ventricular focus with a discordant T, `E`),
//!   at most 1/1.2 of the sinus rate.
//!   An AV-block record has no ectopic beats or pauses, and never fibrillation or pacing.
//! - run of ventricular tachycardia (non-sustained): after a dominant beat, 3-10 ventricular
//!   beats of the record's first focus (monomorphic), the first at the PVC coupling, the others
//!   at a steady cycle of 300-500 ms (± 3 %), then a compensatory pause (sinus) or a fresh
//!   interval (AF). Its own stream (fork 8) draws the rate; the timing draws come from the
//!   ectopic stream only when the rate is set, so records without runs are unchanged.
//! - run of supraventricular (atrial) tachycardia (non-sustained): after a dominant beat,
//!   3-15 premature atrial beats (the record's ectopic P wave, normal QRS) at a steady cycle
//!   of 270-400 ms (150-220 bpm, ± 5 %), the first at 100-120 % of that cycle; the sinus node is
//!   reset (next sinus beat one sinus RR after the last).
//! - premature junctional beat: early (coupling 60-85 % of the sinus RR), no visible P wave
//!   (retrograde P hidden in the QRS), the sinus QRS and T; the sinus node is reset.
//! - aberrant conduction: a premature atrial beat (single or in a run) conducted with right
//!   bundle-branch-block aberrancy (the record's own RBBB morphology: rSR' in V1, QRS ≥ 120 ms),
//!   for a fraction of them; records with a bundle-branch block or pacing have none.
//!   These three draw their rates, the aberrant QRS and the per-beat aberrancy from their own
//!   stream (fork 10); their timing from the ectopic stream only when a rate is set.

use super::rng::Rng;
use super::{edge_c, scale, unit, Wave};

/// Beat kinds in code order, as MIT-BIH annotation symbols (AAMI class by the usual map:
/// N, L, R, j -> N; A -> S; V, E -> V; F -> F; / -> Q).
/// J (premature junctional) and a (aberrated premature atrial) are S.
pub const BEAT_SYMBOLS: [&str; 11] = ["N", "L", "R", "A", "V", "F", "/", "j", "E", "J", "a"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeatKind {
    Normal = 0,
    Lbbb = 1,
    Rbbb = 2,
    Pac = 3,
    Pvc = 4,
    Fusion = 5,
    Paced = 6,
    JunctionalEscape = 7,
    VentricularEscape = 8,
    JunctionalPremature = 9,
    AberrantPac = 10,
}

/// Second- and third-degree atrioventricular block (first degree is a long PR: the `pr` range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AvBlock {
    None = 0,
    Wenckebach = 1,
    Mobitz2 = 2,
    Complete = 3,
}

/// How a record's AV node conducts the sinus P waves (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct AvConduction {
    pub block: AvBlock,
    /// Wenckebach: P waves per cycle (the last one blocked), total PR lengthening approached
    /// (s) and the ratio of successive PR increments.
    pub cycle: usize,
    pub pr_step: f64,
    pub pr_ratio: f64,
    /// Mobitz II: 2:1 conduction, or the probability that a P wave is blocked.
    pub two_to_one: bool,
    pub drop_rate: f64,
    /// Complete block: a ventricular (else junctional) escape rhythm, and its RR (s).
    pub ventricular_escape: bool,
    pub escape_rr: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduction {
    Normal = 0,
    Lbbb = 1,
    Rbbb = 2,
}

/// Which of mutually exclusive states, with probabilities `p` in order, the uniform draw `u`
/// falls in; None for the rest (the state without any of them).
fn pick(u: f64, p: &[f64]) -> Option<usize> {
    let mut cumulative = 0.0;
    for (k, &pk) in p.iter().enumerate() {
        cumulative += pk;
        if u < cumulative {
            return Some(k);
        }
    }
    None
}

/// How ventricular ectopic events come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Isolated = 0,
    Couplets = 1,
    Bigeminy = 2,
    Trigeminy = 3,
}

/// Indices of the pathology parameters in the bounds array (after the eleven base ones).
pub const P_AF: usize = 11;
pub const P_PAC: usize = 12;
pub const P_PVC: usize = 13;
pub const P_FUSION: usize = 14;
pub const P_LBBB: usize = 15;
pub const P_RBBB: usize = 16;
pub const P_PACED: usize = 17;
pub const P_PAUSE: usize = 18;
pub const P_WENCKEBACH: usize = 19;
pub const P_MOBITZ2: usize = 20;
pub const P_COMPLETE_AVB: usize = 21;
pub const P_VT: usize = 32;
pub const P_FLUTTER: usize = 33;
pub const P_SVT: usize = 34;
pub const P_JUNCTIONAL: usize = 35;
pub const P_ABERRANT: usize = 36;

/// A ventricular pacemaker: spike, paced QRS (from the right-ventricular apex: wide, superior
/// axis, left-bundle-branch-block-like, discordant T) and, in atrial-tracking (DDD) mode, the
/// sinus P wave followed by the paced QRS after the programmed AV delay.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    pub tracking: bool,
    pub av_delay: f64,
    pub spike: Wave,
    pub focus: Focus,
}

/// A ventricular focus: its QRS (two Gaussians around the R time), T direction and size.
#[derive(Clone, Copy, Debug)]
pub struct Focus {
    pub qrs: [Wave; 2],
    pub t_dir: [f64; 3],
    pub t_amp: f64,
    pub qt_extra: f64,
    /// QRS onset relative to the R time (s, negative) and duration (s).
    pub onset: f64,
    pub duration: f64,
}

/// Fibrillatory waves of atrial fibrillation.
#[derive(Clone, Copy, Debug)]
pub struct Fibrillation {
    pub freq: f64,
    pub amp: f64,
    pub dir: [f64; 3],
    pub fm_depth: f64,
    pub fm_rate: f64,
    pub am_rate: f64,
    pub phase: f64,
}

/// Everything pathological about one record.
#[derive(Clone, Debug)]
pub struct Pathology {
    pub af: bool,
    pub conduction: Conduction,
    pub pac_rate: f64,
    pub pvc_rate: f64,
    pub fusion_rate: f64,
    pub pattern: Pattern,
    pub foci: Vec<Focus>,
    /// Ectopic P wave of premature atrial beats: direction and amplitude factor; PR factor.
    pub pac_p_dir: [f64; 3],
    pub pac_p_scale: f64,
    pub pac_pr_scale: f64,
    /// Gamma shape of the RR intervals in atrial fibrillation (CV = 1/√k).
    pub af_shape: f64,
    pub fib: Fibrillation,
    /// Blend of the focus QRS in fusion beats.
    pub fusion_mix: f64,
    /// Ventricular pacing of every dominant beat, if the record is paced.
    pub pacing: Option<Pacing>,
    /// Probability of a sinus pause (sinus arrest, 2-6 s) after a sinus beat (0 in atrial
    /// fibrillation and paced records).
    pub pause_rate: f64,
    /// Second- or third-degree AV block (`AvBlock::None` in fibrillation and paced records).
    pub av: AvConduction,
    /// Probability of a run of ventricular tachycardia (3-10 beats of the first focus at
    /// 120-200 bpm) after a dominant beat; set by the caller from its own stream (0 with AV
    /// block).
    pub vt_rate: f64,
    /// Atrial flutter, if the record is in it (set by the caller from its own stream).
    pub flutter: Option<Flutter>,
    /// Supraventricular tachycardia, junctional beats and aberrancy (set by the caller from
    /// their own stream; see [`Pathology::allow_supraventricular`]).
    pub sv: Supraventricular,
}

/// Probability of a run of supraventricular tachycardia after a dominant beat, of a premature
/// junctional beat, and the fraction of premature atrial beats conducted with aberrancy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Supraventricular {
    pub svt_rate: f64,
    pub junctional_rate: f64,
    pub aberrant: f64,
}

/// Typical (counter-clockwise isthmus) atrial flutter: F waves at 250-350 per minute, a
/// sawtooth with a slow descent over 75 % of the cycle and a quick rise, directed superiorly
/// (negative in II, III and aVF) with an anterior part (positive in V1); the ventricles follow
/// every 2nd, 3rd or 4th F wave, or a variable 2-4 (`ratio` 1).
#[derive(Clone, Debug)]
pub struct Flutter {
    pub cycle: f64,
    pub ratio: u8,
    pub amp: f64,
    pub dir: [f64; 3],
    pub phase: f64,
}

impl Flutter {
    /// Draw from the flutter stream; the same number of draws whatever is drawn.
    pub fn sample(rng: &mut Rng) -> Self {
        let cycle = 60.0 / rng.between(250.0, 350.0);
        let u = rng.uniform();
        let ratio = if u < 0.5 {
            2
        } else if u < 0.65 {
            3
        } else if u < 0.8 {
            4
        } else {
            1
        };
        Flutter {
            cycle,
            ratio,
            amp: rng.between(0.08, 0.2),
            dir: unit(rng.between(-110.0, -70.0), rng.between(-40.0, -15.0)),
            phase: rng.uniform(),
        }
    }

    /// The next RR interval: the conduction ratio times the flutter cycle (variable: 2-4 drawn
    /// per beat from the ectopic stream).
    pub fn interval(&self, prng: &mut Rng) -> f64 {
        let k = if self.ratio == 1 {
            2 + ((prng.uniform() * 3.0) as usize).min(2)
        } else {
            self.ratio as usize
        };
        k as f64 * self.cycle
    }
}

/// Add the flutter waves to the three dipole channels.
pub fn add_flutter(d: &mut [Vec<f64>; 3], fs: f64, f: &Flutter) {
    for j in 0..d[0].len() {
        let x = (j as f64 / fs / f.cycle + f.phase).fract();
        // a slow fall from +1 to -1 over 75 % of the cycle, a quick rise over the rest
        let v = f.amp
            * if x < 0.75 {
                1.0 - x / 0.375
            } else {
                -1.0 + (x - 0.75) / 0.125
            };
        d[0][j] += v * f.dir[0];
        d[1][j] += v * f.dir[1];
        d[2][j] += v * f.dir[2];
    }
}

impl Pathology {
    /// Put the record in atrial flutter: no P waves, no premature atrial beats or fusion, no
    /// sinus pauses (the flutter circuit replaces the sinus node).
    pub fn enter_flutter(&mut self, flutter: Flutter) {
        self.flutter = Some(flutter);
        self.pac_rate = 0.0;
        self.fusion_rate = 0.0;
        self.pause_rate = 0.0;
    }
}

impl Pathology {
    /// Draw one record's pathology from its stream. `b` are the record's bounds; `r_amp` and
    /// `p_amp` the sinus beat's sizes. The number of draws does not depend on the values.
    pub fn sample(
        rng: &mut Rng,
        pacing_rng: &mut Rng,
        pause_rng: &mut Rng,
        av_rng: &mut Rng,
        b: &[[f64; 2]],
        r_amp: f64,
    ) -> Self {
        let draw = |rng: &mut Rng, i: usize| rng.between(b[i][0], b[i][1]);
        let af = rng.uniform() < draw(rng, P_AF);
        let pac_rate = draw(rng, P_PAC);
        let pvc_rate = draw(rng, P_PVC);
        let fusion_rate = draw(rng, P_FUSION);
        let (p_l, p_r) = (draw(rng, P_LBBB), draw(rng, P_RBBB));
        let conduction = pick(rng.uniform(), &[p_l, p_r]).map_or(Conduction::Normal, |k| {
            [Conduction::Lbbb, Conduction::Rbbb][k]
        });
        let u = rng.uniform();
        let pattern = if u < 0.6 {
            Pattern::Isolated
        } else if u < 0.75 {
            Pattern::Couplets
        } else if u < 0.9 {
            Pattern::Bigeminy
        } else {
            Pattern::Trigeminy
        };
        let n_foci = if rng.uniform() < 0.7 {
            1
        } else if rng.uniform() < 0.6 {
            2
        } else {
            3
        };
        let all_foci: Vec<Focus> = (0..3).map(|_| Focus::sample(rng, r_amp)).collect();
        let pac_p_dir = unit(rng.between(-90.0, 90.0), rng.between(-30.0, 30.0));
        let pac_p_scale = rng.between(0.6, 1.2);
        let pac_pr_scale = rng.between(0.85, 1.15);
        let af_shape = {
            let cv = rng.between(0.18, 0.35);
            1.0 / (cv * cv)
        };
        let fib = Fibrillation {
            freq: rng.between(4.0, 9.0),
            amp: rng.between(0.02, 0.10),
            dir: unit(rng.between(90.0, 180.0), rng.between(-70.0, -30.0)),
            fm_depth: rng.between(0.3, 1.0),
            fm_rate: rng.between(0.1, 0.5),
            am_rate: rng.between(0.1, 0.4),
            phase: rng.uniform() * std::f64::consts::TAU,
        };
        // pacing, pauses, AV block draw from own streams: `rng` draws as before they existed
        let paced = pacing_rng.uniform() < draw(pacing_rng, P_PACED);
        let pacing = Pacing::sample(pacing_rng, r_amp);
        let pause_rate = draw(pause_rng, P_PAUSE);
        let av = AvConduction::sample(av_rng, b, !(af || paced));
        // AV-block records have no ectopy or pauses
        let quiet = |rate: f64| if av.block == AvBlock::None { rate } else { 0.0 };
        Pathology {
            af,
            conduction,
            pac_rate: if af { 0.0 } else { quiet(pac_rate) },
            pvc_rate: quiet(pvc_rate),
            fusion_rate: if af { 0.0 } else { quiet(fusion_rate) },
            pattern,
            foci: all_foci[..n_foci].to_vec(),
            pac_p_dir,
            pac_p_scale,
            pac_pr_scale,
            af_shape,
            fib,
            fusion_mix: rng.between(0.3, 0.7), // the last draw of `rng`
            pacing: paced.then_some(pacing),
            pause_rate: if af || paced { 0.0 } else { quiet(pause_rate) },
            av,
            vt_rate: 0.0,
            flutter: None,
            sv: Supraventricular::default(),
        }
    }

    /// Set the supraventricular options drawn by the caller: none in fibrillation, flutter,
    /// paced records or AV block; no aberrancy with a bundle-branch block.
    pub fn allow_supraventricular(&mut self, svt: f64, junctional: f64, aberrant: f64) {
        let atria_free = !self.af
            && self.flutter.is_none()
            && self.pacing.is_none()
            && self.av.block == AvBlock::None;
        if atria_free {
            self.sv = Supraventricular {
                svt_rate: svt,
                junctional_rate: junctional,
                aberrant: if self.conduction == Conduction::Normal {
                    aberrant
                } else {
                    0.0
                },
            };
        }
    }

    /// Whether the record has anything but sinus rhythm with normal conduction.
    pub fn any(&self) -> bool {
        self.af
            || self.conduction != Conduction::Normal
            || self.pac_rate > 0.0
            || self.pvc_rate > 0.0
            || self.fusion_rate > 0.0
            || self.pacing.is_some()
            || self.pause_rate > 0.0
            || self.av.block != AvBlock::None
            || self.vt_rate > 0.0
            || self.flutter.is_some()
            || self.sv.svt_rate > 0.0
            || self.sv.junctional_rate > 0.0
    }

    /// The record label values, in the order of `PATHOLOGY_LABELS` (pattern and number of foci
    /// 0 when the record has no ventricular ectopy).
    pub fn labels(&self) -> [f64; 10] {
        let ectopic = self.pvc_rate > 0.0 || self.fusion_rate > 0.0;
        [
            self.af as u8 as f64,
            self.conduction as u8 as f64,
            self.pac_rate,
            self.pvc_rate,
            self.fusion_rate,
            if ectopic {
                self.pattern as u8 as f64
            } else {
                0.0
            },
            if ectopic { self.foci.len() as f64 } else { 0.0 },
            self.pacing.is_some() as u8 as f64,
            self.pause_rate,
            self.av.block as u8 as f64,
        ]
    }
}

impl AvConduction {
    /// Draw from the record's AV stream; the same number of draws whatever the block.
    /// `possible` is false in fibrillation and paced records (no block then).
    fn sample(rng: &mut Rng, b: &[[f64; 2]], possible: bool) -> Self {
        let draw = |rng: &mut Rng, i: usize| rng.between(b[i][0], b[i][1]);
        let (p1, p2, p3) = (
            draw(rng, P_WENCKEBACH),
            draw(rng, P_MOBITZ2),
            draw(rng, P_COMPLETE_AVB),
        );
        let drawn = pick(rng.uniform(), &[p1, p2, p3]);
        let blocks = [AvBlock::Wenckebach, AvBlock::Mobitz2, AvBlock::Complete];
        let block = drawn
            .filter(|_| possible)
            .map_or(AvBlock::None, |k| blocks[k]);
        let cycle = 3 + ((rng.uniform() * 4.0) as usize).min(3);
        let pr_step = rng.between(0.08, 0.25);
        let pr_ratio = rng.between(0.4, 0.65);
        let two_to_one = rng.uniform() < 0.4;
        let drop_rate = rng.between(0.1, 0.3);
        let ventricular_escape = rng.uniform() < 0.4;
        let escape_bpm = if ventricular_escape {
            rng.between(20.0, 40.0)
        } else {
            rng.between(40.0, 60.0)
        };
        AvConduction {
            block,
            cycle,
            pr_step,
            pr_ratio,
            two_to_one,
            drop_rate,
            ventricular_escape,
            escape_rr: 60.0 / escape_bpm,
        }
    }
}

/// Record label columns of the pathology (after the base parameter labels): the values of
/// [`Pathology::labels`], then the number of sinus pauses that overlap the record and the
/// number of P waves in the record not followed by a QRS they conducted (AV block).
pub const PATHOLOGY_LABELS: [&str; 12] = [
    "param_af",
    "param_conduction",
    "param_pac_rate",
    "param_pvc_rate",
    "param_fusion_rate",
    "param_pvc_pattern",
    "param_pvc_foci",
    "param_paced",
    "param_pause_rate",
    "param_av_block",
    "n_pauses",
    "n_blocked_p",
];

impl Pacing {
    fn sample(rng: &mut Rng, r_amp: f64) -> Self {
        let tracking = rng.uniform() < 0.5;
        let av_delay = rng.between(0.12, 0.20);
        // unipolar spikes are large, bipolar small
        let spike_amp = if rng.uniform() < 0.5 {
            rng.between(2.0, 6.0)
        } else {
            rng.between(0.3, 1.2)
        };
        let spike_dir = unit(rng.between(0.0, 360.0), rng.between(-60.0, 60.0));
        let duration = rng.between(0.140, 0.180);
        let dir = unit(rng.between(-100.0, -50.0), rng.between(15.0, 45.0));
        let focus = Focus::build(rng, r_amp, dir, duration);
        Pacing {
            tracking,
            av_delay,
            spike: Wave {
                mu: focus.onset - 0.004,
                sigma: 0.0008,
                amp: scale(spike_dir, spike_amp),
            },
            focus,
        }
    }
}

impl Focus {
    fn sample(rng: &mut Rng, r_amp: f64) -> Self {
        let duration = rng.between(0.120, 0.180);
        let dir = unit(rng.between(0.0, 360.0), rng.between(-60.0, 60.0));
        Self::build(rng, r_amp, dir, duration)
    }

    /// A focus whose QRS points along `dir` and lasts about `duration` (s).
    fn build(rng: &mut Rng, r_amp: f64, dir: [f64; 3], duration: f64) -> Self {
        let c = edge_c();
        let amp = r_amp * rng.between(1.2, 2.2);
        let back = unit(rng.between(0.0, 360.0), rng.between(-60.0, 60.0));
        let back = [back[0] - dir[0], back[1] - dir[1], back[2] - dir[2]];
        let back_amp = amp * rng.between(0.2, 0.5);
        let norm = back.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-9);
        let s1 = duration * 0.17;
        let s2 = duration * 0.12;
        let main = Wave {
            mu: 0.0,
            sigma: s1,
            amp: scale(dir, amp),
        };
        let second = Wave {
            mu: duration * 0.25,
            sigma: s2,
            amp: scale(back, back_amp / norm),
        };
        let onset = -c * s1;
        let offset = (c * s1).max(second.mu + c * s2);
        let t_rot = unit(rng.between(-30.0, 30.0), rng.between(-30.0, 30.0));
        let t_dir = [
            -dir[0] + 0.4 * t_rot[0],
            -dir[1] + 0.4 * t_rot[1],
            -dir[2] + 0.4 * t_rot[2],
        ];
        let tn = t_dir.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-9);
        Focus {
            qrs: [main, second],
            t_dir: scale(t_dir, 1.0 / tn),
            t_amp: amp * rng.between(0.25, 0.45),
            qt_extra: rng.between(0.04, 0.08),
            onset,
            duration: offset - onset,
        }
    }
}

/// The sinus QRS of a record with bundle-branch block: the Q, R and S slots of the sinus
/// waves, a fourth (terminal) wave, the QRS span relative to R and the T direction.
#[derive(Clone, Copy, Debug)]
pub struct BlockedQrs {
    pub q: Wave,
    pub r: Wave,
    pub s: Wave,
    pub extra: Wave,
    pub onset: f64,
    pub offset: f64,
    pub t_dir: [f64; 3],
}

/// Bundle-branch block applied to the sinus Q, R, S waves (`qrs` = `[Q, R, S]`); None for
/// normal conduction. The same numbers are drawn whatever the block.
pub fn bundle_branch_block(
    rng: &mut Rng,
    conduction: Conduction,
    qrs: &[Wave; 3],
    r_amp: f64,
) -> Option<BlockedQrs> {
    let c = edge_c();
    let width = rng.between(0.120, 0.165);
    let az = rng.between(-10.0, 50.0);
    let el = rng.between(20.0, 45.0);
    let notch = rng.between(0.25, 0.40);
    let term_az = rng.between(170.0, 210.0);
    let term_el = rng.between(-50.0, -25.0);
    let term_amp = rng.between(0.35, 0.7);
    let t_twist = rng.between(-20.0, 20.0);
    let none = |mu: f64| Wave {
        mu,
        sigma: 1e-3,
        amp: [0.0; 3],
    };
    match conduction {
        Conduction::Normal => None,
        Conduction::Lbbb => {
            // no septal Q; two broad humps to the left and back (a notched R)
            let sigma = width * 0.15;
            let dir = unit(az, el);
            let r = Wave {
                mu: 0.0,
                sigma,
                amp: scale(dir, r_amp * 1.2),
            };
            let second = Wave {
                mu: notch * width,
                sigma,
                amp: scale(dir, r_amp),
            };
            Some(BlockedQrs {
                q: none(-c * sigma),
                r,
                s: second,
                extra: none(0.0),
                onset: -c * sigma,
                offset: second.mu + c * sigma,
                t_dir: unit(az + 180.0 + t_twist, -el),
            })
        }
        Conduction::Rbbb => {
            // the normal start, then a slow terminal wave to the right and front
            let onset = qrs[0].mu - c * qrs[0].sigma;
            let sigma = width * 0.13;
            let offset = (qrs[2].mu + c * qrs[2].sigma + 1.2 * sigma).max(onset + width);
            let term = Wave {
                mu: offset - c * sigma,
                sigma,
                amp: scale(unit(term_az, term_el), r_amp * term_amp),
            };
            Some(BlockedQrs {
                q: qrs[0],
                r: qrs[1],
                s: qrs[2],
                extra: term,
                onset,
                offset,
                t_dir: unit(term_az + 180.0 + t_twist, -term_el),
            })
        }
    }
}

/// Add the fibrillatory waves to the three dipole channels.
pub fn add_fibrillation(d: &mut [Vec<f64>; 3], fs: f64, fib: &Fibrillation) {
    use std::f64::consts::TAU;
    let mut phase = fib.phase;
    for j in 0..d[0].len() {
        let t = j as f64 / fs;
        let f = fib.freq + fib.fm_depth * (TAU * fib.fm_rate * t).sin();
        phase += TAU * f / fs;
        let a = fib.amp * (0.75 + 0.25 * (TAU * fib.am_rate * t + fib.phase).sin());
        let v = a * phase.sin();
        d[0][j] += v * fib.dir[0];
        d[1][j] += v * fib.dir[1];
        d[2][j] += v * fib.dir[2];
    }
}
