// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! A small reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`) for the few lookups the
//! tools make before loading their programs: a type id by kind and name (for the tp_btf and
//! fentry probes), a function prototype's arity, an enum's values.
//!
//! Why not libbpf's parser: it indexes and validates all ~150,000 types, several milliseconds
//! that every run pays again when the skeleton loads (libbpf parses vmlinux BTF itself for
//! CO-RE and cannot be handed a parsed copy). Walking the type section once for a name costs a
//! fraction of that. Anything this reader does not understand makes it return nothing, and the
//! callers then act as if the type were absent.

use std::ops::Range;

pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

/// Names of kernel types that a kernel renamed within the range the tools support (5.10 to
/// 6.18), every name each has had, newest first: look these up with [`KernelBtf::find_any`]
/// or [`KernelBtf::enum_values_any`], never under one name. A field renamed in the same range
/// is handled in the BPF programs with a CO-RE `___flavor` struct instead (bpf/bits.bpf.h:
/// `task_struct.state` before 5.14, `cgroup.ancestor_ids` before 6.0; bpf/biolatency.bpf.c:
/// `request.rq_disk` before 5.16).
pub mod renamed {
    /// The block layer's request operations (`REQ_OP_READ`, ...): `enum req_opf` until Linux
    /// 6.0 renamed it `enum req_op` (Bart Van Assche's blk_opf_t series, July 2022).
    pub const REQ_OP: &[&str] = &["req_op", "req_opf"];
}

const MAGIC: u16 = 0xeb9f;
/// name_off, info, size/type: the part every type record starts with.
const HEADER: usize = 12;

/// The bytes of a BTF blob: mapped from sysfs where the kernel allows it (which hands out
/// `read()`s one page at a time: 1,300 system calls for vmlinux) or owned.
enum Blob {
    Owned(Vec<u8>),
    Mapped { ptr: *mut libc::c_void, len: usize },
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            // SAFETY: a live read-only private mapping of `len` bytes, unmapped only in drop.
            Self::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(ptr.cast(), *len) },
        }
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        if let Self::Mapped { ptr, len } = *self {
            // SAFETY: the mapping made in `map_file`, not used after this.
            unsafe { libc::munmap(ptr, len) };
        }
    }
}

fn map_file(path: &str) -> Option<Blob> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).ok()?;
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return None;
    }
    // SAFETY: mapping a file we hold open, read-only and private; checked for failure.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    (ptr != libc::MAP_FAILED).then_some(Blob::Mapped { ptr, len })
}

/// One BTF blob, with the byte offset of each type record (type id `n` at `offsets[n - 1]`).
pub struct KernelBtf {
    data: Blob,
    strings: Range<usize>,
    offsets: Vec<u32>,
}

impl KernelBtf {
    /// The running kernel's BTF, or None where there is none (or it cannot be read).
    pub fn vmlinux() -> Option<Self> {
        const PATH: &str = "/sys/kernel/btf/vmlinux";
        // Kernels before 6.16 cannot mmap it; read it a page at a time there.
        let blob = map_file(PATH).or_else(|| std::fs::read(PATH).ok().map(Blob::Owned))?;
        Self::index(blob)
    }

    /// Index a raw BTF blob in the machine's byte order.
    pub fn parse(data: Vec<u8>) -> Option<Self> {
        Self::index(Blob::Owned(data))
    }

    fn index(data: Blob) -> Option<Self> {
        let u32_at = |at: usize| read_u32(&data, at);
        if data.len() < 24 || u16::from_ne_bytes([data[0], data[1]]) != MAGIC {
            return None;
        }
        let hdr_len = u32_at(4)? as usize;
        let type_off = hdr_len.checked_add(u32_at(8)? as usize)?;
        let types = type_off..type_off.checked_add(u32_at(12)? as usize)?;
        let str_off = hdr_len.checked_add(u32_at(16)? as usize)?;
        let strings = str_off..str_off.checked_add(u32_at(20)? as usize)?;
        if types.end > data.len() || strings.end > data.len() {
            return None;
        }
        let mut offsets = Vec::with_capacity(types.len() / 24);
        let mut at = types.start;
        while at < types.end {
            let info = u32_at(at + 4)?;
            let vlen = (info & 0xffff) as usize;
            let extra = match (info >> 24) & 0x1f {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                _ => return None,
            };
            offsets.push(u32::try_from(at).ok()?);
            at += HEADER + extra;
        }
        (at == types.end).then_some(Self {
            data,
            strings,
            offsets,
        })
    }

