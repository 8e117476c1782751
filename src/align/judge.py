"""Moved to ``align.scoring.head`` (the learned layer) and ``align.scoring.decide`` (document
statuses); kept for one release."""

from .scoring.decide import MAX_EVIDENCE, decide, document_confidence
from .scoring.head import FEATURES, LOGIT_CLIP, Head, logit, sigmoid

__all__ = ["FEATURES", "LOGIT_CLIP", "MAX_EVIDENCE", "Head", "decide", "document_confidence",
           "logit", "sigmoid"]
