"""``python -m sim [overrides]``: run a study (see configs/config.yaml and docs/running.md)."""

from sim.pipeline.run import cli

if __name__ == "__main__":
    cli()
