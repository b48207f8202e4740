"""One training loop for every model family.

The model supplies its loss step(s); the loop owns everything else: device, bf16
autocast, EMA of the weights, the data order, logging, sample grids, progress,
checkpoints (atomic), exact resume, NaN detection, Ctrl-C, and data parallelism over
processes launched with ``torchrun``.

A trainable model is an ``nn.Module`` that also provides

``Config``                          a dataclass of its hyper-parameters (with ``kind``)
``build(config, dataset)``          classmethod: the model for this data (fills in
                                    data-dependent fields such as the image size)
``make_optimizers(train_config)``   ``{name: torch.optim.Optimizer}``
``train_step(x, y, step)``          one update from a batch, using ``step.update(name, loss)``
                                    for each optimizer step and ``step.randn`` /
                                    ``step.generator`` for every random draw; returns a
                                    dict of scalar tensors to log. ``step.indices`` are the
                                    batch's indices in the dataset (e.g. to look up the
                                    captions a dataset stores for its samples)

and may provide

``batch_groups(dataset)``           ``{name: index array}`` (e.g. CycleGAN's two domains):
                                    every batch then takes an equal share from each group,
                                    each group in its own seeded order

Data parallelism: each process takes its share of every global batch and the gradients
are averaged with one all-reduce per optimizer step before the update, so N processes
compute the same update as one process on the whole batch. (torch's DDP wrapper is not
used because its reducer does not support the double backward of the WGAN-GP penalty.)
Only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from latentlab import data as data_mod
from latentlab._device import resolve_device
from latentlab._distributed import join_process_group
from latentlab._io import check_can_write
from latentlab._threads import torch_threads
from latentlab.adapters.tensorboard import TensorBoardLogger
from latentlab.checkpoint import check_finite_state, load_checkpoint, save_checkpoint
from latentlab.data.spec import spec_from_description
from latentlab.models import model_class
from latentlab.models.trainable import NoiseDraws, frozen
from latentlab.training.config import RunConfig, load_config
from latentlab.training.previews import save_sample_preview
from latentlab.training.run_files import (
    append_metrics_line,
    check_outputs_writable,
    hold_run_lock,
    keep_metrics_through,
    metrics_path,
    remove_stale_temporaries,
    samples_dir,
)

__all__ = ["train", "TrainResult", "TrainingDiverged", "TrainingInterrupted", "resolve_device", "TrainStep"]


# Data up to this size is read (or rendered) once and kept on the training device;
# larger data streams from its source through a DataLoader.
RESIDENT_BYTES = 2 * 1024**3


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped with Ctrl-C after a checkpoint was written."""


# --------------------------------------------------------------------------------------
# the per-step context handed to a model's train_step
# --------------------------------------------------------------------------------------
class TrainStep(NoiseDraws):
    """What a model's ``train_step`` may use: the step number, the batch's indices, randomness,
    autocast, updates.

    ``indices`` is an int64 CPU tensor ``(B,)``: the dataset indices of the samples ``x``
    and ``y`` of this step (this process's share of the global batch, in the same order),
    for data a model looks up by sample rather than by label row (stored captions).
    """

    def __init__(self, loop: "_Trainer"):
        self._loop = loop
        self.step = 0
        self.indices = torch.empty(0, dtype=torch.int64)

    @property
    def device(self) -> torch.device:
        return self._loop.device

    @property
    def generator(self) -> torch.Generator:
        """The run's random generator (on the training device); its state is checkpointed."""
        return self._loop.generator

    def _draw(self, draw, n: int, shape) -> torch.Tensor:
        # Every process draws the noise of the whole global batch from the same stream and
        # keeps its own rows (the rows of its share of the batch), so a run gives the same
        # result on any number of processes.
        loop = self._loop
        full = draw((n * loop.world_size, *shape), generator=loop.generator, device=loop.device)
        return full[loop.rank :: loop.world_size] if loop.world_size > 1 else full

    def autocast(self):
        """bf16 autocast on CUDA when ``train.amp`` is on; a no-op elsewhere."""
        if self._loop.device.type == "cuda" and self._loop.cfg.train.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    frozen = staticmethod(frozen)  # parameters of a module get no gradient inside the block

    def update(self, name: str, loss: torch.Tensor, grad_norm: bool = False) -> torch.Tensor | None:
        """Zero the named optimizer's gradients, backpropagate ``loss``, average the gradients
        over processes, clip (``train.grad_clip``) and step.

        With ``grad_norm=True`` returns the total gradient norm (before clipping)."""
        opt = self._loop.optimizers[name]
        params = [p for group in opt.param_groups for p in group["params"]]
        for p in params:
            p.grad = None
        loss.backward()
        grads = [p for p in params if p.grad is not None]
        if self._loop.world_size > 1 and grads:
            flat = torch.cat([p.grad.reshape(-1) for p in grads])
            dist.all_reduce(flat)
            flat /= self._loop.world_size
            offset = 0
            for p in grads:
                n = p.grad.numel()
                p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
                offset += n
        clip = self._loop.cfg.train.grad_clip
        norm = None
        if clip > 0 and grads:
            norm = torch.nn.utils.clip_grad_norm_(grads, clip)
        elif grad_norm and grads:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in grads]))
        opt.step()
        return norm.detach() if grad_norm and norm is not None else None


