// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Shared build script of every tool crate (`build = "../../build.rs"`).
//!
//! Compiles `bpf/<crate name>.bpf.c` against the checked-in `vmlinux/<arch>/vmlinux.h` and writes
//! the libbpf-cargo skeleton to `$OUT_DIR/<name>.skel.rs`, where the tool `include!`s it.
//!
//! Also sets `FERROSCOPE_TOOLS` for the tool's compile: every tool, the directories of
//! `tools/` (comma-separated, sorted), which the manual page's SEE ALSO lists. A new tool adds
//! a workspace member and so changes Cargo.lock, which makes this script run again.

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libbpf_cargo::SkeletonBuilder;

fn kernel_arch(rust_arch: &str) -> Option<&'static str> {
    Some(match rust_arch {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        "riscv64" => "riscv",
        "powerpc64" => "powerpc",
        "s390x" => "s390",
        _ => return None,
    })
}

fn show_compiler_output() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    // libbpf-cargo reports clang's diagnostics through `tracing`; without a subscriber a BPF
    // warning would never reach the developer.
    let filter = Targets::new()
        .with_target("compiler-stderr", LevelFilter::INFO)
        .with_target("compiler-stdout", LevelFilter::INFO)
        .with_default(LevelFilter::WARN);
    tracing_subscriber::registry()
        .with(fmt::layer().event_format(libbpf_cargo::util::CargoWarningFormatter))
        .with(filter)
        .init();
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// The tools: every directory of `tools/` with a Cargo.toml, sorted by name.
fn tools(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("tools");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn run() -> Result<(), String> {
    show_compiler_output();
    // Skeleton module names come from the file name; a '-' would make invalid Rust identifiers.
    let name = var("CARGO_PKG_NAME")?.replace('-', "_");
    let manifest = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let root = manifest
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("workspace root: {e}"))?;
    let bpf_dir = root.join("bpf");
    let src = bpf_dir.join(format!("{name}.bpf.c"));
    let target_arch = var("CARGO_CFG_TARGET_ARCH")?;
    let arch = kernel_arch(&target_arch)
        .ok_or_else(|| format!("no vmlinux.h for target architecture {target_arch}"))?;
    let vmlinux = root.join("vmlinux").join(arch);
    if !vmlinux.join("vmlinux.h").exists() {
        return Err(format!(
            "{} is missing; see vmlinux/README.md",
            vmlinux.join("vmlinux.h").display()
        ));
    }
    let out = PathBuf::from(var("OUT_DIR")?).join(format!("{name}.skel.rs"));
    println!(
        "cargo:rustc-env=FERROSCOPE_TOOLS={}",
        tools(&root)?.join(",")
    );

    let mut builder = SkeletonBuilder::new();
    if let Some(clang) = env::var_os("CLANG") {
        builder.clang(clang);
    }
    let include = |p: &Path| ["-I".into(), p.as_os_str().to_owned()];
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    args.extend(include(&vmlinux));
    args.extend(include(&bpf_dir));
    args.push("-Wall".into());
    builder
        .source(&src)
        .clang_args(args)
        .build_and_generate(&out)
        .map_err(|e| format!("building {}: {e:#}", src.display()))?;

    println!("cargo:rerun-if-changed={}", bpf_dir.display());
    println!(
        "cargo:rerun-if-changed={}",
        vmlinux.join("vmlinux.h").display()
    );
    println!("cargo:rerun-if-env-changed=CLANG");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
