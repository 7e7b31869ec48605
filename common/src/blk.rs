// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Block-layer facts read from the running kernel, never from a table that goes stale:
//! request operation and flag values from BTF (`enum req_op`, called `enum req_opf` before
//! 6.0, and `enum req_flag_bits`), the
//! tracepoint argument layout from BTF, and disk names from /proc/partitions.

use std::collections::BTreeMap;
use std::path::Path;

use crate::btf::{self, KernelBtf};
use crate::error::{Error, Result};

/// Flag prefixes in the order libbpf-tools prints them, by the kernel's `__REQ_*` name.
const FLAG_LABELS: [(&str, &str); 11] = [
    ("__REQ_NOWAIT", "NoWait-"),
    ("__REQ_BACKGROUND", "Background-"),
    ("__REQ_RAHEAD", "ReadAhead-"),
    ("__REQ_PREFLUSH", "PreFlush-"),
    ("__REQ_FUA", "FUA-"),
    ("__REQ_INTEGRITY", "Integrity-"),
    ("__REQ_IDLE", "Idle-"),
    ("__REQ_NOMERGE", "NoMerge-"),
    ("__REQ_PRIO", "Priority-"),
    ("__REQ_META", "Metadata-"),
    ("__REQ_SYNC", "Sync-"),
];

/// The op letters of the kernel's `blk_fill_rwbs()` (block/blk-core.c, the `rwbs` field of the
/// block tracepoints), which libbpf-tools' biosnoop prints in its T column; any other op is `N`.
const RWBS_OPS: [(&str, &str); 5] = [
    ("REQ_OP_WRITE", "W"),
    ("REQ_OP_DISCARD", "D"),
    ("REQ_OP_SECURE_ERASE", "DE"),
    ("REQ_OP_FLUSH", "F"),
    ("REQ_OP_READ", "R"),
];

/// The flag letters of `blk_fill_rwbs()` after the op, in its order.
const RWBS_FLAGS: [(&str, char); 4] = [
    ("__REQ_FUA", 'F'),
    ("__REQ_RAHEAD", 'A'),
    ("__REQ_SYNC", 'S'),
    ("__REQ_META", 'M'),
];

/// How to name `cmd_flags` on this kernel.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReqNames {
    /// op value -> name (`Read`, `WriteZeroes`, `ZoneAppend`, ...)
    ops: BTreeMap<u32, String>,
    op_mask: u32,
    /// (bit, label) in print order
    flags: Vec<(u32, &'static str)>,
    /// op value -> rwbs letters (`R`, `W`, `D`, `DE`, `F`)
    rwbs_ops: BTreeMap<u32, &'static str>,
    /// REQ_PREFLUSH's mask (0 when BTF lacks it), printed `F` before the op
    preflush: u32,
    /// (mask, letter) printed after the op
    rwbs_flags: Vec<(u32, char)>,
}

/// `REQ_OP_WRITE_ZEROES` -> `WriteZeroes`.
fn camel(op: &str) -> String {
    op.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}

