"""Which recorded releases the scenarios need, found in the records or reported missing."""

from conftest import missing

from nova_tools.release_records import Record, version_key

FIRST = "1.0.0"


def old_and_new(records: list[Record], distribution: str) -> tuple[Record, Record]:
    """``distribution`` 1.0.0 and its newest later release; missing() when either is not recorded."""
    mine = sorted(
        (r for r in records if r.distribution == distribution), key=lambda r: version_key(r.version)
    )
    if not mine:
        missing(
            f"no recorded releases of {distribution} (needs {FIRST} and a later one; see tools/README.md)"
        )
    old = next((r for r in mine if r.version == FIRST), None)
    if old is None:
        missing(
            f"no recorded release {distribution}=={FIRST} (recorded: {', '.join(r.version for r in mine)})"
        )
    newer = [r for r in mine if version_key(r.version) > version_key(FIRST)]
    if not newer:
        missing(f"no recorded release of {distribution} newer than {FIRST}")
    return old, newer[-1]
