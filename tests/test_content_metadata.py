"""Content metadata features on a tiny catalogue with obvious answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from features.content_metadata import ContentMetadata
from features.snapshot import Snapshot


def _content(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("published_at", "expires_at"):
        frame[column] = pd.to_datetime(frame.get(column), utc=True)
    return frame


CATALOGUE = _content(
    [
        {
            "content_id": "a",
            "content_type": "article",
            "language": "en",
            "topics": ["ai", "cloud"],
            "author_id": "ana",
            "published_at": "2026-10-01T00:00:00Z",
        },
        {
            "content_id": "b",
            "content_type": "job",
            "language": "de",
            "topics": ["hiring"],
            "author_id": "ana",
            "published_at": "2026-10-09T12:00:00Z",
            "expires_at": "2026-10-09T18:00:00Z",
        },
        {
            "content_id": "c",
            "content_type": "event",
            "language": None,
            "topics": [],
            "author_id": None,
            "published_at": "2026-10-20T00:00:00Z",
        },
    ]
)


def _row(matrix, content_id: str) -> dict[str, float]:
    values = np.asarray(matrix.rows([content_id]).todense()).ravel()
    return {name: v for name, v in zip(matrix.names, values, strict=True) if v}


def test_rows_are_one_hot_and_aged_relative_to_as_of() -> None:
    snapshot = Snapshot.from_frames("2026-10-10T00:00:00Z", content=CATALOGUE)
    matrix = ContentMetadata().fit(snapshot).transform(snapshot)
    assert _row(matrix, "a") == {
        "type=article": 1,
        "language=en": 1,
        "topic=ai": 1,
        "topic=cloud": 1,
        "author=ana": 1,
        "age=7-30d": 1,
    }
    assert _row(matrix, "b") == {
        "type=job": 1,
        "language=de": 1,
        "topic=hiring": 1,
        "author=ana": 1,
        "age=0-1d": 1,
        "expired": 1,
    }
    assert _row(matrix, "c") == {"type=event": 1, "age=scheduled": 1}


def test_new_content_gets_a_full_row_without_refit() -> None:
    snapshot = Snapshot.from_frames("2026-10-10", content=CATALOGUE)
    builder = ContentMetadata().fit(snapshot)
    new = _content(
        [
            {
                "content_id": "n",
                "content_type": "podcast",
                "language": "en",
                "topics": ["ai", "space"],
                "author_id": "zoe",
                "published_at": "2026-10-30T00:00:00Z",
            }
        ]
    )
    later = Snapshot.from_frames("2026-11-01", content=pd.concat([CATALOGUE, new]))
    matrix = builder.transform(later, ["n", "a"])
    assert matrix.ids.external.tolist() == ["n", "a"]
    assert _row(matrix, "n") == {
        "type=__other__": 1,
        "language=en": 1,
        "topic=ai": 1,
        "author=__other__": 1,
        "age=1-3d": 1,
    }


def test_not_fitted_and_unknown_ids_are_clear_errors() -> None:
    snapshot = Snapshot.from_frames("2026-10-10", content=CATALOGUE)
    with pytest.raises(NotFittedError, match="fit"):
        ContentMetadata().transform(snapshot)
    with pytest.raises(KeyError, match="zzz"):
        ContentMetadata().fit(snapshot).transform(snapshot, ["zzz"])
