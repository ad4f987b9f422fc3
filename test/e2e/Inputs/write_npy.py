#!/usr/bin/env python3
"""Rewrites an .npy file written by `matc-reference logits` in another form.

usage: write_npy.py IN.npy OUT.npy [--version 1|2|3] [--descr D] [--fortran]
                    [--shape 1,5,256] [--truncate N] [--extra-key] [--garbage]
                    [--nan I]

--descr <f4 and <f8 convert the values; any other descr (>f4, <i4) only
relabels them. --truncate drops the last N bytes; --extra-key adds a key to
the header dict; --garbage writes a file that is not .npy at all; --nan sets
element I (flat index) to NaN.
"""
import ast
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x93NUMPY\x01\x00", "expects format 1.0"
    length = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + length].decode())
    assert header["descr"] == "<f8" and not header["fortran_order"]
    body = data[10 + length:]
    return header["shape"], struct.unpack("<%dd" % (len(body) // 8), body)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    shape, values = read(argv[1])
    version, descr, fortran, truncate, extra = 1, "<f4", False, 0, False
    args = argv[3:]
    while args:
        flag = args.pop(0)
        if flag == "--version":
            version = int(args.pop(0))
        elif flag == "--descr":
            descr = args.pop(0)
        elif flag == "--fortran":
            fortran = True
        elif flag == "--shape":
            shape = tuple(int(d) for d in args.pop(0).split(","))
        elif flag == "--truncate":
            truncate = int(args.pop(0))
        elif flag == "--extra-key":
            extra = True
        elif flag == "--nan":
            values = list(values)
            values[int(args.pop(0))] = float("nan")
        elif flag == "--garbage":
            open(argv[2], "wb").write(b"PK\x03\x04 this is not an npy file")
            return
        else:
            sys.exit("unknown flag " + flag)
    if descr == "<f8":
        body = struct.pack("<%dd" % len(values), *values)
    else:
        body = struct.pack("<%df" % len(values), *values)
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, %s}" % (
        descr, fortran, repr(tuple(shape)), "'extra': 1, " if extra else "")
    prefix = 8 + (2 if version == 1 else 4)
    header += " " * (-(prefix + len(header) + 1) % 64) + "\n"
    size = struct.pack("<H" if version == 1 else "<I", len(header))
    data = b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + body
    open(argv[2], "wb").write(data[:len(data) - truncate])


if __name__ == "__main__":
    main(sys.argv)
