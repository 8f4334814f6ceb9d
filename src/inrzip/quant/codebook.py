"""Sorted 1-D codebooks: fitting (k-means, quantiles), nearest-entry codes, exact lookup.

A codebook is a sorted float32 vector of at most ``2^bits`` levels; a value's code is the index of
its nearest level, so codes are ordered like the values (neighbouring codes = neighbouring values,
which keeps code histograms smooth for the entropy coder). Decoding is a table lookup
(``codebook[codes]``): no arithmetic at all, hence bit-exact on every machine.

K-means on scalars does not need a general clustering library: on *sorted* data every cluster is a
contiguous run, so one Lloyd iteration is a ``searchsorted`` of the midpoints plus prefix sums —
O(k log n) instead of O(k n). Lloyd only finds a local optimum, and which seeding finds the best one
depends on the distribution, so the default runs from a few deterministic seedings (``KMEANS_INITS``) and
keeps the lowest error: milliseconds in all. ``KMEANS_ENGINES`` keeps scikit-learn's ``KMeans`` (k-means++)
beside it for comparison; docs/quantizers.md has the measured speed and error of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..errors import FormatError
from ..registry import Registry
from .base import QTensor

__all__ = ["KMeansOptions", "KMEANS_ENGINES", "KMEANS_INITS", "lloyd1d", "fit_kmeans", "quantile_levels",
           "exact_or_padded", "nearest_codes", "codebook_values", "float32_midpoints", "torch_table", "torch_nearest",
           "torch_lloyd_step"]


@dataclass(frozen=True)
class KMeansOptions:
    """How a k-means codebook is fitted (encoder side only: the decoder just reads the codebook)."""

    engine: str = "lloyd1d"  # key of KMEANS_ENGINES
    inits: tuple[str, ...] = ("uniform", "cuberoot16", "cuberoot32", "cuberoot64")  # lloyd1d: keys of KMEANS_INITS
    max_iter: int = 300  # Lloyd iterations from a cold start (stops earlier at a fixed point)
    warm_iter: int = 20  # Lloyd iterations when warm-started from a previous codebook (QAT)
    n_init: int = 1  # sklearn engine only: k-means++ restarts
    random_state: int = 0  # kmeans++ seeding (sklearn engine, "kmeans++" init)


def quantile_levels(xs: np.ndarray, k: int) -> np.ndarray:
    """Medians of k equal-mass bins of sorted data ``xs`` (float64): levels at quantiles (i + 1/2) / k."""
    idx = ((np.arange(k, dtype=np.float64) + 0.5) * (xs.size / k)).astype(np.int64)
    return xs[np.minimum(idx, xs.size - 1)]


def exact_or_padded(x: np.ndarray, k: int) -> np.ndarray | None:
    """The exact codebook when ``x`` has at most ``k`` values or distinct values, else None.

    With ``x.size <= k`` the codebook is ``sort(x)`` itself (length = size: the paper's "dictionary maps
    each weight exactly", seed 000 section 1.4). With few distinct values among many, it is the distinct
    values padded to ``k`` with copies of the largest (never referenced, keeps the length rule simple).
    """
    if x.size <= k:
        return np.sort(x)
    uniq = np.unique(x)
    if uniq.size > k:
        return None
    return np.concatenate([uniq, np.full(k - uniq.size, uniq[-1], dtype=np.float32)])


def _cuberoot(bins: int) -> Callable[[np.ndarray, int, KMeansOptions], np.ndarray]:
    """Seeds with point density ~ p(x)^(1/3), the high-resolution optimum (Panter & Dite 1951); p is a
    ``bins``-bin histogram over [min, max] (coarse = smooth, which keeps a few seeds in the tails)."""

    def init(xs: np.ndarray, k: int, opts: KMeansOptions) -> np.ndarray:
        hist, edges = np.histogram(xs, bins=bins, range=(xs[0], xs[-1]))
        cdf = np.concatenate([[0.0], np.cumsum(np.cbrt(hist.astype(np.float64)))])
        return np.interp((np.arange(k) + 0.5) / k, cdf / cdf[-1], edges)

    return init


def _kmeanspp(xs: np.ndarray, k: int, opts: KMeansOptions) -> np.ndarray:
    """scikit-learn's greedy k-means++ seeding: best in sparse tails, but ~0.5 s at k = 256 (docs)."""
    from sklearn.cluster import kmeans_plusplus

    centers, _ = kmeans_plusplus(xs.reshape(-1, 1), k, random_state=opts.random_state)
    return np.sort(centers.ravel())


KMEANS_INITS: Registry[Callable[[np.ndarray, int, KMeansOptions], np.ndarray]] = Registry("k-means init")
KMEANS_INITS.update({
    "uniform": lambda xs, k, opts: np.linspace(xs[0], xs[-1], k),  # = minmax's levels: never worse than it
    "quantile": lambda xs, k, opts: quantile_levels(xs, k),
    "cuberoot16": _cuberoot(16),
    "cuberoot32": _cuberoot(32),
    "cuberoot64": _cuberoot(64),
    "kmeans++": _kmeanspp,
})


def lloyd1d(xs: np.ndarray, c: np.ndarray, iters: int) -> np.ndarray:
    """Lloyd's algorithm on sorted float64 data from sorted seeds ``c``; stops at a fixed point.

    Clusters are contiguous runs of ``xs``, so assignment = searchsorted of midpoints and the update
    = run means from prefix sums. An empty run keeps its centroid, which stays between its neighbours,
    so the codebook stays sorted without re-sorting. Distortion never increases (Lloyd's property).
    """
    csum = np.concatenate([[0.0], np.cumsum(xs - xs[0])])  # shifted: less cancellation in run sums
    bounds = None
    for _ in range(iters):
        new_bounds = np.searchsorted(xs, (c[:-1] + c[1:]) * 0.5, side="left")
        if bounds is not None and np.array_equal(new_bounds, bounds):
            break
        bounds = new_bounds
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [xs.size]])
        counts = ends - starts
        c = np.where(counts > 0, (csum[ends] - csum[starts]) / np.maximum(counts, 1) + xs[0], c)
    return c


