"""Processes launched by ``torchrun``: joining their group, and who is who."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["join_process_group", "rank_and_world"]


def join_process_group(device_arg="auto") -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): NCCL for CUDA,
    gloo otherwise. Returns True if joined here (the caller destroys the group)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    wants_cuda = torch.cuda.is_available() and str(device_arg) in ("auto", "cuda") or str(device_arg).startswith("cuda")
    if wants_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend="nccl" if wants_cuda else "gloo")
    return True


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)``: ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
