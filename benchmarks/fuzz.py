"""Fuzz the decoder with hostile ``.inr`` files that pass the checksum.

    python benchmarks/fuzz.py --cases 100000 --seed 0 --workers 2 --timeout 20 --out results/fuzz.json
    python benchmarks/fuzz_atheris.py --runs 20000 --seed 1                # libFuzzer's mutator (outside fuzzer)

Seeds are valid files of every signal kind, parameterization and quantizer (the small golden files of
``tests/golden/v*`` and ``tests/data/fuzz/seeds``). A case is a seed with one to six mutations, with the
CRC-32 recomputed so that it reaches the parser, the entropy decoder, the limits, the D'OH generator and
the reconstruction (a hostile file can carry a valid checksum):

- structure-aware: a header field set to an interesting value or type, removed or added; quantizer side
  info (ranges, codebooks) set to NaN, infinities, huge or tiny floats, resized or unsorted; an entropy
  model's id and parameters; payload words truncated, emptied or randomised; tensors dropped, duplicated,
  swapped;
- byte-level: bit flips, interesting bytes, float32 and varint overwrites, inserts, deletes, duplicated
  runs, splices with another seed, truncation.

Each case runs the command line as a user would (``inrzip decompress`` to a file or to standard output,
sometimes with ``--scale`` or ``--resolution``, and ``inrzip info``) in a worker process, with every Python
warning turned into an error. Outcomes:

- ``ok``: decoded and written; ``refused``: exit status 2 with exactly one line ``inrzip: error: ...``;
- ``crash``: anything else (another exception, a warning such as NumPy's cast of NaN, a traceback, a
  second line); ``hang``: no answer within ``--timeout`` seconds (the worker is killed and replaced);
- ``over_memory``: the worker's peak resident memory grew by more than ``Limits.decode_bytes`` during
  the case (peak reset per case with Linux's ``/proc/self/clear_refs``; measures torch, NumPy and native
  allocations alike), or an allocation failed under the address-space cap the worker runs with
  (``RLIMIT_AS`` = its size after start-up + that bound).

Cases decode under ``FUZZ_LIMITS`` (smaller than the defaults, as libpng's and zstd's fuzzers do) so that
a case that is legitimately big but within the limits still decodes in seconds: the default limits allow
decodes of minutes by design (``max_macs``). A crash's file and traceback go to ``--crashes``; each one
found becomes a regression file in ``tests/data/fuzz/`` (``tests/test_fuzz.py``). ``tests/test_fuzz.py``
also runs a short deterministic fuzz (``make test``); the 100,000-case figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import io
import json
import math
import os
import platform
import random
import re
import resource
import selectors
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from inrzip.bitstream.container import TensorRecord, read_header, read_inr, write_inr
from inrzip.bitstream.entropy import Coded
from inrzip.cli.codec import DECODE_LIMITS
from inrzip.cli.main import main as cli_main
from inrzip.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
SEED_DIRS = (ROOT / "tests" / "golden", ROOT / "tests" / "data" / "fuzz" / "seeds")
MAX_SEED_BYTES = 4096  # the full-size Kodak golden files take seconds per decode; the small ones cover every kind
FUZZ_LIMITS = Limits(max_pixels=1 << 20, max_params=1 << 18, max_weights=1 << 20, max_generator_work=1 << 25,
                     max_macs=1 << 31, max_resolution=64, max_samples=64, max_orbit=8, max_file_bytes=1 << 20)

INTS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64, 90, 127, 128, 255, 256, 1023, 1024, 1025, 4095, 4096,
        4097, 65535, 65536, 1 << 20, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 32, 1 << 40, 1 << 62]
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 30.0, 1e-45, 1e-38, 1e-10, 3.4e38, -3.4e38, 1e30, -1e30, 1e20, 1e10,
          65504.0, math.nan, math.inf, -math.inf]
F64S = FLOATS + [1e300, -1e300, 5e-324, 1.7976931348623157e308]
NAMES = ["image", "occupancy", "radiance", "mlp", "doh", "minmax", "explicit", "distributional", "kmeans", "sine",
         "relu", "gauss", "siren", "lookat", "matrix", "sphere", "spiral", "", "x" * 300, "\u00e9"]
KEYS = ["kind", "in", "out", "width", "hidden", "act", "omega", "pe", "param", "quant", "bits", "seed", "latent",
        "doh_init", "h", "w", "c", "depth", "resolution", "center", "scale", "margin", "scene", "focal", "near", "far",
        "ndc", "white", "samples", "fine", "pose_kind", "test_poses", "orbit_kind", "orbit"]


# ---- seeds and mutations ------------------------------------------------------------------------

def load_seeds(max_bytes: int = MAX_SEED_BYTES) -> dict[str, bytes]:
    """name -> bytes of every seed file (sorted, so a seed number means the same file on every run)."""
    out = {}
    for folder in SEED_DIRS:
        for path in sorted(folder.rglob("*.inr")):
            if path.stat().st_size <= max_bytes:
                out[str(path.relative_to(ROOT))] = path.read_bytes()
    if not out:
        raise SystemExit("no seed files found")
    return out


def reseal(body: bytes) -> bytes:
    """``body`` with its CRC-32 appended: what a hostile writer does to pass the checksum."""
    return body + struct.pack("<I", zlib.crc32(body))


def _value(rng: random.Random, old: Any) -> Any:
    """An interesting header value, usually of the old value's type, sometimes of another."""
    kind = rng.random()
    if kind < 0.12:
        old = rng.choice([0, 1.0, "", [], True, [1.0]])  # change the type
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        v = rng.choice(INTS) if rng.random() < 0.7 else old + rng.choice([-2, -1, 1, 2])
        return -v if rng.random() < 0.1 else v
    if isinstance(old, float):
        return rng.choice(F64S) if rng.random() < 0.8 else old * rng.choice([0.5, 2.0, -1.0, 1e6])
    if isinstance(old, str):
        return rng.choice(NAMES)
    if isinstance(old, list):
        return _list_value(rng, old)
    return rng.choice(INTS)