impl ReqNames {
    /// From (name, value) lists of `enum req_op` (`req_opf` before 6.0) and `enum req_flag_bits`.
    pub fn new<'a>(
        ops: impl IntoIterator<Item = (&'a str, i64)>,
        flag_bits: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Self {
        let ops: Vec<(&str, i64)> = ops.into_iter().collect();
        let rwbs_ops = ops
            .iter()
            .filter_map(|(n, v)| {
                let letters = RWBS_OPS.iter().find(|(op, _)| op == n)?.1;
                Some((u32::try_from(*v).ok()?, letters))
            })
            .collect();
        let ops: BTreeMap<u32, String> = ops
            .into_iter()
            .filter_map(|(n, v)| {
                let short = n.strip_prefix("REQ_OP_")?;
                (short != "LAST").then(|| (u32::try_from(v).ok(), camel(short)))
            })
            .filter_map(|(v, n)| Some((v?, n)))
            .collect();
        let bits: BTreeMap<&str, i64> = flag_bits.into_iter().collect();
        // Flag bits start right above the op bits (REQ_OP_BITS, 8 on every kernel since 4.10).
        let op_bits = bits
            .get("__REQ_FAILFAST_DEV")
            .copied()
            .unwrap_or(8)
            .clamp(1, 31);
        let mask_of = |name: &str| {
            let bit = *bits.get(name)?;
            (0..32).contains(&bit).then(|| 1u32 << bit)
        };
        let flags = FLAG_LABELS
            .iter()
            .filter_map(|(name, label)| Some((mask_of(name)?, *label)))
            .collect();
        let rwbs_flags = RWBS_FLAGS
            .iter()
            .filter_map(|(name, letter)| Some((mask_of(name)?, *letter)))
            .collect();
        Self {
            ops,
            op_mask: (1u32 << op_bits) - 1,
            flags,
            rwbs_ops,
            preflush: mask_of("__REQ_PREFLUSH").unwrap_or(0),
            rwbs_flags,
        }
    }

    /// `cmd_flags` as the kernel's `rwbs` string (`WS`, `R`, `FWFS`): `F` for a preflush, the
    /// op's letters (`N` for an op without any), then `F` FUA, `A` readahead, `S` sync, `M`
    /// metadata. The op and flag values come from this kernel's BTF, so a renumbered op (6.0
    /// gave WRITE_SAME's 7 to ZONE_APPEND) is never mislabeled.
    pub fn rwbs(&self, cmd_flags: u32) -> String {
        let mut s = String::new();
        if cmd_flags & self.preflush != 0 {
            s.push('F');
        }
        s.push_str(
            self.rwbs_ops
                .get(&(cmd_flags & self.op_mask))
                .copied()
                .unwrap_or("N"),
        );
        for (mask, letter) in &self.rwbs_flags {
            if cmd_flags & mask != 0 {
                s.push(*letter);
            }
        }
        s
    }

    /// Read the names from the running kernel's BTF (or any kernel's: the tests feed each
    /// name the op enum has had).
    pub fn from_kernel(btf: &KernelBtf) -> Self {
        let ops = btf.enum_values_any(btf::renamed::REQ_OP);
        let bits = btf.enum_values("req_flag_bits");
        Self::new(
            ops.iter().map(|(n, v)| (n.as_str(), *v)),
            bits.iter().map(|(n, v)| (n.as_str(), *v)),
        )
    }

    /// `Sync-Write`, as libbpf-tools prints after `flags = `.
    pub fn describe(&self, cmd_flags: u32) -> String {
        let mut s = String::new();
        for (bit, label) in &self.flags {
            if cmd_flags & bit != 0 {
                s.push_str(label);
            }
        }
        match self.ops.get(&(cmd_flags & self.op_mask)) {
            Some(op) => s.push_str(op),
            None => s.push_str("Unknown"),
        }
        s
    }
}

/// What the block tools read from the running kernel's BTF: the request op and flag names,
/// whether `block_rq_issue` ([`rq_tracepoints_single_arg`]) and `block_bio_queue`
/// ([`bio_queue_single_arg`]) take one argument. Errors: no readable BTF.
pub fn from_running_kernel() -> Result<(ReqNames, bool, bool)> {
    crate::probe::with_vmlinux_btf(|btf| {
        let btf = btf.ok_or_else(|| Error::fatal("cannot read the kernel's BTF"))?;
        Ok((
            ReqNames::from_kernel(btf),
            rq_tracepoints_single_arg(btf),
            bio_queue_single_arg(btf),
        ))
    })
}

/// Does `block_rq_issue` take only the request (5.11+), rather than (queue, request)?
pub fn rq_tracepoints_single_arg(btf: &KernelBtf) -> bool {
    tracepoint_single_arg(btf, "btf_trace_block_rq_issue")
}

/// Does `block_bio_queue` take only the bio (5.11+), rather than (queue, bio)?
pub fn bio_queue_single_arg(btf: &KernelBtf) -> bool {
    tracepoint_single_arg(btf, "btf_trace_block_bio_queue")
}

/// Does `block_split` take (bio, new_sector) (5.11+), rather than (queue, bio, new_sector)?
/// True where the running kernel's BTF does not say.
pub fn split_single_arg() -> bool {
    crate::probe::with_vmlinux_btf(|btf| {
        btf.and_then(|b| b.tracepoint_arity("btf_trace_block_split"))
            .is_none_or(|n| n <= 2)
    })
}

/// Does the tracepoint whose BTF typedef is `typedef_name` take one argument?
fn tracepoint_single_arg(btf: &KernelBtf, typedef_name: &str) -> bool {
    btf.tracepoint_arity(typedef_name).is_none_or(|n| n <= 1)
}

/// A block device from /proc/partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    pub name: String,
    pub major: u32,
    pub minor: u32,
}