    fn record(&self, id: u32) -> Option<usize> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.offsets.get(i).map(|&o| o as usize)
    }

    fn str_at(&self, off: u32) -> Option<&[u8]> {
        let start = self.strings.start.checked_add(off as usize)?;
        let rest = self.data.get(start..self.strings.end)?;
        let len = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..len])
    }

    /// The id of the first type of `kind` named `name`.
    pub fn find(&self, kind: u32, name: &str) -> Option<u32> {
        let name = name.as_bytes();
        self.offsets.iter().enumerate().find_map(|(i, &at)| {
            let at = at as usize;
            let info = read_u32(&self.data, at + 4)?;
            if (info >> 24) & 0x1f != kind {
                return None;
            }
            (self.str_at(read_u32(&self.data, at)?)? == name)
                .then(|| u32::try_from(i + 1).ok())
                .flatten()
        })
    }

    /// The id of the first type of `kind` under the first of `names` this kernel has: for a
    /// type renamed within the supported range (see [`renamed`]).
    pub fn find_any(&self, kind: u32, names: &[&str]) -> Option<u32> {
        names.iter().find_map(|name| self.find(kind, name))
    }

    pub fn kind(&self, id: u32) -> Option<u32> {
        Some((read_u32(&self.data, self.record(id)? + 4)? >> 24) & 0x1f)
    }

    /// Members, parameters or values.
    pub fn vlen(&self, id: u32) -> Option<usize> {
        Some((read_u32(&self.data, self.record(id)? + 4)? & 0xffff) as usize)
    }

    /// The type a pointer, typedef, modifier, function or variable refers to.
    pub fn referenced(&self, id: u32) -> Option<u32> {
        match self.kind(id)? {
            KIND_PTR | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC
            | KIND_VAR | KIND_TYPE_TAG | KIND_DECL_TAG => {
                read_u32(&self.data, self.record(id)? + 8)
            }
            _ => None,
        }
    }

    /// How many arguments the tracepoint whose BTF typedef is `typedef_name`
    /// (`btf_trace_<tracepoint>`) passes to a tp_btf program: the parameters of its prototype
    /// but the first, the BPF context. `None` where BTF has no such typedef.
    pub fn tracepoint_arity(&self, typedef_name: &str) -> Option<usize> {
        // typedef btf_trace_<tp> -> pointer -> function prototype.
        self.find(KIND_TYPEDEF, typedef_name)
            .and_then(|td| self.referenced(td))
            .filter(|&p| self.kind(p) == Some(KIND_PTR))
            .and_then(|p| self.referenced(p))
            .filter(|&f| self.kind(f) == Some(KIND_FUNC_PROTO))
            .and_then(|f| self.vlen(f))
            .map(|n| n.saturating_sub(1))
    }

    /// Does struct `name` have a member called `member`?
    pub fn has_member(&self, name: &str, member: &str) -> bool {
        let member = member.as_bytes();
        let Some(id) = self.find(KIND_STRUCT, name) else {
            return false;
        };
        let (Some(at), Some(n)) = (self.record(id), self.vlen(id)) else {
            return false;
        };
        (0..n).any(|i| {
            read_u32(&self.data, at + HEADER + i * 12).and_then(|off| self.str_at(off))
                == Some(member)
        })
    }

    /// The named values of the first of `names` that this kernel has as an enum: for an enum
    /// renamed within the supported range (see [`renamed`]). Empty when it has none of them.
    pub fn enum_values_any(&self, names: &[&str]) -> Vec<(String, i64)> {
        names
            .iter()
            .map(|name| self.enum_values(name))
            .find(|values| !values.is_empty())
            .unwrap_or_default()
    }

    /// The named values of the enum (or 64-bit enum) `name`; empty when there is no such enum.
    pub fn enum_values(&self, name: &str) -> Vec<(String, i64)> {
        let (id, wide) = match self.find(KIND_ENUM, name) {
            Some(id) => (id, false),
            None => match self.find(KIND_ENUM64, name) {
                Some(id) => (id, true),
                None => return Vec::new(),
            },
        };
        let (Some(at), Some(n)) = (self.record(id), self.vlen(id)) else {
            return Vec::new();
        };
        let signed = read_u32(&self.data, at + 4).is_some_and(|info| info & (1 << 31) != 0);
        let step = if wide { 12 } else { 8 };
        (0..n)
            .filter_map(|i| {
                let m = at + HEADER + i * step;
                let name = self.str_at(read_u32(&self.data, m)?)?;
                let lo = read_u32(&self.data, m + 4)?;
                let value = if wide {
                    let hi = read_u32(&self.data, m + 8)?;
                    ((u64::from(hi) << 32) | u64::from(lo)) as i64
                } else if signed {
                    i64::from(lo as i32)
                } else {
                    i64::from(lo)
                };
                Some((String::from_utf8_lossy(name).into_owned(), value))
            })
            .collect()
    }
}

