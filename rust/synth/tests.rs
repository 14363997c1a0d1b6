use super::*;
use ndarray::Array3;

fn bounds(n: usize, values: [(f64, f64); 11]) -> Array3<f64> {
    Array3::from_shape_fn(
        (n, 11, 2),
        |(_, p, k)| if k == 0 { values[p].0 } else { values[p].1 },
    )
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
        method: Method::Dipole,
        fs: 500.0,
        n_samples: 5000,
        leads,
        seed: 42,
        start: 0,
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
    let head_free = all.features.slice(ndarray::s![n_head.., ..]);
    assert_eq!(head_free.shape(), tail.features.shape());
    for (a, b) in head_free.iter().zip(tail.features.iter()) {
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
    let b = bounds(
        4,
        [
            (72.0, 72.0),
            (0.0, 0.0),
            (160.0, 160.0),
            (96.0, 96.0),
            (400.0, 400.0),
            (400.0, 400.0),
            (0.0, 0.0),
            (0.0, 0.0),
            (0.0, 0.0),
            (0.0, 0.0),
            (0.0, 0.0),
        ],
    );
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
