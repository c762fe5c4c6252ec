#!/usr/bin/env python3
"""bench/gen_hives.py — registry hives for bench/hives.sh, written from the published regf layout.

Usage: gen_hives.py OUT_DIR ENTRIES [SEED]

Writes OUT_DIR/Amcache.hve (ENTRIES `Root\\InventoryApplicationFile` program keys, each with
`FileId`, `LowerCaseLongPath`, `Name`, `Size` and `LinkDate`; one of them holds a published
SUNBURST SHA-1) and OUT_DIR/SYSTEM (two control sets with 400 services, one SUNBURST-listed
service set to Start=4, and a Windows 10 AppCompatCache value of 1,024 entries). Prints a JSON
line with the files' sizes and what was planted. A second, independent writer of the format
(ferret-testkit has the Rust one): hives are hbins of 4 KiB pages holding `nk`, `vk`, `lf`,
value lists, data cells and, above 1,000 subkeys, `ri` lists of `lf` lists, and a base block with its XOR checksum.
"""
import json
import os
import random
import struct
import sys

FILETIME = 132_522_624_000_000_000  # 2020-12-13
SUNBURST_SHA1 = "76640508b1e7759e548771a5359eaed353bf1eec"


class Bins:
    """Cells packed into hbins of 4 KiB pages; no cell crosses a bin."""

    def __init__(self):
        self.data = bytearray()
        self.bin_start = 0
        self.bin_end = 0

    def _new_bin(self, need):
        size = max(4096, (need + 32 + 4095) // 4096 * 4096)
        self._close()
        self.bin_start = len(self.data)
        self.data += b"hbin" + struct.pack("<II", self.bin_start, size) + bytes(20)
        self.bin_end = self.bin_start + size

    def _close(self):
        if self.bin_end > len(self.data):
            free = self.bin_end - len(self.data)
            self.data += struct.pack("<i", free) + bytes(free - 4)

    def alloc(self, payload):
        size = (4 + len(payload) + 7) // 8 * 8
        if len(self.data) + size > self.bin_end:
            self._new_bin(size)
        off = len(self.data)
        self.data += struct.pack("<i", -size) + payload + bytes(size - 4 - len(payload))
        return off

    def patch_u32(self, at, v):
        struct.pack_into("<I", self.data, at, v)

    def finish(self):
        self._close()
        return bytes(self.data)


def utf16z(s):
    return s.encode("utf-16-le") + b"\0\0"


def write_value(b, name, kind, data):
    nb = name.encode("latin-1")
    if len(data) <= 4:
        size, field = len(data) | 0x80000000, struct.unpack("<I", data.ljust(4, b"\0"))[0]
    else:
        size, field = len(data), b.alloc(data)
    return b.alloc(b"vk" + struct.pack("<HIIIHH", len(nb), size, field, kind, 1, 0) + nb)


def write_key(b, name, values, children, parent, root=False):
    nb = name.encode("latin-1")
    nk = bytearray(76 + len(nb))
    nk[0:2] = b"nk"
    struct.pack_into("<HQ", nk, 2, (0x0C if root else 0) | 0x20, FILETIME)
    struct.pack_into("<I", nk, 16, parent)
    for at in (28, 32, 40, 48):
        struct.pack_into("<I", nk, at, 0xFFFFFFFF)
    struct.pack_into("<H", nk, 72, len(nb))
    nk[76:] = nb
    me = b.alloc(bytes(nk))
    if values:
        offs = [write_value(b, n, k, d) for n, k, d in values]
        lst = b.alloc(b"".join(struct.pack("<I", o) for o in offs))
        b.patch_u32(me + 4 + 36, len(offs))
        b.patch_u32(me + 4 + 40, lst)
    if children:
        kids = sorted(children, key=lambda c: c[0].upper())
        offs = [write_key(b, n, v, c, me) for n, v, c in kids]
        # Up to 1,000 entries per `lf` list; more go in several, under one `ri` list.
        lists = []
        for at in range(0, len(offs), 1000):
            lf = b"lf" + struct.pack("<H", len(offs[at:at + 1000]))
            for (n, _, _), o in zip(kids[at:at + 1000], offs[at:at + 1000]):
                lf += struct.pack("<I", o) + n.encode("latin-1")[:4].ljust(4, b"\0")
            lists.append(b.alloc(lf))
        if len(lists) > 1:
            top = b.alloc(b"ri" + struct.pack("<H", len(lists)) + b"".join(struct.pack("<I", o) for o in lists))
        else:
            top = lists[0]
        b.patch_u32(me + 4 + 20, len(offs))
        b.patch_u32(me + 4 + 28, top)
    return me


def hive(root_values, root_children):
    b = Bins()
    root = write_key(b, "ROOT", root_values, root_children, 0, root=True)
    bins = b.finish()
    base = bytearray(4096)
    base[0:4] = b"regf"
    struct.pack_into("<IIQIIIIIII", base, 4, 1, 1, FILETIME, 1, 5, 0, 1, root, len(bins), 1)
    x = 0
    for i in range(127):
        x ^= struct.unpack_from("<I", base, i * 4)[0]
    struct.pack_into("<I", base, 508, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x))
    return bytes(base) + bins


