"""The study pipeline: runs, ensembles, studies, reports, plots, analysis, provenance."""
