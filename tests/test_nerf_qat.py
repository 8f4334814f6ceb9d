"""The NeRF quantization experiment's QAT rows: the continuation of the float fit is quantization-aware from its
first step to its last (it was 80% float by NeRF's ``qat_start`` default, then restored to the float state)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from inrzip.experiments.nerf_quant import QUICK, Settings, _fit_config, qat_continuation
from inrzip.experiments.quant_common import fit_network
from inrzip.signals.radiance import RadianceSignal

SCENE = Path(__file__).resolve().parent / "data" / "nerf" / "blender_lego_tiny"


def test_the_qat_continuation_is_quantization_aware_at_every_step():
    s = replace(Settings(scene=str(SCENE)), **{**QUICK, "qat_seconds": 600.0, "time_budget": 600.0})  # 2 epochs each
    signal = RadianceSignal.load(SCENE, size=s.size, samples=s.samples, fine=s.fine, rays_per_epoch=s.rays_per_epoch,
                                 networks=s.networks, progress=False)
    f = fit_network(signal, s.arch, "relu", _fit_config(s), seed=0)
    g = qat_continuation(f, "kmeans", s)
    steps = (g.result.epochs - f.result.epochs) * math.ceil(signal.num_samples() / s.batch_size)
    assert steps > 0 and g.result.qat_states
    assert all(st.step == steps for st in g.result.qat_states.values()), (steps, g.result.events)
    assert not any("restored" in e for e in g.result.events)
