"""Face image quality assessment: one module per method, one protocol, one registry."""

from sealshot.quality.base import Assessment, FaceBatch, FailureReason, QualityMethod, assess
from sealshot.quality.registry import DEFAULT_METHOD, available, get_quality, register

__all__ = ["DEFAULT_METHOD", "Assessment", "FaceBatch", "FailureReason", "QualityMethod", "assess", "available", "get_quality", "register"]
