"""Initial weights shipped with the package (meta-learned on photographs), selected by name.

Why: a SIREN that starts from weights meta-learned on many small fitting tasks (Reptile, Nichol et al. 2018;
for coordinate networks Tancik et al., CVPR 2021) can need fewer steps than one started from the random
reference init. An init only moves where training starts: an MLP file stores every weight, so no decoder
needs one, unless the file was written with ``--residual``: then it stores each weight's offset from the init
(Strümpler et al., ECCV 2022), and its header names the init and the init's SHA-256 (``res_init``,
``res_sha256``), which the decoder checks before adding the init back (``residual_base``).

Each init is ``inits/<name>.npz`` (float32 arrays ``w0, b0, w1, ...``, read with ``allow_pickle=False``) and an
entry of ``inits/index.json``: the network it was trained for (every ``NetworkSpec`` field), its version, the
SHA-256 of the npz (checked on every load) and how it was trained.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ..errors import FormatError, InputError, InrzipError, shown
from .networks import NetworkSpec, init_bounds, layer_shapes
from .rng import symmetric_uniform

__all__ = ["INIT_DIR", "InitEntry", "available_inits", "spec_fields", "load_init", "apply_init", "save_init",
           "describe_spec", "residual_base", "residual_entry", "RES_FIELDS", "SEED_FIELD", "seeded_init",
           "apply_seeded_residual", "residual_seed"]

RES_FIELDS = ("res_init", "res_sha256")  # header: the init a residual file's tensors are offsets from
SEED_FIELD = "res_seed"  # header: the tensors are offsets from the random init regenerated from this seed
_SEED_STREAMS = 1 << 40  # streams of the seeded init (2 per layer), far from D'OH's B_l streams (one per layer)
_MAX_NAME = 64

INIT_DIR = Path(__file__).with_name("inits")
_INDEX = "index.json"


class _Trainable(Protocol):
    """What ``apply_init`` needs of a parameterization (``parameterizations`` imports this module)."""

    name: str
    spec: NetworkSpec

    def stored(self) -> dict[str, torch.Tensor]: ...


@dataclass(frozen=True)
class InitEntry:
    """One shipped init: where its weights are, their hash, the network they fit, how they were made."""

    name: str
    file: str
    sha256: str
    version: int
    spec: dict[str, Any]
    trained: dict[str, Any]


def spec_fields(spec: NetworkSpec) -> dict[str, Any]:
    """The spec as JSON-able fields (tuples as lists), the key an init must match exactly."""
    fields = asdict(spec)
    fields["pe_grid"] = list(spec.pe_grid)
    return fields


def describe_spec(fields: dict[str, Any]) -> str:
    """``28x9 sine omega 30, 2 -> 3`` for messages."""
    pe = f", PE {fields['pe_freqs']}" if fields.get("pe_freqs") else ""
    return (f"{fields['width']}x{fields['hidden']} {fields['activation']} omega {fields['omega']:g}{pe}, "
            f"{fields['in_features']} -> {fields['out_features']}")


def _read_index(directory: Path) -> dict[str, Any]:
    path = directory / _INDEX
    return json.loads(path.read_text()) if path.is_file() else {}


def available_inits(directory: Path = INIT_DIR) -> dict[str, InitEntry]:
    """Name -> entry of every init in ``directory`` (the package's by default)."""
    return {name: InitEntry(name=name, **entry) for name, entry in _read_index(directory).items()}


def _entry(name: str, directory: Path) -> InitEntry:
    inits = available_inits(directory)
    if name not in inits:
        raise InputError(f"unknown init {shown(name)}; choose from {sorted(inits)}")
    return inits[name]


def load_init(name: str, spec: NetworkSpec, directory: Path = INIT_DIR) -> dict[str, torch.Tensor]:
    """The init's tensors (``w0, b0, ...``) for ``spec``: a different network, a changed file or non-finite
    weights are errors, never a silent fallback to the random init."""
    entry = _entry(name, directory)
    if entry.spec != spec_fields(spec):
        raise InputError(f"init {name} is for a {describe_spec(entry.spec)} network, not this "
                         f"{describe_spec(spec_fields(spec))}; give --arch and --omega to match, or no --init")
    data = (directory / entry.file).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise InrzipError(f"init {name}: {entry.file} does not match its SHA-256 in {_INDEX}; reinstall inrzip")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: np.asarray(npz[key]) for key in npz.files}
    tensors: dict[str, torch.Tensor] = {}
    for k, (o, i) in enumerate(layer_shapes(spec)):
        for key, shape in ((f"w{k}", (o, i)), (f"b{k}", (o,))):
            a = arrays.get(key)
            if a is None or a.shape != shape or a.dtype != np.float32 or not np.isfinite(a).all():
                raise InrzipError(f"init {name}: {key} is missing, not float32 {shape} or not finite")
            tensors[key] = torch.from_numpy(a.copy())
    return tensors


def apply_init(param: _Trainable, name: str, residual: bool = False, directory: Path = INIT_DIR) -> None:
    """Start an MLP from init ``name`` (D'OH trains a latent, which has no such init); with ``residual`` its
    trained tensors become offsets from the init (zero at the start), which is what its file will store."""
    stored = param.stored()
    if set(stored) != {f"{p}{k}" for k in range(len(layer_shapes(param.spec))) for p in "wb"}:
        raise InputError(f"--init applies to the MLP (--mlp), not to {param.name}")
    tensors = load_init(name, param.spec, directory)
    with torch.no_grad():
        for key, t in stored.items():
            t.copy_(tensors[key])
    if residual:
        param.offset_from(tensors, dict(zip(RES_FIELDS, (name, _entry(name, directory).sha256))))  # type: ignore


