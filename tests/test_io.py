"""attrib.io's streamed Parquet writer: in place only when the block ends without error."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attrib.io import parquet_appender

SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.string())])


def test_tables_are_appended_and_cast_to_the_first_schema(tmp_path):
    target = tmp_path / "t.parquet"
    with parquet_appender(target) as out:
        out.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}, schema=SCHEMA))
        out.write_table(pa.table({"a": pa.array([3], pa.int32()), "b": ["z"]}))
        assert not target.exists()  # not before the block ends
    back = pq.read_table(target)
    assert back.schema == SCHEMA
    assert back.column("a").to_pylist() == [1, 2, 3]
    assert list(tmp_path.iterdir()) == [target]


def test_an_error_in_the_block_leaves_nothing(tmp_path):
    target = tmp_path / "t.parquet"

    def fail_half_way() -> None:
        with parquet_appender(target, SCHEMA) as out:
            out.write_table(pa.table({"a": [1], "b": ["x"]}, schema=SCHEMA))
            raise RuntimeError("the caller's own error")

    with pytest.raises(RuntimeError, match="the caller's own error"):
        fail_half_way()
    assert list(tmp_path.iterdir()) == []


def test_a_given_schema_makes_a_file_without_rows(tmp_path):
    target = tmp_path / "t.parquet"
    with parquet_appender(target, SCHEMA):
        pass
    back = pq.read_table(target)
    assert back.num_rows == 0
    assert back.schema == SCHEMA