def _list_value(rng: random.Random, old: list) -> list:
    new = list(old)
    op = rng.randrange(5)
    if op == 0 and new:
        new[rng.randrange(len(new))] = rng.choice(FLOATS) if isinstance(new[0], float) else rng.choice(INTS)
    elif op == 1:
        new = new[:rng.randrange(len(new) + 1)]
    elif op == 2:
        new = new + [rng.choice(FLOATS) for _ in range(rng.choice([1, 2, 3, 12, 1000]))]
    elif op == 3:
        new = [rng.choice(FLOATS)] * rng.choice([0, 1, 3, 7, 12])
    else:
        new = [rng.choice(INTS) for _ in range(rng.choice([1, 2, 3, 12]))]
    return new


def _floats(rng: random.Random, q: np.ndarray) -> np.ndarray:
    """Quantizer side info (a range or a codebook) made hostile."""
    q = np.array(q, dtype=np.float32)
    op = rng.randrange(6)
    with np.errstate(all="ignore"):
        if op == 0 and q.size:
            q[rng.randrange(q.size)] = np.float32(rng.choice(FLOATS))
        elif op == 1:
            q = q[:rng.randrange(q.size + 1)]
        elif op == 2:
            q = np.concatenate([q, np.float32(rng.choice(FLOATS)) * np.ones(rng.choice([1, 2, 250]), np.float32)])
        elif op == 3:
            q = q[::-1].copy()
        elif op == 4 and q.size:
            q = q * np.float32(rng.choice([1e30, -1.0, 1e-30, 3.0e38]))
        else:
            q = np.array([rng.choice(FLOATS) for _ in range(max(1, q.size))], dtype=np.float32)
    return q


def _record(rng: random.Random, rec: TensorRecord) -> TensorRecord:
    """One tensor record with its side info, entropy model or payload mutated."""
    q, c = rec.qparams, rec.coded
    model, params, words = c.model, list(c.model_params), np.array(c.words, dtype=np.uint32)
    op = rng.randrange(6)
    if op == 0:
        q = _floats(rng, q)
    elif op == 1:
        model = rng.choice([0, 1, 2, 3, 255])
    elif op == 2:
        if params and rng.random() < 0.6:
            params[rng.randrange(len(params))] = rng.choice(INTS)
        else:
            params = [rng.choice(INTS) for _ in range(rng.choice([0, 1, 2, 3, 2 ** rng.randrange(1, 12)]))]
    elif op == 3:
        words = words[:rng.randrange(words.size + 1)]
    elif op == 4:
        words = np.frombuffer(rng.randbytes(4 * rng.choice([0, 1, 2, 5, 40, max(1, words.size)])), dtype=np.uint32)
    else:
        words = np.concatenate([words, np.full(rng.choice([1, 3, 100]), rng.choice([0, 0xFFFFFFFF, 0x80000000]),
                                               dtype=np.uint32)])
    return TensorRecord(q, Coded(model, params, words))