def _f32(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32))


def seeded_init(spec: NetworkSpec, seed: int, latent: int | None = None) -> dict[str, torch.Tensor]:
    """SIREN's reference init (the MLP's bounds) drawn from the portable stream of ``nets.rng`` instead of
    torch's generator: a decoder regenerates it bit for bit on any machine from the seed alone, so a file can
    store each weight's offset from it at no cost in bytes. Why: a fit moves a SIREN's first layer and biases
    by a few percent of their init (offsets 20-50x smaller than the weights), which is what low depths lose.
    With ``latent`` (D'OH): its latent ``z`` U(+-1/n) and the biases, the tensors a D'OH file stores."""
    out: dict[str, torch.Tensor] = {}
    if latent is not None:
        out["z"] = _f32(symmetric_uniform(seed, _SEED_STREAMS - 1, (latent,), 1.0 / latent))
    for k, ((o, i), bound) in enumerate(zip(layer_shapes(spec), init_bounds(spec, "siren"))):
        if latent is None:
            out[f"w{k}"] = _f32(symmetric_uniform(seed, _SEED_STREAMS + 2 * k, (o, i), bound))
        out[f"b{k}"] = _f32(symmetric_uniform(seed, _SEED_STREAMS + 2 * k + 1, (o,), 1 / math.sqrt(i)))
    return out


def apply_seeded_residual(param: _Trainable, seed: int) -> None:
    """Start an MLP (or a D'OH latent and biases) from ``seeded_init`` and train (and store) offsets from it: the
    file names only the seed."""
    stored = param.stored()
    latent = getattr(param, "latent", None) if "z" in stored else None
    base = seeded_init(param.spec, seed, latent)
    if set(stored) != set(base):
        raise InputError(f"--residual applies to the MLP and D'OH, not to {param.name}")
    with torch.no_grad():
        for key, t in stored.items():
            t.copy_(base[key])
    param.offset_from(base, {SEED_FIELD: int(seed)})  # type: ignore[attr-defined]


def residual_seed(header: dict[str, Any]) -> int | None:
    """A hostile header's seed of a seeded residual file (None for any other file); one kind of residual only."""
    if SEED_FIELD not in header:
        return None
    seed = header[SEED_FIELD]
    if any(k in header for k in RES_FIELDS) or isinstance(seed, bool) or not isinstance(seed, int) \
            or not 0 <= seed < 1 << 63:
        raise FormatError(f"header {SEED_FIELD} {shown(seed)} must be a seed in 0..2^63-1, without res_init")
    return seed


def residual_entry(header: dict[str, Any], spec: NetworkSpec, directory: Path = INIT_DIR) -> InitEntry | None:
    """Validation of a file's residual fields, before anything is decoded (None for a plain file). The header
    is hostile: its name is only a key of the index (never a path), and the init must be the very one the
    file was coded against (same network, same SHA-256), else a one-line format error."""
    if not any(k in header for k in RES_FIELDS):
        return None
    name, sha = header.get("res_init"), header.get("res_sha256")
    if not (isinstance(name, str) and 0 < len(name) <= _MAX_NAME and isinstance(sha, str) and len(sha) == 64
            and all(c in "0123456789abcdef" for c in sha)):
        raise FormatError(f"header res_init / res_sha256 {shown(name)} / {shown(sha)} must be an init name and "
                          "a SHA-256 in hex")
    inits = available_inits(directory)
    if name not in inits:
        raise FormatError(f"file is coded against the init {shown(name)}, which this inrzip does not ship "
                          f"(it has {sorted(inits)}); decode it with the inrzip that wrote it")
    entry = inits[name]
    if entry.sha256 != sha or entry.spec != spec_fields(spec):
        raise FormatError(f"file is coded against another version of the init {name} (SHA-256 {sha[:12]}..., "
                          f"this inrzip has {entry.sha256[:12]}... for {describe_spec(entry.spec)})")
    return entry


def residual_base(header: dict[str, Any], spec: NetworkSpec, directory: Path = INIT_DIR,
                  latent: int | None = None) -> dict[str, np.ndarray]:
    """Decoder side: the init a residual file's tensors are offsets from ({} for a plain file); ``latent``: a
    D'OH file's (validated) latent size, whose seeded init is its latent's and biases'."""
    seed = residual_seed(header)
    if seed is not None:
        return {k: v.numpy() for k, v in seeded_init(spec, seed, latent).items()}
    entry = residual_entry(header, spec, directory)
    return {} if entry is None else {k: v.numpy() for k, v in load_init(entry.name, spec, directory).items()}


def save_init(name: str, spec: NetworkSpec, tensors: dict[str, torch.Tensor], trained: dict[str, Any],
              directory: Path = INIT_DIR, version: int = 1) -> Path:
    """Write ``<name>.npz`` and its index entry (replacing an earlier one of that name)."""
    arrays = {key: t.detach().cpu().to(torch.float32).numpy() for key, t in tensors.items()}
    if not all(np.isfinite(a).all() for a in arrays.values()):
        raise InrzipError(f"init {name}: refusing to save non-finite weights")
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = directory / f"{name}.npz"
    path.write_bytes(buf.getvalue())
    index = _read_index(directory)
    index[name] = {"file": path.name, "sha256": hashlib.sha256(buf.getvalue()).hexdigest(), "version": version,
                   "spec": spec_fields(spec), "trained": {k: v for k, v in trained.items()
                                                          if not (isinstance(v, float) and math.isnan(v))}}
    (directory / _INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return path
