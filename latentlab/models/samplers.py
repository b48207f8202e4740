"""Samplers for diffusion models, kept apart from the network (as in diffusers).

A scheduler holds no weights: it is built from the model's table of noise levels
(log-SNR, index 0 the least noisy; see :mod:`latentlab.models.schedules`), chooses the
timesteps to visit, and turns one network output into the next, less noisy sample::

    scheduler = DDIMScheduler(model.log_snr, eta=0.0)
    scheduler.set_timesteps(50)
    for t in scheduler.timesteps:
        x = scheduler.step(denoiser(x, scheduler.level(t, x)), t, x).prev_sample

which is :func:`sample_loop`. ``denoiser(x, log_snr)`` is any callable mapping a noisy
batch and its levels ``(N,)`` to the network's output (eps, v or x0: the scheduler's
``prediction``).

* :class:`DDPMScheduler` — ancestral sampling (Ho et al. 2020): x_{t-1} drawn from the
  Gaussian posterior q(x_{t-1} | x_t, x̂0), over all T steps by default.
* :class:`DDIMScheduler` — Song et al. (2021), any number of steps; ``eta = 0`` is the
  deterministic ODE-like sampler, ``eta = 1`` matches DDPM's posterior noise. Timesteps
  are spaced "trailing" (Lin et al. 2024): the first step starts at t = T - 1, the
  noisiest level, so x_T really is pure noise.

:func:`ddim_invert` runs the deterministic DDIM update backwards (towards more noise),
mapping an image to the starting noise from which DDIM regenerates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from latentlab._progress import progress_bar
from latentlab._validation import check_float, check_int
from latentlab.models.schedules import PREDICTIONS, scales, split_prediction

__all__ = ["SchedulerOutput", "DDPMScheduler", "DDIMScheduler", "sample_loop", "ddim_invert", "trailing_timesteps"]

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class SchedulerOutput:
    """One scheduler step: the next sample and the clean image predicted on the way."""

    prev_sample: torch.Tensor
    pred_x0: torch.Tensor


def trailing_timesteps(num_train_timesteps: int, steps: int) -> torch.Tensor:
    """``steps`` indices into ``T = num_train_timesteps`` levels, descending, the first T - 1.

    Evenly spaced from the noisy end: ``round(k T / steps) - 1`` for k = steps, ..., 1
    (all T levels when ``steps == T``).
    """
    steps = check_int(steps, "steps", min=1, max=num_train_timesteps)
    k = torch.arange(steps, 0, -1, dtype=torch.float64)
    return (k * num_train_timesteps / steps).round().long() - 1


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    # scheduler arithmetic runs in float32 at least (the network may return bf16), in
    # float64 when the samples are float64
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _noise_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    # drawn on the generator's device, so a CPU generator gives the same noise whatever
    # device the model is on
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


class _Scheduler:
    """What both schedulers share: the level table, the timesteps and the x̂0/ε̂ split."""

    def __init__(self, log_snr: torch.Tensor, prediction: str = "eps", clip_sample: bool = False, *,
                 final_log_snr: float = float("inf"), clip_rederives_eps: bool = True):
        log_snr = torch.as_tensor(log_snr)
        if log_snr.ndim != 1 or len(log_snr) < 2:
            raise ValueError(f"log_snr must be a 1-D table of at least 2 levels, not shape {tuple(log_snr.shape)}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction target {prediction!r}; choose one of: {', '.join(PREDICTIONS)}")
        self.log_snr = log_snr
        self.prediction = prediction
        self.clip_sample = clip_sample
        self.num_train_timesteps = len(log_snr)
        self.final_log_snr = torch.tensor(float(final_log_snr), dtype=log_snr.dtype)
        self.clip_rederives_eps = clip_rederives_eps
        self.timesteps = torch.arange(self.num_train_timesteps - 1, -1, -1)
        self._previous = None

    def set_timesteps(self, steps: int | None = None, *, timesteps=None, previous=None) -> None:
        """Visit ``steps`` levels (all T when ``None``), trailing spacing; each step goes to the
        next level visited, the last one to ``final_log_snr``.

        Or visit the given ``timesteps`` (descending indices into the table), each step going to
        the level ``previous[i]`` (an index, or a negative number for ``final_log_snr``): the
        rule of another library's schedule (see :mod:`latentlab.adapters.diffusers`).
        """
        if timesteps is None:
            self.timesteps = trailing_timesteps(self.num_train_timesteps,
                                                self.num_train_timesteps if steps is None else steps)
            self._previous = None
            return
        timesteps, previous = torch.as_tensor(timesteps).long(), torch.as_tensor(previous).long()
        if timesteps.ndim != 1 or previous.shape != timesteps.shape:
            raise ValueError("timesteps and previous must be 1-D and of the same length")
        if len(timesteps) == 0 or timesteps.min() < 0 or timesteps.max() >= self.num_train_timesteps \
                or previous.max() >= self.num_train_timesteps:
            raise ValueError(f"timesteps and previous must index the {self.num_train_timesteps} levels")
        self.timesteps, self._previous = timesteps, previous

    def level(self, t, x: torch.Tensor) -> torch.Tensor:
        """log-SNR of timestep ``t`` for each of the ``len(x)`` samples: ``(N,)``."""
        return self.log_snr[int(t)].to(x.device, _work_dtype(x)).expand(x.shape[0])

    def previous_level(self, t) -> torch.Tensor:
        """log-SNR of the timestep after ``t`` (towards clean); +inf after the last one."""
        idx = (self.timesteps == int(t)).nonzero()
        if len(idx) == 0:
            raise ValueError(f"timestep {int(t)} is not one of this scheduler's timesteps; call set_timesteps first")
        i = int(idx[0])
        if self._previous is not None:
            prev = int(self._previous[i])
        else:
            prev = int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else -1
        return self.log_snr[prev] if prev >= 0 else self.final_log_snr

    def split(self, model_output: torch.Tensor, t, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x̂0, ε̂)`` from the network output at ``x`` (x̂0 clipped to [-1, 1] if asked)."""
        lam = self.level(t, x)
        dt = _work_dtype(x)
        x0, eps = split_prediction(self.prediction, model_output.to(dt), x.to(dt), lam)
        if self.clip_sample:
            x0 = x0.clamp(-1, 1)
            if self.clip_rederives_eps:
                # ε̂ from the clipped x̂0, so the update stays on the line through x_t (diffusers'
                # DDIM pipeline keeps the network's ε̂ instead: clip_rederives_eps=False)
                a, s = scales(lam, x.ndim)
                eps = (x.to(dt) - a * x0) / s
        return x0, eps

    def _coefficients(self, t, x):
        a_t, s_t = scales(self.level(t, x), x.ndim)
        a_p, s_p = scales(self.previous_level(t).to(x.device, _work_dtype(x)).expand(x.shape[0]), x.ndim)
        return a_t, s_t, a_p, s_p

    @staticmethod
    def _posterior_var(a_t, s_t, a_p, s_p) -> torch.Tensor:
        # β̃ = (1 - ᾱ_prev)/(1 - ᾱ_t) · (1 - ᾱ_t/ᾱ_prev): the variance of q(x_prev | x_t, x0)
        return (s_p**2 / s_t**2) * (1 - (a_t / a_p) ** 2)


