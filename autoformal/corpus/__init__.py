"""Declaration and example corpora: records, loaders, and `@[to_additive]` twin synthesis."""

from autoformal.corpus.errors import CorpusError, CorpusFormatError
from autoformal.corpus.examples import default_examples_path, load_examples
from autoformal.corpus.kinds import STATEMENT_KINDS, THEOREM_KINDS, select_kinds
from autoformal.corpus.loading import DeclarationCorpus, load_declarations
from autoformal.corpus.models import Declaration, Example

__all__ = [
    "STATEMENT_KINDS",
    "THEOREM_KINDS",
    "CorpusError",
    "CorpusFormatError",
    "Declaration",
    "DeclarationCorpus",
    "Example",
    "default_examples_path",
    "load_declarations",
    "load_examples",
    "select_kinds",
]
