"""Writes a randomly initialized torchvision ResNet-50 state dict as safetensors (the
ResNet-50-shaped model of scripts/bench-images.sh; no real ResNet weights are needed to
measure speed).

    python bench/make_resnet50.py OUT_DIR
"""
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file

torch.manual_seed(0)
model = torchvision.models.resnet50().eval()
os.makedirs(sys.argv[1], exist_ok=True)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(sys.argv[1], "model.safetensors"))
