//! Which vector instructions the hot loops are compiled for, chosen at run time.
//!
//! The crate is built for the x86-64 baseline (SSE2), so a wheel runs on any x86-64 CPU. The
//! loops that dominate synthesis are compiled a second and a third time, for AVX2 (x86-64-v3)
//! and for AVX-512 (x86-64-v4), and [`level`] picks the widest the CPU supports. Every variant
//! uses separate multiplies and adds (Rust never fuses them into FMA on its own) and the same
//! operation order, so all of them give bitwise the same results; only the speed differs.
//!
//! `ECGFAST_SIMD=portable|avx2|avx512` (read once, when first needed) caps the level, e.g. to
//! check that equality or to time the portable code.

use std::sync::OnceLock;

/// Instruction-set level of the multiversioned loops, ordered from narrowest to widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The build's baseline (SSE2 on x86-64, whatever the target has elsewhere).
    Portable,
    /// AVX2 + FMA + BMI (x86-64-v3).
    Avx2,
    /// AVX-512 F/BW/CD/DQ/VL on top of AVX2 (x86-64-v4).
    Avx512,
}

impl Level {
    /// The name `ECGFAST_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        [Level::Portable, Level::Avx2, Level::Avx512]
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// The widest level this CPU supports.
pub fn supported() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let v3 = has!("avx2") && has!("fma") && has!("bmi1") && has!("bmi2") && has!("lzcnt");
        let v4 = has!("avx512f")
            && has!("avx512bw")
            && has!("avx512cd")
            && has!("avx512dq")
            && has!("avx512vl");
        if v3 && v4 {
            return Level::Avx512;
        }
        if v3 {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The level in use: [`supported_cached`], capped by `ECGFAST_SIMD` if set to a known name (an
/// unknown name is ignored, and a level above what the CPU supports is never used).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("ECGFAST_SIMD")
            .ok()
            .and_then(|s| Level::parse(&s));
        let cpu = supported_cached();
        cap.map_or(cpu, |c| c.min(cpu))
    })
}

/// Define `$name` that runs the `#[inline(always)]` function `$body` compiled for the level
/// in use: `$name(level, args...)`. The argument and return types are spelled out once.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident => $body:path, ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty) => {
        $(#[$meta])*
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                #[target_feature(
                    enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt"
                )]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                match level.min($crate::simd::supported_cached()) {
                    // SAFETY: the CPU supports these features (`supported_cached`).
                    $crate::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::simd::Level::Portable => {}
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// [`supported`], detected once.
pub fn supported_cached() -> Level {
    static CPU: OnceLock<Level> = OnceLock::new();
    *CPU.get_or_init(supported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for l in [Level::Portable, Level::Avx2, Level::Avx512] {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::parse("sse9"), None);
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert!(level() <= supported());
    }

    #[inline(always)]
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    multiversion!(fn dot_at => dot, (a: &[f64], b: &[f64]) -> f64);

    #[test]
    fn every_level_gives_the_same_bits() {
        let a: Vec<f64> = (0..1001).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..1001).map(|i| (i as f64 * 0.11).cos() / 3.0).collect();
        let want = dot(&a, &b);
        for l in [Level::Portable, Level::Avx2, Level::Avx512] {
            assert_eq!(dot_at(l, &a, &b).to_bits(), want.to_bits(), "{l:?}");
        }
    }
}
