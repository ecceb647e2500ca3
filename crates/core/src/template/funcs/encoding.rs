//! Encodings and digests: `b64enc`, `b64dec`, `b32enc`, `b32dec`, `sha1sum`,
//! `sha256sum`, `adler32sum`. Results are derived (tainted when the input is).
//! Decoding errors are function errors (Sprig returns the error text as the result);
//! decoded bytes must be UTF-8, since template values are strings.

use base64::Engine as _;
use sha2::Digest as _;

use super::FuncEnv;
use super::FuncError;
use super::args::{self, derived};
use crate::template::value::Value;

/// `b64enc S`: standard Base64 with padding.
pub fn b64enc(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    derived(base64::engine::general_purpose::STANDARD.encode(s), a)
}

/// `b64dec S`: the decoded text.
pub fn b64dec(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| FuncError::new(format!("invalid base64: {e}")))?;
    derived(utf8(bytes)?, a)
}

fn utf8(bytes: Vec<u8>) -> Result<String, FuncError> {
    String::from_utf8(bytes).map_err(|_| FuncError::new("decoded bytes are not UTF-8 text"))
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `b32enc S`: standard Base32 (RFC 4648) with padding.
pub fn b32enc(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let mut out = String::with_capacity(s.len().div_ceil(5) * 8);
    for chunk in s.as_bytes().chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let idx = usize::try_from((bits >> (35 - 5 * i)) & 31).unwrap_or(0);
                out.push(char::from(B32[idx]));
            } else {
                out.push('=');
            }
        }
    }
    derived(out, a)
}

/// `b32dec S`: the decoded text.
pub fn b32dec(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let invalid = || FuncError::new("invalid base32 input");
    if s.len() % 8 != 0 {
        return Err(invalid());
    }
    let mut out = Vec::with_capacity(s.len() / 8 * 5);
    for chunk in s.as_bytes().chunks(8) {
        let data = chunk.iter().take_while(|&&c| c != b'=').count();
        if chunk[data..].iter().any(|&c| c != b'=') || !matches!(data, 2 | 4 | 5 | 7 | 8) {
            return Err(invalid());
        }
        let mut bits = 0u64;
        for &c in &chunk[..data] {
            let v = B32.iter().position(|&x| x == c).ok_or_else(invalid)?;
            bits = (bits << 5) | u64::try_from(v).unwrap_or(0);
        }
        bits <<= 5 * (8 - data);
        let bytes = data * 5 / 8;
        for i in 0..bytes {
            out.push(u8::try_from((bits >> (32 - 8 * i)) & 0xff).unwrap_or(0));
        }
    }
    derived(utf8(out)?, a)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256sum S`: the SHA-256 digest in hex.
pub fn sha256sum(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    derived(hex(&sha2::Sha256::digest(s.as_bytes())), a)
}

/// `sha1sum S`: the SHA-1 digest in hex (for compatibility; not for security).
pub fn sha1sum(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    derived(hex(&sha1(s.as_bytes())), a)
}

/// `adler32sum S`: the Adler-32 checksum as a decimal string.
pub fn adler32sum(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let (mut x, mut y) = (1u32, 0u32);
    for &b in s.as_bytes() {
        x = (x + u32::from(b)) % 65_521;
        y = (y + x) % 65_521;
    }
    derived(((y << 16) | x).to_string(), a)
}

/// SHA-1 (FIPS 180-4); kept here because Sprig's `sha1sum` needs it and nothing else
/// does.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = u64::try_from(data.len()).unwrap_or(0).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}
