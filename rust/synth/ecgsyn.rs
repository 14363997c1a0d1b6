//! The classic single-lead ECGSYN model (McSharry, Clifford, Tarassenko & Smith 2003, IEEE TBME
//! 50:289), with McSharry's published parameters, integrated with RK4 at the output rate.
//!
//! State `(x, y, z)`: `(x, y)` turns on the unit limit cycle with angular speed `2π / RR`, and
//! `z' = -Σ a_i Δθ_i exp(-Δθ_i² / 2b_i²) - (z - z0(t))` adds a Gaussian-derivative push per
//! wave (P, Q, R, S, T at angles θ_i). As in ECGSYN (and NeuroKit2's port), widths scale with
//! `sqrt(HR/60)`, angles with `(HR/60)^{1/4}` or `^{1/2}`, and `z` is finally scaled to
//! [-0.4, 1.2] mV.
//!
//! Fiducials come from the phase: wave `i` of beat `k` peaks when the unwrapped angle reaches
//! `2πk + θ_i`; its onset and offset are at `θ_i ∓ c b_i` (the same 5 %-of-peak rule as the
//! dipole model); QRS onset is the Q onset, QRS offset the S offset.

use super::edge_c;
use std::f64::consts::{PI, TAU};

const THETA_DEG: [f64; 5] = [-70.0, -15.0, 0.0, 15.0, 100.0];
const A: [f64; 5] = [1.2, -5.0, 30.0, -7.5, 0.75];
const B: [f64; 5] = [0.25, 0.1, 0.1, 0.1, 0.4];

pub struct EcgsynBeat {
    /// Times (s) of p_on, p_peak, p_off, qrs_on, r_peak, qrs_off, t_on, t_peak, t_off.
    pub times: [f64; 9],
}

/// Generate `n` samples at `fs`; `rr_at(t)` gives the RR interval (s) starting at time `t`.
/// Returns the signal (mV) and every beat whose phase passes through the record.
pub fn generate(
    fs: f64,
    n: usize,
    hr: f64,
    warmup: f64,
    mut rr_at: impl FnMut(f64) -> f64,
) -> (Vec<f64>, Vec<EcgsynBeat>) {
    let hrfact = (hr / 60.0).sqrt();
    let hrfact2 = hrfact.sqrt();
    let scale_t = [hrfact2, hrfact, 1.0, hrfact, hrfact2];
    let mut ti = [0.0; 5];
    let mut bi = [0.0; 5];
    for i in 0..5 {
        ti[i] = THETA_DEG[i].to_radians() * scale_t[i];
        bi[i] = B[i] * hrfact;
    }
    let dt = 1.0 / fs;
    let warm = (warmup * fs).round() as usize;
    let total = warm + n;

    let mut t = 0.0;
    let mut beat_start = 0.0;
    let mut rr = rr_at(0.0);
    let mut omega = TAU / rr;
    let mut state = [1.0, 0.0, 0.04];
    let deriv = |t: f64, s: &[f64; 3], omega: f64| -> [f64; 3] {
        let alpha = 1.0 - (s[0] * s[0] + s[1] * s[1]).sqrt();
        let theta = s[1].atan2(s[0]);
        let mut dz = 0.0;
        for i in 0..5 {
            let d = theta - ti[i];
            let d = d - (d / TAU).round() * TAU;
            dz -= A[i] * d * (-0.5 * (d / bi[i]).powi(2)).exp();
        }
        let zbase = 0.005 * (TAU * 0.25 * t).sin();
        [
            alpha * s[0] - omega * s[1],
            alpha * s[1] + omega * s[0],
            dz - (s[2] - zbase),
        ]
    };
    let mut z = Vec::with_capacity(n);
    let mut phase = Vec::with_capacity(n); // unwrapped angle at each recorded sample
    let mut unwrapped = 0.0;
    let mut prev_theta = 0.0;
    for j in 0..total {
        if j >= warm {
            z.push(state[2]);
            phase.push(unwrapped);
        }
        // A new RR interval each time a cycle completes (piecewise-constant speed, as ECGSYN).
        if t - beat_start >= rr {
            beat_start += rr;
            rr = rr_at(beat_start);
            omega = TAU / rr;
        }
        let k1 = deriv(t, &state, omega);
        let s2 = add(&state, &k1, dt / 2.0);
        let k2 = deriv(t + dt / 2.0, &s2, omega);
        let s3 = add(&state, &k2, dt / 2.0);
        let k3 = deriv(t + dt / 2.0, &s3, omega);
        let s4 = add(&state, &k3, dt);
        let k4 = deriv(t + dt, &s4, omega);
        for d in 0..3 {
            state[d] += dt / 6.0 * (k1[d] + 2.0 * k2[d] + 2.0 * k3[d] + k4[d]);
        }
        t += dt;
        let theta = state[1].atan2(state[0]);
        let mut step = theta - prev_theta;
        if step < -PI {
            step += TAU;
        } else if step > PI {
            step -= TAU;
        }
        unwrapped += step;
        prev_theta = theta;
    }
    // Scale to [-0.4, 1.2] mV like ECGSYN.
    let (lo, hi) = z
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = (hi - lo).max(1e-12);
    for v in &mut z {
        *v = (*v - lo) * 1.6 / range - 0.4;
    }

    // Fiducials by phase crossings (linear interpolation between samples).
    let c = edge_c();
    let crossing = |target: f64| -> Option<f64> {
        let k = phase.partition_point(|&p| p < target);
        if k == 0 || k >= phase.len() {
            return None;
        }
        let (p0, p1) = (phase[k - 1], phase[k]);
        let frac = if p1 > p0 {
            (target - p0) / (p1 - p0)
        } else {
            0.0
        };
        Some(((k - 1) as f64 + frac) / fs)
    };
    let first = phase.first().copied().unwrap_or(0.0);
    let last = phase.last().copied().unwrap_or(0.0);
    let mut beats = Vec::new();
    let k0 = ((first - PI) / TAU).floor() as i64;
    let k1 = ((last + PI) / TAU).ceil() as i64;
    for k in k0..=k1 {
        let base = TAU * k as f64;
        let angles = [
            ti[0] - c * bi[0],
            ti[0],
            ti[0] + c * bi[0],
            ti[1] - c * bi[1],
            ti[2],
            ti[3] + c * bi[3],
            ti[4] - c * bi[4],
            ti[4],
            ti[4] + c * bi[4],
        ];
        // Only beats whose R peak is inside the record.
        let Some(r) = crossing(base + ti[2]) else {
            continue;
        };
        let mut times = [f64::NAN; 9];
        for (dst, a) in times.iter_mut().zip(angles) {
            *dst = crossing(base + a).unwrap_or(f64::NAN);
        }
        times[4] = r;
        beats.push(EcgsynBeat { times });
    }
    (z, beats)
}

fn add(s: &[f64; 3], k: &[f64; 3], h: f64) -> [f64; 3] {
    [s[0] + h * k[0], s[1] + h * k[1], s[2] + h * k[2]]
}
