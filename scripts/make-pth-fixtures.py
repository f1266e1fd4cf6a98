"""Writes the small PyTorch checkpoints the .pth reader is tested on (run by hand with torch):

    python scripts/make-pth-fixtures.py testdata/fixtures/pth

small_zip.pth (torch's zip format) and small_legacy.pth (the pre-1.6 format) hold the same
state dict: float32 / float16 / bfloat16 / float64 tensors, a transposed view and a slice
(strides and storage offsets), a Parameter, and an int64 scalar (skipped by readers, like
num_batches_tracked). expected.json has each float tensor's shape and values as float32.
"""
import collections
import json
import sys

import torch

out = sys.argv[1]
g = torch.Generator().manual_seed(7)
base = torch.randn(6, 4, generator=g)
sd = collections.OrderedDict()
sd["layer.weight"] = torch.randn(3, 4, generator=g)
sd["layer.bias"] = torch.randn(5, generator=g).half()
sd["transposed"] = base.t()  # stride (1, 4)
sd["slice"] = base[2:4]  # storage offset 8, shares base's storage
sd["bf16"] = torch.randn(2, 2, generator=g).to(torch.bfloat16)
sd["f64"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
sd["param"] = torch.nn.Parameter(torch.randn(2, generator=g))
sd["bn.num_batches_tracked"] = torch.tensor(7)
torch.save(sd, f"{out}/small_zip.pth")
torch.save(sd, f"{out}/small_legacy.pth", _use_new_zipfile_serialization=False)
expected = {
    k: {"shape": list(v.shape), "values": v.detach().float().flatten().tolist()}
    for k, v in sd.items()
    if v.is_floating_point()
}
with open(f"{out}/expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
