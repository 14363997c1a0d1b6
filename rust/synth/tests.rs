use super::*;
use ndarray::Array3;

/// Bounds from the eleven base parameters; every pathology parameter 0.
fn bounds(n: usize, base: [(f64, f64); 11]) -> Array3<f64> {
    Array3::from_shape_fn((n, PARAMS.len(), 2), |(_, p, k)| match base.get(p) {
        Some(v) if k == 0 => v.0,
        Some(v) => v.1,
        None => 0.0,
    })
}

fn default_bounds(n: usize) -> Array3<f64> {
    bounds(
        n,
        [
            (50.0, 110.0),
            (10.0, 40.0),
            (120.0, 200.0),
            (70.0, 110.0),
            (f64::NAN, f64::NAN),
            (380.0, 440.0),
            (0.0, 0.1),
            (0.0, 0.02),
            (0.0, 0.02),
            (0.0, 0.1),
            (0.0, 0.0),
        ],
    )
}

fn cfg(leads: Vec<usize>) -> SynthConfig {
    SynthConfig {
        population: Population::Standard,
        method: Method::Dipole,
        fs: 500.0,
        n_samples: 5000,
        leads,
        seed: 42,
        start: 0,
        hearts: Vec::new(),
        heart_jitter: 1.0,
    }
}

#[test]
fn deterministic_and_independent_of_batch_split() {
    let all = synthesize(default_bounds(6).view(), &cfg((0..12).collect())).unwrap();
    let mut tail_cfg = cfg((0..12).collect());
    tail_cfg.start = 4;
    let tail = synthesize(default_bounds(2).view(), &tail_cfg).unwrap();
    assert_eq!(all.signals.slice(ndarray::s![4.., .., ..]), tail.signals);
    assert_eq!(all.beats.rows[4..], tail.beats.rows[..]);
    let n_head: usize = all.beats.rows[..4].iter().map(|r| r.len()).sum();
    let head_free = all.beats.features.slice(ndarray::s![n_head.., ..]);
    assert_eq!(head_free.shape(), tail.beats.features.shape());
    for (a, b) in head_free.iter().zip(tail.beats.features.iter()) {
        assert!(a == b || (a.is_nan() && b.is_nan()));
    }
}

#[test]
fn limb_identities_hold_exactly() {
    let out = synthesize(default_bounds(3).view(), &cfg((0..12).collect())).unwrap();
    for rec in out.signals.outer_iter() {
        for t in 0..rec.shape()[1] {
            let (i, ii) = (rec[[0, t]], rec[[1, t]]);
            assert_eq!(rec[[2, t]], ii - i);
            assert_eq!(rec[[3, t]], -(i + ii) / 2.0);
            assert_eq!(rec[[4, t]], i - ii / 2.0);
            assert_eq!(rec[[5, t]], ii - i / 2.0);
        }
    }
}

#[test]
fn fixed_intervals_are_honoured() {
    let mut b = default_bounds(4);
    // hr, hrv, pr, qrs, qt, qtc fixed; no noise
    for (p, v) in [72.0, 0.0, 160.0, 96.0, 400.0, 400.0, 0.0, 0.0, 0.0, 0.0]
        .into_iter()
        .enumerate()
    {
        b.slice_mut(ndarray::s![.., p, ..]).fill(v);
    }
    let out = synthesize(b.view(), &cfg(vec![1])).unwrap();
    for lab in out.beats.labels.outer_iter() {
        assert!((lab[0] - 72.0).abs() < 1e-9, "hr {}", lab[0]);
        assert!((lab[2] - 160.0).abs() < 1e-9);
        assert!((lab[3] - 96.0).abs() < 1e-9);
        assert!((lab[4] - 400.0).abs() < 1e-9);
    }
}

#[test]
fn noise_free_signal_starts_from_a_flat_baseline() {
    let mut b = default_bounds(1);
    for p in 6..10 {
        b[[0, p, 0]] = 0.0;
        b[[0, p, 1]] = 0.0;
    }
    let out = synthesize(b.view(), &cfg(vec![1])).unwrap();
    let lead = out.signals.slice(ndarray::s![0, 0, ..]);
    // Between T offset and the next P onset the clean signal is (nearly) zero.
    let beats = &out.beats.rows[0];
    for w in beats.windows(2) {
        let (t_off, p_on) = (w[0][8], w[1][0]);
        if t_off >= 0 && p_on > t_off + 10 {
            let mid = ((t_off + p_on) / 2) as usize;
            assert!(lead[mid].abs() < 0.02, "baseline {}", lead[mid]);
        }
    }
}

