#!/usr/bin/env python3
"""Rewrites a safetensors checkpoint for the compiled-program tests.

Standard library only. A safetensors file is an 8-byte little-endian header
length, a JSON header {name: {dtype, shape, data_offsets}} and the raw data.

  safetensors_edit.py IN OUT scale FACTOR     multiply every 2-D F32 tensor
  safetensors_edit.py IN OUT drop NAME        remove one tensor
  safetensors_edit.py IN OUT dtype NAME DT    store NAME as DT (F64 or I64),
                                              a well-formed file of that dtype
  safetensors_edit.py IN OUT shape NAME D,D   declare another shape of the
                                              same element count
  safetensors_edit.py IN OUT header-past-end  header length past the file end
  safetensors_edit.py IN OUT offsets-past-end NAME
                                              NAME's data_offsets end past the
                                              data (the file is unchanged)
  safetensors_edit.py IN OUT overlap NAME     NAME's data_offsets shifted back
                                              by 4 bytes into the previous
                                              tensor (same length)
  safetensors_edit.py IN OUT reversed NAME    NAME's data_offsets as [end, begin]
  safetensors_edit.py IN OUT header-not-json  the header's first byte '{' made 'X'
"""
import array
import json
import struct
import sys

DTYPE_BYTES = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8, "I64": 8}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__", None)
    tensors = []
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors.append([name, t["dtype"], list(t["shape"]), data[begin:end]])
    tensors.sort(key=lambda t: header[t[0]]["data_offsets"][0])
    return meta, tensors


def layout(meta, tensors):
    """Header dict and data for tensors stored back to back."""
    header = {}
    if meta is not None:
        header["__metadata__"] = meta
    chunks, offset = [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    return header, b"".join(chunks)


def write(path, header, data, header_len=None):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    n = len(text) if header_len is None else header_len
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", n) + text + data)


def find(tensors, name):
    for t in tensors:
        if t[0] == name:
            return t
    sys.exit("no tensor named " + name)


def main(argv):
    src, dst, op, args = argv[1], argv[2], argv[3], argv[4:]
    meta, tensors = read(src)
    header_len = None
    lie = None
    if op == "scale":
        factor = float(args[0])
        for t in tensors:
            if t[1] == "F32" and len(t[2]) == 2:
                values = array.array("f")
                values.frombytes(t[3])
                t[3] = array.array("f", (v * factor for v in values)).tobytes()
    elif op == "drop":
        find(tensors, args[0])
        tensors = [t for t in tensors if t[0] != args[0]]
    elif op == "dtype":
        t = find(tensors, args[0])
        count = len(t[3]) // DTYPE_BYTES[t[1]]
        t[1] = args[1]
        t[3] = bytes(count * DTYPE_BYTES[args[1]])
    elif op == "shape":
        t = find(tensors, args[0])
        shape = [int(d) for d in args[1].split(",")]
        count = 1
        for d in shape:
            count *= d
        assert count * DTYPE_BYTES[t[1]] == len(t[3]), "element count differs"
        t[2] = shape
    elif op == "header-past-end":
        pass
    elif op == "header-not-json":
        pass
    elif op in ("offsets-past-end", "overlap", "reversed"):
        find(tensors, args[0])
        lie = (op, args[0])
    else:
        sys.exit("unknown operation " + op)
    header, data = layout(meta, tensors)
    if op == "header-past-end":
        text = json.dumps(header, separators=(",", ":")).encode()
        header_len = len(text) + (-len(text) % 8) + len(data) + 64
    if lie:
        begin, end = header[lie[1]]["data_offsets"]
        if lie[0] == "offsets-past-end":
            header[lie[1]]["data_offsets"] = [len(data) + 64 - (end - begin),
                                              len(data) + 64]
        elif lie[0] == "reversed":
            header[lie[1]]["data_offsets"] = [end, begin]
        else:
            assert begin >= 4, "overlap needs a tensor after the first"
            header[lie[1]]["data_offsets"] = [begin - 4, end - 4]
    write(dst, header, data, header_len)
    if op == "header-not-json":
        with open(dst, "r+b") as f:
            f.seek(8)
            f.write(b"X")


if __name__ == "__main__":
    main(sys.argv)
