"""``inrzip bench``, ``bench-codecs``, ``plot`` and ``table``: rate-distortion sweeps and their results."""

from __future__ import annotations

from typing import Any

from ..bench.codecs import CODECS
from ..bench.plot import bd_table, format_bd_table, format_psnr_at_bpp, plot_rd, psnr_at_bpp
from ..bench.runner import bench, bench_codecs
from ..errors import InputError

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("bench", help="run a rate-distortion sweep (TOML) into a results database; resumable")
    p.add_argument("images", help="folder of images (e.g. ../shared/data/kodak)")
    p.add_argument("--config", required=True, help="sweep file, e.g. sweeps/kodak-doh.toml")
    p.add_argument("--db", required=True, help="results database (SQLite); rerun to resume")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (0: inline, no pool)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, help="torch threads per worker (default: cores / workers)")
    p.add_argument("--together", type=int, default=1, metavar="K",
                   help="fit up to K sweep points of one network in one pass (differing in image, lr, latent, "
                        "bits, QAT...); default 1")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_bench)

    q = sub.add_parser("bench-codecs", help="sweep classical codecs (real encoders) into a results database")
    q.add_argument("images", help="folder of images")
    q.add_argument("--codecs", default=",".join(CODECS), help=f"comma list from {','.join(CODECS)}")
    q.add_argument("--db", required=True, help="results database (SQLite); rerun to resume")
    q.add_argument("--limit", type=int, help="first N images only")
    q.add_argument("--glob", default="*.png", help="which files of the folder (default *.png)")
    q.add_argument("--workers", type=int, default=1, help="parallel processes (0: inline, no pool)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(handler=cmd_bench_codecs)

    for name, help_, handler in (
            ("plot", "PSNR/SSIM vs bpp per method from a results database, frontier marked", cmd_plot),
            ("table", "BD-rate / BD-PSNR of every method against an anchor", cmd_table)):
        t = sub.add_parser(name, help=help_)
        t.add_argument("db", help="results database")
        t.add_argument("--image", help="one image (file stem, e.g. kodim23) instead of the mean")
        t.add_argument("--published", help="published curves JSON, e.g. ../shared/data/baselines/kodak_published_rd.json")
        t.add_argument("--published-methods", help="comma list of published curves to use (default: all)")
        if name == "plot":
            t.add_argument("-o", "--output", required=True, help="image file, e.g. rd.png or rd.pdf")
            t.add_argument("--methods", help="comma list of our methods to draw (default: all)")
        else:
            t.add_argument("--anchor", default="jpeg", help="method (or 'NAME (published)') to compare with")
            t.add_argument("--at", help="also print mean PSNR at these bpp, e.g. 0.25,0.5,1")
        t.set_defaults(handler=handler)


def _names(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def cmd_bench(a: Any) -> int:
    s = bench(a.images, a.config, a.db, workers=a.workers, device=a.device, progress=not a.quiet,
              threads=a.threads, together=a.together)
    return 1 if s.failed else 0


def cmd_bench_codecs(a: Any) -> int:
    codecs = [c.strip() for c in a.codecs.split(",") if c.strip()]
    s = bench_codecs(a.images, codecs, a.db, workers=a.workers, images=a.glob, limit=a.limit, progress=not a.quiet)
    return 1 if s.failed else 0


def cmd_plot(a: Any) -> int:
    print(plot_rd(a.db, a.output, a.image, _names(a.methods), a.published, _names(a.published_methods)))
    return 0


def cmd_table(a: Any) -> int:
    print(format_bd_table(bd_table(a.db, a.anchor, a.image, a.published, _names(a.published_methods))))
    if a.at:
        try:
            rates = [float(r) for r in a.at.split(",")]
        except ValueError:
            raise InputError(f"--at {a.at!r}: write bpp values separated by commas, e.g. 0.25,0.5,1") from None
        print()
        print(format_psnr_at_bpp(psnr_at_bpp(a.db, rates, a.image), rates))
    return 0
