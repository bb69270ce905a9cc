#!/usr/bin/env python3
"""Write a deterministic cpio "newc" archive (the initramfs format) from a spec file.

Why our own writer: device nodes (/dev/console) must be in the archive, and
creating them with mknod needs root; the archive format only needs the numbers.
Format: Linux Documentation/driver-api/early-userspace/buffer-format.rst
("070701" header, 13 ASCII-hex fields, name and data padded to 4 bytes).

Spec lines (one entry each, '#' starts a comment):
  dir   NAME MODE UID GID
  file  NAME SOURCE MODE UID GID
  slink NAME TARGET MODE UID GID
  nod   NAME MODE UID GID c|b MAJOR MINOR
All mtimes are 0 so that the same inputs give the same bytes.
"""
import stat
import sys

MAGIC = b"070701"


def pad4(n):
    return (4 - n % 4) % 4


class CpioWriter:
    def __init__(self, out):
        self.out = out
        self.ino = 300000  # any unique numbers; the kernel only uses them for hard links

    def entry(self, name, mode, uid=0, gid=0, data=b"", nlink=1, rmaj=0, rmin=0):
        self.ino += 1
        raw = name.encode() + b"\0"
        fields = [self.ino, mode, uid, gid, nlink, 0, len(data),
                  0, 0, rmaj, rmin, len(raw), 0]
        hdr = MAGIC + b"".join(b"%08X" % f for f in fields)
        self.out.write(hdr + raw + b"\0" * pad4(len(hdr) + len(raw)))
        self.out.write(data + b"\0" * pad4(len(data)))

    def trailer(self):
        self.ino = 0
        self.entry("TRAILER!!!", 0)


def parse_mode(text):
    return int(text, 8)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mkcpio.py SPEC OUT.cpio\n")
        return 2
    spec, outpath = argv[1], argv[2]
    with open(spec) as f, open(outpath, "wb") as out:
        w = CpioWriter(out)
        for lineno, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            kind, name = words[0], words[1].lstrip("/")
            try:
                if kind == "dir":
                    mode, uid, gid = parse_mode(words[2]), int(words[3]), int(words[4])
                    w.entry(name, stat.S_IFDIR | mode, uid, gid, nlink=2)
                elif kind == "file":
                    with open(words[2], "rb") as src:
                        data = src.read()
                    mode, uid, gid = parse_mode(words[3]), int(words[4]), int(words[5])
                    w.entry(name, stat.S_IFREG | mode, uid, gid, data)
                elif kind == "slink":
                    mode, uid, gid = parse_mode(words[3]), int(words[4]), int(words[5])
                    w.entry(name, stat.S_IFLNK | mode, uid, gid, words[2].encode())
                elif kind == "nod":
                    mode, uid, gid = parse_mode(words[2]), int(words[3]), int(words[4])
                    typ = stat.S_IFCHR if words[5] == "c" else stat.S_IFBLK
                    w.entry(name, typ | mode, uid, gid,
                            rmaj=int(words[6]), rmin=int(words[7]))
                else:
                    raise ValueError("unknown entry kind " + kind)
            except (IndexError, ValueError, OSError) as e:
                sys.stderr.write("mkcpio.py: %s:%d: %s\n" % (spec, lineno, e))
                return 1
        w.trailer()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
