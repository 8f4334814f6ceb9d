"""Bjontegaard metrics against cases whose answer is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inrzip.bench.bdrate import bd_psnr, bd_rate
from inrzip.errors import InputError

RATES = [0.12, 0.25, 0.5, 0.9, 1.6]
PSNR = [24.0, 26.9, 29.7, 32.1, 34.8]  # a concave, codec-like curve


def test_constant_rate_factor_gives_that_bd_rate():
    for factor in (0.8, 1.25, 0.5):
        assert bd_rate(RATES, PSNR, [r * factor for r in RATES], PSNR) == pytest.approx((factor - 1) * 100, abs=1e-9)


def test_constant_psnr_offset_gives_that_bd_psnr():
    for offset in (1.5, -0.7):
        assert bd_psnr(RATES, PSNR, RATES, [p + offset for p in PSNR]) == pytest.approx(offset, abs=1e-9)


def test_linear_in_log_rate_curves_give_both_exactly():
    # psnr = 30 + 10 ln R vs 31 + 10 ln R: +1 dB at equal rate, rate x exp(-0.1) at equal quality
    r1, r2 = np.geomspace(0.1, 2, 6), np.geomspace(0.08, 1.5, 5)
    q1, q2 = 30 + 10 * np.log(r1), 31 + 10 * np.log(r2)
    assert bd_psnr(r1, q1, r2, q2) == pytest.approx(1.0, abs=1e-9)
    assert bd_rate(r1, q1, r2, q2) == pytest.approx((math.exp(-0.1) - 1) * 100, abs=1e-9)


def test_swapping_anchor_inverts_the_rate_ratio():
    other_r, other_q = [0.1, 0.3, 0.7, 1.4], [24.5, 28.8, 32.0, 35.1]
    a = bd_rate(RATES, PSNR, other_r, other_q) / 100 + 1
    b = bd_rate(other_r, other_q, RATES, PSNR) / 100 + 1
    assert a * b == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(RATES, PSNR, other_r, other_q) == pytest.approx(-bd_psnr(other_r, other_q, RATES, PSNR))


def test_unsorted_input_is_accepted():
    perm = [3, 0, 4, 1, 2]
    shuffled_r, shuffled_q = [RATES[i] for i in perm], [PSNR[i] for i in perm]
    assert bd_rate(shuffled_r, shuffled_q, [r * 0.9 for r in RATES], PSNR) == pytest.approx(-10.0)


def test_no_overlap_and_bad_input_are_user_errors():
    with pytest.raises(InputError, match="do not overlap"):
        bd_psnr([0.1, 0.2], [20, 22], [1.0, 2.0], [30, 32])
    with pytest.raises(InputError, match="at least 2"):
        bd_rate([0.1], [20], [0.1, 0.2], [20, 22])
    with pytest.raises(InputError, match="positive"):
        bd_rate([0.0, 0.2], [20, 22], [0.1, 0.2], [20, 22])