/// Default bounds with a fixed regular rhythm and pathology parameter `p` set to `v`.
fn pathology_bounds(n: usize, settings: &[(usize, f64)]) -> Array3<f64> {
    let mut b = default_bounds(n);
    for (p, lo, hi) in [(0, 60.0, 60.0), (1, 0.0, 0.0)] {
        b.slice_mut(ndarray::s![.., p, 0]).fill(lo);
        b.slice_mut(ndarray::s![.., p, 1]).fill(hi);
    }
    for &(p, v) in settings {
        b.slice_mut(ndarray::s![.., p, ..]).fill(v);
    }
    b
}

fn long_cfg(leads: Vec<usize>) -> SynthConfig {
    SynthConfig {
        n_samples: 30_000,
        ..cfg(leads)
    }
}

fn kinds_and_times(out: &SynthOutput, rec: usize) -> (Vec<u8>, Vec<BeatTimes>) {
    (out.beats.kinds[rec].clone(), out.beats.times[rec].clone())
}

#[test]
fn without_pathology_every_beat_is_normal() {
    let out = synthesize(default_bounds(4).view(), &cfg(vec![1])).unwrap();
    assert!(out.beats.kinds.iter().flatten().all(|&k| k == 0));
    let lab = out.beats.labels.row(0).to_vec();
    let tail = PATHOLOGY_LABELS.len() + morphology::MORPHOLOGY_LABELS.len() + RHYTHM_LABELS.len();
    assert!(lab[lab.len() - tail..].iter().all(|&v| v == 0.0));
}

#[test]
fn premature_ventricular_beats_are_early_wide_without_p_and_compensated() {
    let b = pathology_bounds(6, &[(pathology::P_PVC, 0.15)]);
    let out = synthesize(b.view(), &long_cfg(vec![1, 6])).unwrap();
    let mut n_pvc = 0;
    for rec in 0..6 {
        let (kinds, times) = kinds_and_times(&out, rec);
        for i in 1..kinds.len().saturating_sub(1) {
            if kinds[i] != BeatKind::Pvc as u8 {
                continue;
            }
            n_pvc += 1;
            let t = &times[i];
            assert!(t[0].is_nan() && t[1].is_nan() && t[2].is_nan(), "no P wave");
            let qrs = t[5] - t[3];
            assert!((0.110..0.190).contains(&qrs), "wide QRS {qrs}");
            let pre = t[4] - times[i - 1][4];
            assert!(pre < 0.75, "premature: {pre} s at 60 bpm");
            // an isolated PVC between sinus beats: compensatory pause (pre + post = 2 RR)
            if kinds[i - 1] == 0 && kinds[i + 1] == 0 {
                let post = times[i + 1][4] - t[4];
                assert!(
                    (pre + post - 2.0).abs() < 1e-9,
                    "compensatory {pre} + {post}"
                );
            }
        }
    }
    assert!(n_pvc > 10, "{n_pvc} PVCs");
}