/// A writer of small BTF blobs in the machine's byte order, for unit tests of code that reads
/// kernel BTF: it lets a test feed each name and layout a kernel has had (see [`renamed`])
/// without booting that kernel. Methods return the new type's id.
#[derive(Default)]
pub struct Builder {
    types: Vec<u32>,
    strings: Vec<u8>,
    count: u32,
}

impl Builder {
    pub fn new() -> Self {
        Self {
            strings: vec![0],
            ..Self::default()
        }
    }

    fn name(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend(name.as_bytes());
        self.strings.push(0);
        off
    }

    fn push(&mut self, words: &[u32]) -> u32 {
        self.types.extend(words);
        self.count += 1;
        self.count
    }

    /// A signed 32-bit int.
    pub fn int(&mut self, name: &str) -> u32 {
        let n = self.name(name);
        self.push(&[n, KIND_INT << 24, 4, (1 << 24) | 32])
    }

    /// A 4-byte enum with these values (signed when any is negative).
    pub fn enumeration(&mut self, name: &str, values: &[(&str, i32)]) -> u32 {
        let n = self.name(name);
        let signed = if values.iter().any(|&(_, v)| v < 0) {
            1 << 31
        } else {
            0
        };
        let mut words = vec![n, (KIND_ENUM << 24) | signed | values.len() as u32, 4];
        for &(name, value) in values {
            words.extend([self.name(name), value as u32]);
        }
        self.push(&words)
    }

    /// A struct whose members all have type `member_type`, 4 bytes apart.
    pub fn structure(&mut self, name: &str, members: &[&str], member_type: u32) -> u32 {
        let n = self.name(name);
        let mut words = vec![
            n,
            (KIND_STRUCT << 24) | members.len() as u32,
            4 * members.len() as u32,
        ];
        for (i, m) in members.iter().enumerate() {
            words.extend([self.name(m), member_type, 32 * i as u32]);
        }
        self.push(&words)
    }

    pub fn typedef(&mut self, name: &str, to: u32) -> u32 {
        let n = self.name(name);
        self.push(&[n, KIND_TYPEDEF << 24, to])
    }

    pub fn pointer(&mut self, to: u32) -> u32 {
        self.push(&[0, KIND_PTR << 24, to])
    }

    /// A function prototype returning `ret` with `params` unnamed parameters of type `ret`.
    pub fn func_proto(&mut self, ret: u32, params: usize) -> u32 {
        let mut words = vec![0, (KIND_FUNC_PROTO << 24) | params as u32, ret];
        for _ in 0..params {
            words.extend([0, ret]);
        }
        self.push(&words)
    }

