"""opsbook: an analytics workbook for online-operations teams.

Topic modules (``opsbook.quality``, ``opsbook.segmentation``, ...) are imported where used, so a
notebook pays only for what it reads.
"""

__version__ = "0.1.0"
