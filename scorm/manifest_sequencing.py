"""Read IMS Simple Sequencing (imsss) and ADL sequencing elements into plain JSON data.

Keys use snake_case of the IMS SS attribute names; values stay strings except
booleans, which become True or False. Missing attributes are left out, so a
reader applies the IMS SS defaults itself.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

BOOLEAN_ATTRIBUTES = {
    "choice", "choiceExit", "flow", "forwardOnly", "useCurrentAttemptObjectiveInfo",
    "useCurrentAttemptProgressInfo", "satisfiedByMeasure", "readSatisfiedStatus",
    "readNormalizedMeasure", "writeSatisfiedStatus", "writeNormalizedMeasure",
    "rollupObjectiveSatisfied", "rollupProgressCompletion", "tracked",
    "completionSetByContent", "objectiveSetByContent", "constrainChoice",
    "preventActivation", "measureSatisfactionIfActive", "readCompletionStatus",
    "writeCompletionStatus", "readProgressMeasure", "writeProgressMeasure",
    "readAttemptCompletionAmount", "writeAttemptCompletionAmount",
    "readRawScore", "writeRawScore", "readMinScore", "writeMinScore",
    "readMaxScore", "writeMaxScore",
}


def _local(name: Any) -> str:
    if not isinstance(name, str):
        return ""
    return etree.QName(name).localname if name.startswith("{") else name


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _attributes(element: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in element.attrib.items():
        local = _local(name)
        if local in BOOLEAN_ATTRIBUTES:
            values[_snake(local)] = value.strip().lower() == "true"
        else:
            values[_snake(local)] = value.strip()
    return values


def _children(element: Any, local_name: str) -> list[Any]:
    return [c for c in element if isinstance(c.tag, str) and _local(c.tag) == local_name]


def _child(element: Any, local_name: str) -> Any | None:
    found = _children(element, local_name)
    return found[0] if found else None


def _conditions(element: Any | None) -> dict[str, Any]:
    if element is None:
        return {"condition_combination": "all", "conditions": []}
    data = _attributes(element)
    data.setdefault("condition_combination", "all")
    children = [
        _attributes(c) for c in element if isinstance(c.tag, str) and _local(c.tag) in {"ruleCondition", "rollupCondition"}
    ]
    data["conditions"] = children
    return data


def _objective(element: Any) -> dict[str, Any]:
    data = _attributes(element)
    measure = _child(element, "minNormalizedMeasure")
    if measure is not None and measure.text:
        data["min_normalized_measure"] = measure.text.strip()
    data["map_info"] = [_attributes(m) for m in _children(element, "mapInfo")]
    return data


def _sequencing_rules(element: Any) -> dict[str, list[dict[str, Any]]]:
    rules: dict[str, list[dict[str, Any]]] = {"pre": [], "exit": [], "post": []}
    for kind, tag in (("pre", "preConditionRule"), ("exit", "exitConditionRule"), ("post", "postConditionRule")):
        for rule in _children(element, tag):
            action = _child(rule, "ruleAction")
            rules[kind].append(
                {
                    "conditions": _conditions(_child(rule, "ruleConditions")),
                    "action": action.get("action") if action is not None else None,
                }
            )
    return rules


def _rollup(element: Any) -> dict[str, Any]:
    data = _attributes(element)
    rules = []
    for rule in _children(element, "rollupRule"):
        entry = _attributes(rule)
        entry.setdefault("child_activity_set", "all")
        entry["conditions"] = _conditions(_child(rule, "rollupConditions"))
        action = _child(rule, "rollupAction")
        entry["action"] = action.get("action") if action is not None else None
        rules.append(entry)
    data["rules"] = rules
    return data


def _merge(into: dict[str, Any], element: Any) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _local(child.tag)
        if name == "controlMode":
            into["control_mode"] = _attributes(child)
        elif name == "sequencingRules":
            into["rules"] = _sequencing_rules(child)
        elif name == "limitConditions":
            into["limit_conditions"] = _attributes(child)
        elif name == "rollupRules":
            into["rollup"] = _rollup(child)
        elif name == "objectives" and "imsss" in (etree.QName(child.tag).namespace or "imsss"):
            primary = _child(child, "primaryObjective")
            into["objectives"] = {
                "primary": _objective(primary) if primary is not None else None,
                "others": [_objective(o) for o in _children(child, "objective")],
            }
        elif name == "objectives":
            # adlseq:objectives extends imsss objectives with more map info.
            into["adl_objectives"] = [_objective(o) for o in _children(child, "objective")]
        elif name == "randomizationControls":
            into["randomization_controls"] = _attributes(child)
        elif name == "deliveryControls":
            into["delivery_controls"] = _attributes(child)
        elif name == "constrainedChoiceConsiderations":
            into["constrained_choice_considerations"] = _attributes(child)
        elif name == "rollupConsiderations":
            into["rollup_considerations"] = _attributes(child)
        elif name == "auxiliaryResources":
            into["auxiliary_resources"] = [_attributes(a) for a in _children(child, "auxiliaryResource")]


def parse_sequencing(element: Any | None, collection: dict[str, Any]) -> dict[str, Any]:
    """Return the sequencing of one item or organization as JSON data.

    An `IDRef` names a sequencing in the manifest's sequencingCollection, and
    the item's own elements override the ones taken from it.
    """
    if element is None:
        return {}
    data: dict[str, Any] = {}
    reference = element.get("IDRef")
    if reference:
        data["collection_ref"] = reference
        shared = collection.get(reference)
        if shared is not None:
            _merge(data, shared)
    _merge(data, element)
    return data
