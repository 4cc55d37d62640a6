//! NumPy's default random generator (`numpy.random.default_rng(seed)`: PCG64 seeded through a
//! `SeedSequence`), with the draws the workload synthesizer makes: uniform floats, normals and
//! lognormals (NumPy's ziggurat), bounded integers (Lemire's method), random bytes and a
//! weighted choice. Every draw consumes the stream exactly as NumPy does, so a seed gives the
//! Python AIPerf's dataset.

use super::ziggurat::{FI, KI, WI};

/// PCG64's 128-bit LCG multiplier.
const MULTIPLIER: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;
/// The ziggurat's base-strip edge and its reciprocal.
const NOR_R: f64 = 3.654_152_885_361_009;
const NOR_INV_R: f64 = 0.273_661_237_329_758_3;

/// NumPy's `Generator(PCG64(seed))`.
#[derive(Debug, Clone)]
pub struct NumpyRng {
    state: u128,
    inc: u128,
    /// The high half of the last 64-bit draw, kept for the next 32-bit draw.
    spare_u32: Option<u32>,
}

impl NumpyRng {
    /// `numpy.random.default_rng(seed)`.
    pub fn new(seed: u64) -> Self {
        let words = seed_sequence_state(seed);
        let seed128 = (u128::from(words[0]) << 64) | u128::from(words[1]);
        let inc128 = (u128::from(words[2]) << 64) | u128::from(words[3]);
        let mut rng = Self {
            state: 0,
            inc: (inc128 << 1) | 1,
            spare_u32: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(seed128);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULTIPLIER).wrapping_add(self.inc);
    }

    /// The next 64 random bits (XSL-RR output).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let folded = ((s >> 64) as u64) ^ (s as u64);
        folded.rotate_right((s >> 122) as u32)
    }

    /// The next 32 random bits: the halves of one 64-bit draw, low half first.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.spare_u32.take() {
            return high;
        }
        let next = self.next_u64();
        self.spare_u32 = Some((next >> 32) as u32);
        next as u32
    }

    /// `random()`: uniform in [0, 1) with 53 random bits.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `standard_normal()`.
    pub fn standard_normal(&mut self) -> f64 {
        loop {
            let r = self.next_u64();
            let idx = (r & 0xff) as usize;
            let r = r >> 8;
            let negative = r & 1 == 1;
            let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff;
            let mut x = rabs as f64 * f64::from_bits(WI[idx]);
            if negative {
                x = -x;
            }
            if rabs < KI[idx] {
                return x;
            }
            if idx == 0 {
                loop {
                    let xx = -NOR_INV_R * (-self.random()).ln_1p();
                    let yy = -(-self.random()).ln_1p();
                    if yy + yy > xx * xx {
                        return if (rabs >> 8) & 1 == 1 {
                            -(NOR_R + xx)
                        } else {
                            NOR_R + xx
                        };
                    }
                }
            }
            let (fi_below, fi) = (f64::from_bits(FI[idx - 1]), f64::from_bits(FI[idx]));
            if (fi_below - fi) * self.random() + fi < (-0.5 * x * x).exp() {
                return x;
            }
        }
    }

    /// `lognormal(mean, sigma)`: `exp` of a normal of that mean and deviation.
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.standard_normal()).exp()
    }

    /// `integers(low, high)`: uniform in [low, high) for a range that fits 32 bits.
    pub fn integers(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - 1 - low) as u64;
        if span == 0 {
            return low;
        }
        assert!(
            span < u64::from(u32::MAX),
            "integers: range wider than 32 bits"
        );
        let excl = span + 1;
        let mut m = u64::from(self.next_u32()) * excl;
        let mut leftover = m & 0xffff_ffff;
        if leftover < excl {
            let threshold = (u64::from(u32::MAX) - span) % excl;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * excl;
                leftover = m & 0xffff_ffff;
            }
        }
        low + (m >> 32) as i64
    }

    /// `bytes(16)`: four 32-bit draws, little-endian.
    pub fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0; 16];
        for chunk in out.chunks_exact_mut(4) {
            chunk.copy_from_slice(&self.next_u32().to_le_bytes());
        }
        out
    }

    /// `choice(len(cdf), p=...)` given the cumulative weights `cdf` (normalized to end at 1).
    pub fn choice(&mut self, cdf: &[f64]) -> usize {
        let u = self.random();
        cdf.partition_point(|c| *c <= u)
    }
}

/// The four 64-bit words NumPy's `SeedSequence(seed).generate_state(4, uint64)` returns.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_L: u32 = 0xca01_f9dd;
    const MIX_R: u32 = 0x4973_f715;
    let mut entropy = vec![seed as u32];
    if seed >> 32 != 0 {
        entropy.push((seed >> 32) as u32);
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_L.wrapping_mul(x).wrapping_sub(MIX_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        for dst in 0..4 {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, word) in words.iter_mut().enumerate() {
        let mut v = pool[i % 4] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *word = v ^ (v >> 16);
    }
    std::array::from_fn(|i| u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws NumPy 2 makes from `default_rng(42)`, one call after another.
    #[test]
    fn draws_match_numpy() {
        let mut rng = NumpyRng::new(42);
        assert_eq!(rng.random(), EXPECTED_RANDOM);
        let normals: Vec<f64> = (0..3).map(|_| rng.standard_normal()).collect();
        assert_eq!(normals, EXPECTED_NORMALS);
        assert_eq!(rng.integers(5, 15), EXPECTED_INTEGER);
        assert_eq!(rng.bytes16(), EXPECTED_BYTES);
        assert_eq!(rng.lognormal(7.5, 1.15), EXPECTED_LOGNORMAL);
    }

    const EXPECTED_RANDOM: f64 = 0.773_956_048_555_963_3;
    const EXPECTED_NORMALS: [f64; 3] = [
        -1.039_984_106_240_495_5,
        0.750_451_195_806_457_2,
        0.940_564_716_391_213_9,
    ];
    const EXPECTED_INTEGER: i64 = 7;
    const EXPECTED_BYTES: [u8; 16] = [
        181, 1, 28, 24, 140, 83, 199, 134, 237, 98, 194, 249, 113, 68, 90, 188,
    ];
    const EXPECTED_LOGNORMAL: f64 = 1_256.796_143_971_923_8;
}