impl Disk {
    /// The kernel-internal dev_t the BPF side computes (`MKDEV`: 12-bit major, 20-bit minor).
    pub fn dev(&self) -> u32 {
        (self.major << 20) | (self.minor & 0xfffff)
    }
}

/// Parse /proc/partitions text.
pub fn parse_partitions(text: &str) -> Vec<Disk> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 4 {
                return None;
            }
            Some(Disk {
                major: f[0].parse().ok()?,
                minor: f[1].parse().ok()?,
                name: f[3].to_string(),
            })
        })
        .collect()
}

pub fn partitions() -> Vec<Disk> {
    parse_partitions(&std::fs::read_to_string("/proc/partitions").unwrap_or_default())
}

/// The whole disk `-d NAME` names (`vda` or `/dev/vda`). An unknown name, or a partition (I/O
/// is accounted to whole disks), is a usage error naming what to use instead.
pub fn find_disk(disks: &[Disk], name: &str) -> Result<Disk> {
    let name = name.strip_prefix("/dev/").unwrap_or(name);
    let Some(d) = disks.iter().find(|d| d.name == name) else {
        return Err(Error::usage(format!(
            "unknown disk '{name}' (known: {})",
            disks
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if is_partition(name) {
        let parent = parent_disk(name).unwrap_or_else(|| "its disk".into());
        return Err(Error::usage(format!(
            "'{name}' is a partition; I/O is accounted to whole disks: use -d {parent}"
        )));
    }
    Ok(d.clone())
}

/// Is `name` a partition rather than a whole disk?
pub fn is_partition(name: &str) -> bool {
    Path::new("/sys/class/block")
        .join(name)
        .join("partition")
        .exists()
}

/// The whole disk a partition belongs to (`sda1` -> `sda`), from sysfs.
pub fn parent_disk(name: &str) -> Option<String> {
    let real = std::fs::canonicalize(Path::new("/sys/class/block").join(name)).ok()?;
    Some(real.parent()?.file_name()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `enum req_flag_bits` as 5.10 to 6.18 have it (unchanged in the bits printed).
    const FLAG_BITS: &[(&str, i32)] = &[
        ("__REQ_FAILFAST_DEV", 8),
        ("__REQ_SYNC", 11),
        ("__REQ_META", 12),
        ("__REQ_PRIO", 13),
        ("__REQ_NOMERGE", 14),
        ("__REQ_IDLE", 15),
        ("__REQ_INTEGRITY", 16),
        ("__REQ_FUA", 17),
        ("__REQ_PREFLUSH", 18),
        ("__REQ_RAHEAD", 19),
        ("__REQ_BACKGROUND", 20),
        ("__REQ_NOWAIT", 21),
    ];

    /// Values as Linux 6.18 has them, where libbpf-tools' stale table misnames ops.
    fn linux_6_18() -> ReqNames {
        ReqNames::new(
            [
                ("REQ_OP_READ", 0),
                ("REQ_OP_WRITE", 1),
                ("REQ_OP_FLUSH", 2),
                ("REQ_OP_DISCARD", 3),
                ("REQ_OP_SECURE_ERASE", 5),
                ("REQ_OP_ZONE_APPEND", 7),
                ("REQ_OP_WRITE_ZEROES", 9),
                ("REQ_OP_ZONE_OPEN", 11),
                ("REQ_OP_ZONE_CLOSE", 13),
                ("REQ_OP_ZONE_FINISH", 15),
                ("REQ_OP_ZONE_RESET", 17),
                ("REQ_OP_ZONE_RESET_ALL", 19),
                ("REQ_OP_DRV_IN", 34),
                ("REQ_OP_DRV_OUT", 35),
                ("REQ_OP_LAST", 36),
            ],
            FLAG_BITS.iter().map(|&(name, bit)| (name, i64::from(bit))),
        )
    }

    #[test]
    fn names_golden() {
        let n = linux_6_18();
        assert_eq!(n.describe(0), "Read");
        assert_eq!(n.describe(1 | 1 << 11), "Sync-Write");
        assert_eq!(
            n.describe(1 | 1 << 11 | 1 << 17 | 1 << 21),
            "NoWait-FUA-Sync-Write"
        );
        assert_eq!(n.describe(1 << 19), "ReadAhead-Read");
        assert_eq!(n.describe(7), "ZoneAppend");
        assert_eq!(n.describe(11), "ZoneOpen");
        assert_eq!(n.describe(19), "ZoneResetAll");
        assert_eq!(n.describe(9), "WriteZeroes");
        assert_eq!(n.describe(4), "Unknown");
        assert_eq!(n.describe(35), "DrvOut");
    }

    #[test]
    fn unknown_disk_is_a_usage_error() {
        let disks = parse_partitions("254 0 100 vda\n");
        let e = find_disk(&disks, "nope").expect_err("unknown");
        assert_eq!(e.code(), crate::error::EXIT_USAGE);
        assert_eq!(e.message(), "unknown disk 'nope' (known: vda)");
        assert_eq!(find_disk(&disks, "/dev/vda").expect("known").name, "vda");
    }

    #[test]
    fn rwbs_golden() {
        let n = linux_6_18();
        assert_eq!(n.rwbs(0), "R");
        assert_eq!(n.rwbs(1), "W");
        assert_eq!(n.rwbs(1 | 1 << 11), "WS");
        assert_eq!(n.rwbs(1 | 1 << 18 | 1 << 17 | 1 << 11), "FWFS");
        assert_eq!(n.rwbs(1 << 19 | 1 << 12), "RAM");
        assert_eq!(n.rwbs(2 | 1 << 18), "FF");
        assert_eq!(n.rwbs(3), "D");
        assert_eq!(n.rwbs(5), "DE");
        // ZONE_APPEND on 6.x, where libbpf-tools' table still says WRITE_SAME ("W").
        assert_eq!(n.rwbs(7), "N");
        assert_eq!(n.rwbs(9 | 1 << 11), "NS");
        assert_eq!(ReqNames::default().rwbs(1), "N");
    }

    #[test]
    fn partitions_golden() {
        let text = "major minor  #blocks  name\n\n 254        0  268435456 vda\n   8        1     1024 sda1\n";
        let d = parse_partitions(text);
        assert_eq!(
            d,
            [
                Disk {
                    name: "vda".into(),
                    major: 254,
                    minor: 0
                },
                Disk {
                    name: "sda1".into(),
                    major: 8,
                    minor: 1
                }
            ]
        );
        assert_eq!(d[0].dev(), 254 << 20);
    }

    /// Kernel BTF with the op enum under `op_enum`, the flag bits of 5.10 to 6.18 (unchanged
    /// in the bits printed), and `block_rq_issue`'s prototype with `params` parameters.
    fn kernel_btf(op_enum: &str, ops: &[(&str, i32)], params: usize) -> KernelBtf {
        let mut b = btf::Builder::new();
        let int = b.int("int");
        b.enumeration(op_enum, ops);
        b.enumeration("req_flag_bits", FLAG_BITS);
        let proto = b.func_proto(int, params);
        let ptr = b.pointer(proto);
        b.typedef("btf_trace_block_rq_issue", ptr);
        KernelBtf::parse(b.build()).expect("parses")
    }

    /// `enum req_opf` as Linux 5.10 has it (Debian 11's 5.10.223): WRITE_SAME and the SCSI
    /// ops, which later kernels dropped, and ZONE_APPEND at 13.
    const OPS_5_10: [(&str, i32); 18] = [
        ("REQ_OP_READ", 0),
        ("REQ_OP_WRITE", 1),
        ("REQ_OP_FLUSH", 2),
        ("REQ_OP_DISCARD", 3),
        ("REQ_OP_SECURE_ERASE", 5),
        ("REQ_OP_WRITE_SAME", 7),
        ("REQ_OP_WRITE_ZEROES", 9),
        ("REQ_OP_ZONE_OPEN", 10),
        ("REQ_OP_ZONE_CLOSE", 11),
        ("REQ_OP_ZONE_FINISH", 12),
        ("REQ_OP_ZONE_APPEND", 13),
        ("REQ_OP_ZONE_RESET", 15),
        ("REQ_OP_ZONE_RESET_ALL", 17),
        ("REQ_OP_SCSI_IN", 32),
        ("REQ_OP_SCSI_OUT", 33),
        ("REQ_OP_DRV_IN", 34),
        ("REQ_OP_DRV_OUT", 35),
        ("REQ_OP_LAST", 36),
    ];

    /// 5.10's `enum req_opf` and 6.0's `enum req_op` both name reads and writes, each op by its
    /// own kernel's value.
    #[test]
    fn ops_are_named_under_each_enum_name() {
        let old = ReqNames::from_kernel(&kernel_btf("req_opf", &OPS_5_10, 3));
        assert_eq!(old.describe(0), "Read");
        assert_eq!(old.describe(1 | 1 << 11), "Sync-Write");
        assert_eq!(old.describe(7), "WriteSame");
        assert_eq!(old.describe(13), "ZoneAppend");
        assert_eq!(old.describe(32 | 1 << 17), "FUA-ScsiIn");
        let new = ReqNames::from_kernel(&kernel_btf(
            "req_op",
            &[
                ("REQ_OP_READ", 0),
                ("REQ_OP_WRITE", 1),
                ("REQ_OP_ZONE_APPEND", 7),
            ],
            2,
        ));
        assert_eq!(new.describe(1 << 19), "ReadAhead-Read");
        assert_eq!(new.describe(1), "Write");
        assert_eq!(new.describe(7), "ZoneAppend");
        let none = ReqNames::from_kernel(&kernel_btf("req_operation", &OPS_5_10, 2));
        assert_eq!(none.describe(1), "Unknown");
    }

    /// `block_rq_issue` took (queue, request) before 5.11 and only the request since; the
    /// prototype's first parameter is the BPF context.
    #[test]
    fn rq_tracepoint_layout_from_btf() {
        assert!(!rq_tracepoints_single_arg(&kernel_btf(
            "req_opf", &OPS_5_10, 3
        )));
        assert!(rq_tracepoints_single_arg(&kernel_btf(
            "req_op", &OPS_5_10, 2
        )));
    }

    #[test]
    fn this_kernel_names_reads_and_writes() {
        // BTF is readable without privileges where the kernel has it.
        let Some(btf) = KernelBtf::vmlinux() else {
            return;
        };
        let n = ReqNames::from_kernel(&btf);
        assert_eq!(n.describe(0), "Read");
        assert_eq!(n.describe(1), "Write");
    }
}
