#!/usr/bin/env python3
"""Extract the ELF vmlinux from a bzImage (xz- or zstd-compressed payload)."""
import lzma
import subprocess
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
for magic, kind in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd")):
    off = data.find(magic)
    while off >= 0:
        try:
            if kind == "xz":
                out = lzma.LZMADecompressor().decompress(data[off:])
            else:
                out = subprocess.run(["zstd", "-dc"], input=data[off:], capture_output=True).stdout
            if out.startswith(b"\x7fELF"):
                open(dst, "wb").write(out)
                sys.exit(0)
        except (lzma.LZMAError, OSError):
            pass
        off = data.find(magic, off + 1)
sys.exit(f"no ELF vmlinux found in {src}")
