"""``inrzip bench``, ``bench-codecs``, ``plot``, ``table``, ``report`` and ``export``: rate-distortion sweeps and
their results."""

from __future__ import annotations

from typing import Any

from ..bench.backends import BACKENDS
from ..bench.codecs import CODECS
from ..bench.export import EXPORTERS, POINTS, export
from ..bench.plot import bd_table, format_bd_table, format_psnr_at_bpp, plot_rd, psnr_at_bpp
from ..bench.report import report
from ..bench.runner import bench, bench_codecs
from ..errors import InputError

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """The sweep and its views: bench, bench-codecs, plot, table, report, export."""
    _add_bench(sub)
    _add_codecs(sub)
    _add_views(sub)
    _add_report(sub)
    _add_export(sub)


def _add_bench(sub: Any) -> None:
    """``bench``: an INR sweep from a TOML file."""
    p = sub.add_parser("bench", help="run a rate-distortion sweep (TOML) into a results database; resumable")
    p.add_argument("images", help="folder of images (e.g. ../shared/data/kodak)")
    p.add_argument("--config", required=True, help="sweep file, e.g. sweeps/kodak-doh.toml")
    p.add_argument("--db", required=True, help="results database (SQLite); rerun to resume")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (0: inline, no pool); with --executor ray, tasks at once on the local Ray instance")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, help="torch threads per worker (default: cores / workers)")
    p.add_argument("--together", type=int, default=1, metavar="K",
                   help="fit up to K sweep points of one network in one pass (differing in image, lr, latent, "
                        "bits, QAT...); default 1")
    _add_run_flags(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_bench)


def _add_codecs(sub: Any) -> None:
    """``bench-codecs``: classical codecs into the same database."""
    q = sub.add_parser("bench-codecs", help="sweep classical codecs (real encoders) into a results database")
    q.add_argument("images", help="folder of images")
    q.add_argument("--codecs", default=",".join(CODECS), help=f"comma list from {','.join(CODECS)}")
    q.add_argument("--db", required=True, help="results database (SQLite); rerun to resume")
    q.add_argument("--limit", type=int, help="first N images only")
    q.add_argument("--glob", default="*.png", help="which files of the folder (default *.png)")
    q.add_argument("--workers", type=int, default=1, help="parallel processes (0: inline, no pool); with --executor ray, tasks at once on the local Ray instance")
    _add_run_flags(q)
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(handler=cmd_bench_codecs)


def _add_views(sub: Any) -> None:
    """``plot`` and ``table``: what a database holds, drawn or as BD figures."""
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


def _add_report(sub: Any) -> None:
    """``report``: a static site of a database."""
    r = sub.add_parser("report", help="a static web site of a results database: RD charts, BD table, "
                                      "before/after sliders of the decoded files (opens from disk)")
    r.add_argument("db", help="results database")
    r.add_argument("-o", "--output", required=True, help="folder to write (index.html and the pages it links)")
    r.add_argument("--anchor", help="BD-rate anchor (default: jpeg if present, else the first codec)")
    r.add_argument("--view", type=int, default=256,
                   help="show a VIEW x VIEW window at each image's centre (0: whole images); default 256")
    r.add_argument("--points", type=int, default=6,
                   help="comparison points per method and image (spread over its frontier); default 6")
    r.set_defaults(handler=cmd_report)


def _add_export(sub: Any) -> None:
    """``export``: a database in another tool's format."""
    e = sub.add_parser("export", help="results in another tool's format (CompressAI results JSON)")
    e.add_argument("db", help="results database")
    e.add_argument("-o", "--output", required=True,
                   help="a .json file (one object, or a list if several methods), or a folder: <method>.json each")
    e.add_argument("--format", default="compressai", choices=sorted(EXPORTERS), help="default compressai")
    e.add_argument("--image", help="one image (file stem) instead of the mean over images")
    e.add_argument("--methods", help="comma list of methods (default: all)")
    e.add_argument("--points", default="frontier", choices=POINTS,
                   help="frontier (default): the Pareto frontier of the averaged points; all: every configuration")
    e.set_defaults(handler=cmd_export)


def _add_run_flags(p: Any) -> None:
    """Where the sweep runs and what it keeps (shared by bench and bench-codecs)."""
    p.add_argument("--executor", default="local", choices=sorted(BACKENDS),
                   help="local: a process pool on this machine (default); ray: one Ray task per unit "
                        "(pip install 'inrzip[ray]')")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --executor ray: a running Ray cluster, e.g. 10.0.0.5:6379 or auto "
                        "(default: start a local Ray instance on 127.0.0.1 for this run)")
    p.add_argument("--no-files", dest="keep_files", action="store_false",
                   help="do not store the encoded files and originals in the database (inrzip report then "
                        "shows no pictures)")


def _run_options(a: Any) -> dict[str, Any]:
    if a.ray_address and a.executor != "ray":
        raise InputError("--ray-address needs --executor ray")
    return {"executor": a.executor, "ray_address": a.ray_address, "keep_files": a.keep_files,
            "command": getattr(a, "command_line", None)}


def _names(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def cmd_bench(a: Any) -> int:
    s = bench(a.images, a.config, a.db, workers=a.workers, device=a.device, progress=not a.quiet,
              threads=a.threads, together=a.together, **_run_options(a))
    return 1 if s.failed else 0


def cmd_bench_codecs(a: Any) -> int:
    codecs = [c.strip() for c in a.codecs.split(",") if c.strip()]
    s = bench_codecs(a.images, codecs, a.db, workers=a.workers, images=a.glob, limit=a.limit, progress=not a.quiet,
                     **_run_options(a))
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


def cmd_report(a: Any) -> int:
    s = report(a.db, a.output, anchor=a.anchor, view=a.view, points=a.points)
    print(f"{s.index}: {len(s.pages)} image pages, {s.pictures} decoded pictures"
          + (f", {s.rows_without_file} rows without a stored file" if s.rows_without_file else "")
          + ("" if s.interactive else " (static charts: plotly not installed)"))
    return 0


def cmd_export(a: Any) -> int:
    for path in export(a.db, a.output, a.format, a.image, _names(a.methods), a.points):
        print(path)
    return 0
