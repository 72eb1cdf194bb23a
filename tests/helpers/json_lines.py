#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Reads a file of one JSON object a line (portredir -j monitor) with Python's json and prints KEYs of each object tab-separated, "-" for a key it lacks.
# Usage: json_lines.py FILE KEY...; exit 1 naming the first line that is not one JSON object.
import json
import sys

path, keys = sys.argv[1], sys.argv[2:]
with open(path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            print("line %d is not JSON (%s): %r" % (n, e, line))
            sys.exit(1)
        if not isinstance(obj, dict) or not line.endswith("\n"):
            print("line %d is not one JSON object ending its line: %r" % (n, line))
            sys.exit(1)
        print("\t".join(json.dumps(obj[k]) if isinstance(obj.get(k), bool) else str(obj[k]) if k in obj else "-"
                        for k in keys))
