"""features.data.directory: advocates looked up for people, opted-out ones never returned."""

from __future__ import annotations

import pandas as pd
import pytest

from features.data.directory import advocate, find_advocates, group_choices
from features.data.store import Store
from tests.test_serving_data import advocates, write_table


@pytest.fixture
def filled(store: Store) -> Store:
    frame = advocates()
    frame.loc[frame["employee_id"] == "e3", "opted_out"] = "true"
    extra = frame.iloc[[0]].assign(employee_id="E10_x", department="Legal")
    write_table(store, "advocates", pd.concat([frame, extra], ignore_index=True))
    return store


def test_find_by_id_part_prefix_first_without_opted_out(filled: Store) -> None:
    found = [a.employee_id for a in find_advocates(filled, "E1")]
    assert found == ["E10_x", "e1"]  # prefix matches first, case-insensitive
    assert "e3" not in [a.employee_id for a in find_advocates(filled, "")]
    assert find_advocates(filled, "3") == []
    assert find_advocates(filled, "_") == [advocate(filled, "E10_x")]  # wildcards are literal
    sales = find_advocates(filled, "", department="sales", limit=2)
    assert [a.employee_id for a in sales] == ["e1", "e5"]
    with pytest.raises(ValueError, match="limit"):
        find_advocates(filled, "e", limit=0)


def test_one_advocate_and_the_picker_choices(filled: Store) -> None:
    one = advocate(filled, "e1")
    assert one is not None and one.department == "Sales" and one.languages == ("en", "de")
    assert advocate(filled, "e3") is None and advocate(filled, "nobody") is None
    choices = group_choices(filled)
    assert choices["department"] == ["Engineering", "Legal", "Sales"]
    assert choices["region"] == ["EMEA", "NA"]