def _sse(xs: np.ndarray, c: np.ndarray) -> float:
    """Squared error of the float32 codebook that would actually be stored."""
    cb = np.sort(c.astype(np.float32))
    return float(np.sum((cb[nearest_codes(xs, cb)].astype(np.float64) - xs) ** 2))


def _lloyd_engine(xs: np.ndarray, k: int, init: np.ndarray | None, iters: int, opts: KMeansOptions) -> np.ndarray:
    """Lloyd from ``init`` (warm start) or from every seeding in ``opts.inits``, keeping the lowest error
    (each run is milliseconds, and no single seeding wins on every distribution; docs/quantizers.md)."""
    if init is not None:
        return lloyd1d(xs, np.sort(init.astype(np.float64)), iters)
    inits = [KMEANS_INITS.get(name) for name in opts.inits or ("(none)",)]
    runs = [lloyd1d(xs, np.sort(init(xs, k, opts)), iters) for init in inits]
    errors = [_sse(xs, c) for c in runs]
    return runs[int(np.argmin(errors))]


def _sklearn(xs: np.ndarray, k: int, init: np.ndarray | None, iters: int, opts: KMeansOptions) -> np.ndarray:
    """scikit-learn KMeans: k-means++ seeding (or ``init``), fixed random_state, ``n_init`` restarts."""
    from sklearn.cluster import KMeans as SkKMeans

    start = "k-means++" if init is None else np.sort(init.astype(np.float64)).reshape(-1, 1)
    km = SkKMeans(n_clusters=k, init=start, n_init=opts.n_init if init is None else 1, max_iter=iters,
                  random_state=opts.random_state, algorithm="lloyd")
    km.fit(xs.reshape(-1, 1))
    return np.sort(km.cluster_centers_.ravel())


