"""The ingest's parent adds up each chunk's rule results and finishes the rules that need the
whole file (``unique``, ``rowCount``, ``freshness``) into the snapshot's quality report."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from provenance.quality.evaluate import FIRST_KEYS, ChunkQuality, rule_failed
from provenance.quality.report import QualityReport, RuleOutcome
from provenance.quality.rules import Rule

# Record indexes → (key text, line) of those records, by reading the file again (only when a
# unique rule failed: the parent keeps no keys).
KeysAndLines = Callable[[set[int]], dict[int, tuple[bytes, int]]]


class _Background:
    """One call in a thread of its own; ``result`` joins it and re-raises what it raised."""

    def __init__(self, call: Callable[[], Repeats]) -> None:
        self._call = call
        self._value: Repeats | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="quality-unique", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as e:  # handed to the caller of result()
            self._error = e

    def result(self) -> Repeats:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


@dataclass
class _Unique:
    indexes: list[pa.Array] = field(default_factory=list)  # record indexes in the file
    values: list[pa.Array] = field(default_factory=list)


class QualityTally:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.failures = [0] * len(rules)
        self.first_keys: list[list[bytes]] = [[] for _ in rules]
        self.unique = [_Unique() for _ in rules]
        self.newest: list[tuple[float, str] | None] = [None] * len(rules)
        # Each chunk's first index and key texts, kept while a unique rule may need to name
        # records anywhere in the file (reading the file again for them cost a serial pass).
        self._keys: list[tuple[int, bytes]] = []
        self._keep_keys = any(r.kind == "unique" for r in rules)
        self._repeats: dict[int, _Background] = {}

    def start_whole_file_rules(self) -> None:
        """Start grouping the unique columns (Arrow, without the GIL) once the last chunk is in,
        so it runs beside the parent's other end-of-file work: the key check and the tree.
        A thread per ingest, joined before it returns: a thread left running would make the
        next ingest fork its workers from a fork server (a threaded process cannot fork safely)."""
        for i, rule in enumerate(self.rules):
            if rule.kind == "unique" and i not in self._repeats:
                u = self.unique[i]
                self._repeats[i] = _Background(partial(find_repeats, u.indexes, u.values))

    def add(self, first_index: int, keys: bytes, quality: ChunkQuality) -> None:
        """One chunk's results, in file order: its first record's index in the file, its records'
        key texts and what the worker found (record indexes counted from the chunk's start)."""
        split: list[bytes] | None = None
        if self._keep_keys:
            self._keys.append((first_index, keys))
        for i in range(len(self.rules)):
            self.failures[i] += quality.failures[i]
            wanted = FIRST_KEYS - len(self.first_keys[i])
            if quality.first[i] and wanted > 0:
                split = split or keys.split(b"\n")
                self.first_keys[i] += [split[j] for j in quality.first[i][:wanted]]
            unique = quality.unique[i]
            if unique is not None:
                self.unique[i].indexes.append(pc.cast(pc.add(unique[0], first_index), pa.int64()))
                self.unique[i].values.append(unique[1])
            newest = quality.newest[i]
            if newest is not None and (self.newest[i] is None or newest[0] > self.newest[i][0]):  # type: ignore[index]
                self.newest[i] = newest

    def finish(self, records: int, as_of: int, keys_and_lines: KeysAndLines, source: str) -> QualityReport:
        """The report; raises for an ``error`` rule of the whole file that fails.

        Raises:
            InputError: ``quality.rule-failed``.
        """
        outcomes = []
        for i, rule in enumerate(self.rules):
            if rule.kind == "unique":
                outcome = self._unique(i, keys_and_lines, source)
            elif rule.kind == "rowCount":
                outcome = _row_count(rule, records)
            elif rule.kind == "freshness":
                outcome = _freshness(rule, self.newest[i], as_of)
            else:
                outcome = RuleOutcome(rule, self.failures[i], tuple(self.first_keys[i]))
            if outcome.failures and rule.level == "error":  # only whole-file rules get here
                raise rule_failed(rule, str(outcome.detail.get("reason", "failed")), source, None)
            outcomes.append(outcome)
        return QualityReport(records, as_of, tuple(outcomes))

    def _unique(self, i: int, keys_and_lines: KeysAndLines, source: str) -> RuleOutcome:
        self.start_whole_file_rules()
        rule, repeats = self.rules[i], self._repeats[i].result()
        if repeats.count == 0:
            return RuleOutcome(rule, 0)
        if rule.level == "error":
            at, earlier = repeats.first[0], repeats.earlier
            line = keys_and_lines({at})[at][1]
            raise rule_failed(
                rule, f"record {at + 1} repeats the value of record {earlier + 1}", source, line
            )
        return RuleOutcome(rule, repeats.count, tuple(self._key_of(j) for j in repeats.first))

    def _key_of(self, index: int) -> bytes:
        at = bisect.bisect_right([first for first, _ in self._keys], index) - 1
        first, keys = self._keys[at]
        return keys.split(b"\n")[index - first]


def _row_count(rule: Rule, records: int) -> RuleOutcome:
    low, high = rule.value.get("min", 0), rule.value.get("max")
    bad = records < low or (high is not None and records > high)
    return RuleOutcome(rule, int(bad), detail={"reason": f"{records} records"} if bad else {})


def _freshness(rule: Rule, newest: tuple[float, str] | None, as_of: int) -> RuleOutcome:
    if newest is None:
        return RuleOutcome(rule, 1, detail={"newest": None, "reason": "no date in the column"})
    age = as_of - newest[0]
    bad = age > rule.value["maxAge"]
    detail: dict[str, object] = {"newest": newest[1]}
    if bad:
        detail["reason"] = f"the newest value {newest[1]} is {int(age)} s old at {as_of}"
    return RuleOutcome(rule, int(bad), detail=detail)


@dataclass(frozen=True)
class Repeats:
    count: int  # records whose value repeats an earlier record's
    first: list[int]  # the first few of them, in file order
    earlier: int  # the record the first of them repeats


def find_repeats(indexes: list[pa.Array], values: list[pa.Array]) -> Repeats:
    """Records whose value repeats an earlier record's, in C (Arrow): one ``value_counts``
    (~0.15 s per million values here; a hash group-by with each value's first index cost three
    times that) finds the repeated values, and only their records are then looked at."""
    none = Repeats(0, [], -1)
    column = pa.chunked_array(values, pa.string())
    if len(column) < 2:
        return none
    counts = pc.value_counts(column)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return none
    failing = pc.sum(pc.subtract(repeated.field("counts"), 1)).as_py()
    table = pa.table({"v": column, "i": pa.chunked_array(indexes, pa.int64())})
    rows = table.filter(pc.is_in(table["v"], value_set=repeated.field("values")))
    rows = rows.take(pc.sort_indices(rows["i"]))
    first_of: dict[str, int] = {}
    first: list[int] = []
    earlier = -1
    for value, index in zip(rows["v"].to_pylist(), rows["i"].to_pylist(), strict=True):
        if value not in first_of:
            first_of[value] = index
            continue
        if not first:
            earlier = first_of[value]
        first.append(index)
        if len(first) == FIRST_KEYS:
            break
    return Repeats(failing, first, earlier)
