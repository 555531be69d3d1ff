"""Small typed functions with doctests, for `autoformal docstrings --translate`: each becomes a Lean def, checked
by the kernel against its doctests (and, with `--run-python`, against the Python function itself)."""

from __future__ import annotations


def sum_list(xs: list[int]) -> int:
    """Return the sum of the elements of ``xs``.

    >>> sum_list([3, 1, 2])
    6
    >>> sum_list([])
    0
    """
    total = 0
    for x in xs:
        total += x
    return total


def max_of_two(a: int, b: int) -> int:
    """Return the larger of ``a`` and ``b``; the result is at least ``a`` and at least ``b``.

    >>> max_of_two(3, 7)
    7
    >>> max_of_two(-2, -5)
    -2
    """
    return a if a >= b else b


def reverse_list(xs: list[int]) -> list[int]:
    """Return the elements of ``xs`` in reverse order.

    >>> reverse_list([1, 2, 3])
    [3, 2, 1]
    """
    return xs[::-1]


def count_evens(xs: list[int]) -> int:
    """Return how many elements of ``xs`` are even.

    Examples:
        count_evens([1, 2, 4, 7]) == 2
        count_evens([]) == 0
    """
    return sum(1 for x in xs if x % 2 == 0)


def clamp(x: int, low: int, high: int) -> int:
    """Return ``x`` limited to the interval [``low``, ``high``], assuming ``low <= high``.

    >>> clamp(5, 0, 3)
    3
    >>> clamp(-1, 0, 3)
    0
    >>> clamp(2, 0, 3)
    2
    """
    return max(low, min(x, high))