KMEANS_ENGINES: Registry[Callable[[np.ndarray, int, np.ndarray | None, int, KMeansOptions], np.ndarray]] = \
    Registry("k-means engine")
KMEANS_ENGINES.update({"lloyd1d": _lloyd_engine, "sklearn": _sklearn})


def fit_kmeans(x: np.ndarray, k: int, opts: KMeansOptions, init: np.ndarray | None = None) -> np.ndarray:
    """Sorted float32 codebook of ``min(k, x.size)`` levels for flat float32 ``x``.

    ``init`` (a previous codebook of length k, e.g. from QAT) warm-starts Lloyd for ``opts.warm_iter`` steps.
    """
    exact = exact_or_padded(x, k)
    if exact is not None:
        return exact
    engine = KMEANS_ENGINES.get(opts.engine)
    warm = init is not None and init.size == k
    xs = np.sort(x.astype(np.float64))
    c = engine(xs, k, init if warm else None, opts.warm_iter if warm else opts.max_iter, opts)
    return np.sort(c.astype(np.float32))


def nearest_codes(x: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Index of the nearest level of sorted ``codebook`` for each value (midpoints in float64, exact)."""
    cb = codebook.astype(np.float64)
    mids = (cb[:-1] + cb[1:]) * 0.5
    return np.searchsorted(mids, x.astype(np.float64), side="left").astype(np.int64)


def codebook_values(q: QTensor) -> np.ndarray:
    """Decode by table lookup; rejects codebooks and codes a hostile or corrupt file could carry."""
    cb = np.asarray(q.params, dtype=np.float32).ravel()
    if cb.size > q.alphabet or (q.codes.size and cb.size == 0):
        raise FormatError(f"codebook of {cb.size} levels does not fit {q.bits}-bit codes")
    if not np.isfinite(cb).all():
        raise FormatError("codebook holds non-finite values; the file is corrupt")
    if q.codes.size and (q.codes.min() < 0 or q.codes.max() >= cb.size):
        raise FormatError(f"codes exceed the {cb.size}-level codebook; the file is corrupt")
    return cb[q.codes]


def float32_midpoints(codebook: np.ndarray) -> np.ndarray:
    """Midpoints rounded *down* to float32: for float32 x, ``x <= m32`` iff ``x <= m64``, so a float32
    ``bucketize`` on any device assigns exactly like ``nearest_codes`` (no float64 needed there)."""
    m64 = (codebook[:-1].astype(np.float64) + codebook[1:].astype(np.float64)) * 0.5
    m32 = m64.astype(np.float32)
    return np.where(m32.astype(np.float64) > m64, np.nextafter(m32, np.float32(-np.inf)), m32)


def torch_table(codebook: np.ndarray, device: torch.device) -> torch.Tensor:
    """QAT table of a codebook: its k levels followed by its k - 1 float32 midpoints."""
    return torch.from_numpy(np.concatenate([codebook, float32_midpoints(codebook)])).to(device)


def torch_nearest(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """QAT forward on the tensor's device: nearest level, same codes as ``nearest_codes``."""
    k = (table.numel() + 1) // 2
    return table[:k][torch.bucketize(x, table[k:], right=False)]


def torch_lloyd_step(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """One Lloyd step on the device (assign, then centroid = cluster mean; empty clusters stay), the cheap
    QAT update between full refits. Midpoints here are plain float32: only training uses them."""
    k = (table.numel() + 1) // 2
    cb, idx = table[:k], torch.bucketize(x, table[k:], right=False)
    sums = torch.zeros(k, dtype=x.dtype, device=x.device).index_add_(0, idx, x)
    counts = torch.bincount(idx, minlength=k).to(x.dtype)
    cb = torch.where(counts > 0, sums / counts.clamp_min(1), cb)  # 1-D Lloyd keeps the order
    return torch.cat([cb, (cb[:-1] + cb[1:]) * 0.5])