class DDPMScheduler(_Scheduler):
    """Ancestral sampling: x_prev ~ q(x_prev | x_t, x̂0), T steps by default.

    Parameters
    ----------
    log_snr : Tensor ``(T,)``
        The model's noise levels (index 0 the least noisy).
    prediction : {"eps", "v", "x0"}
        What the network outputs.
    clip_sample : bool
        Clip x̂0 to [-1, 1] at every step (on by default, as in DDPM).
    final_log_snr : float, keyword-only
        The level the last step lands on: +inf (ᾱ = 1, a clean image) by default.
    clip_rederives_eps : bool, keyword-only
        With ``clip_sample``, re-derive ε̂ from the clipped x̂0 (the default) or keep the
        network's ε̂ (what diffusers' pipelines do).
    variance : {"small", "large"}
        σ² = β̃ (the posterior variance) or β (Ho et al.'s two choices).
    """

    def __init__(self, log_snr, prediction: str = "eps", clip_sample: bool = True, variance: str = "small", **schedule):
        super().__init__(log_snr, prediction, clip_sample, **schedule)
        if variance not in ("small", "large"):
            raise ValueError(f"variance must be 'small' or 'large', not {variance!r}")
        self.variance = variance

    def step(self, model_output: torch.Tensor, t, x: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        x0, eps = self.split(model_output, t, x)
        a_t, s_t, a_p, s_p = self._coefficients(t, x)
        var = self._posterior_var(a_t, s_t, a_p, s_p)
        mean = a_p * x0 + (s_p**2 - var).clamp(min=0).sqrt() * eps
        if self.variance == "large":
            var = 1 - (a_t / a_p) ** 2
        last = int(t) == int(self.timesteps[-1])
        prev = mean if last else mean + var.sqrt() * _noise_like(mean, generator)
        return SchedulerOutput(prev.to(x.dtype), x0)


class DDIMScheduler(_Scheduler):
    """DDIM (Song et al. 2021) with any number of steps.

    Parameters
    ----------
    log_snr : Tensor ``(T,)``
        The model's noise levels (index 0 the least noisy).
    prediction : {"eps", "v", "x0"}
        What the network outputs.
    eta : float
        0 gives the deterministic sampler; 1 adds DDPM's posterior noise; in between
        interpolates (σ = η · sqrt(β̃)).
    clip_sample : bool
        Clip x̂0 to [-1, 1] at every step (off by default: clipping makes the map from
        noise to image non-invertible).
    final_log_snr : float, keyword-only
        The level the last step lands on: +inf (ᾱ = 1, a clean image) by default.
    clip_rederives_eps : bool, keyword-only
        With ``clip_sample``, re-derive ε̂ from the clipped x̂0 (the default) or keep the
        network's ε̂ (what diffusers' pipelines do).
    """

    def __init__(self, log_snr, prediction: str = "eps", eta: float = 0.0, clip_sample: bool = False, **schedule):
        super().__init__(log_snr, prediction, clip_sample, **schedule)
        self.eta = check_float(eta, "eta", min=0)

    def step(self, model_output: torch.Tensor, t, x: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        x0, eps = self.split(model_output, t, x)
        a_t, s_t, a_p, s_p = self._coefficients(t, x)
        prev = a_p * x0
        if self.eta > 0:
            var = self.eta**2 * self._posterior_var(a_t, s_t, a_p, s_p)
            prev = prev + (s_p**2 - var).clamp(min=0).sqrt() * eps + var.sqrt() * _noise_like(x0, generator)
        else:
            prev = prev + s_p * eps
        return SchedulerOutput(prev.to(x.dtype), x0)

    def invert_step(self, model_output: torch.Tensor, t, x: torch.Tensor,
                    evaluated_at: torch.Tensor | None = None) -> SchedulerOutput:
        """Move ``x`` from the level after ``t`` (towards clean) up to level ``t``.

        ``model_output`` is the network evaluated at level ``t`` on ``evaluated_at``
        (default ``x``); when ``evaluated_at`` is the result itself this is the exact
        inverse of :meth:`step` with η = 0.
        """
        at = x if evaluated_at is None else evaluated_at
        dt = _work_dtype(x)
        eps = split_prediction(self.prediction, model_output.to(dt), at.to(dt), self.level(t, x))[1]
        a_t, s_t, a_p, s_p = self._coefficients(t, x)
        x0 = (x.to(dt) - s_p * eps) / a_p
        return SchedulerOutput((a_t * x0 + s_t * eps).to(x.dtype), x0)


def sample_loop(denoiser: Denoiser, scheduler: _Scheduler, x: torch.Tensor,
                generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:
    """Run ``scheduler`` from the noise ``x`` ``(N, C, H, W)`` at its first timestep to a clean batch.

    ``progress`` shows a bar over the timesteps.
    """

    name = type(scheduler).__name__.removesuffix("Scheduler")
    for t in progress_bar(scheduler.timesteps, enabled=progress, desc=f"{name} sampling", unit="step"):
        x = scheduler.step(denoiser(x, scheduler.level(t, x)), t, x, generator=generator).prev_sample
    return x


def ddim_invert(denoiser: Denoiser, scheduler: DDIMScheduler, x0: torch.Tensor, fixed_point_iters: int = 0,
                progress: bool = False) -> torch.Tensor:
    """DDIM inversion: the noise ``x_T`` from which deterministic DDIM regenerates ``x0``.

    Walks ``scheduler.timesteps`` from the least to the most noisy, each time applying
    the η = 0 update in reverse. The network output belongs at the *destination* level;
    it is evaluated at the current sample (the usual approximation), then refined with
    ``fixed_point_iters`` fixed-point iterations x ← step⁻¹(ε̂(x)) that make each step
    the exact inverse of the corresponding sampling step when they converge.
    ``progress`` shows a bar over the timesteps.

    Returns a tensor shaped like ``x0``.
    """

    check_int(fixed_point_iters, "fixed_point_iters", min=0)
    x = x0
    for t in progress_bar(scheduler.timesteps.flip(0), enabled=progress, desc="DDIM inversion", unit="step"):
        lam = scheduler.level(t, x)
        guess = x
        for _ in range(1 + fixed_point_iters):
            guess = scheduler.invert_step(denoiser(guess, lam), t, x, evaluated_at=guess).prev_sample
        x = guess
    return x
