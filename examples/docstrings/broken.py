"""A module with a syntax error: `autoformal docstrings` reports it with its line and carries on."""


def add(a: int, b: int) -> int:
    """Return the sum of ``a`` and ``b``."""
    return a + b


def broken(xs: list[int]) -> int
    """The missing colon above is the syntax error."""
    return len(xs)
