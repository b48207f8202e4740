"""Noise schedules and prediction targets of Gaussian diffusion, as pure functions.

The forward process mixes an image ``x0`` in ``[-1, 1]`` with noise ``eps ~ N(0, I)``::

    x_t = a_t * x0 + s_t * eps,     a_t = sqrt(alpha_bar_t),  s_t = sqrt(1 - alpha_bar_t)

where ``alpha_bar_t`` (ᾱ_t, the *signal rate*) falls from nearly 1 to nearly 0. Every
function here describes a noise level by its log signal-to-noise ratio

    log_snr = log(alpha_bar / (1 - alpha_bar))     (so alpha_bar = sigmoid(log_snr)),

which carries the same information as ᾱ but keeps full float32 precision at both ends
(ᾱ close to 1 and close to 0), and serves discrete and continuous schedules alike.

Schedules, chosen by name (:data:`SCHEDULES`):

``linear``             DDPM (Ho et al. 2020): β rising linearly from 1e-4 to 0.02 over
                       T = 1000 steps (both scaled by 1000 / T for other T).
``cosine``             Nichol & Dhariwal (2021): ᾱ(t) ∝ cos²(π/2 · (t/T + s)/(1 + s)),
                       s = 0.008, with each β clipped at 0.999.
``cosine-continuous``  continuous time u ∈ [0, 1]: the cosine schedule without offset,
                       log_snr(u) = -2 log tan(π u / 2), with u rescaled so that log_snr
                       runs from +15 (u = 0) to -15 (u = 1).
``logsnr-linear``      continuous time u ∈ [0, 1]: log_snr falls linearly from +10 to -10.

Discrete schedules are tables of T levels (index 0 the least noisy). A continuous
schedule is trained at levels drawn from u ~ U(0, 1) and sampled on the grid
u = 1/T, 2/T, ..., 1, which is its table.

Prediction targets (:data:`PREDICTIONS`): ``eps`` (the noise), ``x0`` (the clean image)
and ``v = a_t * eps - s_t * x0`` (Salimans & Ho 2022). :func:`split_prediction`
turns any of them back into the pair ``(x0, eps)`` given ``x_t``.

Loss weighting: :func:`min_snr_weight` (Min-SNR-γ, Hang et al. 2023) weights each
level's squared error so that, whatever the target, the loss is
``min(SNR, γ) · |x̂0 - x0|²``: levels above SNR γ (nearly clean images, easy to denoise)
stop dominating, which speeds training up.
"""

from __future__ import annotations

import math

import torch

from latentlab._validation import check_float, check_int

__all__ = [
    "SCHEDULES", "DISCRETE_SCHEDULES", "CONTINUOUS_SCHEDULES", "PREDICTIONS",
    "check_schedule", "is_continuous", "log_snr_table", "continuous_log_snr",
    "linear_alpha_bars", "cosine_alpha_bars", "cosine_log_snr", "linear_log_snr",
    "alpha_bar", "scales", "add_noise", "prediction_target", "split_prediction", "min_snr_weight",
]

DISCRETE_SCHEDULES = ("linear", "cosine")
CONTINUOUS_SCHEDULES = ("cosine-continuous", "logsnr-linear")
SCHEDULES = DISCRETE_SCHEDULES + CONTINUOUS_SCHEDULES
PREDICTIONS = ("eps", "v", "x0")


# --------------------------------------------------------------------------------------
# schedules
# --------------------------------------------------------------------------------------
def check_schedule(name: str) -> str:
    """Return ``name`` if it is a known schedule, else raise ``ValueError`` listing them."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown noise schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    return name


def is_continuous(name: str) -> bool:
    """Whether schedule ``name`` is defined for continuous time u ∈ [0, 1]."""
    return check_schedule(name) in CONTINUOUS_SCHEDULES


def linear_alpha_bars(timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """ᾱ_t = ∏(1 - β_s) for β linear from ``beta_start`` to ``beta_end`` (at T = 1000).

    For other T both ends are scaled by ``1000 / T`` so the total amount of noise stays
    comparable. Returns float64 ``(T,)``, decreasing.
    """
    scale = 1000.0 / timesteps
    betas = torch.linspace(beta_start * scale, beta_end * scale, timesteps, dtype=torch.float64)
    return torch.cumprod(1.0 - betas.clamp(max=0.999), dim=0)


def cosine_alpha_bars(timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine schedule of Nichol & Dhariwal (2021): float64 ``(T,)``, decreasing.

    β_t = min(1 - f((t+1)/T) / f(t/T), ``max_beta``) with f(τ) = cos²(π/2 · (τ + s)/(1 + s));
    the clipping keeps the last steps from being singular.
    """
    tau = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1.0 - f[1:] / f[:-1]).clamp(max=max_beta)
    return torch.cumprod(1.0 - betas, dim=0)


def cosine_log_snr(u: torch.Tensor, log_snr_min: float = -15.0, log_snr_max: float = 15.0) -> torch.Tensor:
    """Continuous cosine schedule: log_snr(u) = -2 log tan(π τ / 2), τ an affine map of u.

    τ is chosen so that u = 0 gives ``log_snr_max`` and u = 1 gives ``log_snr_min``.
    """
    t_min = math.atan(math.exp(-0.5 * log_snr_max))
    t_max = math.atan(math.exp(-0.5 * log_snr_min))
    return -2.0 * torch.log(torch.tan(t_min + u * (t_max - t_min)))


