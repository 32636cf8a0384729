"""Agent-based model of Shaanxi's Qinchuangyuan innovation ecosystem (2019-2026 and beyond)."""

__version__ = "0.1.0"
