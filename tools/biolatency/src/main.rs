// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biolatency: block device I/O latency as a histogram. Based on biolatency(8) from BCC by
//! Brendan Gregg and its libbpf-tools port; options and output follow libbpf-tools.

mod args;

use std::collections::HashMap;
use std::io::Write as _;
use std::mem::MaybeUninit;

use common::cli;
use common::container::{Containers, Group};
use common::decode::copy_prefix;
use common::error::{Error, Result};
use common::hist::{self, Hist, Intervals, SectionValue};
use common::hist_tool::{self, HistTool, Reading};
use common::maps::{end_interval, key_u32, read_hash_hists, read_percpu};
use common::metrics::Metric;
use common::names::NameTable;
use common::{lifecycle, probe};
use libbpf_rs::MapCore;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{BiolatencySkelBuilder, OpenBiolatencyProgs, types};
use common::blk;

common::tool_main!();

// SAFETY: plain integers with explicit padding.
unsafe impl plain::Plain for types::biolat_hist {}
// SAFETY: plain integers.
unsafe impl plain::Plain for types::biolat_key {}

common::log2_source!(types::biolat_hist);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let disks = blk::partitions();
    let target = args
        .disk
        .as_deref()
        .map(|n| blk::find_disk(&disks, n))
        .transpose()?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    let mut containers = Containers::start(TOOL, &args.containers)?;
    // --containers, --container: keyed by the submitter's cgroup, recorded per bio.
    let per_cgroup = args.containers.containers || args.containers.container.is_some();
    lifecycle::start(args.common.verbose)?;

    let (names, single, bio_single) = blk::from_running_kernel()?;
    // The in-flight table needs BPF atomics and raw tracepoints; without atomics, tp_btf.
    let atomics = probe::bpf_atomics();
    let tp_btf = !atomics && common::log::quietly(|| probe::tp_btf("block_rq_issue"));
    let path = match (atomics, tp_btf) {
        (true, _) => Path::Slot,
        (_, true) => Path::Btf,
        _ => Path::Raw,
    };

    let mut storage = MaybeUninit::uninit();
    let mut open = lifecycle::open(BiolatencySkelBuilder::default(), &mut storage)?;
    common::configure_containers!(open, args.containers)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.ferro_floor = args.common.floor;
        ro.targ_per_disk = args.disks;
        ro.targ_per_flag = args.flags;
        ro.targ_queued = args.queued;
        ro.targ_ms = args.hist.milliseconds;
        ro.targ_single = single;
        ro.targ_bio_single = bio_single;
        ro.targ_split_single = blk::split_single_arg();
        if let Some(d) = &target {
            ro.filter_dev = true;
            ro.targ_dev = d.dev();
        }
        ro.filter_cgroup = cgroup.is_some();
        ro.targ_per_cgroup = per_cgroup;
    }
    // Without these options the programs never read the request, and the variants that do
    // not are cheaper to load (no CO-RE relocations).
    // -c reads each request's first bio, recorded with its submitter at block_bio_queue.
    let bios = cgroup.is_some() || per_cgroup;
    let fields = args.queued || args.disks || args.flags || target.is_some() || bios;
    choose_programs(&mut open.progs, path, fields, args.queued, bios);
    // One histogram is kept per CPU; split ones in a shared hash. The other is not created.
    let per_cpu = !args.disks && !args.flags && !per_cgroup;
    let m = &mut open.maps;
    lifecycle::create_maps([
        (&mut m.hists, !per_cpu),
        (&mut m.hist_cpu, per_cpu),
        (&mut m.inflight, atomics),
        (&mut m.cg_bios, cgroup.is_some()),
        (&mut m.bio_cgroups, per_cgroup),
        (&mut m.disk_names, args.disks),
    ])?;
    let mut skel = lifecycle::load(open)?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;
    skel.attach()
        .map_err(|e| Error::from(e).context("attaching to the block tracepoints"))?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to block_rq_{{{}issue,complete}}{} as {} ({} argument layout); issue times in {}",
        if args.queued { "insert," } else { "" },
        if bios {
            " and block_{bio_queue,split}"
        } else {
            ""
        },
        if tp_btf { "tp_btf" } else { "raw tracepoints" },
        if single { "5.11+" } else { "pre-5.11" },
        if atomics {
            "an in-flight table"
        } else {
            "a hash map"
        }
    ));

    let mut view = View {
        args: &args,
        dev_names: NameTable::new(|| {
            blk::partitions()
                .into_iter()
                .map(|d| (d.dev(), d.name))
                .collect::<HashMap<u32, String>>()
        }),
    };
    let mut by_cpu = Intervals::new(args.hist.cumulative);
    let mut by_key = Intervals::new(args.hist.cumulative);
    let ended = hist_tool::run(
        TOOL,
        "Tracing block device I/O... Hit Ctrl-C to end.",
        &mut view,
        &args.hist,
        args.common.json,
        "",
        |view| {
            let epoch = end_interval(
                skel.maps
                    .bss_data
                    .as_deref_mut()
                    .map(|b| &mut b.ferro_hist_epoch),
            );
            let mut rows: Vec<(types::biolat_key, Hist)> = if per_cpu {
                let cpus = read_percpu::<types::biolat_hist>(&skel.maps.hist_cpu)?;
                let h = by_cpu.update((), &cpus, epoch);
                (!h.is_empty())
                    .then(|| (types::biolat_key::default(), h))
                    .into_iter()
                    .collect()
            } else {
                read_hash_hists::<types::biolat_hist>(&skel.maps.hists, &mut by_key, epoch)?
                    .into_iter()
                    .filter(|(_, h, _)| !h.is_empty())
                    .filter_map(|(k, h, _)| {
                        copy_prefix::<types::biolat_key>(&k, k.len()).map(|k| (k, h))
                    })
                    .collect()
            };
            if per_cgroup {
                let by_cgroup = rows.into_iter().map(|(k, h)| (k.cgroup, h)).collect();
                let none = || (types::biolat_key::default(), String::new());
                let hists = containers
                    .sections(by_cgroup)
                    .into_iter()
                    .map(|(g, h)| ((none().0, none().1, g), h))
                    .collect();
                return Ok(Reading {
                    hists,
                    dropped: dropped(&skel),
                });
            }
            rows.sort_by_key(|(k, _)| (k.dev, k.cmd_flags));
            if args.disks {
                // What the kernel named each disk at its first request, then /proc/partitions
                // for any it did not record (its table full).
                let recorded = read_disk_names(&skel.maps.disk_names)?;
                view.dev_names.learn(recorded);
                view.dev_names.resolve(rows.iter().map(|(k, _)| &k.dev));
            }
            let hists = rows
                .into_iter()
                .map(|(k, h)| {
                    let flags = if args.flags {
                        names.describe(k.cmd_flags)
                    } else {
                        String::new()
                    };
                    ((k, flags, None), h)
                })
                .collect();
            Ok(Reading {
                hists,
                dropped: dropped(&skel),
            })
        },
    );
    containers.report_skips(TOOL);
    // Not counted for -c, though perhaps its: no map was full, so said apart, at the end.
    let unchecked = skel.maps.bss_data.as_deref().map_or(0, |b| b.cg_unchecked);
    if unchecked > 0 {
        common::log::verbose(format_args!(
            "{TOOL}: {unchecked} requests merged from more than 32 bios had none of the cgroup's \
             among their first 32 and were not counted"
        ));
    }
    ended
}

