"""Order brushing (刷单) and abnormal behaviour: rules that flag suspicious orders with their
reasons (``brushing.queries``, in the engine), what the flags add up to and the export
(``brushing.analysis``), and the section shown in the data-quality report (``brushing.view``).
Any report can leave the flagged orders out: ``source.without("orders", result.flags,
"order_id")``."""

from opsbook.brushing.analysis import Brushing, brushing, export_flags, refund_outlier_pairs
from opsbook.brushing.queries import RULES, BrushingRules
from opsbook.brushing.view import show, show_export

__all__ = [
    "RULES",
    "Brushing",
    "BrushingRules",
    "brushing",
    "export_flags",
    "refund_outlier_pairs",
    "show",
    "show_export",
]
