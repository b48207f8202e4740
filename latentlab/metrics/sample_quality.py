"""Sample quality in a feature space: FID, KID, precision/recall, density/coverage.

All metrics compare a set of real features ``(N, F)`` with a set of generated features
``(M, F)`` (see :mod:`latentlab.metrics.features` for where features come from):

* **FID** (Heusel et al. 2017) — the Fréchet distance between Gaussians fitted to the
  two sets: ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})``, in squared feature
  units. 0 for identical moments. Its estimate is biased upwards at small sample
  sizes, and the covariances are singular with fewer samples than features.
* **KID** (Bińkowski et al. 2018) — the unbiased estimate of the squared MMD with the
  cubic polynomial kernel ``k(x, y) = (x.y / F + 1)^3``, averaged over random subsets
  (mean and standard deviation over subsets). Unbiased: about 0 (possibly slightly
  negative) for identical distributions, at any sample size.
* **precision / recall** (Kynkäänniemi et al. 2019, k = 3) — the real manifold is the
  union of open balls around each real feature with radius the distance to its k-th
  nearest other real feature; precision is the share of generated samples inside it. Recall is the
  same with the roles swapped: real samples inside the generated manifold.
* **density / coverage** (Naeem et al. 2020, k = 5) — density counts, for each
  generated sample, how many real balls contain it, divided by ``k M`` (about 1 for
  identical distributions, can exceed 1); coverage is the share of real balls that
  contain at least one generated sample. Both use only the real manifold, so a few
  generated outliers do not inflate them.

For two samples of one distribution precision, recall and coverage are below 1: with k
neighbours a fresh point falls inside the k-NN balls with a probability that grows with
k and shrinks with dimension (coverage is ``1 - (1/2)^k`` in the limit of large samples,
0.97 for k = 5).

Balls are open, as in the reference implementation prdc (Naeem et al. 2020, which
counts ``distance < radius``): a point exactly on a ball's boundary is outside. So when
the generated set is a copy of the real one (a memorising generator) each real ball
holds exactly k generated points (its centre and its k - 1 nearer neighbours, not the
k-th on the boundary): density is exactly 1 and precision, recall and coverage are 1
(closed balls would give density (k + 1) / k). A real point duplicated k or more times
has radius 0 and an empty ball.

The k-NN candidates come from latentlab's exact neighbour engine
(:func:`latentlab.id.kneighbors`); radii and real-fake distances that are near a tie
are computed with one formula (float64 coordinate differences), so ties are decided
exactly and the same way on both sides. Ball membership is counted blockwise from
float64 distance tiles, so memory stays bounded for any sample size.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch

from latentlab import data as data_mod
from latentlab._progress import batch_starts
from latentlab._validation import check_int
from latentlab.data.stats import random_subset
from latentlab.id import kneighbors
from latentlab.metrics.features import domain_feature_network, extract_features

__all__ = [
    "SampleQuality",
    "SampleSizeWarning",
    "precision_recall",
    "density_coverage",
    "frechet_distance",
    "gaussian_frechet_distance",
    "kernel_distance",
    "sample_quality",
    "draw_samples",
    "real_samples",
    "resolve_dataset",
    "check_same_shape",
    "classifier_data",
    "evaluate_samples",
    "MIN_KNN_SAMPLES",
]

#: Below this many samples per set the k-NN metrics warn: their manifolds are too coarse
#: (the papers use 10,000 to 50,000).
MIN_KNN_SAMPLES = 500

_TILE_BYTES = 64 * 2**20  # one float64 distance tile (fake rows x all real)


class SampleSizeWarning(UserWarning):
    """Too few samples for a metric to mean much (it is computed all the same)."""


@dataclass(frozen=True)
class SampleQuality:
    """Sample-quality scores of one set of generated samples against real ones.

    Attributes
    ----------
    fid : float
        Fréchet distance in the feature space (squared feature units; FID-domain when the
        features come from the dataset's classifier).
    kid, kid_std : float
        KID (unbiased MMD², cubic kernel): mean and standard deviation over subsets.
    precision, recall : float
        k-NN precision and recall (k = 3), in ``[0, 1]``.
    density : float
        k-NN density (k = 5), ``>= 0`` (about 1 when generated matches real).
    coverage : float
        k-NN coverage (k = 5), in ``[0, 1]``.
    n_real, n_fake : int
        Samples in each set.
    feature_dim : int
        Number of features ``F``.
    """

    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    n_real: int
    n_fake: int
    feature_dim: int

    def to_dict(self) -> dict:
        return asdict(self)


# -- input checks --------------------------------------------------------------------------


def _features(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of features of shape (N, F), not {type(x).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, F) (one feature vector per sample); got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    real, fake = _features(real, "real"), _features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features have different widths: real {real.shape}, fake {fake.shape}")
    return real, fake


def _check_k(k, real: np.ndarray, fake: np.ndarray, what: str) -> int:
    k = check_int(k, "k", min=1)
    small = min(len(real), len(fake))
    if small < k + 1:
        raise ValueError(f"{what} with k = {k} needs at least k + 1 = {k + 1} samples in each set; "
                         f"got {len(real)} real and {len(fake)} fake")
    if small < MIN_KNN_SAMPLES:
        warnings.warn(f"{what} from {len(real)} real and {len(fake)} fake samples: below {MIN_KNN_SAMPLES} the k-NN "
                      "manifolds are coarse and the scores noisy (the papers use 10,000 or more)",
                      SampleSizeWarning, stacklevel=3)
    return k


# -- k-NN manifolds --------------------------------------------------------------------

# Rows of coordinate differences per chunk when distances are recomputed exactly (8 MiB).
_EXACT_CHUNK_BYTES = 8 * 2**20


def _pair_sq_dist(a: np.ndarray, ia: np.ndarray, b: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Squared distances between the paired rows ``a[ia[p]]`` and ``b[ib[p]]``, shape ``(P,)``,
    from coordinate differences in float64: no cancellation, and the same number for the
    same pair of points wherever they come from (``a - b`` and ``b - a`` square alike).
    The one formula behind every ball radius and every near-tie decision, so a generated
    point that equals a real one ties with it exactly. Rows are gathered a chunk at a
    time, so memory stays bounded for any number of pairs."""
    out = np.empty(len(ia), dtype=np.float64)
    rows = max(1, _EXACT_CHUNK_BYTES // (8 * max(1, a.shape[1])))
    for s in range(0, len(ia), rows):
        diff = a[ia[s : s + rows]] - b[ib[s : s + rows]]
        diff *= diff
        out[s : s + rows] = diff.sum(axis=1)
    return out


def _knn_sq_radii(x: np.ndarray, ks) -> list[np.ndarray]:
    """Squared distance of each point to its k-th nearest other point, one ``(N,)`` array
    per k, from :func:`_pair_sq_dist`.

    :func:`latentlab.id.kneighbors` finds the candidates (two spare ones guard against
    its float rounding ordering near-equal neighbours differently); their distances are
    recomputed with :func:`_pair_sq_dist` and sorted. A point duplicated ``k`` or more
    times has radius 0.
    """

    n_cand = min(len(x) - 1, max(ks) + 2)
    idx = kneighbors(x, n_cand)[1]
    sq = _pair_sq_dist(x, np.repeat(np.arange(len(x)), n_cand), x, idx.ravel()).reshape(len(x), n_cand)
    sq.sort(axis=1)
    return [sq[:, k - 1].copy() for k in ks]


def _manifold_scores(real: np.ndarray, fake: np.ndarray, k_precision: int | None, k_density: int | None) -> dict:
    """Precision/recall (k-NN balls of ``k_precision``) and density/coverage (of
    ``k_density``) from one pass over the real-fake distance matrix.

    Balls are open, as in prdc (Naeem et al. 2020): a point counts as inside when its
    distance is strictly less than the radius. Squared distances come from the expanded
    form ``|f|^2 - 2 f.r + |r|^2`` in float64 after centring, one tile of fake rows
    against all real samples at a time; every pair whose expanded distance lies within
    its rounding-error bound of a radius it is compared with is recomputed with
    :func:`_pair_sq_dist`, the formula of the radii, so ties (generated points equal to
    real ones) are decided exactly and consistently.
    """
    ks = [k for k in (k_precision, k_density) if k]
    real_balls = dict(zip(ks, (torch.from_numpy(b) for b in _knn_sq_radii(real, ks))))
    shift = real.mean(axis=0)
    r = torch.from_numpy(real - shift)
    f_all = torch.from_numpy(fake - shift)
    r_sq = (r * r).sum(1)
    f_sq_all = (f_all * f_all).sum(1)
    # |expanded - exact| <= (4F + 10) u (|f|^2 + |r|^2) for centred f, r (u = 2^-53, the
    # centring's rounding included); the bound below is four times that and per row
    slack = 8.0 * (real.shape[1] + 4) * float(np.finfo(np.float64).eps)
    r_sq_max = float(r_sq.max())
    rows = max(1, min(len(fake), _TILE_BYTES // (8 * len(real))))
    out: dict = {}
    with torch.inference_mode():
        if k_precision:
            ball_p = real_balls[k_precision].unsqueeze(0)
            ball_fake = torch.from_numpy(_knn_sq_radii(fake, [k_precision])[0])
            in_real = torch.zeros(len(fake), dtype=torch.bool)
            in_fake = torch.zeros(len(real), dtype=torch.bool)
        if k_density:
            ball_d = real_balls[k_density].unsqueeze(0)
            count = 0
            covered = torch.zeros(len(real), dtype=torch.bool)
        buf = torch.empty(rows, len(real), dtype=torch.float64)  # work space, reused by every tile
        near_buf, near_one_buf = (torch.empty(rows, len(real), dtype=torch.bool) for _ in range(2))
        for s in range(0, len(fake), rows):
            f = f_all[s : s + rows]
            d_sq = torch.addmm(r_sq.unsqueeze(0), f, r.T, alpha=-2.0)
            d_sq += f_sq_all[s : s + rows].unsqueeze(1)
            tol = slack * (f_sq_all[s : s + rows] + r_sq_max).unsqueeze(1)
            balls = []  # squared radii, broadcast along the tile's rows (real balls) or columns (fake balls)
            if k_precision:
                balls += [ball_p, ball_fake[s : s + len(f)].unsqueeze(1)]
            if k_density:
                balls.append(ball_d)
            gap, near, near_one = buf[: len(f)], near_buf[: len(f)], near_one_buf[: len(f)]
            near.zero_()
            for ball in balls:
                torch.le(torch.sub(d_sq, ball, out=gap).abs_(), tol, out=near_one)
                near |= near_one
            fi, ri = near.nonzero(as_tuple=True)
            if len(fi):
                d_sq[fi, ri] = torch.from_numpy(_pair_sq_dist(fake, fi.numpy() + s, real, ri.numpy()))
            if k_precision:
                in_real[s : s + len(f)] = (d_sq < ball_p).any(1)
                in_fake |= (d_sq < ball_fake[s : s + len(f)].unsqueeze(1)).any(0)
            if k_density:
                inside = d_sq < ball_d
                count += int(inside.sum())
                covered |= inside.any(0)
    if k_precision:
        out["precision"], out["recall"] = float(in_real.double().mean()), float(in_fake.double().mean())
    if k_density:
        out["density"], out["coverage"] = count / (k_density * len(fake)), float(covered.double().mean())
    return out


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of ``fake`` against ``real``.

    Parameters
    ----------
    real : array, shape (N, F)
        Features of real samples.
    fake : array, shape (M, F)
        Features of generated samples.
    k : int
        Neighbour whose distance is each ball's radius (3 in the paper).

    Returns
    -------
    precision : float
        Share of fake samples within the k-NN balls of the real ones, in ``[0, 1]``.
    recall : float
        Share of real samples within the k-NN balls of the fake ones, in ``[0, 1]``.

    Notes
    -----
    The balls are open (a point at exactly the radius is outside), as in prdc; radii
    are distances to the k-th nearest *other* point of the same set. Identical sets
    score ``(1.0, 1.0)``.
    """
    real, fake = _pair(real, fake)
    k = _check_k(k, real, fake, "precision/recall")
    scores = _manifold_scores(real, fake, k, None)
    return scores["precision"], scores["recall"]


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of ``fake`` against ``real``.

    Parameters
    ----------
    real : array, shape (N, F)
    fake : array, shape (M, F)
    k : int
        Neighbour whose distance is each real ball's radius (5 in the paper).

    Returns
    -------
    density : float
        ``sum_j #{real balls holding fake_j} / (k M)``; ``>= 0``, about 1 when fake and
        real come from one distribution.
    coverage : float
        Share of real balls holding at least one fake sample, in ``[0, 1]``.

    Notes
    -----
    The balls are open (``distance < radius``, a point on the boundary is outside), as
    in prdc. A fake set that copies the real one scores density exactly 1.0 and coverage
    1.0: each real ball holds its own centre and its k - 1 nearer neighbours, while the
    k-th lies on the boundary (closed balls would count it and give ``(k + 1) / k``).
    """
    real, fake = _pair(real, fake)
    k = _check_k(k, real, fake, "density/coverage")
    scores = _manifold_scores(real, fake, None, k)
    return scores["density"], scores["coverage"]


# -- Fréchet distance ------------------------------------------------------------------


def _sym_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def gaussian_frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Fréchet (2-Wasserstein squared) distance between two Gaussians.

    ``|mu1 - mu2|^2 + Tr(cov1 + cov2 - 2 (cov1 cov2)^{1/2})`` with
    ``Tr (cov1 cov2)^{1/2} = sum sqrt(eig(A cov2 A))``, ``A = cov1^{1/2}``: symmetric
    eigendecompositions only, so no complex parts and no failure for singular
    covariances (negative rounding-error eigenvalues are clipped to 0).

    Parameters
    ----------
    mu1, mu2 : array, shape (F,)
    cov1, cov2 : array, shape (F, F)
        Symmetric positive semi-definite.

    Returns
    -------
    float
        ``>= 0``, in squared units of the means.
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, dtype=np.float64)), np.atleast_2d(np.asarray(cov2, dtype=np.float64))
    f = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu1.shape != (f,) or mu2.shape != (f,) or cov1.shape != (f, f) or cov2.shape != (f, f):
        raise ValueError(f"need means of shape (F,) and covariances (F, F); got {mu1.shape}, {cov1.shape}, "
                         f"{mu2.shape}, {cov2.shape}")
    a = _sym_sqrt((cov1 + cov1.T) / 2)
    m = a @ cov2 @ a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(max(0.0, diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * cross))


def frechet_distance(real, fake) -> float:
    """FID: the Fréchet distance between Gaussians fitted to two feature sets.

    Parameters
    ----------
    real : array, shape (N, F)
    fake : array, shape (M, F)
        At least 2 samples each (sample covariances, ddof=1). Warns
        (:class:`SampleSizeWarning`) when either set has fewer than ``2 F`` samples.

    Returns
    -------
    float
        ``>= 0``, in squared feature units.
    """
    real, fake = _pair(real, fake)
    f = real.shape[1]
    if min(len(real), len(fake)) < 2:
        raise ValueError(f"FID needs at least 2 samples in each set to estimate covariances; got {len(real)} real "
                         f"and {len(fake)} fake")
    if min(len(real), len(fake)) < 2 * f:
        warnings.warn(f"FID from {len(real)} real and {len(fake)} fake samples of {f} features: with fewer than "
                      f"2 x {f} = {2 * f} samples the covariances are poorly estimated and FID is strongly biased "
                      "upwards", SampleSizeWarning, stacklevel=2)
    return gaussian_frechet_distance(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))


# -- kernel distance -------------------------------------------------------------------


def _cubic_kernel_sum(a: torch.Tensor, b: torch.Tensor, drop_diagonal: bool) -> float:
    """``sum_ij (a_i.b_j / F + 1)^3``, without the diagonal terms when ``drop_diagonal``."""
    k = a @ b.T
    k /= a.shape[1]
    k += 1.0
    cube = k * k
    cube *= k  # in place: no third temporary, and far cheaper than a float power
    total = float(cube.sum())
    return total - float(cube.diagonal().sum()) if drop_diagonal else total


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    m, n = len(x), len(y)
    return (_cubic_kernel_sum(x, x, True) / (m * (m - 1)) + _cubic_kernel_sum(y, y, True) / (n * (n - 1))
            - 2.0 * _cubic_kernel_sum(x, y, False) / (m * n))


def kernel_distance(real, fake, *, n_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD² with the cubic polynomial kernel, over random subsets.

    Parameters
    ----------
    real : array, shape (N, F)
    fake : array, shape (M, F)
    n_subsets : int
        Number of random subsets (100 in Bińkowski et al. 2018 and common code).
    subset_size : int
        Samples per set in each subset (1000 there), drawn without replacement;
        reduced to ``min(N, M)`` (with a :class:`SampleSizeWarning`) when larger.
    seed : int
        Seed of the subset draws.

    Returns
    -------
    mean, std : float
        Mean and standard deviation (ddof=1; 0 for one subset) of the subset estimates,
        in squared kernel units. The mean is about 0 for identical distributions (it
        may be slightly negative).
    """
    real, fake = _pair(real, fake)
    n_subsets, subset_size = check_int(n_subsets, "n_subsets", min=1), check_int(subset_size, "subset_size", min=1)
    small = min(len(real), len(fake))
    if small < 2:
        raise ValueError(f"KID needs at least 2 samples in each set; got {len(real)} real and {len(fake)} fake")
    if subset_size > small:
        warnings.warn(f"KID subset_size {subset_size} is larger than the smaller set ({small} samples); "
                      f"using subsets of {small}", SampleSizeWarning, stacklevel=2)
        subset_size = small
    rng = np.random.default_rng(seed)
    # float64 torch: its matrix products honour torch's thread setting (numpy's BLAS
    # oversubscribes a shared machine)
    real_t, fake_t = torch.from_numpy(real), torch.from_numpy(fake)
    with torch.inference_mode():
        values = np.array([
            _mmd2_unbiased(real_t[rng.choice(len(real), subset_size, replace=False)],
                           fake_t[rng.choice(len(fake), subset_size, replace=False)])
            for _ in range(int(n_subsets))
        ])
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


# -- everything at once ----------------------------------------------------------------


def sample_quality(real, fake, *, k_precision: int = 3, k_density: int = 5, kid_subsets: int = 100,
                   kid_subset_size: int = 1000, seed: int = 0) -> SampleQuality:
    """All sample-quality metrics of two feature sets.

    Parameters
    ----------
    real : array, shape (N, F)
    fake : array, shape (M, F)
    k_precision, k_density : int
        Neighbours for precision/recall (3) and for density/coverage (5).
    kid_subsets, kid_subset_size, seed
        See :func:`kernel_distance`.

    Returns
    -------
    SampleQuality
    """
    real, fake = _pair(real, fake)
    # check everything before the slow parts; each check warns at most once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        k_precision = _check_k(k_precision, real, fake, "precision/recall")
        k_density = _check_k(k_density, real, fake, "density/coverage")
    fid = frechet_distance(real, fake)
    kid, kid_std = kernel_distance(real, fake, n_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
    _check_k(k_precision, real, fake, "precision/recall and density/coverage")  # warns once for all four
    m = _manifold_scores(real, fake, k_precision, k_density)
    precision, recall, density, coverage = m["precision"], m["recall"], m["density"], m["coverage"]
    return SampleQuality(fid=fid, kid=kid, kid_std=kid_std, precision=precision, recall=recall, density=density,
                         coverage=coverage, n_real=len(real), n_fake=len(fake), feature_dim=real.shape[1])


def _check_count(value, name: str) -> int:
    return check_int(value, name, min=1, noun="integer number of samples")


def draw_samples(generator, n: int, *, seed: int = 0, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
    """``n`` samples of a Generator, in batches, on the CPU as float32.

    Batches are drawn with one ``torch.Generator`` seeded with ``seed``, so the same
    seed and batch size give the same samples. ``progress`` shows a bar over the samples.
    """

    if not callable(getattr(generator, "sample", None)):
        raise TypeError(f"generator must be a latentlab Generator with a sample(n, generator=...) method, "
                        f"not {type(generator).__name__}")
    n, batch_size = _check_count(n, "n"), _check_count(batch_size, "batch_size")
    g = torch.Generator().manual_seed(int(seed))
    out = []
    with torch.no_grad():
        for start in batch_starts(n, batch_size, enabled=progress, desc=f"sample {type(generator).__name__}",
                                  unit="sample", leave=False):
            out.append(torch.as_tensor(generator.sample(min(batch_size, n - start), generator=g)).detach().float().cpu())
    return torch.cat(out)


def real_samples(dataset, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` samples of ``dataset`` chosen without replacement with ``seed`` (all of them,
    with a :class:`SampleSizeWarning`, when it holds fewer)."""

    n = _check_count(n, "n_real")
    if len(dataset) < n:
        warnings.warn(f"the dataset holds {len(dataset)} samples, fewer than the {n} real samples asked for; "
                      "using all of them", SampleSizeWarning, stacklevel=3)
    return random_subset(dataset, n, seed=seed).data


def check_same_shape(real: torch.Tensor, fake: torch.Tensor) -> None:
    """Raise a ``ValueError`` naming both shapes when real and generated samples differ in shape."""
    if tuple(real.shape[1:]) != tuple(fake.shape[1:]):
        raise ValueError(f"real and generated samples differ in shape: real {tuple(real.shape)}, generated "
                         f"{tuple(fake.shape)}; load the data at the model's image size (e.g. size={fake.shape[-1]})")
    if not torch.isfinite(fake).all():
        raise ValueError("generated samples contain NaN or infinite values (a diverged generator?)")


def resolve_dataset(data, generator=None, data_options: dict | None = None):
    """A Dataset from a Dataset, or from a name/path loaded at the generator's image size."""

    if isinstance(data, data_mod.Dataset):
        if data_options:
            raise ValueError("data_options apply to a dataset name or path, not to a loaded Dataset")
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"data must be a Dataset, a built-in dataset name or a path, not {type(data).__name__}")
    if generator is not None:
        return data_mod.load_for_model(data, generator, **dict(data_options or {}))
    return data_mod.load(data, **dict(data_options or {}))


def classifier_data(data, dataset, data_options: dict | None = None) -> tuple:
    """``(data, data_options)`` for :func:`~latentlab.metrics.features.domain_feature_network`
    that render the data as ``dataset`` holds it: a name or path with the image size made
    explicit (so a cached classifier is reused), else the dataset itself."""
    if not isinstance(data, (str, os.PathLike)):
        return dataset, None
    options = dict(data_options or {})
    if dataset.is_image:
        options.setdefault("size", int(dataset.sample_shape[-1]))
    return data, options


def evaluate_samples(generator, data, *, feature_network=None, n_real: int = 2000, n_fake: int = 2000, seed: int = 0,
                     batch_size: int = 256, device=None, data_options: dict | None = None) -> SampleQuality:
    """Sample quality of a Generator against real data, in a feature space.

    Parameters
    ----------
    generator : Generator
        Draws ``n_fake`` samples with ``seed`` (see :func:`draw_samples`).
    data : Dataset, str or path
        The real data; a name or path is loaded at the generator's image size with
        ``data_options``. ``n_real`` samples are chosen from it with ``seed``.
    feature_network : None, path, AttributeClassifier or nn.Module
        The feature space. ``None``: for images the dataset's attribute classifier
        (trained here with seed 0 if not given, see
        :func:`~latentlab.metrics.features.domain_feature_network`), giving FID-domain;
        for 2-D point data the points themselves. A path loads a classifier checkpoint.
    n_real, n_fake : int
        Sample counts. Too few for a metric to mean much warns
        (:class:`SampleSizeWarning`); fewer than the k-NN metrics need (6) raises.
    seed, batch_size, device
        Sampling seed, images per batch, where features are computed.

    Returns
    -------
    SampleQuality

    Raises
    ------
    ValueError
        Real and generated samples of different shapes (both named), a feature network
        that does not take these images, too few samples.
    """

    n_real, n_fake = _check_count(n_real, "n_real"), _check_count(n_fake, "n_fake")
    dataset = resolve_dataset(data, generator, data_options)
    real = real_samples(dataset, n_real, seed=seed)
    fake = draw_samples(generator, n_fake, seed=seed, batch_size=batch_size)
    check_same_shape(real, fake)
    if real.ndim == 2 and feature_network is None:
        real_f, fake_f = real.double().numpy(), fake.double().numpy()
    else:
        if not isinstance(feature_network, torch.nn.Module):
            source, options = classifier_data(data, dataset, data_options)
            # seed 0, not the sampling seed: one feature space for every seed
            feature_network = domain_feature_network(source, feature_network, data_options=options, device=device)
        real_f = extract_features(real, feature_network, batch_size=batch_size, device=device)
        fake_f = extract_features(fake, feature_network, batch_size=batch_size, device=device)
    return sample_quality(real_f, fake_f, seed=seed)
