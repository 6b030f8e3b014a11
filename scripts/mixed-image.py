#!/usr/bin/python3
# Write a reproducible mixed raw image for convert tests and benchmarks:
# 256 KiB extents shuffled with a fixed seed, half random data, a quarter
# written zeroes, a quarter holes.
#   mixed-image.py FILE SIZE_MIB [SEED]
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import random
import sys

EXTENT = 256 * 1024


def main():
    path, size_mib = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    n = size_mib * 1024 * 1024 // EXTENT
    kinds = ['data'] * (n // 2) + ['zero'] * (n // 4)
    kinds += ['hole'] * (n - len(kinds))
    rng.shuffle(kinds)
    zeroes = bytes(EXTENT)
    with open(path, 'wb') as f:
        f.truncate(n * EXTENT)
        for i, kind in enumerate(kinds):
            if kind == 'hole':
                continue
            f.seek(i * EXTENT)
            f.write(rng.randbytes(EXTENT) if kind == 'data' else zeroes)


main()
