/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alloc-util.h — growing an array one item at a time, with a bound on its size.
 */
#pragma once

#include "macro.h"

/* Make room for item n in the array *items of *allocated items of size bytes, doubling it
 * (from 8) when full; never beyond max items. Returns 0, -E2BIG or -ENOMEM. */
int array_reserve(void **items, size_t n, size_t *allocated, size_t size, size_t max);

#define ARRAY_RESERVE(array, n, allocated, max) \
        array_reserve((void **) &(array), (n), &(allocated), sizeof(*(array)), (max))