#[test]
fn premature_atrial_beats_reset_the_sinus_node() {
    let b = pathology_bounds(6, &[(pathology::P_PAC, 0.15)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    let mut n_pac = 0;
    for rec in 0..6 {
        let (kinds, times) = kinds_and_times(&out, rec);
        for i in 1..kinds.len().saturating_sub(1) {
            if kinds[i] != BeatKind::Pac as u8 || kinds[i + 1] != 0 || kinds[i - 1] != 0 {
                continue;
            }
            n_pac += 1;
            let t = &times[i];
            assert!(t[0].is_finite(), "a P wave");
            let pre = t[4] - times[i - 1][4];
            let post = times[i + 1][4] - t[4];
            assert!(pre < 0.9 && (post - 1.0).abs() < 1e-9, "{pre} {post}");
            // the QRS is the sinus QRS
            let sinus = &times[i - 1];
            assert!(((t[5] - t[3]) - (sinus[5] - sinus[3])).abs() < 1e-9);
        }
    }
    assert!(n_pac > 10, "{n_pac} PACs");
}

#[test]
fn atrial_fibrillation_has_no_p_waves_and_an_irregular_rhythm() {
    let b = pathology_bounds(4, &[(pathology::P_AF, 1.0)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    for rec in 0..4 {
        let (kinds, times) = kinds_and_times(&out, rec);
        assert!(kinds.iter().all(|&k| k == 0));
        assert!(times.iter().all(|t| t[0].is_nan() && t[1].is_nan()));
        let rr: Vec<f64> = times.windows(2).map(|w| w[1][4] - w[0][4]).collect();
        let m = rr.iter().sum::<f64>() / rr.len() as f64;
        let sd = (rr.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / rr.len() as f64).sqrt();
        assert!(sd / m > 0.1, "irregular: CV {}", sd / m);
        assert_eq!(label(&out, rec, "param_af"), 1.0);
    }
}

#[test]
fn bundle_branch_blocks_are_wide_with_their_v1_shape() {
    // lead V1 (index 6), clean
    for (param, kind, sign) in [
        (pathology::P_LBBB, 1u8, -1.0),
        (pathology::P_RBBB, 2u8, 1.0),
    ] {
        let mut b = pathology_bounds(4, &[(param, 1.0)]);
        for p in 6..10 {
            b.slice_mut(ndarray::s![.., p, ..]).fill(0.0);
        }
        let out = synthesize(b.view(), &cfg(vec![6])).unwrap();
        for rec in 0..4 {
            let (kinds, times) = kinds_and_times(&out, rec);
            assert!(kinds.iter().all(|&k| k == kind));
            let t = &times[2];
            let qrs = t[5] - t[3];
            assert!(qrs >= 0.119, "QRS {qrs}");
            // LBBB: V1 mostly negative (QS); RBBB: a late positive R' in V1
            let lead = out.signals.slice(ndarray::s![rec, 0, ..]);
            let at = |s: f64| lead[(s * 500.0).round() as usize] as f64;
            let (on, off) = (t[3], t[5]);
            let late = at(off - 0.25 * (off - on));
            let area: f64 = ((on * 500.0) as usize..(off * 500.0) as usize)
                .map(|j| lead[j] as f64)
                .sum();
            if sign < 0.0 {
                assert!(area < 0.0, "LBBB V1 area {area}");
            } else {
                assert!(late > 0.0, "RBBB late V1 {late}");
            }
        }
    }
}

#[test]
fn fusion_beats_have_p_waves_and_wider_qrs() {
    let b = pathology_bounds(2, &[(pathology::P_PVC, 0.1), (pathology::P_FUSION, 0.1)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    let fusions: Vec<BeatTimes> = (0..2)
        .flat_map(|r| {
            let (k, t) = kinds_and_times(&out, r);
            k.into_iter()
                .zip(t)
                .filter(|(k, _)| *k == BeatKind::Fusion as u8)
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(fusions.len() > 3);
    for t in fusions {
        assert!(t[0].is_finite() && t[5] - t[3] > 0.1);
    }
}

#[test]
fn pathology_is_deterministic_and_bounded() {
    let b = pathology_bounds(3, &[(pathology::P_PVC, 0.2), (pathology::P_AF, 0.5)]);
    let a = synthesize(b.view(), &cfg(vec![1])).unwrap();
    let c = synthesize(b.view(), &cfg(vec![1])).unwrap();
    assert_eq!(a.signals, c.signals);
    assert_eq!(a.beats.kinds, c.beats.kinds);
    let mut bad = pathology_bounds(1, &[]);
    bad[[0, pathology::P_PVC, 1]] = 1.5;
    assert!(synthesize(bad.view(), &cfg(vec![1])).is_err());
    let b = pathology_bounds(1, &[(pathology::P_AF, 1.0)]);
    let ecgsyn = SynthConfig {
        population: Population::Standard,
        method: Method::Ecgsyn,
        ..cfg(vec![1])
    };
    assert!(synthesize(b.view(), &ecgsyn).is_err());
}

#[test]
fn paced_records_have_spikes_wide_qrs_and_a_fixed_rate() {
    let mut b = pathology_bounds(4, &[(pathology::P_PACED, 1.0)]);
    for p in 6..10 {
        b.slice_mut(ndarray::s![.., p, ..]).fill(0.0);
    }
    let out = synthesize(b.view(), &cfg(vec![1])).unwrap();
    for rec in 0..4 {
        let (kinds, times) = kinds_and_times(&out, rec);
        assert!(kinds.iter().all(|&k| k == BeatKind::Paced as u8));
        let rr: Vec<f64> = times.windows(2).map(|w| w[1][4] - w[0][4]).collect();
        assert!(rr.iter().all(|v| (v - 1.0).abs() < 1e-9), "fixed 60/min");
        for t in &times[1..times.len() - 1] {
            assert!((0.13..0.19).contains(&(t[5] - t[3])), "wide QRS");
        }
        // a spike: the steepest slope of the record sits just before a QRS onset
        let lead = out.signals.slice(ndarray::s![rec, 0, ..]);
        let (j, _) = lead
            .windows(2)
            .into_iter()
            .enumerate()
            .map(|(j, w)| (j, (w[1] - w[0]).abs()))
            .fold((0, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
        let at = j as f64 / 500.0;
        assert!(
            times
                .iter()
                .any(|t| (t[3] - at) > 0.0 && (t[3] - at) < 0.012),
            "spike at {at}"
        );
    }
    let paced = labels().iter().position(|&l| l == "param_paced").unwrap();
    assert_eq!(out.beats.labels[[0, paced]], 1.0);
}

fn label(out: &SynthOutput, rec: usize, name: &str) -> f64 {
    let k = labels().iter().position(|&l| l == name).unwrap();
    out.beats.labels[[rec, k]]
}

#[test]
fn wenckebach_cycles_lengthen_the_pr_until_a_p_wave_is_blocked() {
    // 60 bpm, no variability: sinus P waves every 1.0 s exactly
    let b = pathology_bounds(6, &[(pathology::P_WENCKEBACH, 1.0)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    for rec in 0..6 {
        let (kinds, times) = kinds_and_times(&out, rec);
        assert!(
            kinds.iter().all(|&k| k == 0),
            "conducted beats are sinus beats"
        );
        let pr: Vec<f64> = times.iter().map(|t| t[3] - t[0]).collect();
        let rr: Vec<f64> = times.windows(2).map(|w| w[1][4] - w[0][4]).collect();
        let mut drops = 0;
        for (i, &r) in rr.iter().enumerate() {
            if r > 1.5 {
                // the blocked P: a pause shorter than two sinus cycles; the PR resets after it
                drops += 1;
                assert!(r < 2.0, "pause {r} s");
                assert!(pr[i + 1] < pr[i], "PR resets: {} -> {}", pr[i], pr[i + 1]);
            } else {
                // within a cycle the PR lengthens by decreasing steps, so the RR (1 s plus
                // the step) shortens
                assert!(
                    pr[i + 1] > pr[i],
                    "PR lengthens: {} -> {}",
                    pr[i],
                    pr[i + 1]
                );
                assert!(r > 1.0, "RR {r}");
                if i > 0 && rr[i - 1] <= 1.5 {
                    assert!(r < rr[i - 1], "RR shortens: {} -> {r}", rr[i - 1]);
                }
            }
        }
        assert!(drops >= 4, "{drops} blocked P waves in 60 s");
        assert_eq!(label(&out, rec, "param_av_block"), 1.0);
        let blocked = label(&out, rec, "n_blocked_p");
        assert!(
            (blocked - drops as f64).abs() <= 1.0,
            "{blocked} vs {drops}"
        );
    }
}

#[test]
fn mobitz2_keeps_the_pr_and_drops_whole_cycles() {
    let b = pathology_bounds(6, &[(pathology::P_MOBITZ2, 1.0)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    for rec in 0..6 {
        let (kinds, times) = kinds_and_times(&out, rec);
        assert!(kinds.iter().all(|&k| k == 0));
        let pr: Vec<f64> = times.iter().map(|t| t[3] - t[0]).collect();
        assert!(pr.iter().all(|p| (p - pr[0]).abs() < 1e-9), "constant PR");
        let rr: Vec<f64> = times.windows(2).map(|w| w[1][4] - w[0][4]).collect();
        assert!(
            rr.iter()
                .all(|r| (r - 1.0).abs() < 1e-9 || (r - 2.0).abs() < 1e-9),
            "RR one or two sinus cycles: {rr:?}"
        );
        let drops = rr.iter().filter(|&&r| r > 1.5).count();
        assert!(drops >= 3, "{drops} blocked P waves");
        assert_eq!(label(&out, rec, "param_av_block"), 2.0);
    }
}

#[test]
fn complete_block_has_an_escape_rhythm_independent_of_the_p_waves() {
    let b = pathology_bounds(8, &[(pathology::P_COMPLETE_AVB, 1.0)]);
    let out = synthesize(b.view(), &long_cfg(vec![1])).unwrap();
    let mut seen = [false; 2];
    for rec in 0..8 {
        let (kinds, times) = kinds_and_times(&out, rec);
        let ventricular = kinds[0] == BeatKind::VentricularEscape as u8;
        seen[ventricular as usize] = true;
        assert!(kinds.iter().all(|&k| k == kinds[0]));
        assert!(
            times.iter().all(|t| t[0].is_nan()),
            "no P wave belongs to a QRS"
        );
        let rr: Vec<f64> = times.windows(2).map(|w| w[1][4] - w[0][4]).collect();
        let bpm = 60.0 * rr.len() as f64 / rr.iter().sum::<f64>();
        let (lo, hi) = if ventricular {
            (19.0, 41.0)
        } else {
            (39.0, 61.0)
        };
        assert!((lo..hi).contains(&bpm), "escape rate {bpm}");
        let qrs = times[1][5] - times[1][3];
        assert!(
            if ventricular { qrs > 0.11 } else { qrs < 0.115 },
            "QRS {qrs}"
        );
        // every sinus P wave (60/min for 60 s) is counted as not conducted
        let blocked = label(&out, rec, "n_blocked_p");
        assert!((59.0..=61.0).contains(&blocked), "{blocked} P waves");
    }
    assert!(seen[0] && seen[1], "both escape rhythms occur");
}

#[test]
fn av_block_is_never_drawn_with_fibrillation_or_pacing() {
    for other in [pathology::P_AF, pathology::P_PACED] {
        let b = pathology_bounds(4, &[(pathology::P_COMPLETE_AVB, 1.0), (other, 1.0)]);
        let out = synthesize(b.view(), &cfg(vec![1])).unwrap();
        for rec in 0..4 {
            assert_eq!(label(&out, rec, "param_av_block"), 0.0);
            assert_eq!(label(&out, rec, "n_blocked_p"), 0.0);
        }
    }
}

#[test]
fn morphology_draws_exclusive_options_and_labels_them() {
    use morphology::*;
    let mut b = default_bounds(1).index_axis(ndarray::Axis(0), 0).to_owned();
    let bounds = |b: &ndarray::Array2<f64>| -> Vec<[f64; 2]> {
        b.outer_iter().map(|r| [r[0], r[1]]).collect()
    };
    let none = Morphology::sample(&mut Rng::for_record(1, 0), &bounds(&b));
    assert!(!none.any() && none.labels().iter().all(|&v| v == 0.0));
    for p in [M_ST_ELEVATION, M_ST_DEPRESSION, M_LVH, M_LOW_VOLTAGE] {
        b.row_mut(p).fill(1.0);
    }
    for rec in 0..20 {
        let m = Morphology::sample(&mut Rng::for_record(1, rec), &bounds(&b));
        // elevation wins over depression, LVH over low voltage
        assert!((0.1..=0.3).contains(&m.st_shift) && m.territory > 0);
        assert!(m.lvh && !m.low_voltage && (1.8..=2.6).contains(&m.qrs_voltage()));
        let lab = m.labels();
        assert_eq!(lab.len(), MORPHOLOGY_LABELS.len());
        assert_eq!((lab[0], lab[4], lab[5]), (m.st_shift, 1.0, 0.0));
    }
}

#[test]
fn every_simd_level_makes_the_same_records() {
    // sinus and a pathology mix, 12 leads and one, records of odd length
    let mixes = [
        default_bounds(6),
        pathology_bounds(
            6,
            &[
                (pathology::P_AF, 0.3),
                (pathology::P_PVC, 0.5),
                (pathology::P_PACED, 0.2),
                (pathology::P_LBBB, 0.3),
                (P_FLUTTER, 0.2),
            ],
        ),
    ];
    for bounds in &mixes {
        for (leads, n_samples) in [((0..12).collect::<Vec<_>>(), 5000), (vec![1], 4001)] {
            let mut c = cfg(leads);
            c.n_samples = n_samples;
            let ctx = Context {
                emg: noise::EmgFilter::new(c.fs),
            };
            let run = |level: crate::simd::Level| {
                let mut out = Array3::<f32>::uninit((6, c.leads.len(), n_samples));
                let mut scratch = Scratch::default();
                let jobs: Vec<RecordJob> = (0..6)
                    .map(|i| {
                        let b: Vec<[f64; 2]> = bounds
                            .index_axis(Axis(0), i)
                            .outer_iter()
                            .map(|p| [p[0], p[1]])
                            .collect();
                        let task = RecordTask {
                            cfg: &c,
                            ctx: &ctx,
                            bounds: &b,
                            index: i as u64,
                            out: out.index_axis_mut(Axis(0), i),
                            scratch: &mut scratch,
                        };
                        record_job(level, task)
                    })
                    .collect();
                // SAFETY: record_job writes every sample of its record.
                (unsafe { out.assume_init() }, jobs)
            };
            let (want_x, want) = run(crate::simd::Level::Portable);
            for level in [crate::simd::Level::Avx2, crate::simd::Level::Avx512] {
                let (x, got) = run(level);
                let same = |a: f32, b: f32| a.to_bits() == b.to_bits();
                assert!(
                    x.iter().zip(&want_x).all(|(a, b)| same(*a, *b)),
                    "{level:?}"
                );
                for ((r, f), (wr, wf)) in got.iter().zip(&want) {
                    assert_eq!(r.0, wr.0, "{level:?}");
                    assert_eq!(r.3, wr.3, "{level:?}");
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&r.2), bits(&wr.2), "labels, {level:?}");
                    let (fa, fb) = (f.as_slice().unwrap(), wf.as_slice().unwrap());
                    assert_eq!(bits(fa), bits(fb), "features, {level:?}");
                }
            }
        }
    }
}

#[test]
fn own_qrs_forces_lie_inside_the_qrs_of_ludb_hearts_only() {
    let b = default_bounds(1);
    let b: Vec<[f64; 2]> = b
        .index_axis(Axis(0), 0)
        .outer_iter()
        .map(|p| [p[0], p[1]])
        .collect();
    let c = edge_c();
    let mut with_forces = 0;
    for i in 0..200 {
        let mut ludb = RecordModel::sample(&mut Rng::for_record(1, i), &b, Population::Ludb);
        ludb.add_own_qrs_forces(&mut Rng::for_record(1, i).fork(11));
        let [_, q, _, s] = ludb.fixed_waves;
        let (on, off) = (q.mu - c * q.sigma, s.mu + c * s.sigma);
        assert!(ludb.own_qrs.len() <= OWN_QRS_FORCES);
        with_forces += usize::from(!ludb.own_qrs.is_empty());
        for w in &ludb.own_qrs {
            assert!(w.mu - c * w.sigma >= on - 1e-12 && w.mu + c * w.sigma <= off + 1e-12);
            let size = w.amp.iter().map(|a| a * a).sum::<f64>().sqrt() / ludb.r_amp;
            assert!((OWN_FORCE_AMP.0 - 1e-9..=OWN_FORCE_AMP.1 + 1e-9).contains(&size));
        }
        // a bundle-branch block has its own QRS shape
        let mut blocked = ludb.clone();
        blocked.block(&mut Rng::for_record(2, i), pathology::Conduction::Lbbb);
        assert!(blocked.own_qrs.is_empty());
    }
    assert!(with_forces > 190, "{with_forces}");
}
