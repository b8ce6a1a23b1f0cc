"""Companion examples: each region is the code a card shows, and tests/ runs it."""


# region mutable-default
def append_shared(item, items=[]):  # noqa: B006 - the card's bug
    items.append(item)
    return items


def append_fresh(item, items=None):
    items = [] if items is None else items
    items.append(item)
    return items


# endregion


# region binary-search
def lower_bound(values, target):
    """Return the first index of a value >= target, or len(values)."""
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


# endregion
