#!/usr/bin/env python3
# qcow2-poke.py IMAGE WHAT...: damage a qcow2 image on purpose, for the
# check/repair tests (16-bit refcounts, as qemu-img and we create them).
#
#   refcount CLUSTER VALUE     set the refcount of host cluster CLUSTER
#   l2 GUEST_OFFSET ENTRY      set the L2 entry of the guest cluster
#   l2get GUEST_OFFSET         print the L2 entry (hex)
#   l1get INDEX                print L1 table entry INDEX (hex)
#   rt INDEX ENTRY             set refcount table entry INDEX
#   rtget INDEX                print refcount table entry INDEX (hex)
#   incompat BITS              OR BITS into incompatible_features
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import struct
import sys


def header(f):
    f.seek(0)
    h = f.read(104)
    cluster_bits = struct.unpack('>I', h[20:24])[0]
    l1_off = struct.unpack('>Q', h[40:48])[0]
    rt_off = struct.unpack('>Q', h[48:56])[0]
    order = struct.unpack('>I', h[96:100])[0] if len(h) >= 100 else 4
    return cluster_bits, l1_off, rt_off, order


def u64(f, off, val=None):
    f.seek(off)
    if val is None:
        return struct.unpack('>Q', f.read(8))[0]
    f.write(struct.pack('>Q', val))


def main():
    img, what = sys.argv[1], sys.argv[2]
    args = [int(a, 0) & (2 ** 64 - 1) for a in sys.argv[3:]]
    with open(img, 'r+b') as f:
        cb, l1_off, rt_off, order = header(f)
        assert order == 4, 'only 16-bit refcounts'
        cs = 1 << cb
        if what == 'refcount':
            per_block = cs // 2
            block = u64(f, rt_off + 8 * (args[0] // per_block))
            block &= ~0x1ff
            f.seek(block + 2 * (args[0] % per_block))
            f.write(struct.pack('>H', args[1]))
        elif what in ('l2', 'l2get'):
            entries = cs // 8
            gc = args[0] >> cb
            l2 = u64(f, l1_off + 8 * (gc // entries)) & 0x00fffffffffffe00
            if what == 'l2get':
                print(hex(u64(f, l2 + 8 * (gc % entries))))
            else:
                u64(f, l2 + 8 * (gc % entries), args[1])
        elif what == 'l1get':
            print(hex(u64(f, l1_off + 8 * args[0])))
        elif what == 'rt':
            u64(f, rt_off + 8 * args[0], args[1])
        elif what == 'rtget':
            print(hex(u64(f, rt_off + 8 * args[0])))
        elif what == 'incompat':
            u64(f, 72, u64(f, 72) | args[0])
        else:
            sys.exit('unknown: ' + what)


main()