/// What the BPF side saw but did not count, so far (see the counters in biolatency.bpf.c):
/// requests whose issue time found no room, latencies whose histogram found none, bios whose
/// submitter was not recorded (with -c or --containers: their requests are not known as the
/// cgroup's), and runs of the programs the
/// kernel skipped (a block tracepoint hit from an interrupt while the same program ran).
fn dropped(skel: &crate::bpf::BiolatencySkel<'_>) -> Vec<(u64, &'static str)> {
    let bss = skel.maps.bss_data.as_deref();
    vec![
        (bss.map_or(0, |b| b.start_full), "requests"),
        (bss.map_or(0, |b| b.hists_full), "latencies"),
        (bss.map_or(0, |b| b.bios_unrecorded), "bios"),
        (
            lifecycle::recursion_misses(skel.object()),
            hist::SKIPPED_RUNS,
        ),
    ]
}

/// The disk names the BPF side recorded (`disk_names`: device number to gendisk.disk_name),
/// each deleted once read, so the table never fills over a long run and a device number that
/// a new disk takes later is recorded again under that disk's name.
fn read_disk_names(map: &dyn MapCore) -> Result<Vec<(u32, String)>> {
    let mut names = Vec::new();
    for k in map.keys().collect::<Vec<_>>() {
        let value = common::maps::take(map, &k)
            .map_err(|e| Error::from(e).context("reading the disk names"))?;
        // struct biolat_disk_name is the name's bytes alone.
        let Some(v) = value else { continue };
        let name = common::decode::c_bytes(&v);
        if !name.is_empty() {
            names.push((key_u32(&k), String::from_utf8_lossy(name).into_owned()));
        }
    }
    Ok(names)
}

/// Where issue times are kept, which decides the programs: the in-flight table (needs BPF
/// atomics and raw tracepoints), or a hash map from tp_btf or raw tracepoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Slot,
    Btf,
    Raw,
}

