// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maps only: lets the CLI create and pin the map set without loading any program. */
#include "lib/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
