/*
 * What the machine's network stack offers, for the socket tests to skip
 * what it cannot do.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TESTS_UNIT_SOCKET_HELPERS_H
#define TESTS_UNIT_SOCKET_HELPERS_H

#include "qemu/osdep.h"

/* Whether a TCP socket can bind the IPv6 loopback address ::1. */
bool test_have_ipv6(void);

#endif /* TESTS_UNIT_SOCKET_HELPERS_H */
