"""What a running plan keeps in its journal entry (``status.execution``), so that another process
can take it over.

Reservations live in one process's memory, and a plan names its pods only by ``namespace/name``;
a new leader (or the restarted service) cannot rebuild from the spec alone what the dead one had
resolved on the snapshot the plan was made from. So, from the moment room is first held, the run
keeps beside its phase:

- the resolved targets: each planned pod and victim by UID, node and demand, each move's owner
  (what the replacement's room is held for);
- ``evicted``: the victims it has evicted (written after each eviction: a victim evicted in the
  moment before a crash is found Terminating or gone instead, and counted evicted too);
- ``known``: the UIDs of each moved pod's owner's pods when the plan started: a pod of that owner
  not among them is a replacement;
- ``deadline``: the wall-clock time the plan must end by, whichever process runs it.

``ExecutionRecord.parse`` reads one back and raises ``BadRecord`` (one line) when it is not one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scheduler_ext.cluster.reservations import Demand
from scheduler_ext.execution.targets import Placement, Targets, Victim


class BadRecord(Exception):
    """The journal's execution record cannot be read (the message says why)."""


def _demand_out(demand: Demand) -> dict[str, int]:
    return dict(demand)


def _demand_in(value: Any) -> Demand:
    if not isinstance(value, Mapping):
        raise BadRecord("a demand is not a mapping")
    return tuple(sorted((str(k), int(v)) for k, v in value.items() if int(v)))


def _time_out(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time_in(value: Any) -> float:
    try:
        parsed = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError as exc:
        raise BadRecord(f"deadline {value!r} is not a time") from exc
    return parsed.replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class ExecutionRecord:
    targets: Targets
    evicted: frozenset[str]
    known: Mapping[str, frozenset[str]]
    deadline: float
    """Wall-clock seconds (``time.time``)."""

    def to_dict(self) -> dict[str, Any]:
        t = self.targets
        return {
            "placements": [
                {"pod": p.key, "uid": p.uid, "node": p.node, "demand": _demand_out(p.demand)}
                for p in t.placements
            ],
            "victims": [
                {
                    "pod": v.key,
                    "uid": v.uid,
                    "node": v.node,
                    "toNode": v.to_node,
                    "ownerUid": v.owner_uid,
                    "demand": _demand_out(v.demand),
                }
                for v in t.victims
            ],
            "evicted": sorted(self.evicted),
            "known": {owner: sorted(uids) for owner, uids in sorted(self.known.items())},
            "deadline": _time_out(self.deadline),
        }

    @classmethod
    def parse(cls, plan: str, value: Any) -> ExecutionRecord:
        if not isinstance(value, Mapping):
            raise BadRecord("no execution record")
        try:
            placements = tuple(
                Placement(str(p["pod"]), str(p["uid"]), str(p["node"]), _demand_in(p["demand"]))
                for p in value["placements"]
            )
            victims = tuple(
                Victim(
                    str(v["pod"]),
                    str(v["uid"]),
                    str(v["node"]),
                    str(v["toNode"]) if v.get("toNode") else None,
                    str(v.get("ownerUid") or ""),
                    _demand_in(v["demand"]),
                )
                for v in value["victims"]
            )
            known = {
                str(owner): frozenset(str(u) for u in uids)
                for owner, uids in (value.get("known") or {}).items()
            }
            evicted = frozenset(str(k) for k in value.get("evicted") or [])
            deadline = _time_in(value["deadline"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadRecord(f"the execution record is incomplete ({exc})") from exc
        if not placements:
            raise BadRecord("the execution record places no pod")
        return cls(Targets(plan, placements, victims), evicted, known, deadline)
