"""The official bars firms are measured against, shared by the firms' own decisions and the certification
rules: the HNTE R&D-intensity notch (firms bunch just above it) and the above-scale revenue bars (the R&D
survey's scope). Sources: ``docs/mechanisms.md`` §1.
"""

from __future__ import annotations

import numpy as np

SECTOR_INDUSTRY, SECTOR_SERVICES = 0, 1

# ---- HNTE (国科发火〔2016〕32号 and its 工作指引; docs/mechanisms.md §1.2)
HTE_RD_BANDS = ([5000.0, 20000.0], [0.05, 0.04, 0.03])  # revenue 万元 <= 5,000 / <= 2亿 / above

# ---- above-scale statistics (规模以上): industry main-business revenue >= 2,000万; services >= 1,000万 for
# information, software and scientific and technical services (国家统计局 规模以上服务业 thresholds; other
# service sectors range 500-5,000万, assumption that innovation firms are in those sectors)
ABOVE_SCALE_REVENUE = 2000.0  # 万元, industry
ABOVE_SCALE_SERVICES_REVENUE = 1000.0  # 万元, services


def above_scale(sector, revenue) -> np.ndarray:
    """Above the statistical revenue bar of its sector (the R&D survey's scope; T16a)."""
    bar = np.where(np.asarray(sector) == SECTOR_INDUSTRY, ABOVE_SCALE_REVENUE, ABOVE_SCALE_SERVICES_REVENUE)
    return np.asarray(revenue) >= bar


def hte_rd_threshold(revenue) -> np.ndarray:
    """Three-year R&D intensity required for HNTE: 5 / 4 / 3 % by latest-year revenue band."""
    edges, thresholds = HTE_RD_BANDS
    return np.asarray(thresholds)[np.searchsorted(edges, revenue, side="left")]
