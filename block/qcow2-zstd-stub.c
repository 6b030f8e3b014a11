/*
 * qcow2 zstd codec, built without libzstd: there is none, and images
 * with compression_type=zstd are refused at open and create.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qcow2-codec.h"

const Qcow2Codec *const qcow2_zstd_codec = NULL;
