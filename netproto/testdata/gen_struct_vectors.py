# Generates struct_vectors.json from CPython's own struct module.
# Not needed to build or test wirelab: the JSON it wrote is committed.
# Run: python3 gen_struct_vectors.py > struct_vectors.json
import json, math, struct

def enc(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        return {"float": repr(v)}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    raise TypeError(v)

cases = [
    ("i", [0]), ("i", [1234543]), ("i", [-1]), ("i", [2**31 - 1]), ("i", [-2**31]),
    ("i", [2**31]), ("i", [-2**31 - 1]), ("!I", [0]), ("!I", [2**32 - 1]), ("!I", [-1]),
    ("!I", [2**32]), ("<i", [258]), (">i", [258]), ("=i", [258]), ("@i", [258]),
    ("b", [-128]), ("b", [127]), ("b", [128]), ("B", [255]), ("B", [256]), ("B", [-1]),
    ("h", [-32768]), ("h", [32768]), ("H", [65535]), ("H", [65536]), ("<h", [-2]), (">H", [513]),
    ("l", [2**63 - 1]), ("l", [-2**63]), ("<l", [2**31 - 1]), ("<l", [2**31]), ("L", [2**64 - 1]),
    ("<L", [2**32 - 1]), ("q", [-2**53]), ("Q", [2**53]), ("<q", [-5]), (">Q", [2**40 + 7]),
    ("n", [-7]), ("N", [7]), ("<n", [1]),
    ("?", [True]), ("?", [False]), ("c", [b"A"]), ("c", [b"AB"]),
    ("3s", [b"abcdef"]), ("5s", [b"ab"]), ("0s", [b"ab"]), ("s", [b"xyz"]),
    ("5p", [b"ab"]), ("3p", [b"abcdef"]), ("1p", [b"abc"]), ("300p", [b"a" * 299]),
    ("x", []), ("3x", []), ("bxh", [1, 2]), ("@bi", [1, 2]), ("=bi", [1, 2]), ("@bq", [1, 2]),
    ("@hbd", [1, 2, 3.5]), ("@ci", [b"z", 9]), ("@b0i", [1]), ("<b0i", [1]),
    ("2i", [1, 2]), ("<2h3b", [1, -1, 2, 3, 4]), ("i i", [5, 6]), ("!IH4s", [7, 8, b"wire"]),
    ("f", [1.5]), ("f", [0.1]), ("f", [3.4e38]), ("f", [1e39]), ("f", [float("inf")]),
    ("f", [float("nan")]), ("d", [0.1]), ("d", [-0.0]), ("!d", [math.pi]), (">f", [-2.25]),
    ("e", [1.0]), ("e", [65504.0]), ("e", [65520.0]), ("e", [65519.0]), ("e", [0.1]), ("e", [2**-24]),
    ("e", [2**-25]), ("e", [3 * 2**-25]), ("e", [6.1e-5]), ("e", [-0.0]), ("<e", [float("-inf")]),
    ("e", [1e-10]), (">e", [1000.5]),
    ("i", [1.0]), ("i", [1.5]), ("i", [1, 2]), ("ii", [1]), ("k", [1]), ("<n", [1]), ("!P", [1]),
    ("3", []), ("", []), ("?", [5]),
]

out = []
for fmt, args in cases:
    entry = {"fmt": fmt, "args": [enc(a) for a in args]}
    try:
        entry["size"] = struct.calcsize(fmt)
    except struct.error:
        entry["size"] = None
    try:
        packed = struct.pack(fmt, *args)
        entry["hex"] = packed.hex()
        entry["unpacked"] = [enc(v) for v in struct.unpack(fmt, packed)]
    except (struct.error, OverflowError, TypeError) as e:
        entry["error"] = str(e)
    out.append(entry)
print(json.dumps(out, indent=1))
