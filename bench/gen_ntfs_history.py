#!/usr/bin/env python3
"""bench/gen_ntfs_history.py — a synthetic NTFS history in a KAPE-like layout for bench/mft.sh.

Writes OUT/C/$MFT (RECORDS 1,024-byte FILE records: folders and files with
$STANDARD_INFORMATION and $FILE_NAME, one in eight not in use) and OUT/C/$Extend/$J
(J_RECORDS USN_RECORD_V2 records after 64 MiB of sparse-like leading zeros), seeded, with one
planted TEARDROP image name (from the published list) created and deleted in 2020. Prints a
JSON line with the sizes.

Usage: gen_ntfs_history.py OUT RECORDS [SEED [J_RECORDS]]  (J_RECORDS: journal records,
default RECORDS)
"""
import json
import os
import random
import struct
import sys

FT_2020 = 132_223_104_000_000_000  # 2020-01-01


def fixup(rec: bytearray) -> bytes:
    usn = 1
    struct.pack_into("<H", rec, 0x30, usn)
    for i in (1, 2):
        end = i * 512 - 2
        rec[0x30 + 2 * i: 0x32 + 2 * i] = rec[end:end + 2]
        struct.pack_into("<H", rec, end, usn)
    return bytes(rec)


def attr(kind: int, value: bytes) -> bytes:
    length = (24 + len(value) + 7) // 8 * 8
    a = bytearray(length)
    struct.pack_into("<IIBBHHH", a, 0, kind, length, 0, 0, 0, 0, 0)
    struct.pack_into("<IH", a, 0x10, len(value), 24)
    a[24:24 + len(value)] = value
    return bytes(a)


def mft_record(number, seq, in_use, is_dir, parent, name, t):
    rec = bytearray(1024)
    rec[0:4] = b"FILE"
    struct.pack_into("<HH", rec, 4, 0x30, 3)
    struct.pack_into("<HHH", rec, 0x10, seq, 1, 0x38)
    struct.pack_into("<H", rec, 0x16, (1 if in_use else 0) | (2 if is_dir else 0))
    struct.pack_into("<I", rec, 0x1C, 1024)
    struct.pack_into("<I", rec, 0x2C, number & 0xFFFFFFFF)
    si = struct.pack("<QQQQI", t, t, t, t, 0x10 if is_dir else 0x20) + bytes(36)
    uname = name.encode("utf-16-le")
    fn = struct.pack("<QQQQQQQII", parent | (1 << 48), t, t, t, t, 0, 0, 0, 0)
    fn += struct.pack("<BB", len(name), 1) + uname
    body = attr(0x10, si) + attr(0x30, fn)
    rec[0x38:0x38 + len(body)] = body
    end = 0x38 + len(body)
    struct.pack_into("<I", rec, end, 0xFFFFFFFF)
    struct.pack_into("<I", rec, 0x18, end + 8)
    return fixup(rec)


def usn_record(file, parent, usn, t, reason, name):
    uname = name.encode("utf-16-le")
    length = (60 + len(uname) + 7) // 8 * 8
    b = bytearray(length)
    struct.pack_into("<IHHQQQQIIIIHH", b, 0, length, 2, 0, file | (1 << 48), parent | (1 << 48),
                     usn, t, reason, 0, 0, 0x20, len(uname), 60)
    b[60:60 + len(uname)] = uname
    return bytes(b)


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    jn = int(sys.argv[4]) if len(sys.argv) > 4 else n
    os.makedirs(os.path.join(out, "C", "$Extend"), exist_ok=True)
    # Folders at most 12 deep, as real volumes are (a parent is chosen among the recent
    # folders above that depth).
    dirs = [5]
    depth = {5: 0}
    mft_path = os.path.join(out, "C", "$MFT")
    with open(mft_path, "wb") as f:
        f.write(mft_record(0, 1, True, False, 5, "$MFT", FT_2020))
        f.write(bytes(1024 * 23))
        for number in range(24, n):
            is_dir = number < 64 or rnd.random() < 0.05
            parent = rnd.choice([d for d in dirs[-200:] if depth[d] < 12] or [5])
            name = f"{'dir' if is_dir else 'file'}{number}.{'d' if is_dir else rnd.choice(['txt', 'dll', 'log', 'aspx'])}"
            t = FT_2020 + rnd.randrange(0, 3 * 365 * 86400) * 10_000_000
            f.write(mft_record(number, 1, rnd.random() > 0.125, is_dir, parent, name, t))
            if is_dir:
                dirs.append(number)
                depth[number] = depth[parent] + 1
    j_path = os.path.join(out, "C", "$Extend", "$J")
    planted = "gracious_truth.jpg"
    with open(j_path, "wb") as f:
        lead = 64 << 20
        f.truncate(lead)
        f.seek(lead)
        pos = lead
        for i in range(jn):
            if i == jn // 2:
                rec = usn_record(n + 1, dirs[10], pos, FT_2020 + 200 * 86400 * 10_000_000, 0x80000100, planted)
            else:
                file = rnd.randrange(24, n)
                rec = usn_record(file, rnd.choice(dirs), pos,
                                 FT_2020 + rnd.randrange(0, 3 * 365 * 86400) * 10_000_000,
                                 rnd.choice([0x100, 0x2, 0x80000002, 0x200 | 0x80000000, 0x1000, 0x2000]),
                                 f"file{file}.txt")
            if pos % 4096 + len(rec) > 4096:
                pad = 4096 - pos % 4096
                f.write(bytes(pad))
                pos += pad
                rec = rec[:24] + struct.pack("<Q", pos) + rec[32:]
            f.write(rec)
            pos += len(rec)
    print(json.dumps({"records": n, "j_records": jn, "mft_bytes": os.path.getsize(mft_path),
                      "j_bytes": os.path.getsize(j_path), "planted": planted}))


if __name__ == "__main__":
    main()
