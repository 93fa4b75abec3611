"""attrib: multichannel attribution and ROI analytics for B2B marketing."""

from __future__ import annotations

__version__ = "0.1.0"
