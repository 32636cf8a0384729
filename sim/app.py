"""``python -m sim.app [--port N]``: serve the lever explorer on http://127.0.0.1:N (default 8765).

Loopback only. Needs the ``app`` extra (``pip install -e '.[app]'``; ``make app`` does it).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import warnings

from sim.model.params import ConfigError, RunConfig
from sim.pipeline.ensemble import PosteriorUnavailable

HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _args(argv: list[str] | None) -> argparse.Namespace:
    from sim.pipeline.explorer import engine

    ap = argparse.ArgumentParser(prog="python -m sim.app", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    ap.add_argument(
        "--replicates",
        type=int,
        default=engine.DEFAULT_REPLICATES,
        help=f"replicates each setting grows to (default {engine.DEFAULT_REPLICATES})",
    )
    ap.add_argument(
        "--scale",
        type=float,
        default=engine.DEFAULT_SCALE,
        help=f"share of the real firm population simulated (default {engine.DEFAULT_SCALE})",
    )
    ap.add_argument(
        "--seed", type=int, default=engine.DEFAULT_SEED, help="root seed of the study (default 0)"
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)"
    )
    return ap.parse_args(argv)


def check(args: argparse.Namespace) -> None:
    """Refuse bad options in one line naming the option and what is allowed."""
    from sim.pipeline.explorer import engine

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: must be a whole number in [1, 65535]")
    if not engine.MIN_ANSWER <= args.replicates <= 100_000:
        raise ConfigError(
            f"--replicates {args.replicates}: must be a whole number in [{engine.MIN_ANSWER}, 100000]"
        )
    if not 1 <= args.jobs <= 256:
        raise ConfigError(f"--jobs {args.jobs}: must be a whole number in [1, 256]")
    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed}: must be a whole number >= 0")
    try:
        RunConfig(scale=args.scale).validate()
    except ConfigError as exc:
        raise ConfigError(f"--{exc}") from None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds (TIME_WAIT is no conflict)
        try:
            s.bind((HOST, args.port))
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ConfigError(
                f"--port {args.port}: {HOST}:{args.port} is {why}; pass another --port"
            ) from None


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    try:
        check(args)
        os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home
        os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # no badge over the charts
        import solara  # noqa: F401
        import uvicorn

        from sim.pipeline.explorer import engine

        eng = engine.configure(scale=args.scale, replicates=args.replicates, seed=args.seed, jobs=args.jobs)
    except (ConfigError, PosteriorUnavailable) as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ImportError as exc:
        print(
            f"error: the explorer needs the 'app' extra ({exc.name} missing): pip install -e '.[app]' "
            "or make app",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    eng.want(eng.baseline())  # the plan's replicates start before the first page opens
    os.environ["SOLARA_APP"] = "sim.pipeline.explorer.page"
    # Solara warns on every page load that plain-http cookies fall back to SameSite=Lax: right for loopback
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)
    print(
        f"lever explorer: http://{HOST}:{args.port}  (scale {args.scale}, {args.replicates} replicates a setting, "
        f"{eng.jobs} worker processes; Ctrl-C stops it)",
        flush=True,
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown: make it an exit that runs ``finally``
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("solara.server.starlette:app", host=HOST, port=args.port, log_level="warning")
    except KeyboardInterrupt:
        pass
    finally:
        eng.close()


if __name__ == "__main__":
    main()