# --------------------------------------------------------------------------------------
# data order: a pure function of (seed, step), so resume continues identically
# --------------------------------------------------------------------------------------
def _epoch_batch(n: int, batch_size: int, key: list, step: int) -> np.ndarray:
    # each epoch a fresh permutation seeded by (*key, epoch); the last incomplete batch is dropped
    epoch, pos = divmod(step, n // batch_size)
    perm = np.random.default_rng([*key, epoch]).permutation(n)
    return perm[pos * batch_size : (pos + 1) * batch_size]


def batch_indices(n: int, batch_size: int, seed: int, step: int, rank: int = 0, world_size: int = 1,
                  groups=None) -> np.ndarray:
    """Indices of this process's share of the global batch number ``step``.

    Each epoch is a fresh permutation seeded by ``(seed, epoch)``; the last incomplete
    batch of an epoch is dropped. With ``groups`` (a list of k index arrays) the batch is
    ``batch_size / k`` indices of each group in turn, each group running through its own
    epochs (seeded by ``(seed, group number, epoch)``), so the groups are drawn
    independently of each other.
    """
    if groups is None:
        return _epoch_batch(n, batch_size, [seed], step)[rank::world_size]
    share = batch_size // len(groups)
    parts = [np.asarray(g)[_epoch_batch(len(g), share, [seed, k + 1], step)] for k, g in enumerate(groups)]
    return np.concatenate(parts)[rank::world_size]


def check_batch_groups(groups: dict, batch_size: int) -> None:
    """``ValueError`` unless every one of ``groups`` (name -> indices) fills its share of a
    batch of ``batch_size``; the message names the group."""
    k = len(groups)
    if k == 0 or batch_size % k:
        raise ValueError(f"train.batch_size = {batch_size} must be a multiple of the {k} groups the model draws "
                         f"each batch from ({', '.join(groups)})")
    small = [(name, len(g)) for name, g in groups.items() if len(g) < batch_size // k]
    if small:
        name, size = small[0]
        raise ValueError(f"{name} has {size} samples, fewer than its share of a batch "
                         f"({batch_size // k} of train.batch_size = {batch_size}); lower train.batch_size")


def lr_factor(step: int, steps: int, decay_start: float) -> float:
    """The learning-rate multiplier of step ``step`` (0-based) of ``steps``: 1 up to
    ``decay_start * steps``, then falling linearly to reach 0 one step after the last
    (Zhu et al. 2017: constant for the first half, linear decay over the second)."""
    start = int(round(decay_start * steps))
    if step < start:
        return 1.0
    return (steps - step) / (steps - start)


class _BatchView(torch.utils.data.Dataset):
    """Makes ``dataset.get(indices)`` a DataLoader item ``(x, y, indices)``, so lazy sources load in workers."""

    def __init__(self, dataset, steps):
        self.dataset, self.steps = dataset, steps

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        idx = self.steps[i]
        return (self.dataset.get(idx), torch.as_tensor(self.dataset.labels(idx), dtype=torch.float32),
                torch.as_tensor(idx, dtype=torch.int64))


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: torch.nn.Module  # the EMA model when EMA is on (what a user samples from), in eval mode
    raw_model: torch.nn.Module
    checkpoint: Path | None
    step: int
    history: list = field(default_factory=list)  # one dict of losses per step of this call


def _load_optimizer_state(opt: torch.optim.Optimizer, saved: dict) -> None:
    """Restore an optimizer's state (moments, step counts) from a checkpoint but keep the
    hyper-parameters (lr, betas, weight decay) it was made with from the current config,
    so that ``--resume --set train.lr=...`` takes effect. The same config gives the same values."""
    made = [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
    opt.load_state_dict(saved)
    for group, hyper in zip(opt.param_groups, made):
        group.update(hyper)


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float, updates: int) -> None:
    # warm-up: early on the average follows the weights closely (decay grows with the step count)
    d = min(decay, (1 + updates) / (10 + updates))
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm.detach(), 1 - d)
        for be, bm in zip(ema.buffers(), model.buffers()):
            be.copy_(bm)


def train(
    config,
    *,
    out: str | os.PathLike | None = None,
    overrides=(),
    resume: bool = False,
    force: bool = False,
    device: str | torch.device | None = None,
    dataset=None,
    progress: bool = True,
    log=None,
    tensorboard: str | os.PathLike | None = None,
) -> TrainResult:
    """Train a model from a run config; write its checkpoint to ``out``.

    Parameters
    ----------
    config : path, bundled config name, dict or RunConfig
        See :func:`latentlab.training.config.load_config`.
    out : path of the checkpoint (``.pt``). The metrics log (``<stem>.metrics.jsonl``) and
        sample grids (``<stem>.samples/``) are written beside it (see
        :mod:`latentlab.training.run_files`); all of them are checked to be writable before
        any work, and ``<name>.lock`` is held while the run lives, so a second run on the
        same ``out`` is refused (``FileExistsError``). A new run starts a new metrics log.
        ``None`` trains without writing anything.
    overrides : ``SECTION.FIELD=VALUE`` strings, e.g. ``["train.steps=200"]``.
    resume : continue the run saved in ``out`` exactly where it stopped (model,
        optimizers, EMA, step, data order, random state and the losses averaged into the
        next log line), so the weights and the metrics log end as in an uninterrupted run.
        The saved config is used; only ``train.*`` fields may be overridden (e.g. more
        steps), and every one is honoured from the resumed step on: ``lr``, ``betas`` and
        ``weight_decay`` are set on the restored optimizers.
    force : overwrite an existing ``out`` when not resuming.
    device : ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    dataset : a :class:`~latentlab.data.Dataset` to use instead of the config's data.
    progress : show a progress bar.
    tensorboard : folder, optional
        Also log to TensorBoard there (:class:`~latentlab.adapters.tensorboard.TensorBoardLogger`;
        the tensorboard extra): every value of each log line, the learning rates and, when
        ``out`` is given, the sample previews. A resumed run continues the same folder.
    log : callable taking one line of text (e.g. ``print``), told which ``train.*``
        settings a resume changes; ``None`` says nothing.

    A loss or a weight that becomes NaN or infinite stops the run with
    :class:`TrainingDiverged`; checkpoints are written only from finite weights.
    """
    out = Path(out) if out is not None else None
    joined = join_process_group(device or "auto")
    try:
        with contextlib.ExitStack() as outputs:
            if resume and (out is None or not out.exists()):
                raise FileNotFoundError(f"cannot resume: no checkpoint at {out}")
            if out is not None and (not dist.is_initialized() or dist.get_rank() == 0):  # rank 0 writes
                check_outputs_writable(out)
                outputs.enter_context(hold_run_lock(out))
                remove_stale_temporaries(out)
            return _prepare_and_run(config, out, overrides, resume, force, device, dataset, progress, log, tensorboard)
    finally:
        if joined:
            dist.destroy_process_group()


def _prepare_and_run(config, out, overrides, resume, force, device, dataset, progress, log,
                     tensorboard=None) -> TrainResult:

    ckpt = None
    if resume:
        ckpt = load_checkpoint(out)
        if ckpt.training is None:
            raise ValueError(f"{out} holds no training state (it was saved for inference only); cannot resume")
        check_finite_state(ckpt.weights, f"{out}: the saved weights",
                           "cannot resume from them; train again without --resume, e.g. with a lower train.lr")
        cfg = load_config(ckpt.config, overrides)
        saved = load_config(ckpt.config).to_dict()
        for section in ("model", "data"):  # the same command line may be repeated with --resume
            changed = [k for k, v in cfg.to_dict()[section].items() if saved[section].get(k) != v]
            if changed:
                raise ValueError(
                    f"when resuming only train.* fields can change; {section}.{changed[0]} differs from the "
                    f"saved run ({saved[section].get(changed[0])!r})"
                )
        changed = [f"train.{k} = {v!r} (was {saved['train'].get(k)!r})"
                   for k, v in cfg.to_dict()["train"].items() if saved["train"].get(k) != v]
        if changed and log is not None and (not dist.is_initialized() or dist.get_rank() == 0):
            log(f"resuming {out} at step {ckpt.training['step']} with {', '.join(changed)}")
    else:
        cfg = load_config(config, overrides, log=log if (not dist.is_initialized() or dist.get_rank() == 0) else None)
        if out is not None:
            check_can_write(out, overwrite=force, keyword="force")
    dev = resolve_device(device or "auto")
    if dataset is None:
        dataset = data_mod.load(cfg.data.name, **cfg.data.options)
    cls = model_class(cfg.model.kind)
    # initial weights come from the run's seed, never from the global random state
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        model = cls.build(cfg.model, dataset)
    cfg.model = model.config  # data-dependent fields resolved by build

    model.trained_on = spec_from_description(cfg.to_dict()["data"], dataset.describe())
    with torch_threads(cfg.train.threads):
        return _Trainer(cfg, model, dataset, dev, out, ckpt, progress, tensorboard).run()


class _Trainer:
    """One run of the training loop: what it carries from step to step, and its parts —
    ``fetch`` a batch, ``step`` the model, ``log`` the losses, ``save`` a checkpoint."""

    def __init__(self, cfg: RunConfig, model, dataset, device, out: Path | None, ckpt, progress: bool,
                 tensorboard=None):
        self.cfg, self.model, self.dataset, self.device, self.out = cfg, model, dataset, device, out
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world_size = dist.get_world_size() if dist.is_initialized() else 1
        self.writer = self.rank == 0 and out is not None  # only rank 0 writes files
        # one stream, identical on every process (see TrainStep._per_sample)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(np.random.SeedSequence([cfg.train.seed, 1]).generate_state(1)[0]))
        self.stop_requested = False
        tc = cfg.train
        if tc.batch_size % self.world_size:
            raise ValueError(f"train.batch_size = {tc.batch_size} must be divisible by the number of processes ({self.world_size})")
        if len(dataset) < tc.batch_size:
            raise ValueError(f"train.batch_size = {tc.batch_size} is larger than the dataset ({len(dataset)} samples)")
        if self.world_size > 1:  # identical starting weights on every process
            for t in model.state_dict().values():
                if t.is_floating_point() or t.dtype == torch.long:
                    dist.broadcast(t, 0)
        groups = getattr(model, "batch_groups", None)
        self.groups = None
        if callable(groups):
            named = groups(dataset)
            check_batch_groups(named, tc.batch_size)
            self.groups = list(named.values())
        model.to(device)
        self.ema = copy.deepcopy(model).requires_grad_(False).eval() if tc.ema_decay > 0 else None
        self.optimizers = model.make_optimizers(tc)
        # the rates the optimizers were made with (the config's): train.lr_decay_start scales them
        self.base_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optimizers.items()}
        self.start, self.ema_updates, self.elapsed = 0, 0, 0.0
        self.pending: list = []  # the rows of the steps since the last log line, averaged into the next one
        self.window: list = []  # (step, {name: tensor}) not yet checked and turned into rows
        self.history: list = []  # the rows of this call's steps
        self.last_good = (None, 0)  # (path, step) of the last checkpoint written from finite weights
        if ckpt is not None:
            self._restore(ckpt)
        model.train()
        self.steps = range(self.start, tc.steps)
        self._open_data()
        # the logs hold the lines up to the first pending row: a resume writes the rest again
        logged_through = self.pending[0]["step"] - 1 if self.pending else self.start
        if self.writer:
            keep_metrics_through(metrics_path(out), logged_through)
        self.tensorboard = None
        if tensorboard is not None and self.rank == 0:
            self.tensorboard = TensorBoardLogger(tensorboard, purge_step=logged_through + 1 if ckpt is not None else None)
        self.seen = 0  # samples trained on by this process in this call
        self.t0 = time.time()
        self.bar = None
        if progress and self.rank == 0 and len(self.steps):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=tc.steps, initial=self.start, desc=f"train {cfg.model.kind}", unit="step",
                            dynamic_ncols=True)

    def _restore(self, ckpt) -> None:
        training, weights = ckpt.training, ckpt.weights
        self.model.load_state_dict(weights["model"])
        self.start = int(training["step"])
        self.ema_updates = int(training.get("ema_updates", self.start))
        if self.ema is not None:
            if weights.get("ema") is not None:
                self.ema.load_state_dict(weights["ema"])
            else:  # EMA switched on at this resume: it starts from the resumed weights
                self.ema.load_state_dict(weights["model"])
                self.ema_updates = 0
        for name, opt in self.optimizers.items():
            _load_optimizer_state(opt, training["optimizers"][name])
        self.generator.set_state(training["generator_state"])
        self.pending = [dict(row) for row in training.get("log_pending", [])]
        self.elapsed = float(training.get("elapsed", 0.0))
        self.last_good = (ckpt.path, self.start)

    def _open_data(self) -> None:
        """In-memory data goes to the device once; lazy sources stream through a DataLoader."""
        dataset, dev, tc = self.dataset, self.device, self.cfg.train
        nbytes = 4 * len(dataset) * int(np.prod(dataset.sample_shape))
        self.resident = self.loader = None
        if nbytes <= RESIDENT_BYTES or dataset._cache is not None:
            self.resident = (dataset.data.to(dev), torch.as_tensor(dataset.labels(), dtype=torch.float32, device=dev))
        else:
            plan = [self.indices(s) for s in self.steps]
            self.loader = iter(torch.utils.data.DataLoader(_BatchView(dataset, plan), batch_size=None, shuffle=False,
                                                           num_workers=tc.num_workers, pin_memory=dev.type == "cuda"))

    # ---- the parts of a step ----------------------------------------------------------
    def indices(self, step: int) -> np.ndarray:
        """Indices of this process's share of global batch number ``step``."""
        tc = self.cfg.train
        return batch_indices(len(self.dataset), tc.batch_size, tc.seed, step, self.rank, self.world_size, self.groups)

    def fetch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This process's share of global batch number ``step``: samples and labels on the
        device, and their dataset indices (int64, on the CPU)."""
        if self.loader is not None:
            x, y, idx = next(self.loader)
            return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True), idx
        idx = torch.as_tensor(self.indices(step), dtype=torch.int64)
        on_device = idx.to(self.device)
        return self.resident[0][on_device], self.resident[1][on_device], idx

    def step(self, step: int, context: TrainStep) -> None:
        """One update of the model (and its EMA) from batch number ``step``."""
        x, y, context.indices = self.fetch(step)
        context.step = step
        self.set_learning_rates(step)
        logs = self.model.train_step(x, y, context)
        self.seen += x.shape[0]
        if self.ema is not None:
            _ema_update(self.ema, self.model, self.cfg.train.ema_decay, self.ema_updates)
            self.ema_updates += 1
        self.window.append((step, logs))

    def set_learning_rates(self, step: int) -> None:
        """Scale every optimizer's rates by :func:`lr_factor` of ``step`` (a function of the step
        alone, so a resumed run follows the same schedule)."""
        tc = self.cfg.train
        if tc.lr_decay_start >= 1:
            return
        factor = lr_factor(step, tc.steps, tc.lr_decay_start)
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * factor

    def diverged(self, what: str) -> TrainingDiverged:
        path, step = self.last_good
        where = f"; the last good checkpoint is {path} (step {step})" if path else "; no checkpoint was written"
        return TrainingDiverged(f"training diverged: {what}{where}. Try a lower train.lr or train.grad_clip")

    def collect(self) -> None:
        """Check the losses of the window and move them into ``history`` and ``pending``."""
        window, world = self.window, self.world_size
        if not window:
            return
        names = list(window[0][1])
        values = torch.stack([torch.stack([v[k].detach().float() for k in names]) for _, v in window])
        if world > 1:  # log the whole global batch, not this process's share
            dist.all_reduce(values)
            values /= world
        values = values.cpu()
        bad = ~torch.isfinite(values).all(dim=1)
        if bad.any():
            i = int(bad.nonzero()[0])
            which = [n for n, v in zip(names, values[i].tolist()) if not math.isfinite(v)]
            raise self.diverged(f"{', '.join(which)} became {values[i][names.index(which[0])].item()} at step {window[i][0] + 1}")
        rows = [{"step": s + 1, **dict(zip(names, vals))} for (s, _), vals in zip(window, values.tolist())]
        self.history.extend(rows)
        self.pending.extend(rows)
        self.window = []

    def log(self, step_now: int) -> None:
        """Write the log line of ``step_now``: the mean of each loss since the last line."""
        self.collect()
        if not self.pending:
            return
        if self.writer or self.tensorboard is not None:
            names = [k for k in self.pending[0] if k != "step"]
            mean = {k: float(np.mean([r[k] for r in self.pending])) for k in names}
            now = time.time() - self.t0
            line = {"step": step_now, **mean, "images_per_s": round(self.seen * self.world_size / max(now, 1e-9), 1),
                    "time": round(self.elapsed + now, 2)}
            if self.writer:
                append_metrics_line(metrics_path(self.out), line)
            if self.tensorboard is not None:
                rates = {f"lr/{name}": opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}
                self.tensorboard.scalars(step_now, {**{k: v for k, v in line.items() if k not in ("step", "time")},
                                                    **rates})
            if self.bar is not None:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in mean.items()})
        self.pending.clear()

    def save(self, step_now: int) -> None:
        """Write a checkpoint of step ``step_now`` if the weights and optimizer state are finite."""
        self.collect()
        ema = self.ema
        weights = {"model": self.model.state_dict(), "ema": ema.state_dict() if ema is not None else None}
        optimizers = {k: o.state_dict() for k, o in self.optimizers.items()}
        try:
            check_finite_state({"weights": weights, "optimizers": optimizers},
                               f"the weights or optimizer state at step {step_now}")
        except ValueError as exc:
            raise self.diverged(str(exc)) from None
        if self.world_size > 1:
            dist.barrier()
        if not self.writer:
            return
        training = {
            "step": step_now,
            "ema_updates": self.ema_updates,
            "optimizers": optimizers,
            "generator_state": self.generator.get_state().cpu(),
            "world_size": self.world_size,
            "log_pending": [dict(row) for row in self.pending],
            "elapsed": self.elapsed + time.time() - self.t0,
        }
        cfg = self.cfg
        save_checkpoint(self.out, kind=cfg.model.kind, config=cfg.to_dict(), weights=weights,
                        training=training, dataset=self.dataset.describe())
        self.last_good = (self.out, step_now)

    def save_samples(self, step_now: int) -> None:
        if self.writer:
            path = samples_dir(self.out) / f"step_{step_now:08d}.png"
            save_sample_preview(self.ema or self.model, self.dataset, path, self.groups)
            if self.tensorboard is not None and path.is_file():
                with Image.open(path) as picture:
                    self.tensorboard.image(step_now, "samples", np.asarray(picture.convert("RGB")))

    def should_stop(self) -> bool:
        """Ctrl-C was pressed (in any process: every process stops at the same step)."""
        stop = self.stop_requested
        if self.world_size > 1:
            flag = torch.tensor([float(stop)], device=self.device)
            dist.all_reduce(flag)
            stop = bool(flag.item() > 0)
        return stop

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> TrainResult:
        tc, out = self.cfg.train, self.out
        context = TrainStep(self)
        previous_handler = None
        if threading_main():
            def _on_sigint(signum, frame):
                if self.stop_requested:  # second Ctrl-C: stop at once
                    raise KeyboardInterrupt
                self.stop_requested = True

            previous_handler = signal.signal(signal.SIGINT, _on_sigint)
        try:
            for step in self.steps:
                self.step(step, context)
                done = step + 1
                if self.bar is not None:
                    self.bar.update(1)
                stop = self.should_stop()
                # Log lines fall on multiples of log_every (and the last step) only: an interrupted
                # run saves the rows since the last line in its checkpoint, and the resumed run
                # averages them into the next line as the uninterrupted run would.
                if done % tc.log_every == 0:
                    self.log(done)
                if out is not None and tc.checkpoint_every and done % tc.checkpoint_every == 0 and done < tc.steps:
                    self.save(done)
                if tc.sample_every and done % tc.sample_every == 0:
                    self.save_samples(done)
                if stop:
                    self.collect()
                    if out is not None:
                        self.save(done)
                    raise TrainingInterrupted(
                        f"interrupted at step {done}; "
                        + (f"checkpoint saved to {out}; continue with --resume" if out else "nothing was saved (no output path)")
                    )
            done = tc.steps if len(self.steps) else self.start
            if out is not None:
                self.save(done)  # before the last line: a longer resumed run averages these rows into its next one
            self.log(done)
            if out is not None:
                self.save_samples(done)
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
            if self.bar is not None:
                self.bar.close()
            if self.tensorboard is not None:
                self.tensorboard.close()
        final = self.ema if self.ema is not None else self.model
        final.eval()
        return TrainResult(model=final, raw_model=self.model, checkpoint=out, step=done, history=self.history)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
