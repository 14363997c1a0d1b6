//! A minimal complex type whose arithmetic follows NumPy's, so that filter designs reproduce
//! `scipy.signal` to the last few ulps (NumPy divides with Smith's algorithm and takes square
//! roots with C99 `csqrt`; matching those keeps pole ordering identical in near-ties).

use std::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct C64 {
    pub re: f64,
    pub im: f64,
}

impl C64 {
    pub const fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }

    pub const fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }

    pub fn conj(self) -> Self {
        Self::new(self.re, -self.im)
    }

    /// `np.abs`: hypot of the parts.
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }

    /// `np.isreal`: the imaginary part is exactly zero.
    pub fn is_real(self) -> bool {
        self.im == 0.0
    }

    /// Principal square root, following glibc's `csqrt` for finite, unscaled inputs.
    pub fn sqrt(self) -> Self {
        let (x, y) = (self.re, self.im);
        if y == 0.0 {
            if x < 0.0 {
                Self::new(0.0, (-x).sqrt().copysign(y))
            } else {
                Self::new(x.sqrt().abs(), 0.0f64.copysign(y))
            }
        } else if x == 0.0 {
            let r = (0.5 * y.abs()).sqrt();
            Self::new(r, r.copysign(y))
        } else {
            let d = x.hypot(y);
            let (r, s) = if x > 0.0 {
                let r = (0.5 * (d + x)).sqrt();
                (r, 0.5 * (y / r))
            } else {
                let s = (0.5 * (d - x)).sqrt();
                ((0.5 * (y / s)).abs(), s)
            };
            Self::new(r, s.copysign(y))
        }
    }
}

impl Add for C64 {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, self.im + o.im)
    }
}

impl Sub for C64 {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, self.im - o.im)
    }
}

impl Neg for C64 {
    type Output = Self;
    fn neg(self) -> Self {
        Self::new(-self.re, -self.im)
    }
}

impl Mul for C64 {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Self::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

impl Div for C64 {
    type Output = Self;
    /// Smith's algorithm, as in NumPy's complex division loop.
    fn div(self, o: Self) -> Self {
        let (ar, ai, br, bi) = (self.re, self.im, o.re, o.im);
        if br.abs() >= bi.abs() {
            if br == 0.0 && bi == 0.0 {
                return Self::new(ar / br.abs(), ai / br.abs());
            }
            let rat = bi / br;
            let scl = 1.0 / (br + bi * rat);
            Self::new((ar + ai * rat) * scl, (ai - ar * rat) * scl)
        } else {
            let rat = br / bi;
            let scl = 1.0 / (bi + br * rat);
            Self::new((ar * rat + ai) * scl, (ai * rat - ar) * scl)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_squares_back() {
        for &(re, im) in &[
            (3.0, 4.0),
            (-3.0, 4.0),
            (-3.0, -4.0),
            (0.0, 2.0),
            (-4.0, 0.0),
            (4.0, 0.0),
        ] {
            let z = C64::new(re, im);
            let r = z.sqrt();
            let back = r * r;
            assert!(
                (back.re - re).abs() < 1e-12 && (back.im - im).abs() < 1e-12,
                "{z:?}"
            );
            assert!(r.re >= 0.0);
        }
    }

    #[test]
    fn division_inverts_multiplication() {
        let a = C64::new(1.5, -2.0);
        let b = C64::new(-0.25, 3.0);
        let q = (a * b) / b;
        assert!((q.re - a.re).abs() < 1e-14 && (q.im - a.im).abs() < 1e-14);
        let q = (a * b) / a;
        assert!((q.re - b.re).abs() < 1e-14 && (q.im - b.im).abs() < 1e-14);
    }
}
