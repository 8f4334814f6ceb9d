"""Quality metrics, one definition used by encoder, decoder, tests and benchmarks."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "ssim", "iou"]


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB over all samples (inf when identical)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """Mean SSIM (scikit-image, Gaussian window as in Wang et al.) of HxW or HxWxC arrays."""
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        a, b = a[..., 0], b[..., 0]
    if min(a.shape[:2]) < 11:
        return float("nan")  # the Gaussian window (sigma 1.5, truncated at 3.5 sigma) is 11x11
    kw = {"channel_axis": 2} if a.ndim == 3 else {}
    return float(structural_similarity(a, b, data_range=peak, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, **kw))


def iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of two boolean arrays (1.0 when both are empty)."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    union = np.logical_or(pred, target).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, target).sum() / union)
