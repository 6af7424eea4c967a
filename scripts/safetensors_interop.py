#!/usr/bin/env python3
"""Interoperability checks between NeuralSDE's Swift safetensors code and the reference
`safetensors` Python package.

Run by Tests/NSDENNTests/SafeTensorsTests.swift (and so by CI, which pip-installs
`safetensors` and `numpy`). Subcommands:

  check FILE EXPECT.json
      Load FILE (written by Swift) with safetensors.numpy.load_file and compare it with the
      expectation written by the Swift test:
          {"name": {"shape": [...], "values": [...], "bits": [...], "dtype": "F32"}, ...,
           "__metadata__": {"key": "value"}}
      "values" are compared as float32; "bits" (optional) are the exact float32 bit patterns;
      "dtype" (optional) is the safetensors dtype; "__metadata__" (optional) must equal the
      file's metadata. Names must match exactly. Exits 1 with a message on any mismatch.

  write FILE [EXPECT.json]
      Write FILE with numpy via safetensors.numpy.save_file: F32, F64, F16, I64, I32 and U8
      tensors of ranks 0 to 4, an empty tensor, and metadata (numpy has no bfloat16). Print the
      expectation (same format as above; "bits" are the float32 bit patterns each value must
      have after conversion to float32, as numpy's astype(float32) rounds it; non-finite
      "values" are null, so the JSON stays standard) to stdout, or write it to EXPECT.json.

  torch-check FILE OUT
      Needs torch. Build nn.Sequential(Conv2d(3,4,3,padding=1), GroupNorm(2,4), ReLU(),
      AdaptiveAvgPool2d(1), Flatten(), Linear(4,10)), load_state_dict(load_file(FILE),
      strict=True), run a forward pass, and save the state dict back to OUT with
      safetensors.torch.save_file (with metadata {"framework": "torch"}).

  has-torch
      Exit 0 if torch and safetensors.torch import, 1 otherwise.
"""

import json
import sys


def fail(message):
    print(f"safetensors_interop: {message}", file=sys.stderr)
    sys.exit(1)


def metadata_of(path):
    from safetensors import safe_open

    with safe_open(path, framework="np") as f:
        return f.metadata() or {}


def dtype_name(array):
    import numpy as np

    names = {
        np.dtype(np.float32): "F32",
        np.dtype(np.float64): "F64",
        np.dtype(np.float16): "F16",
        np.dtype(np.int64): "I64",
        np.dtype(np.int32): "I32",
        np.dtype(np.int16): "I16",
        np.dtype(np.int8): "I8",
        np.dtype(np.uint8): "U8",
        np.dtype(np.uint16): "U16",
        np.dtype(np.uint32): "U32",
        np.dtype(np.uint64): "U64",
        np.dtype(np.bool_): "BOOL",
    }
    return names.get(array.dtype, str(array.dtype))


def check(path, expect_path):
    import numpy as np
    from safetensors.numpy import load_file

    with open(expect_path, "r", encoding="utf-8") as f:
        expect = json.load(f)
    expected_metadata = expect.pop("__metadata__", None)
    tensors = load_file(path)

    if sorted(tensors) != sorted(expect):
        fail(f"{path}: names differ: file has {sorted(tensors)}, expected {sorted(expect)}")
    for name, spec in expect.items():
        array = tensors[name]
        shape = list(spec["shape"])
        if list(array.shape) != shape:
            fail(f"{path}: tensor {name!r}: shape: expected {shape}, found {list(array.shape)}")
        if "dtype" in spec and dtype_name(array) != spec["dtype"]:
            fail(f"{path}: tensor {name!r}: dtype: expected {spec['dtype']}, found {dtype_name(array)}")
        found = array.astype(np.float32).reshape(-1)
        if "values" in spec:
            # null stands for a non-finite value, checked through "bits" instead.
            raw = [np.nan if v is None else v for v in spec["values"]]
            want = np.array(raw, dtype=np.float64).astype(np.float32).reshape(-1)
            known = ~np.isnan(want) if want.shape == found.shape else None
            if known is None or not np.array_equal(want[known], found[known]):
                fail(f"{path}: tensor {name!r}: values: expected {want.tolist()[:16]}, found {found.tolist()[:16]}")
        if "bits" in spec:
            want_bits = np.array(spec["bits"], dtype=np.uint64).astype(np.uint32).reshape(-1)
            found_bits = found.view(np.uint32)
            if want_bits.shape != found_bits.shape or not np.array_equal(want_bits, found_bits):
                fail(f"{path}: tensor {name!r}: float32 bits: expected {want_bits.tolist()[:16]}, "
                     f"found {found_bits.tolist()[:16]}")
    if expected_metadata is not None:
        found_metadata = metadata_of(path)
        if found_metadata != expected_metadata:
            fail(f"{path}: metadata: expected {expected_metadata}, found {found_metadata}")
    print(f"safetensors_interop: {path}: {len(expect)} tensors match")


