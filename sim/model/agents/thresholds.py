"""The official bars firms are measured against, shared by the firms' own decisions and the certification
rules: the HNTE R&D-intensity notch (firms bunch just above it) and the above-scale revenue bars (the R&D
survey's scope). Sources: ``docs/mechanisms.md`` §1.
"""

from __future__ import annotations

import numpy as np

# Firms' sectors (国民经济行业分类 门类): industry, and the two service 门类 that hold most innovation firms in
# services. Other service 门类 (租赁和商务服务业 at the same 1,000万 bar, 文化、体育和娱乐业 at 500万, ...)
# are folded into 科学研究和技术服务业 (assumption: few innovation firms).
SECTOR_INDUSTRY = 0  # 工业 (manufacturing, mining, utilities)
SECTOR_SCITECH = 1  # 科学研究和技术服务业 (M)
SECTOR_ICT = 2  # 信息传输、软件和信息技术服务业 (I)

# ---- HNTE (国科发火〔2016〕32号 and its 工作指引; docs/mechanisms.md §1.2)
HTE_RD_BANDS = ([5000.0, 20000.0], [0.05, 0.04, 0.03])  # revenue 万元 <= 5,000 / <= 2亿 / above

# ---- above-scale statistics (规模以上), the R&D survey's scope (docs/mechanisms.md §1.5). 国家统计局
# (统计指标解释, 规模以上工业 and 规模以上服务业): industry, main-business revenue >= 2,000万; services by
# 门类, yearly operating revenue >= 2,000万 for 交通运输、仓储和邮政业, 信息传输、软件和信息技术服务业 and
# 水利、环境和公共设施管理业 (and 卫生), >= 1,000万 for 租赁和商务服务业, 科学研究和技术服务业 and 教育 (and
# parts of 房地产业), >= 500万 for 居民服务、修理和其他服务业 and 文化、体育和娱乐业 (and 社会工作).
ABOVE_SCALE_REVENUE = 2000.0  # 万元, industry
ABOVE_SCALE_ICT_REVENUE = 2000.0  # 万元, 信息传输、软件和信息技术服务业
ABOVE_SCALE_SCITECH_REVENUE = 1000.0  # 万元, 科学研究和技术服务业
ABOVE_SCALE_BARS = {
    SECTOR_INDUSTRY: ABOVE_SCALE_REVENUE,
    SECTOR_SCITECH: ABOVE_SCALE_SCITECH_REVENUE,
    SECTOR_ICT: ABOVE_SCALE_ICT_REVENUE,
}
_BAR_OF_SECTOR = np.array([ABOVE_SCALE_BARS[code] for code in sorted(ABOVE_SCALE_BARS)])


def above_scale(sector, revenue) -> np.ndarray:
    """Above the statistical revenue bar of its sector (the R&D survey's scope; T16a)."""
    return np.asarray(revenue) >= _BAR_OF_SECTOR[np.asarray(sector)]


def hte_rd_threshold(revenue) -> np.ndarray:
    """Three-year R&D intensity required for HNTE: 5 / 4 / 3 % by latest-year revenue band."""
    edges, thresholds = HTE_RD_BANDS
    return np.asarray(thresholds)[np.searchsorted(edges, revenue, side="left")]
