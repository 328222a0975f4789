"""Order brushing (刷单) and abnormal behaviour: rules that flag suspicious orders with their
reasons (``brushing.queries``, in the engine), what the flags add up to and the export
(``brushing.analysis``), and the section shown in the data-quality report (``brushing.view``).
Any report can leave the flagged orders out: ``source.without("orders", result.flags,
"order_id")``."""

from opsbook.brushing.analysis import (
    Brushing,
    LeftOut,
    brushing,
    export_flags,
    leave_out_flagged,
    left_out_metrics,
    refund_outlier_pairs,
    with_flagged,
)
from opsbook.brushing.queries import RULES, BrushingRules
from opsbook.brushing.view import show, show_export, show_sensitivity

__all__ = [
    "RULES",
    "Brushing",
    "BrushingRules",
    "LeftOut",
    "brushing",
    "export_flags",
    "leave_out_flagged",
    "left_out_metrics",
    "refund_outlier_pairs",
    "show",
    "show_export",
    "show_sensitivity",
    "with_flagged",
]
