"""Sample module for `autoformal docstrings`: small, documented, typed functions (and a few that cannot be
typed, to show how they are reported). It is read with `ast` only; nothing here is imported or run."""

from __future__ import annotations

from typing import Optional


def insertion_sort(xs: list[int]) -> list[int]:
    """Return a new list with the elements of ``xs`` in ascending order.

    The result is a permutation of ``xs``.

    >>> insertion_sort([3, 1, 2])
    [1, 2, 3]
    """
    result: list[int] = []
    for x in xs:
        i = len(result)
        while i > 0 and result[i - 1] > x:
            i -= 1
        result.insert(i, x)
    return result


def binary_search(xs: list[int], target: int) -> Optional[int]:
    """Find ``target`` in the sorted list ``xs``.

    Returns:
        An index ``i`` with ``xs[i] == target``, or None if ``target`` does not occur in ``xs``.

    Raises:
        ValueError: if ``xs`` is not sorted in ascending order.
    """
    if any(a > b for a, b in zip(xs, xs[1:])):
        raise ValueError("xs must be sorted")
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(xs) and xs[lo] == target else None


def gcd(a: int, b: int) -> int:
    """Return the greatest common divisor of ``a`` and ``b``.

    The result is non-negative and divides both ``a`` and ``b``.

    >>> gcd(12, 18)
    6
    """
    while b:
        a, b = b, a % b
    return abs(a)


def mean(values: list[float]) -> float:
    """Return the arithmetic mean of ``values``.

    Raises ValueError if ``values`` is empty.
    """
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)


def is_palindrome(s: str) -> bool:
    """Return True exactly when ``s`` reads the same forwards and backwards.

    >>> is_palindrome("level")
    True
    >>> is_palindrome("lean")
    False
    """
    return s == s[::-1]


def word_counts(text: str) -> dict[str, int]:
    """Map each whitespace-separated word of ``text`` to the number of times it occurs."""
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def clamp(x, low, high):
    """Return ``x`` limited to the interval [``low``, ``high``]."""
    return max(low, min(x, high))


def log_event(message: str) -> None:
    """Append ``message`` to the event log."""
    print(message)


class Rectangle:
    """An axis-aligned rectangle."""

    def __init__(self, width: float, height: float) -> None:
        """Create a rectangle; both sides must be non-negative."""
        self.width = width
        self.height = height

    def area(self) -> float:
        """Return the area, ``width * height``; it is never negative."""
        return self.width * self.height

    def contains(self, x: float, y: float) -> bool:
        """Return True when the point (``x``, ``y``) lies inside the rectangle placed at the origin."""
        return 0 <= x <= self.width and 0 <= y <= self.height

    def scaled(self, factor: float) -> Rectangle:
        """Return a copy with both sides multiplied by ``factor``."""
        return Rectangle(self.width * factor, self.height * factor)

    @staticmethod
    def square_area(side: float) -> float:
        """Return the area of a square with side ``side``, that is ``side ** 2``."""
        return side * side