def linear_log_snr(u: torch.Tensor, log_snr_min: float = -10.0, log_snr_max: float = 10.0) -> torch.Tensor:
    """Continuous schedule with log_snr falling linearly from ``log_snr_max`` (u = 0) to ``log_snr_min``."""
    return log_snr_max + u * (log_snr_min - log_snr_max)


_CONTINUOUS = {"cosine-continuous": cosine_log_snr, "logsnr-linear": linear_log_snr}
_DISCRETE = {"linear": linear_alpha_bars, "cosine": cosine_alpha_bars}


def continuous_log_snr(name: str, u: torch.Tensor) -> torch.Tensor:
    """log-SNR of continuous schedule ``name`` at times ``u`` (any shape, values in [0, 1])."""
    if not is_continuous(name):
        raise ValueError(f"schedule {name!r} is discrete; continuous schedules: {', '.join(CONTINUOUS_SCHEDULES)}")
    return _CONTINUOUS[name](u)


def log_snr_table(name: str, timesteps: int) -> torch.Tensor:
    """The ``timesteps`` noise levels of schedule ``name`` as log-SNR, float64 ``(T,)``, decreasing.

    Index 0 is the least noisy level. Continuous schedules are evaluated at u = (i + 1) / T.
    """
    check_schedule(name)
    timesteps = check_int(timesteps, "timesteps", min=2)
    if name in _CONTINUOUS:
        u = torch.arange(1, timesteps + 1, dtype=torch.float64) / timesteps
        return _CONTINUOUS[name](u)
    ab = _DISCRETE[name](timesteps)
    return torch.log(ab) - torch.log1p(-ab)


# --------------------------------------------------------------------------------------
# the forward process and prediction targets
# --------------------------------------------------------------------------------------
def alpha_bar(log_snr: torch.Tensor) -> torch.Tensor:
    """Signal rate ᾱ = sigmoid(log_snr)."""
    return torch.sigmoid(log_snr)


def scales(log_snr: torch.Tensor, ndim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales ``(a, s) = (sqrt(ᾱ), sqrt(1 - ᾱ))`` of levels ``(N,)``.

    Shaped ``(N, 1, ..., 1)`` with ``ndim`` dimensions in all, to broadcast against a batch.
    ``log_snr = +inf`` gives the clean level (a = 1, s = 0).
    """
    log_snr = torch.as_tensor(log_snr)
    shape = log_snr.shape + (1,) * (ndim - log_snr.ndim)
    return torch.sigmoid(log_snr).sqrt().reshape(shape), torch.sigmoid(-log_snr).sqrt().reshape(shape)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
    """``x_t = a x0 + s eps`` for a batch ``(N, ...)`` at levels ``(N,)``."""
    a, s = scales(log_snr.to(x0.dtype), x0.ndim)
    return a * x0 + s * noise


def _check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction target {prediction!r}; choose one of: {', '.join(PREDICTIONS)}")


def prediction_target(prediction: str, x0: torch.Tensor, noise: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
    """What the network learns to output: ``eps``, ``x0`` or ``v = a eps - s x0``."""
    _check_prediction(prediction)
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    a, s = scales(log_snr.to(x0.dtype), x0.ndim)
    return a * noise - s * x0


def split_prediction(prediction: str, output: torch.Tensor, x_t: torch.Tensor,
                     log_snr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(x0, eps)`` implied by a network ``output`` at ``x_t`` and levels ``(N,)``.

    Uses ``x_t = a x0 + s eps`` (and ``a² + s² = 1`` for ``v``): from eps,
    ``x0 = (x_t - s eps) / a``; from x0, ``eps = (x_t - a x0) / s``; from v,
    ``x0 = a x_t - s v`` and ``eps = s x_t + a v``.
    """
    _check_prediction(prediction)
    a, s = scales(log_snr.to(x_t.dtype), x_t.ndim)
    if prediction == "eps":
        return (x_t - s * output) / a, output
    if prediction == "x0":
        return output, (x_t - a * output) / s
    return a * x_t - s * output, s * x_t + a * output


def min_snr_weight(prediction: str, log_snr: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-γ weights ``(N,)`` of the squared errors of ``prediction`` at levels ``(N,)``.

    The error of each target is a multiple of the error of the implied x̂0:
    ``|eps err|² = SNR |x0 err|²`` and ``|v err|² = (1 + SNR) |x0 err|²``. The weights,
    ``min(SNR, γ) / SNR`` (eps), ``min(SNR, γ)`` (x0) and ``min(SNR, γ) / (1 + SNR)`` (v),
    make every target's weighted loss ``min(SNR, γ) |x̂0 - x0|²`` (Hang et al. 2023, who
    use γ = 5). Computed from ``log_snr`` so that no weight overflows.
    """
    _check_prediction(prediction)
    check_float(gamma, "the Min-SNR gamma", min=0, min_open=True)
    log_snr = torch.as_tensor(log_snr).float()
    if prediction == "eps":  # min(1, γ / SNR)
        return (gamma * torch.exp(-log_snr)).clamp(max=1.0)
    if prediction == "x0":  # min(SNR, γ)
        return torch.exp(log_snr).clamp(max=gamma)
    # v: min(SNR, γ) / (1 + SNR) = min(ᾱ, γ (1 - ᾱ))
    return torch.minimum(torch.sigmoid(log_snr), gamma * torch.sigmoid(-log_snr))