def shimcache(paths):
    v = bytearray(struct.pack("<I", 0x34) + bytes(0x30))
    for p in paths:
        pb = p.encode("utf-16-le")
        e = struct.pack("<H", len(pb)) + pb + struct.pack("<QI", FILETIME, 0)
        v += b"10ts" + bytes(4) + struct.pack("<I", len(e)) + e
    return bytes(v)


def main():
    out, entries = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    os.makedirs(out, exist_ok=True)
    planted = rnd.randrange(entries)
    progs = []
    for i in range(entries):
        sha1 = SUNBURST_SHA1 if i == planted else "%040x" % rnd.getrandbits(160)
        path = "c:\\program files\\vendor%d\\app%d\\tool%d.exe" % (i % 97, i % 1013, i)
        progs.append((
            "tool%d.exe|%016x" % (i, rnd.getrandbits(64)),
            [("FileId", 1, utf16z("0000" + sha1)), ("LowerCaseLongPath", 1, utf16z(path)),
             ("Name", 1, utf16z("tool%d.exe" % i)), ("Size", 11, struct.pack("<Q", 100000 + i)),
             ("LinkDate", 1, utf16z("03/24/2020 08:43:52"))],
            [],
        ))
    am = hive([], [("Root", [], [("InventoryApplicationFile", [], progs)])])
    services = [("Svc%03d" % i, [("Start", 4, struct.pack("<I", 3)),
                                  ("ImagePath", 2, utf16z("C:\\Windows\\system32\\svc%03d.exe" % i))], [])
                for i in range(399)]
    services.append(("csagent", [("Start", 4, struct.pack("<I", 4))], []))
    shim = shimcache(["C:\\Program Files\\Vendor\\tool%d.exe" % i for i in range(1024)])
    sets = [("ControlSet00%d" % n, [], [
        ("Control", [], [("Session Manager", [], [("AppCompatCache", [("AppCompatCache", 3, shim)], [])])]),
        ("Services", [], services)]) for n in (1, 2)]
    system = hive([], [("Select", [("Current", 4, struct.pack("<I", 1))], [])] + sets)
    with open(os.path.join(out, "Amcache.hve"), "wb") as f:
        f.write(am)
    with open(os.path.join(out, "SYSTEM"), "wb") as f:
        f.write(system)
    print(json.dumps({"amcache_bytes": len(am), "system_bytes": len(system), "entries": entries,
                      "planted_entry": planted, "planted_sha1": SUNBURST_SHA1,
                      "planted_service": "csagent"}))


if __name__ == "__main__":
    main()