def write(path, expect_path=None):
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(1234)
    tensors = {
        # F32, rank 2, with special values.
        "layer.weight": np.array([[1.5, -0.0, 3.25e-38], [np.inf, -np.inf, 1e-45]], dtype=np.float32),
        # F64 rank 3: rounds to float32 on load.
        "double.rank3": rng.standard_normal((2, 3, 4)).astype(np.float64) * 1e3,
        # F16 rank 1, including a subnormal, the largest half and negative zero.
        "half.vec": np.array([0.0, -0.0, 6.0e-8, 65504.0, -2.5, 0.33325195], dtype=np.float16),
        # I64 rank 1, including a value that is not exactly representable in float32.
        "steps": np.array([0, -7, 123456789, 2**40 + 1], dtype=np.int64),
        # I32 rank 4.
        "int32.rank4": np.arange(-12, 12, dtype=np.int32).reshape(2, 3, 2, 2),
        # U8 rank 2.
        "bytes.u8": np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8),
        # Rank 0.
        "scalar": np.array(2.75, dtype=np.float32),
        # Empty.
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    metadata = {"format": "np", "written_by": "safetensors_interop.py", "unicode": "\u00e9\u2713"}
    save_file(tensors, path, metadata=metadata)

    expect = {"__metadata__": metadata}
    for name, array in tensors.items():
        as32 = array.astype(np.float32).reshape(-1)
        expect[name] = {
            "dtype": dtype_name(array),
            "shape": list(array.shape),
            "values": [float(v) if np.isfinite(v) else None for v in as32],
            "bits": [int(b) for b in as32.view(np.uint32)],
        }
    text = json.dumps(expect, indent=1, allow_nan=False)
    if expect_path is None:
        print(text)
    else:
        with open(expect_path, "w", encoding="utf-8") as f:
            f.write(text)


def build_module():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.GroupNorm(2, 4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    )


def torch_check(path, out_path):
    import torch
    from safetensors.torch import load_file, save_file

    model = build_module()
    state = load_file(path)
    model.load_state_dict(state, strict=True)
    for name, value in model.state_dict().items():
        if not torch.equal(value, state[name]):
            fail(f"{path}: tensor {name!r} changed while loading into the module")
    with torch.no_grad():
        y = model(torch.ones(2, 3, 5, 5))
    if tuple(y.shape) != (2, 10) or not torch.isfinite(y).all():
        fail(f"{path}: forward pass gave shape {tuple(y.shape)} or non-finite values")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out_path,
              metadata={"framework": "torch"})
    print(f"safetensors_interop: {path}: loaded strictly into {type(model).__name__}, saved to {out_path}")


def has_torch():
    try:
        import torch  # noqa: F401
        import safetensors.torch  # noqa: F401
    except Exception as error:  # ImportError, or a broken installation
        print(f"safetensors_interop: torch unavailable: {error}", file=sys.stderr)
        sys.exit(1)


def main(argv):
    if argv[:1] == ["check"] and len(argv) == 3:
        check(argv[1], argv[2])
    elif argv[:1] == ["write"] and len(argv) in (2, 3):
        write(argv[1], argv[2] if len(argv) == 3 else None)
    elif argv[:1] == ["torch-check"] and len(argv) == 3:
        torch_check(argv[1], argv[2])
    elif argv == ["has-torch"]:
        has_torch()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
