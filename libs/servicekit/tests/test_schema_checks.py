"""The migration tests' schema checks: a table or column only one side has is a difference."""

from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table

from servicekit.db import create_engine
from servicekit.testing import empty_database, schema_differences, table_names


def _metadata(*extra: Column[Any]) -> MetaData:
    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True), *extra)
    return metadata


async def _create(url: str, metadata: MetaData) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


def _kinds(differences: list[Any]) -> list[tuple[str, str]]:
    """(operation, table) of each difference alembic reports."""
    return [
        (difference[0], difference[2] if difference[0] == "add_column" else difference[1].name)
        for difference in differences
    ]


async def test_a_database_built_from_the_metadata_has_no_differences(tmp_path: Path) -> None:
    with empty_database("sqlite", sqlite_file=tmp_path / "t.db", postgres_prefix="t") as url:
        assert await table_names(url) == set()
        await _create(url, _metadata())

        assert await table_names(url) == {"things"}
        assert await schema_differences(url, _metadata()) == []


async def test_a_column_or_table_only_one_side_has_is_a_difference(tmp_path: Path) -> None:
    with empty_database("sqlite", sqlite_file=tmp_path / "t.db", postgres_prefix="t") as url:
        await _create(url, _metadata())

        missing_column = await schema_differences(url, _metadata(Column("name", String(20))))
        extra_table = await schema_differences(url, MetaData())

    assert _kinds(missing_column) == [("add_column", "things")]
    assert _kinds(extra_table) == [("remove_table", "things")]