    /// The blob: header, types, strings.
    pub fn build(&self) -> Vec<u8> {
        let types: Vec<u8> = self.types.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mut out = Vec::with_capacity(24 + types.len() + self.strings.len());
        out.extend(MAGIC.to_ne_bytes());
        out.extend([1u8, 0]);
        let (t, s) = (types.len() as u32, self.strings.len() as u32);
        for v in [24u32, 0, t, t, s] {
            out.extend(v.to_ne_bytes());
        }
        out.extend(types);
        out.extend(&self.strings);
        out
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob with: [1] int "int", [2] typedef "t" -> 1, [3] enum "e" {A = 1, B = -2} signed,
    /// [4] func_proto (2 params) returning 1, [5] ptr -> 4, [6] struct "s" { int A; int B; }.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0t\0e\0A\0B\0s\0".to_vec();
        let s = |name: &str| -> u32 {
            let pat = format!("\0{name}\0");
            (strings
                .windows(pat.len())
                .position(|w| w == pat.as_bytes())
                .expect("string")
                + 1) as u32
        };
        let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
        let mut t: Vec<u32> = Vec::new();
        t.extend([s("int"), info(KIND_INT, 0), 4, 32]);
        t.extend([s("t"), info(KIND_TYPEDEF, 0), 1]);
        t.extend([
            s("e"),
            info(KIND_ENUM, 2) | (1 << 31),
            4,
            s("A"),
            1,
            s("B"),
            (-2i32) as u32,
        ]);
        t.extend([0, info(KIND_FUNC_PROTO, 2), 1, 0, 1, 0, 1]);
        t.extend([0, info(KIND_PTR, 0), 4]);
        t.extend([s("s"), info(KIND_STRUCT, 2), 8, s("A"), 1, 0, s("B"), 1, 32]);
        let types: Vec<u8> = t.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mut out = Vec::new();
        out.extend(MAGIC.to_ne_bytes());
        out.extend([1u8, 0]);
        for v in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            out.extend(v.to_ne_bytes());
        }
        out.extend(types);
        out.extend(strings);
        out
    }

    #[test]
    fn finds_types_follows_references_and_reads_enums() {
        let b = KernelBtf::parse(blob()).expect("parses");
        assert_eq!(b.find(KIND_TYPEDEF, "t"), Some(2));
        assert_eq!(b.find(KIND_STRUCT, "t"), None);
        assert_eq!(b.find(KIND_TYPEDEF, "missing"), None);
        assert_eq!(b.referenced(2), Some(1));
        assert_eq!(b.referenced(5), Some(4));
        assert_eq!(b.kind(4), Some(KIND_FUNC_PROTO));
        assert_eq!(b.vlen(4), Some(2));
        assert_eq!(
            b.enum_values("e"),
            [("A".to_owned(), 1), ("B".to_owned(), -2)]
        );
        assert!(b.enum_values("t").is_empty());
        assert!(b.has_member("s", "B"));
        assert!(!b.has_member("s", "C"));
        assert!(!b.has_member("e", "A"));
        assert_eq!(b.kind(99), None);
    }

    /// Each name a renamed type has had is found, the newest first where both exist.
    #[test]
    fn renamed_types_are_found_under_every_name() {
        for (i, &name) in renamed::REQ_OP.iter().enumerate() {
            let mut b = Builder::new();
            b.int("int");
            let id = b.enumeration(name, &[("REQ_OP_READ", 0), ("REQ_OP_WRITE", 1)]);
            let btf = KernelBtf::parse(b.build()).expect("parses");
            assert_eq!(btf.find_any(KIND_ENUM, renamed::REQ_OP), Some(id), "{name}");
            assert_eq!(
                btf.enum_values_any(renamed::REQ_OP),
                [
                    ("REQ_OP_READ".to_owned(), 0),
                    ("REQ_OP_WRITE".to_owned(), 1)
                ],
                "{name} (name {i})"
            );
        }
        let mut b = Builder::new();
        b.enumeration("req_opf", &[("OLD", 0)]);
        let new = b.enumeration("req_op", &[("NEW", 0)]);
        let btf = KernelBtf::parse(b.build()).expect("parses");
        assert_eq!(btf.find_any(KIND_ENUM, renamed::REQ_OP), Some(new));
        assert_eq!(btf.enum_values_any(renamed::REQ_OP)[0].0, "NEW");
        assert!(btf.enum_values_any(&["absent", "also_absent"]).is_empty());
    }

    #[test]
    fn builder_blobs_read_back() {
        let mut b = Builder::new();
        let int = b.int("int");
        let e = b.enumeration("e", &[("A", 1), ("B", -2)]);
        let s = b.structure("s", &["x", "y"], int);
        let proto = b.func_proto(int, 3);
        let ptr = b.pointer(proto);
        let td = b.typedef("t", ptr);
        let btf = KernelBtf::parse(b.build()).expect("parses");
        assert_eq!(btf.find(KIND_INT, "int"), Some(int));
        assert_eq!(
            btf.enum_values("e"),
            [("A".to_owned(), 1), ("B".to_owned(), -2)]
        );
        assert_eq!(btf.kind(e), Some(KIND_ENUM));
        assert!(btf.has_member("s", "y") && !btf.has_member("s", "z"));
        assert_eq!(btf.find(KIND_STRUCT, "s"), Some(s));
        assert_eq!(btf.referenced(td), Some(ptr));
        assert_eq!(btf.referenced(ptr), Some(proto));
        assert_eq!(btf.vlen(proto), Some(3));
    }

    #[test]
    fn tracepoint_arity_leaves_out_the_context() {
        // mark_victim's two prototypes: (ctx, task, uid) since 6.8, (ctx, pid) before.
        let mut b = Builder::new();
        let int = b.int("int");
        let new = b.func_proto(int, 3);
        let new_ptr = b.pointer(new);
        b.typedef("btf_trace_mark_victim", new_ptr);
        let old = b.func_proto(int, 2);
        let old_ptr = b.pointer(old);
        b.typedef("btf_trace_old", old_ptr);
        b.typedef("not_a_pointer", int);
        let btf = KernelBtf::parse(b.build()).expect("parses");
        assert_eq!(btf.tracepoint_arity("btf_trace_mark_victim"), Some(2));
        assert_eq!(btf.tracepoint_arity("btf_trace_old"), Some(1));
        assert_eq!(btf.tracepoint_arity("not_a_pointer"), None);
        assert_eq!(btf.tracepoint_arity("btf_trace_missing"), None);
    }

    #[test]
    fn damaged_blobs_are_refused() {
        let good = blob();
        assert!(KernelBtf::parse(good[..good.len() - 20].to_vec()).is_none());
        let mut bad_magic = good.clone();
        bad_magic[0] ^= 0xff;
        assert!(KernelBtf::parse(bad_magic).is_none());
        let mut unknown_kind = good;
        unknown_kind[24 + 7] = 31; // first type's kind byte
        assert!(KernelBtf::parse(unknown_kind).is_none());
    }

    #[test]
    fn agrees_with_libbpf_on_this_kernel() {
        // vmlinux BTF is world-readable where the kernel has it.
        let (Some(ours), Ok(libbpf)) = (KernelBtf::vmlinux(), libbpf_rs::btf::Btf::from_vmlinux())
        else {
            return;
        };
        use libbpf_rs::AsRawLibbpf;
        for (kind, name) in [
            (KIND_TYPEDEF, "btf_trace_sched_switch"),
            (KIND_FUNC, "tcp_v4_connect"),
            (KIND_STRUCT, "task_struct"),
            (KIND_ENUM, "req_op"),
        ] {
            let c = std::ffi::CString::new(name).expect("name");
            // SAFETY: a valid BTF object and a NUL-terminated name.
            let id = unsafe {
                libbpf_sys::btf__find_by_name_kind(
                    libbpf.as_libbpf_object().as_ptr(),
                    c.as_ptr(),
                    kind,
                )
            };
            assert_eq!(ours.find(kind, name), u32::try_from(id).ok(), "{name}");
        }
        assert_eq!(
            ours.offsets.len(),
            libbpf.len() - 1,
            "type count (libbpf counts void)"
        );
    }
}
