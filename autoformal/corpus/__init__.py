"""Declaration and example corpora."""

from autoformal.corpus.models import Declaration, Example

__all__ = ["Declaration", "Example"]
