"""The fuzz target of ``fuzz.py`` under an outside fuzzer: libFuzzer's coverage-guided mutator (atheris).

    python benchmarks/fuzz_atheris.py --runs 20000 --seed 1 --out results/fuzz_atheris.json

libFuzzer mutates the seed files (``fuzz.load_seeds``) as it likes, guided by the branches of ``inrzip`` it
reaches (its modules are instrumented on import); a custom mutator recomputes the CRC-32 after every
mutation, so the files reach the parser and beyond. Each input runs ``inrzip decompress`` under
``fuzz.FUZZ_LIMITS`` with warnings as errors; anything but a decoded file or one ``inrzip: error:`` line
stops the run with libFuzzer's crash report (and writes the input to ``crash-*``). ``-timeout`` makes a
slow input a failure too. Needs ``pip install atheris`` (Linux x86-64 wheels; the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import zlib
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["inrzip"]):
    import fuzz  # imports inrzip: every inrzip module loaded here is instrumented for coverage


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=20, help="seconds before an input counts as a hang")
    ap.add_argument("--out", help="write the outcome counts here as JSON")
    ap.add_argument("--artifacts", default="fuzz-findings", help="folder for libFuzzer's crash and timeout files")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    corpus = Path(tempfile.mkdtemp(prefix="inrzip-atheris-corpus-"))
    for i, data in enumerate(fuzz.load_seeds().values()):
        (corpus / f"seed{i:02d}.inr").write_bytes(data)
    work = Path(tempfile.mkdtemp(prefix="inrzip-atheris-work-"))
    counts: collections.Counter = collections.Counter()

    def report() -> None:
        summary = {"runs": sum(counts.values()), "outcomes": dict(counts), "seed": a.seed}
        if a.out:
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.out).write_text(json.dumps(summary, indent=1) + "\n")

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        mutated = atheris.Mutate(data, max_size)
        return fuzz.reseal(mutated[:-4]) if len(mutated) > 4 else mutated

    def target(data: bytes) -> None:
        case = work / "case.inr"
        case.write_bytes(data)
        outcome, detail = fuzz.run_cli(fuzz.decode_argv(random.Random(zlib.crc32(data)), case, work, data))
        counts[outcome] += 1
        if sum(counts.values()) % 500 == 0:
            report()  # libFuzzer ends the process without running exit handlers
        if outcome not in ("ok", "refused"):
            report()
            raise RuntimeError(f"{outcome}: {detail}")

    argv = [sys.argv[0], str(corpus), f"-runs={a.runs}", f"-seed={a.seed}", f"-timeout={a.timeout}",
            "-rss_limit_mb=4096", f"-max_len={2 * fuzz.MAX_SEED_BYTES}", "-print_final_stats=1",
            f"-artifact_prefix={Path(a.artifacts).resolve()}/"]
    Path(a.artifacts).mkdir(parents=True, exist_ok=True)
    atheris.Setup(argv, target, custom_mutator=mutator)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
