"""Compares two float32 .npy files (format 1.0/2.0, C order):
prints ||a-b||/||b|| and exits 1 above the tolerance or on a shape mismatch."""
import ast
import math
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"{path}: expected C-order '<f4', got {header}")
    body = data[start + length:]
    count = len(body) // 4
    return header["shape"], struct.unpack(f"<{count}f", body)


def main(a_path, b_path, tolerance):
    a_shape, a = load(a_path)
    b_shape, b = load(b_path)
    if a_shape != b_shape:
        print(f"shape mismatch: {a_shape} vs {b_shape}")
        return 1
    diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    norm = math.sqrt(sum(y * y for y in b))
    error = diff / norm if norm else diff
    print(f"relative error = {error:.3e} (tolerance {tolerance:g})")
    return 0 if error <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
