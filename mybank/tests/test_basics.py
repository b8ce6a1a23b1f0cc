"""Run the companion examples and check what the cards claim: pytest tests/"""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "basics.py"
spec = importlib.util.spec_from_file_location("basics", EXAMPLE)
basics = importlib.util.module_from_spec(spec)
spec.loader.exec_module(basics)


def test_a_mutable_default_is_shared_between_calls():
    assert basics.append_shared(1) == [1]
    assert basics.append_shared(2) == [1, 2]  # the first call's item is still there


def test_a_none_default_gives_each_call_its_own_list():
    assert basics.append_fresh(1) == [1]
    assert basics.append_fresh(2) == [2]


def test_lower_bound_finds_the_first_position_not_below_the_target():
    values = [1, 3, 3, 5]
    assert [basics.lower_bound(values, t) for t in (0, 1, 3, 4, 5, 6)] == [0, 0, 1, 3, 3, 4]
