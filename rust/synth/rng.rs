//! Counter-based seeding and a small fast generator, implemented here so the random stream of a
//! record never changes with a dependency upgrade.
//!
//! Record `i` of seed `s` draws from `Xoshiro256++` seeded by SplitMix64 of `(s, i)`: records are
//! independent of each other, of the thread count and of how a batch is split.

/// SplitMix64 step (Steele, Lea & Flood 2014), used for seeding.
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ (Blackman & Vigna 2019).
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The generator of record `index` in the stream `seed`.
    pub fn for_record(seed: u64, index: u64) -> Self {
        let mut sm = seed ^ 0x5EED_EC6F_A57D_A7A5;
        let mixed = splitmix64(&mut sm) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut sm = mixed;
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// An independent child stream (for a sub-task of a record, e.g. one noise source).
    pub fn fork(&mut self, tag: u64) -> Self {
        let mut sm = self.next_u64() ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// The raw state (for lane-parallel generators that replicate this one).
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi]; exactly `lo` when `lo == hi` (a draw is consumed either way).
    #[inline]
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        let u = self.uniform();
        if lo == hi {
            lo
        } else {
            lo + (hi - lo) * u
        }
    }

    /// Standard normal (Box-Muller; used for a handful of draws per record).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Gamma(k, 1) for a shape `k >= 1` (Marsaglia & Tsang 2000); mean `k`, variance `k`.
    pub fn gamma(&mut self, k: f64) -> f64 {
        let d = k.max(1.0) - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let z = self.normal();
            let v = (1.0 + c * z).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.max(1e-300).ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Two centred uniforms in [-1, 1) from one 64-bit draw (for cheap broadband noise).
    #[inline]
    pub fn two_symmetric(&mut self) -> (f64, f64) {
        let v = self.next_u64();
        let scale = 1.0 / (1u64 << 31) as f64;
        (
            (v >> 32) as f64 * scale - 1.0,
            (v & 0xFFFF_FFFF) as f64 * scale - 1.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_record(7, 3).next_u64()).collect();
        assert!(a.iter().all(|&v| v == a[0]));
        let mut r1 = Rng::for_record(7, 3);
        let mut r2 = Rng::for_record(7, 4);
        let mut r3 = Rng::for_record(8, 3);
        let x = r1.next_u64();
        assert_ne!(x, r2.next_u64());
        assert_ne!(x, r3.next_u64());
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::for_record(1, 0);
        let n = 200_000;
        let (mut s, mut s2, mut g, mut g2) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            s += u;
            s2 += u * u;
            let z = r.normal();
            g += z;
            g2 += z * z;
        }
        let n = n as f64;
        assert!((s / n - 0.5).abs() < 0.005);
        assert!((s2 / n - s * s / n / n - 1.0 / 12.0).abs() < 0.002);
        assert!((g / n).abs() < 0.01);
        assert!((g2 / n - 1.0).abs() < 0.02);
    }

    #[test]
    fn gamma_moments() {
        let mut r = Rng::for_record(2, 0);
        for k in [1.0, 4.0, 20.0] {
            let v: Vec<f64> = (0..100_000).map(|_| r.gamma(k)).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
            assert!((m / k - 1.0).abs() < 0.02, "{k} {m}");
            assert!((var / k - 1.0).abs() < 0.05, "{k} {var}");
        }
    }
}
