"""Results of scoring maps between latent spaces: :class:`MapScores`, :class:`MapEvaluation`, :class:`SupportCurve`.

Produced by :mod:`latentlab.analysis.map_evaluation` (where the errors R, L and M are
defined) and drawn by :mod:`latentlab.plots.maps`; plain data with ``to_dict`` and a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MapScores", "MapEvaluation", "SupportCurve"]


@dataclass(frozen=True)
class MapScores:
    """Errors of one map on held-out pairs (see :mod:`latentlab.analysis.map_evaluation`).

    ``latent_mse``: mean over pairs and coordinates of ``(T(z_src) - z_dst)²``;
    ``latent_rel``: ``Σ|T(z_src) - z_dst|² / Σ|z_dst - mean(z_dst)|²``;
    ``image_mse``: per-pixel MSE of ``dst.decode(T(z_src))`` against the images;
    ``image_ssim``: their mean SSIM (NaN when the samples are not images of at least
    11 x 11 pixels).
    """

    latent_mse: float
    latent_rel: float
    image_mse: float
    image_ssim: float

    def to_dict(self) -> dict:
        return {"L_mse": self.latent_mse, "L_rel": self.latent_rel, "M_mse": self.image_mse, "M_ssim": self.image_ssim}


@dataclass
class MapEvaluation:
    """Errors R, L, M of several maps (and baselines) on the same held-out pairs.

    Attributes
    ----------
    scores : dict of str -> MapScores
        One entry per map, the fitted maps first, then the baselines.
    baselines : tuple of str
        Which entries of ``scores`` are baselines.
    recon_mse, recon_ssim : float
        ``R``: the destination's reconstruction error on the held-out images.
    n_test : int
        Number of held-out pairs.
    maps : dict of str -> LatentMap
        The maps that were scored (the fitted ones and the baselines), by name.
    """

    scores: dict
    baselines: tuple = ()
    recon_mse: float = float("nan")
    recon_ssim: float = float("nan")
    n_test: int = 0
    maps: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """Plain numbers: ``{"n_test", "R": {"mse", "ssim"}, "maps": {name: {...}}, "baselines"}``."""
        return {
            "n_test": self.n_test,
            "R": {"mse": self.recon_mse, "ssim": self.recon_ssim},
            "maps": {name: s.to_dict() for name, s in self.scores.items()},
            "baselines": list(self.baselines),
        }

    def table(self) -> str:
        """The errors as a plain-text table (one row per map; baselines marked ``*``)."""
        lines = [
            f"R  destination reconstruction, x vs dst.decode(dst.encode(x)): mse {self.recon_mse:.4f}  "
            f"ssim {_fmt(self.recon_ssim)}",
            f"{'map':<20}{'L mse/dim':>11}{'L rel':>8}{'M mse':>9}{'M ssim':>8}",
        ]
        for name, s in self.scores.items():
            label = name + ("*" if name in self.baselines else "")
            lines.append(f"{label:<20}{s.latent_mse:>11.4f}{s.latent_rel:>8.3f}{s.image_mse:>9.4f}{_fmt(s.image_ssim):>8}")
        lines.append(f"({self.n_test} held-out images; * baseline; L rel = unexplained fraction of the "
                     "destination codes' variance; M = x vs dst.decode(map(src code)))")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


@dataclass
class SupportCurve:
    """Errors on held-out pairs as a function of the support-set size.

    Attributes
    ----------
    sizes : ndarray of shape (K,), int
        Support sizes (nested random subsets of the support set).
    errors : dict of str -> dict of str -> ndarray of shape (K,)
        ``errors[kind][metric]`` with metric in ``latent_mse``, ``latent_rel``,
        ``image_mse``, ``image_ssim``.
    baselines : dict of str -> MapScores
        The baselines, fitted on the whole support set (horizontal lines).
    recon_mse, recon_ssim : float
        ``R`` of the destination on the held-out images.
    n_test : int
    """

    sizes: np.ndarray
    errors: dict
    baselines: dict
    recon_mse: float = float("nan")
    recon_ssim: float = float("nan")
    n_test: int = 0

    def to_dict(self) -> dict:
        return {
            "sizes": self.sizes.tolist(),
            "errors": {k: {m: v.tolist() for m, v in d.items()} for k, d in self.errors.items()},
            "baselines": {k: s.to_dict() for k, s in self.baselines.items()},
            "R": {"mse": self.recon_mse, "ssim": self.recon_ssim},
            "n_test": self.n_test,
        }


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3f}"
