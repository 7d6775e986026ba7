//! CRC32C combination in logarithmic time: the CRC of `a ‖ b` from the CRCs of `a` and `b`
//! and the length of `b`. The writer thread seals every record this way (the appending thread
//! has already checksummed the batch), and the `crc32c` crate's combine builds and squares
//! 32 × 32 bit matrices on every call, which made it a visible share of the writer's time.
//!
//! Appending `n` zero bytes to a message multiplies its CRC register by x^(8n) modulo the
//! CRC polynomial; so `crc(a ‖ b) = crc(a) · x^(8·len b) + crc(b)` over GF(2). The powers
//! x^(2^k) are a table built at compile time, and x^(8n) is a product of at most 64 of them
//! (the square-and-multiply of Mark Adler's zlib `crc32_combine`, in the reflected bit order
//! that CRC32C uses).

/// The CRC32C (Castagnoli) polynomial, reflected.
const POLY: u32 = 0x82F6_3B78;

/// `a · b` modulo the polynomial, both in reflected order (bit 31 is x^0).
const fn multiply(a: u32, mut b: u32) -> u32 {
    let mut m = 1u32 << 31;
    let mut product = 0;
    while m != 0 {
        if a & m != 0 {
            product ^= b;
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    product
}

/// x^(2^k) modulo the polynomial, for k = 0..64 (the powers repeat, but 64 covers any `usize`).
const POWERS: [u32; 64] = {
    let mut table = [0; 64];
    let mut power = 1u32 << 30; // x^1
    let mut k = 0;
    while k < 64 {
        table[k] = power;
        power = multiply(power, power);
        k += 1;
    }
    table
};

/// x^(8n) modulo the polynomial: the factor that appending `n` zero bytes applies.
fn shift_of(mut n: usize) -> u32 {
    let mut factor = 1u32 << 31; // x^0
    let mut k = 3; // bytes to bits: x^(8n) = x^(n · 2^3)
    while n != 0 {
        if n & 1 != 0 {
            factor = multiply(POWERS[k], factor);
        }
        n >>= 1;
        k += 1;
    }
    factor
}

/// The CRC32C of `a ‖ b`, given `crc_a`, `crc_b` and `b`'s length.
pub(super) fn combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    multiply(shift_of(len_b), crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_as_the_checksum_of_the_joined_bytes() {
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 2, 7, 8, 9, 63, 64, 1000, 4096, 65_535, 69_999, 70_000] {
            let (a, b) = bytes.split_at(split);
            let whole = crc32c::crc32c(&bytes);
            assert_eq!(combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len()), whole, "split at {split}");
        }
    }

    #[test]
    fn agrees_with_the_crate_for_large_lengths() {
        for len in [100_000, 267_000, 1 << 20, (1 << 28) + 12_345] {
            assert_eq!(combine(0xDEAD_BEEF, 0x1234_5678, len), crc32c::crc32c_combine(0xDEAD_BEEF, 0x1234_5678, len));
        }
    }
}
