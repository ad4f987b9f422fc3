"""Prints a safetensors file's tensors, one per line: name dtype [shape]."""
import json
import struct
import sys

with open(sys.argv[1], "rb") as f:
    (length,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(length))
for name in sorted(k for k in header if k != "__metadata__"):
    info = header[name]
    print(f"{name} {info['dtype']} [{', '.join(map(str, info['shape']))}]")
