"""What the catalog sync operators read and write outside Adobe: the catalog's name, the
`values` of its files, where its files are, the approved plan given back, an export's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_offers.operators._base import as_json_value

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


def catalog_name(task: BaseOperator, catalog: Any) -> str:
    """`catalog`, or "<dag_id>.<task_id>": the name in the marker of what the sync creates."""
    from airflow_provider_offers.api.errors import InvalidInputError

    name = catalog if catalog is not None else f"{task.dag_id}.{task.task_id}"
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("catalog", f"{name!r} is not a name")
    return name.strip()


def catalog_values(values: Any) -> dict[str, Any]:
    """The `values` that `{$value: NAME}` nodes of catalog files are replaced with."""
    from airflow_provider_offers.api.errors import InvalidInputError

    values = {} if values is None else as_json_value(values, "values")
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise InvalidInputError("values", "expected a mapping of names to values")
    return dict(values)


def in_object_storage(location: str) -> bool:
    """Whether `location` is an object storage URL (`s3://...`) rather than a local path or
    a `file:` URL."""
    return "://" in location and not location.lower().startswith("file:")


def catalog_root(task: Any, location: str, field: str) -> Any:
    """The file or folder `location` names: local (relative to the DAG file's folder unless
    `task.allow_outside_dag_folder`) or an object storage URL (`ObjectStoragePath`)."""
    from airflow_provider_offers.api.catalog import source
    from airflow_provider_offers.api.errors import InvalidInputError
    from airflow_provider_offers.api.inputs import parse_bool

    root: Any
    if in_object_storage(location):
        from airflow.sdk import ObjectStoragePath

        root = ObjectStoragePath(location)
    else:
        from pathlib import Path

        has_file = task.has_dag() and task.dag.fileloc
        folder = Path(task.dag.fileloc).parent if has_file else Path.cwd()
        allow = parse_bool(task.allow_outside_dag_folder, "allow_outside_dag_folder")
        root = source.local_source(location, folder, allow_outside=allow, field=field)
    if not root.exists():
        raise InvalidInputError(field, f"{location!r}: no such file or directory")
    return root


def checked_expected_plan(expected: Any, given: bool) -> Any:
    """The approved plan to apply, None when none was given; one given that rendered to
    nothing (a plan task that did not run) or is malformed fails before any request."""
    from airflow_provider_offers.api import catalog
    from airflow_provider_offers.api.errors import InvalidInputError
    from airflow_provider_offers.api.inputs import rendered_nothing

    if not given:
        return None
    if rendered_nothing(expected):
        raise InvalidInputError(
            "expected_plan",
            f"{expected!r}: it was given but is empty (a template or XCom that rendered "
            "nothing, such as a plan task that did not run); nothing was applied",
        )
    catalog.plan_entries(expected)
    return expected


def write_whole(destination: str, exported: Mapping[str, Any]) -> None:
    """The document at `destination`, written whole or not at all (a local file through a
    temporary file renamed over it; object storage in one write)."""
    import os
    import tempfile
    from pathlib import Path, PurePosixPath

    from airflow_provider_offers.api.catalog import export

    text = export.dump_document(exported, PurePosixPath(destination).suffix)
    if in_object_storage(destination):
        from airflow.sdk import ObjectStoragePath

        ObjectStoragePath(destination).write_text(text, encoding="utf-8")
        return
    path = Path(destination.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