def mutate_structure(rng: random.Random, data: bytes) -> bytes:
    """Parse a valid file, change one thing in its header or tensors, write it back (checksum included)."""
    header, records = read_inr(data)
    header = dict(header)
    op = rng.randrange(10)
    if op <= 3 and header:
        key = rng.choice(sorted(header))
        header[key] = _value(rng, header[key])
    elif op == 4 and header:
        del header[rng.choice(sorted(header))]
    elif op == 5:
        key = rng.choice(KEYS)
        header[key] = _value(rng, header.get(key, rng.choice([0, 1.0, "", [1.0]])))
    elif op <= 8 and records:
        i = rng.randrange(len(records))
        records[i] = _record(rng, records[i])
    elif records:
        i, j = rng.randrange(len(records)), rng.randrange(len(records))
        records = rng.choice([records[:i] + records[i + 1:], records[:i] + [records[i]] + records[i:],
                              [*records[:i], records[j], *records[i + 1:]]])
    return write_inr(header, records)


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        byte, v = v & 0x7F, v >> 7
        out.append(byte | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _tensors_offset(body: bytes) -> int:
    """Where the tensor records start (after magic, version and header), or 0 if the header is unreadable."""
    try:
        size, shift, pos = 0, 0, 5
        while True:
            byte = body[pos]
            size |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if not byte & 0x80:
                return min(len(body), pos + size)
    except IndexError:
        return 0


def mutate_bytes(rng: random.Random, body: bytearray, others: list[bytes]) -> bytearray:
    """One byte-level mutation of a file's body (everything before the checksum); half of them in the
    tensor records (side info, entropy models, range-coder words), where a decoder does most of its work."""
    n = len(body)
    lo = _tensors_offset(bytes(body)) if rng.random() < 0.5 else 0
    pos = rng.randrange(lo, n) if lo < n else (rng.randrange(n) if n else 0)
    op = rng.randrange(10)
    if op == 0 and n:
        body[pos] ^= 1 << rng.randrange(8)
    elif op == 1 and n:
        body[pos] = rng.choice([0, 1, 2, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    elif op == 2 and n >= 4:
        body[pos:pos + 4] = struct.pack("<f", rng.choice(FLOATS))
    elif op == 3 and n:
        end = pos
        while end < n and body[end] & 0x80 and end - pos < 9:
            end += 1
        body[pos:end + 1] = _varint(rng.choice(INTS))
    elif op == 4:
        body[pos:pos] = rng.randbytes(rng.choice([1, 2, 4, 8, 16]))
    elif op == 5 and n:
        del body[pos:pos + rng.choice([1, 2, 4, 8, 64])]
    elif op == 6 and n:
        chunk = body[pos:pos + rng.choice([1, 4, 16, 64])]
        at = rng.randrange(n)
        body[at:at] = chunk
    elif op == 7 and others:
        other = rng.choice(others)[:-4]
        cut = rng.randrange(len(other)) if other else 0
        body = body[:pos] + other[cut:]
    elif op == 8:
        body = body[:pos]
    elif n > 5:
        body[rng.randrange(5, min(n, 48))] ^= 0xFF  # the header's lengths and first fields
    return bytearray(body)


@functools.lru_cache(maxsize=4)
def _by_kind(names: tuple[str, ...], files: tuple[bytes, ...]) -> dict[str, list[str]]:
    """Seed names by signal kind."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for name, data in zip(names, files):
        groups[str(read_header(data)["kind"])].append(name)
    return dict(groups)


def make_case(index: int, seed: int, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    """(seed name, mutated file) of case ``index``: the same bytes for the same (index, seed) on any machine."""
    rng = random.Random(f"inrzip-fuzz:{seed}:{index}")
    names = sorted(seeds)
    groups = _by_kind(tuple(names), tuple(seeds[n] for n in names))
    name = rng.choice(groups[rng.choice(sorted(groups))])  # every kind as often, whatever the seeds' mix
    data = seeds[name]
    structured = rng.random() < 0.6
    if structured:
        for _ in range(1 + int(rng.random() < 0.3)):
            try:
                data = mutate_structure(rng, data)
            except Exception:  # the previous mutation made the file unparseable: byte mutations only
                break
    body = bytearray(data[:-4])
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 4] if structured else [1, 1, 1, 2, 3, 4])):
        body = mutate_bytes(rng, body, [seeds[n] for n in names])
    return name, (reseal(bytes(body)) if rng.random() < 0.98 else bytes(body) + rng.randbytes(4))


# ---- one case -----------------------------------------------------------------------------------

def _kind(data: bytes) -> str:
    try:
        kind = read_header(data).get("kind")
    except Exception:
        return "image"
    return kind if kind in ("image", "occupancy", "radiance") else "image"


def _limit_args(limits: Limits) -> list[str]:
    """The command-line flags that set ``limits`` for a decode."""
    return [a for name in DECODE_LIMITS for a in (Limits.flag(name), str(getattr(limits, name)))]


def _decode_argv(rng: random.Random, case: Path, out_dir: Path, kind: str, limits: Limits) -> list[str]:
    """A ``decompress`` command line a user might type for this file."""
    suffix = {"image": [".png", ".png", ".npy", ".tif"], "occupancy": [".npy", ".npy", ".ply"],
              "radiance": [".npy", ".npy", ".gif"]}[kind]
    output = "-" if rng.random() < 0.1 else str(out_dir / f"out{rng.choice(suffix)}")
    argv = ["decompress", str(case), "-o", output, "--force", "--quiet", *_limit_args(limits)]
    if kind != "occupancy" and rng.random() < 0.2:  # a grid takes --resolution (--scale is refused for it)
        argv += ["--scale", str(rng.choice([0.25, 0.5, 1.5, 2.0, 3.7]))]
    if kind == "occupancy" and rng.random() < 0.2:
        argv += ["--resolution", str(rng.choice([8, 16, 40, 64]))]
    return argv


def decode_argv(rng: random.Random, case: Path, out_dir: Path, data: bytes, limits: Limits = FUZZ_LIMITS) -> list[str]:
    """The ``decompress`` command line of a case (public: ``fuzz_atheris.py`` runs the same target)."""
    return _decode_argv(rng, case, out_dir, _kind(data), limits)


def run_cli(argv: list[str]) -> tuple[str, str]:
    """``inrzip argv`` as a user runs it, classified: (outcome, detail)."""
    return _run_cli(argv)


def _run_cli(argv: list[str]) -> tuple[str, str]:
    """Run ``inrzip argv`` as a user would, warnings as errors; (outcome, detail)."""
    out, err = io.TextIOWrapper(io.BytesIO()), io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("error")
            status = cli_main(argv)
    except MemoryError:
        return "over_memory", traceback.format_exc(limit=-8)
    except BaseException as exc:  # noqa: BLE001 - any escape is the finding
        if isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc):
            return "over_memory", traceback.format_exc(limit=-8)
        return "crash", traceback.format_exc(limit=-12)
    lines = err.getvalue().strip().splitlines()
    if status == 0:
        return "ok", ""
    if status == 2 and len(lines) == 1 and lines[0].startswith("inrzip: error: "):
        return "refused", lines[0][len("inrzip: error: "):]
    return "crash", f"exit status {status}, stderr {err.getvalue()[-2000:]!r}"


def _rss() -> tuple[int, int]:
    """(current, peak) resident bytes of this process (Linux)."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                fields[line.split(":")[0]] = int(line.split()[1]) * 1024
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run_case(index: int, seed: int, seeds: dict[str, bytes], work: Path, limits: Limits) -> dict[str, Any]:
    """Make case ``index``, run ``decompress`` and ``info`` on it, measure time and peak memory growth."""
    name, data = make_case(index, seed, seeds)
    rng = random.Random(f"inrzip-fuzz-cli:{seed}:{index}")
    case = work / "case.inr"
    case.write_bytes(data)
    kind = _kind(data)
    measured = _reset_peak()
    before, _ = _rss()
    t0 = time.perf_counter()
    outcome, detail = _run_cli(_decode_argv(rng, case, work, kind, limits))
    if outcome in ("ok", "refused"):
        info_outcome, info_detail = _run_cli(["info", str(case), *_limit_args(limits)])
        if info_outcome not in ("ok", "refused"):
            outcome, detail = info_outcome, "info: " + info_detail
    seconds = time.perf_counter() - t0
    _, peak = _rss()
    grown = max(0, peak - before) if measured else -1
    bound = limits.decode_bytes(len(data))
    if outcome in ("ok", "refused") and grown > bound:
        outcome, detail = "over_memory", f"peak resident memory grew by {grown} bytes, bound {bound}"
    return {"index": index, "seed_file": name, "kind": kind, "bytes": len(data), "outcome": outcome,
            "detail": detail, "seconds": seconds, "peak_growth": grown, "bound": bound}


# ---- workers and the run ------------------------------------------------------------------------

def _cap_address_space(limits: Limits) -> int:
    """Cap this worker's address space at its size now plus the largest decode bound: an allocation the
    limits do not imply fails (MemoryError), it is not just slow."""
    with open("/proc/self/status") as fh:
        size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    cap = size + limits.decode_bytes(limits.max_file_bytes) + (256 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


def worker(seed: int) -> None:
    """Read case indices on stdin, answer one JSON line each (the parent kills us on a hang)."""
    import torch

    torch.set_num_threads(1)
    seeds = load_seeds()
    with tempfile.TemporaryDirectory(prefix="inrzip-fuzz-") as folder:
        work = Path(folder)
        run_case(0, seed, seeds, work, FUZZ_LIMITS)  # warm up imports and caches before capping memory
        _cap_address_space(FUZZ_LIMITS)
        for line in sys.stdin:
            index = int(line)
            try:
                result = run_case(index, seed, seeds, work, FUZZ_LIMITS)
            except BaseException:  # noqa: BLE001 - the harness itself must keep going
                result = {"index": index, "outcome": "crash", "detail": "harness: " + traceback.format_exc(limit=-6)}
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()


@dataclass
class _Worker:
    proc: subprocess.Popen
    index: int | None = None
    started: float = 0.0
    buffer: bytes = b""


def _spawn(seed: int) -> _Worker:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", "--seed", str(seed)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    return _Worker(proc)


def _stop(w: _Worker) -> None:
    try:
        os.killpg(w.proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    w.proc.wait()
    for pipe in (w.proc.stdin, w.proc.stdout):
        if pipe is not None and not pipe.closed:
            try:
                pipe.close()
            except BrokenPipeError:
                pass


# Where a refusal comes from, by the words of its message (first match wins): evidence that mutations reach
# every layer of the decoder, not only the checksum.
STAGES = (
    ("container", ("checksum", "magic", "format version", "truncated", "a count in the file", "corrupt varint",
                   "header value type", "corrupt header key", "corrupt string", "trailing bytes", "payload length")),
    ("limits", ("--max-",)),
    ("entropy decoder", ("entropy",)),
    ("quantizer side info", ("quantizer values", "side info", "codebook", "codes exceed", "quantizer range",
                             "range values", "no quantizer values")),
    ("decoded values and network outputs", ("decoded values", "non-finite outputs", "non-finite colours",
                                            "overflows", "generator bounds overflow")),
    ("writer", ("cannot write", "nothing to mesh", "16-bit colour")),
)


def stage(reason: str) -> str:
    """The decoder stage a refusal message comes from (``header`` when none of ``STAGES`` matches)."""
    return next((name for name, words in STAGES if any(w in reason for w in words)), "header")


@dataclass
class Summary:
    """Counts and figures of a run (what docs/benchmarks.md reports)."""

    cases: int = 0
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    by_kind: dict[str, collections.Counter] = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    refusals: collections.Counter = field(default_factory=collections.Counter)
    stages: collections.Counter = field(default_factory=collections.Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)
    slowest: float = 0.0
    max_peak_growth: int = 0
    max_peak_fraction: float = 0.0
    seconds: float = 0.0

    def add(self, r: dict[str, Any]) -> None:
        self.cases += 1
        self.outcomes[r["outcome"]] += 1
        self.by_kind[r.get("kind", "?")][r["outcome"]] += 1
        if r["outcome"] == "refused":
            self.refusals[re.sub(r"-?\d[\d.e+-]*", "N", r["detail"])[:90]] += 1
            self.stages[stage(r["detail"])] += 1
        elif r["outcome"] != "ok":
            self.findings.append(r)
        self.slowest = max(self.slowest, r.get("seconds", 0.0))
        if r.get("peak_growth", -1) >= 0:
            self.max_peak_growth = max(self.max_peak_growth, r["peak_growth"])
            self.max_peak_fraction = max(self.max_peak_fraction, r["peak_growth"] / r["bound"])

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "outcomes": dict(self.outcomes),
                "by_kind": {k: dict(v) for k, v in sorted(self.by_kind.items())},
                "refusals_by_stage": dict(self.stages.most_common()),
                "refusal_reasons": dict(self.refusals.most_common()), "distinct_refusals": len(self.refusals),
                "findings": self.findings[:200], "slowest_case_seconds": round(self.slowest, 3),
                "max_peak_growth_bytes": self.max_peak_growth, "max_peak_fraction_of_bound": self.max_peak_fraction,
                "seconds": round(self.seconds, 1)}


def run(cases: int, seed: int = 0, workers: int = 1, timeout: float = 20.0, start: int = 1,
        crashes: Path | None = None, progress: Callable[[Summary], None] | None = None) -> Summary:
    """Run cases ``start .. start + cases - 1`` in ``workers`` worker processes; a case without an answer
    after ``timeout`` seconds is a hang (its worker is killed and replaced)."""
    summary, todo = Summary(), iter(range(start, start + cases))
    pool = [_spawn(seed) for _ in range(workers)]
    sel = selectors.DefaultSelector()
    for w in pool:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
    t0, warmup = time.perf_counter(), timeout + 120.0  # the first case of a worker also imports torch

    def feed(w: _Worker) -> None:
        w.index = next(todo, None)
        w.started = time.perf_counter()
        if w.index is not None:
            w.proc.stdin.write(f"{w.index}\n".encode())
            w.proc.stdin.flush()

    def record(r: dict[str, Any]) -> None:
        summary.add(r)
        if crashes is not None and r["outcome"] not in ("ok", "refused"):
            crashes.mkdir(parents=True, exist_ok=True)
            name, data = make_case(r["index"], seed, load_seeds())
            (crashes / f"{r['outcome']}-{seed}-{r['index']}.inr").write_bytes(data)
            (crashes / f"{r['outcome']}-{seed}-{r['index']}.txt").write_text(json.dumps(r, indent=1))
        if progress is not None and summary.cases % 1000 == 0:
            progress(summary)

    for w in pool:
        feed(w)
        w.started += warmup
    while any(w.index is not None for w in pool):
        for key, _ in sel.select(timeout=0.5):
            w = key.data
            chunk = os.read(w.proc.stdout.fileno(), 1 << 16)
            if not chunk:  # the worker died (e.g. killed by the kernel): the case is a crash
                record({"index": w.index, "outcome": "crash", "detail": "worker died", "kind": "?"})
                sel.unregister(w.proc.stdout)
                _stop(w)
                fresh = _spawn(seed)
                pool[pool.index(w)] = fresh
                sel.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)
                feed(fresh)
                fresh.started += warmup
                continue
            w.buffer += chunk
            while b"\n" in w.buffer:
                line, w.buffer = w.buffer.split(b"\n", 1)
                record(json.loads(line))
                feed(w)
        now = time.perf_counter()
        for i, w in enumerate(pool):
            if w.index is not None and now - w.started > timeout:
                record({"index": w.index, "outcome": "hang", "detail": f"no answer in {timeout} s", "kind": "?",
                        "seconds": now - w.started})
                sel.unregister(w.proc.stdout)
                _stop(w)
                pool[i] = _spawn(seed)
                sel.register(pool[i].proc.stdout, selectors.EVENT_READ, pool[i])
                feed(pool[i])
                pool[i].started += warmup
    for w in pool:
        sel.unregister(w.proc.stdout)
        _stop(w)
    sel.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--start", type=int, default=1, help="first case index")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before a case counts as a hang")
    ap.add_argument("--out", help="write the summary as JSON here")
    ap.add_argument("--crashes", default="fuzz-findings", help="folder for the files of crashes and hangs")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.seed)
        return 0
    def show(s: Summary) -> None:
        print(f"{s.cases} cases: {dict(s.outcomes)}", file=sys.stderr, flush=True)

    s = run(a.cases, a.seed, a.workers, a.timeout, a.start, Path(a.crashes), show)
    result = {**s.as_dict(), "seed": a.seed, "start": a.start, "workers": a.workers, "timeout": a.timeout,
              "limits": FUZZ_LIMITS.as_dict(), "machine": f"{platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}", "date": time.strftime("%Y-%m-%d %H:%M")}
    text = json.dumps(result, indent=1)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    print(json.dumps({k: result[k] for k in ("cases", "outcomes", "by_kind", "refusals_by_stage", "distinct_refusals",
                                             "slowest_case_seconds", "max_peak_growth_bytes",
                                             "max_peak_fraction_of_bound", "seconds")}, indent=1))
    bad = sum(v for k, v in s.outcomes.items() if k not in ("ok", "refused"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
