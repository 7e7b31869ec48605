// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Turning raw samples into the generated event types.
//!
//! Samples are copied, never referenced in place: perf-buffer samples are only 4-byte aligned,
//! and variable-length events are shorter than their struct.

use plain::Plain;

/// Copy `data` into a zeroed `T`. `data` may be shorter than `T` (the tail stays zero) but not
/// shorter than `min_len`, the size of the fixed header every record carries.
pub fn copy_prefix<T: Plain + Default>(data: &[u8], min_len: usize) -> Option<T> {
    let size = std::mem::size_of::<T>();
    if data.len() < min_len.min(size) {
        return None;
    }
    let mut value = T::default();
    let n = data.len().min(size);
    // SAFETY: `T: Plain` means every byte pattern is a valid `T`, so writing arbitrary bytes
    // into it cannot create an invalid value; the slice covers exactly the value's bytes.
    let bytes = unsafe { plain::as_mut_bytes(&mut value) };
    bytes[..n].copy_from_slice(&data[..n]);
    Some(value)
}

/// The bytes of a NUL-terminated C string in a fixed buffer, without the NUL.
pub fn c_bytes(buf: &[u8]) -> &[u8] {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    &buf[..end]
}

/// The decimal value of `#define NAME VALUE` in C source `src`, at compile time: Rust takes a
/// constant from the BPF headers (`include_str!`) instead of keeping a copy, and the build
/// fails when the header has no such definition.
pub const fn c_define(src: &str, name: &str) -> usize {
    const DEFINE: &[u8] = b"#define ";
    let (s, n) = (src.as_bytes(), name.as_bytes());
    let mut i = 0;
    while i + DEFINE.len() + n.len() < s.len() {
        let mut j = 0;
        while j < DEFINE.len() && s[i + j] == DEFINE[j] {
            j += 1;
        }
        let mut k = 0;
        while j == DEFINE.len() && k < n.len() && s[i + j + k] == n[k] {
            k += 1;
        }
        let mut at = i + j + k;
        if k == n.len() && (s[at] == b' ' || s[at] == b'\t') {
            while at < s.len() && (s[at] == b' ' || s[at] == b'\t') {
                at += 1;
            }
            let mut v = 0usize;
            let start = at;
            while at < s.len() && s[at].is_ascii_digit() {
                v = v * 10 + (s[at] - b'0') as usize;
                at += 1;
            }
            assert!(at > start, "the #define has no decimal value");
            return v;
        }
        i += 1;
    }
    panic!("no such #define")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, PartialEq)]
    #[repr(C)]
    struct Rec {
        a: u64,
        b: u32,
        tail: [u8; 4],
    }
    // SAFETY: plain integers and bytes, no padding-sensitive invariants.
    unsafe impl Plain for Rec {}

    #[test]
    fn copies_unaligned_and_short_records() {
        let mut raw = vec![0u8; 1];
        raw.extend_from_slice(&7u64.to_ne_bytes());
        raw.extend_from_slice(&9u32.to_ne_bytes());
        raw.extend_from_slice(b"xy");
        let rec: Rec = copy_prefix(&raw[1..], 12).expect("long enough");
        assert_eq!(rec.a, 7);
        assert_eq!(rec.b, 9);
        assert_eq!(&rec.tail, b"xy\0\0");
    }

    #[test]
    fn refuses_records_shorter_than_the_header() {
        assert!(copy_prefix::<Rec>(&[0u8; 11], 12).is_none());
    }

    #[test]
    fn ignores_bytes_beyond_the_struct() {
        let raw = [1u8; 40];
        let rec: Rec = copy_prefix(&raw, 12).expect("long enough");
        assert_eq!(rec.tail, [1; 4]);
    }

    #[test]
    fn c_string_stops_at_nul() {
        assert_eq!(c_bytes(b"bash\0\0junk"), b"bash");
        assert_eq!(c_bytes(b"sixteen-bytes-xx"), b"sixteen-bytes-xx");
    }

    #[test]
    fn c_defines_are_read_from_source() {
        let src = "#define FERRO_MAX 1\n#define FERRO_MAX_PORTS\t64 /* ports */\n";
        assert_eq!(c_define(src, "FERRO_MAX_PORTS"), 64);
        assert_eq!(
            c_define(src, "FERRO_MAX"),
            1,
            "a longer name is not a match"
        );
    }
}