/// The programs for these options, through the skeleton's typed handles: issue and complete
/// of `path` (their `bare` twins, which read no request fields, unless `fields`), insert with
/// -Q, and block_bio_queue and block_split with -c (on tp_btf, or raw tracepoints for both
/// other paths).
fn choose_programs(
    p: &mut OpenBiolatencyProgs<'_>,
    path: Path,
    fields: bool,
    queued: bool,
    cgroup: bool,
) {
    use Path::{Btf, Raw, Slot};
    for (on_path, bare, prog) in [
        (Btf, false, &mut p.btf_issue),
        (Btf, true, &mut p.btf_bare_issue),
        (Btf, false, &mut p.btf_complete),
        (Btf, true, &mut p.btf_bare_complete),
        (Raw, false, &mut p.raw_issue),
        (Raw, true, &mut p.raw_bare_issue),
        (Raw, false, &mut p.raw_complete),
        (Raw, true, &mut p.raw_bare_complete),
        (Slot, false, &mut p.slot_issue),
        (Slot, true, &mut p.slot_bare_issue),
        (Slot, false, &mut p.slot_complete),
        (Slot, true, &mut p.slot_bare_complete),
    ] {
        prog.set_autoload(on_path == path && bare != fields);
    }
    for (on_path, prog) in [
        (Btf, &mut p.btf_insert),
        (Raw, &mut p.raw_insert),
        (Slot, &mut p.slot_insert),
    ] {
        prog.set_autoload(queued && on_path == path);
    }
    let bio_path = if path == Btf { Btf } else { Raw };
    for (on_path, prog) in [
        (Btf, &mut p.btf_bio_queue),
        (Raw, &mut p.raw_bio_queue),
        (Btf, &mut p.btf_split),
        (Raw, &mut p.raw_split),
    ] {
        prog.set_autoload(cgroup && on_path == bio_path);
    }
}

/// Sections as libbpf-tools names them: `disk = vda`, `flags = Sync-Write`.
struct View<'a> {
    args: &'a Args,
    /// Disk names by device number. Disks attached after start (a loop device, a hot-plugged
    /// disk) are named at the first interval that sees their I/O: a miss re-reads
    /// /proc/partitions, once per interval.
    dev_names: NameTable<u32, String>,
}

impl View<'_> {
    fn disk_name(&self, dev: u32) -> &str {
        self.dev_names
            .names()
            .get(&dev)
            .map_or("Unknown", String::as_str)
    }
}

impl HistTool for View<'_> {
    /// The key the BPF side keeps, its flags described (with -F), and the container (with
    /// --containers).
    type Key = (types::biolat_key, String, Option<Group>);

    fn section_text(&self, (k, flags, group): &Self::Key, out: &mut Vec<u8>) {
        if let Some(g) = group {
            let _ = writeln!(out, "\n{}", g.label());
            return;
        }
        if self.args.disks {
            let _ = write!(out, "\ndisk = {}\t", self.disk_name(k.dev));
        }
        if self.args.flags {
            let _ = write!(out, "flags = {flags}");
        }
        out.push(b'\n');
    }

    fn section_json<'a>(
        &'a self,
        (k, flags, group): &'a Self::Key,
        out: &mut Vec<(&'static str, SectionValue<'a>)>,
    ) {
        if let Some(g) = group {
            g.json_fields(out);
            return;
        }
        if self.args.disks {
            out.push(("disk", SectionValue::Str(self.disk_name(k.dev).as_bytes())));
        }
        if self.args.flags {
            out.push(("flags", SectionValue::Str(flags.as_bytes())));
            out.push(("cmd_flags", SectionValue::Num(k.cmd_flags.into())));
        }
    }

    fn metric(&self) -> Metric {
        Metric {
            name: "latency",
            help: if self.args.queued {
                "Block I/O latency: from a request's insertion in the queue (block_rq_insert) \
                 to its completion (block_rq_complete)"
            } else {
                "Block I/O latency: from a request's issue to the device (block_rq_issue) to \
                 its completion (block_rq_complete)"
            },
        }
    }

    fn extra_text(&self, h: &Hist, unit: &str, out: &mut Vec<u8>) {
        if self.args.extension {
            out.extend_from_slice(hist::extension_line(&h.totals, unit).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use common::blk::ReqNames;

    #[test]
    fn long_names_do_not_collide() {
        let a = Args::try_parse_from(["biolatency", "--disks", "--disk=vda", "--flag", "1", "2"])
            .expect("parses");
        assert!(a.disks && a.flags);
        assert_eq!(a.disk.as_deref(), Some("vda"));
        assert_eq!((a.hist.interval, a.hist.count), (Some(1), Some(2)));
    }

    #[test]
    fn section_lines_match_libbpf_tools() {
        let names = ReqNames::new(
            [("REQ_OP_READ", 0), ("REQ_OP_WRITE", 1)],
            [("__REQ_SYNC", 11)],
        );
        let dev_names = NameTable::new(|| HashMap::from([(254u32 << 20, "vda".to_string())]));
        let args = Args::try_parse_from(["biolatency", "-D", "-F"]).expect("parses");
        let view = View {
            args: &args,
            dev_names,
        };
        let key = types::biolat_key {
            cmd_flags: 1 | 1 << 11,
            dev: 254 << 20,
            ..Default::default()
        };
        let mut h = types::biolat_hist::default();
        h.slots[0] = 1;
        let key = (key, names.describe(key.cmd_flags), None);
        assert_eq!(
            hist_tool::text_of(&view, &key, &h),
            "\ndisk = vda\tflags = Sync-Write
     usecs               : count    distribution
         0 -> 1          : 1        |****************************************|
"
        );
    }
}
