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
///
/// Long because: one fixed-step RK4 integration of McSharry's ODE whose state (phase, z,
/// beat bookkeeping, the running RR) every step reads and writes; split, the hot loop would
/// pass that state through every call.
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

    // Started on the unit circle (x, y) = (1, 0), the limit cycle never leaves it (alpha = 0),
    // so its angle is exactly the integral of omega: theta advances by omega * dt per sample with
    // omega = 2 pi / RR constant within a cycle. Only z needs integrating; its equation is linear,
    // z' = g(t) - z with g = forcing(theta) + z0(t), and RK4 needs g at t, t + dt/2 and t + dt,
    // i.e. on a grid of half steps, where each wave's Gaussian follows by recurrence.
    let half = dt / 2.0;
    let mut t = 0.0;
    let mut beat_start = 0.0;
    let mut rr = rr_at(0.0);
    let mut omega = TAU / rr;
    let mut waves: [HalfStepWave; 5] =
        std::array::from_fn(|i| HalfStepWave::new(ti[i], bi[i], A[i], omega * half));
    // z0(t) = 0.005 sin(2 pi 0.25 t) on the half-step grid, by rotation.
    let (rs, rc) = (TAU * 0.25 * half).sin_cos();
    let (mut bs, mut bc) = (0.0f64, 1.0f64);
    macro_rules! next_g {
        () => {{
            let v = 0.005 * bs;
            let s2 = bs * rc + bc * rs;
            bc = bc * rc - bs * rs;
            bs = s2;
            v + waves[0].forcing_and_advance()
                + waves[1].forcing_and_advance()
                + waves[2].forcing_and_advance()
                + waves[3].forcing_and_advance()
                + waves[4].forcing_and_advance()
        }};
    }
    let mut theta = 0.0f64; // unwrapped
    let mut z_state = 0.04;
    let mut z = Vec::with_capacity(n);
    let mut phase = Vec::with_capacity(n);
    let mut g0 = next_g!();
    for j in 0..total {
        if j >= warm {
            z.push(z_state);
            phase.push(theta);
        }
        // A new RR interval each time a cycle completes (piecewise-constant speed, as ECGSYN).
        if t - beat_start >= rr {
            beat_start += rr;
            rr = rr_at(beat_start);
            omega = TAU / rr;
            for w in &mut waves {
                w.set_step(omega * half);
            }
        }
        let g_half = next_g!();
        let g1 = next_g!();
        let k1 = g0 - z_state;
        let k2 = g_half - (z_state + half * k1);
        let k3 = g_half - (z_state + half * k2);
        let k4 = g1 - (z_state + dt * k3);
        z_state += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        theta += omega * dt;
        t += dt;
        g0 = g1;
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

/// Beyond this many widths a wave's push is negligible (exp(-10.1) ~ 4e-5 of its peak).
const CUT: f64 = 4.5;

/// One wave's term `-a d exp(-d^2 / 2b^2)` of the z equation, on the half-step grid: `d`, the
/// wrapped angle from the wave's centre, grows by `step` per half step, and the Gaussian follows
/// by the recurrence g <- g r, r <- r q (two products instead of an exp).
///
/// Out of reach (|d| ≥ CUT·b) a wave sleeps: `idle` counts the half steps left before it comes
/// back into reach, and `d` already holds its angle at that half step, so sleeping waves cost a
/// decrement.
struct HalfStepWave {
    width: f64,
    inv_width: f64,
    amp: f64,
    d: f64,
    step: f64,
    g: f64,
    r: f64,
    q: f64,
    active: bool,
    idle: u32,
}

impl HalfStepWave {
    fn new(centre: f64, width: f64, amp: f64, step: f64) -> Self {
        let d = -centre;
        let d = d - (d / TAU).round() * TAU;
        let mut w = HalfStepWave {
            width,
            inv_width: 1.0 / width,
            amp,
            d,
            step,
            g: 0.0,
            r: 0.0,
            q: 0.0,
            active: false,
            idle: 0,
        };
        w.set_step(step);
        w
    }

    /// Half steps (≥ 1) from angle `d`, out of reach, until the wave is in reach again.
    fn steps_to_reach(&self, d: f64, step: f64) -> u32 {
        let reach = CUT * self.width;
        let distance = if d <= -reach {
            -reach - d
        } else {
            TAU - reach - d
        };
        (distance / step).ceil().max(1.0) as u32
    }

    /// New angular step per half step (a new RR interval).
    fn set_step(&mut self, step: f64) {
        if self.idle > 0 || (!self.active && self.q != 0.0) {
            // angle at the next call, then sleep again at the new speed
            let d_next = self.d - self.idle as f64 * self.step;
            if (d_next * self.inv_width).abs() < CUT {
                self.idle = 0;
                self.d = d_next;
            } else {
                let k = self.steps_to_reach(d_next, step);
                self.idle = k;
                let d = d_next + k as f64 * step;
                self.d = d - (d / TAU).round() * TAU;
            }
        }
        self.step = step;
        let delta = step / self.width;
        self.q = (-delta * delta).exp();
        if self.active {
            let x = self.d / self.width;
            self.r = (-(2.0 * x * delta + delta * delta) / 2.0).exp();
        }
    }

    /// This wave's forcing at the current half step, then advance one half step.
    #[inline(always)]
    fn forcing_and_advance(&mut self) -> f64 {
        if self.idle > 0 {
            self.idle -= 1;
            return 0.0;
        }
        let x = self.d * self.inv_width;
        if x.abs() < CUT {
            if !self.active {
                let delta = self.step / self.width;
                self.g = (-0.5 * x * x).exp();
                self.r = (-(2.0 * x * delta + delta * delta) / 2.0).exp();
                self.active = true;
            }
            let v = -self.amp * self.d * self.g;
            self.g *= self.r;
            self.r *= self.q;
            self.d += self.step;
            if self.d > PI {
                self.d -= TAU;
                self.active = false;
            }
            v
        } else {
            // out of reach: sleep until the half step where it comes back
            self.active = false;
            let k = self.steps_to_reach(self.d, self.step);
            self.idle = k - 1;
            let d = self.d + k as f64 * self.step;
            self.d = d - (d / TAU).round() * TAU;
            0.0
        }
    }
}
