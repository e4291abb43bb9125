"""Parse imsmanifest.xml of a SCORM 1.2 or 2004 package into plain JSON data.

The parser is pure: it takes the manifest bytes and the set of file names in
the package and returns a `ParsedManifest`. Elements and attributes are matched
by local name, so a prefix bound to any namespace URI (or none) works, and a
default namespace re-bound inside LOM metadata does not hide anything.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from scorm.errors import ManifestError
from scorm.manifest_sequencing import parse_sequencing

logger = logging.getLogger(__name__)

MANIFEST_NAME = "imsmanifest.xml"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# At most this many missing file names are listed in the warning.
MAX_LISTED_MISSING = 20

STANDARD_12 = "SCORM 1.2"
STANDARD_2004_2ND = "SCORM 2004 2nd Edition"
STANDARD_2004_3RD = "SCORM 2004 3rd Edition"
STANDARD_2004_4TH = "SCORM 2004 4th Edition"


@dataclass
class ParsedManifest:
    """The parsed manifest, in the shape of the Package record's fields."""

    scorm_standard: str
    version: str
    title: str
    launch_path: str
    items: list[dict[str, Any]]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _local(name: Any) -> str:
    if not isinstance(name, str):
        return ""
    return etree.QName(name).localname if name.startswith("{") else name.split(":")[-1]


def _children(element: Any, local_name: str | None = None) -> list[Any]:
    found = []
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        if local_name is None or _local(child.tag).lower() == local_name.lower():
            found.append(child)
    return found


def _child(element: Any, local_name: str) -> Any | None:
    matches = _children(element, local_name)
    return matches[0] if matches else None


def _attr(element: Any, local_name: str) -> str | None:
    """Return the attribute with this local name in any namespace, any case."""
    wanted = local_name.lower()
    for name, value in element.attrib.items():
        if _local(name).lower() == wanted:
            return value
    return None


def _text(element: Any | None) -> str | None:
    if element is None:
        return None
    value = "".join(element.itertext()).strip()
    return value or None


def _title(element: Any) -> str:
    return _text(_child(element, "title")) or ""


def _make_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and billion-laughs
    # manifests cannot reach files, hosts or memory.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parse_xml(data: bytes, entry: str) -> Any:
    if not data.strip():
        raise ManifestError("the manifest is empty; add the manifest XML", entry=entry)
    try:
        root = etree.fromstring(data, parser=_make_parser())
    except etree.XMLSyntaxError as exc:
        message = exc.msg or str(exc)
        line = exc.lineno if exc.lineno else None
        raise ManifestError(f"not well-formed XML: {message}", entry=entry, line=line) from None
    except ValueError as exc:
        raise ManifestError(f"not readable as XML: {exc}", entry=entry) from None
    tree = root.getroottree()
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ManifestError(
            "the manifest declares XML entities in a DOCTYPE, which are not allowed; remove the DOCTYPE",
            entry=entry,
        )
    if _local(root.tag) != "manifest":
        raise ManifestError(
            f"the root element is <{_local(root.tag)}>, expected <manifest>",
            entry=entry,
            line=root.sourceline,
        )
    return root


def _namespace_uris(root: Any) -> set[str]:
    uris: set[str] = set()
    for element in root.iter():
        if isinstance(element.tag, str):
            uris.update(uri for uri in element.nsmap.values() if uri)
    return uris


def _detect_standard(root: Any, warnings: list[str]) -> str:
    """Decide the standard by schemaversion, falling back to the namespaces used."""
    metadata = _child(root, "metadata")
    declared = _text(_child(metadata, "schemaversion")) if metadata is not None else None
    uris = {uri.lower() for uri in _namespace_uris(root)}
    has_2004_ns = any(
        marker in uri
        for uri in uris
        for marker in ("adlcp_v1p3", "imsss", "adlseq", "adlnav", "imscp_v1p1")
    )
    has_12_ns = any("imscp_rootv1p1p2" in uri or "adlcp_rootv1p2" in uri for uri in uris)

    by_version = None
    if declared:
        value = declared.lower()
        if value in {"1.2", "1.1"}:
            by_version = STANDARD_12
        elif "4th" in value:
            by_version = STANDARD_2004_4TH
        elif "3rd" in value:
            by_version = STANDARD_2004_3RD
        elif "2nd" in value or "cam 1.3" in value or value == "1.3":
            by_version = STANDARD_2004_2ND
        else:
            warnings.append(f"unknown schemaversion '{declared}'; the standard was taken from the namespaces")
    if by_version:
        if by_version == STANDARD_12 and has_2004_ns and not has_12_ns:
            warnings.append(f"schemaversion '{declared}' contradicts the SCORM 2004 namespaces; schemaversion wins")
        if by_version != STANDARD_12 and has_12_ns and not has_2004_ns:
            warnings.append(f"schemaversion '{declared}' contradicts the SCORM 1.2 namespaces; schemaversion wins")
        return by_version
    if has_2004_ns:
        # The adlnav namespace first appeared in SCORM 2004 3rd Edition.
        edition = STANDARD_2004_3RD if any("adlnav" in uri for uri in uris) else STANDARD_2004_2ND
        warnings.append(f"missing schemaversion; assumed {edition} from the namespaces")
        return edition
    warnings.append(f"missing schemaversion; assumed {STANDARD_12}")
    return STANDARD_12


def _join_base(base: str, href: str) -> str:
    if not base:
        return href
    if urlsplit(href).scheme or href.startswith("/"):
        return href
    if not base.endswith("/"):
        base += "/"
    return base + href


def _is_external(href: str) -> bool:
    return bool(urlsplit(href).scheme) or href.startswith("//")


def join_parameters(href: str, parameters: str | None) -> str:
    """Append item parameters to a launch href as IMS CP 1.1.4 describes.

    Leading '?' and '&' are dropped, a '#' fragment is appended as is, and '&'
    joins the parameters when the href already has a query.
    """
    if not parameters:
        return href
    params = parameters.strip()
    while params[:1] in {"?", "&"}:
        params = params[1:]
    if not params:
        return href
    if params.startswith("#"):
        return href + params
    separator = "&" if "?" in href else "?"
    return href + separator + params


def _file_path(href: str) -> str:
    """Return the file part of a relative href, normalized and percent-decoded."""
    path = urlsplit(href).path
    return posixpath.normpath(unquote(path)).lstrip("/") if path else ""


@dataclass
class _Resource:
    identifier: str
    href: str | None
    scorm_type: str
    files: list[str]
    dependencies: list[str]


def _parse_resources(root: Any, standard: str, warnings: list[str]) -> dict[str, _Resource]:
    manifest_base = root.get(XML_BASE) or ""
    resources_element = _child(root, "resources")
    resources: dict[str, _Resource] = {}
    if resources_element is None:
        return resources
    group_base = _join_base(manifest_base, resources_element.get(XML_BASE) or "")
    untyped = 0
    for element in _children(resources_element, "resource"):
        identifier = element.get("identifier") or ""
        base = _join_base(group_base, element.get(XML_BASE) or "")
        href = element.get("href")
        raw_type = _attr(element, "scormtype")
        if raw_type is None:
            untyped += 1
            scorm_type = "sco" if standard == STANDARD_12 else "asset"
        else:
            scorm_type = "sco" if raw_type.strip().lower() == "sco" else "asset"
        files = []
        for file_element in _children(element, "file"):
            file_href = file_element.get("href")
            if file_href:
                files.append(_join_base(base, file_href))
        dependencies = [
            dep.get("identifierref") or "" for dep in _children(element, "dependency")
        ]
        resources[identifier] = _Resource(
            identifier=identifier,
            href=_join_base(base, href) if href else None,
            scorm_type=scorm_type,
            files=files,
            dependencies=[dep for dep in dependencies if dep],
        )
    if untyped:
        default = "sco" if standard == STANDARD_12 else "asset"
        warnings.append(f"{untyped} resource(s) have no adlcp:scormtype; treated as {default}")
    return resources


def _runtime_12(item: Any) -> dict[str, Any]:
    return {
        "mastery_score": _text(_child(item, "masteryscore")),
        "launch_data": _text(_child(item, "datafromlms")),
        "max_time_allowed": _text(_child(item, "maxtimeallowed")),
        "time_limit_action": _text(_child(item, "timelimitaction")),
        "completion_threshold": None,
        "scaled_passing_score": None,
        "objective_ids": [],
    }


def _runtime_2004(item: Any, sequencing: dict[str, Any]) -> dict[str, Any]:
    threshold_element = _child(item, "completionThreshold")
    threshold = _text(threshold_element)
    if threshold is None and threshold_element is not None:
        # SCORM 2004 4th Edition writes the value as an attribute.
        threshold = threshold_element.get("minProgressMeasure")
    limits = sequencing.get("limit_conditions") or {}
    objectives = sequencing.get("objectives") or {}
    primary = objectives.get("primary") or {}
    passing = None
    if primary.get("satisfied_by_measure"):
        passing = primary.get("min_normalized_measure") or "1.0"
    objective_ids = []
    if primary.get("objective_id"):
        objective_ids.append(primary["objective_id"])
    for objective in objectives.get("others") or []:
        if objective.get("objective_id"):
            objective_ids.append(objective["objective_id"])
    return {
        "mastery_score": None,
        "launch_data": _text(_child(item, "dataFromLMS")),
        "max_time_allowed": limits.get("attempt_absolute_duration_limit"),
        "time_limit_action": _text(_child(item, "timeLimitAction")),
        "completion_threshold": threshold,
        "scaled_passing_score": passing,
        "objective_ids": objective_ids,
    }


def _parse_visible(item: Any) -> bool:
    value = item.get("isvisible")
    return value is None or value.strip().lower() != "false"


class _Builder:
    """Walk one organization and collect the item tree and the item table."""

    def __init__(self, standard: str, resources: dict[str, _Resource], collection: dict[str, Any]):
        self.standard = standard
        self.resources = resources
        self.collection = collection
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.warnings: list[str] = []
        self.unknown_refs: list[str] = []

    def walk(self, element: Any, parent: str | None, depth: int) -> dict[str, Any]:
        identifier = element.get("identifier") or f"item-{len(self.order) + 1}"
        if identifier in self.items:
            self.warnings.append(f"item identifier '{identifier}' appears twice; the second one was renamed")
            identifier = f"{identifier}-{len(self.order) + 1}"
        self.order.append(identifier)
        ref = element.get("identifierref")
        resource = self.resources.get(ref) if ref else None
        if ref and resource is None:
            self.unknown_refs.append(ref)
        launch_path = None
        scorm_type = None
        parameters = element.get("parameters")
        if resource is not None and resource.href:
            launch_path = join_parameters(resource.href, parameters)
            scorm_type = resource.scorm_type
        elif resource is not None:
            scorm_type = resource.scorm_type

        sequencing = parse_sequencing(_child(element, "sequencing"), self.collection)
        is_2004 = self.standard != STANDARD_12
        record = {
            "title": _title(element),
            "scorm_type": scorm_type,
            "launch_path": launch_path,
            "parameters": parameters,
            "depth": depth,
            "parent": parent,
            "is_visible": _parse_visible(element),
            "prerequisites": _text(_child(element, "prerequisites")),
            "runtime": _runtime_2004(element, sequencing) if is_2004 else _runtime_12(element),
            "sequencing": sequencing,
        }
        self.items[identifier] = record

        children = [self.walk(child, identifier, depth + 1) for child in _children(element, "item")]
        return {
            "identifier": identifier,
            "title": record["title"],
            "launch": launch_path is not None,
            "children": children,
        }


def _pick_organization(root: Any, warnings: list[str], entry: str) -> Any:
    organizations = _child(root, "organizations")
    candidates = _children(organizations, "organization") if organizations is not None else []
    if not candidates:
        raise ManifestError(
            "the manifest has no <organization>, so there is nothing to launch; add an organization with items",
            entry=entry,
            line=organizations.sourceline if organizations is not None else root.sourceline,
        )
    default = organizations.get("default")
    for organization in candidates:
        if default and organization.get("identifier") == default:
            return organization
    if default:
        warnings.append(
            f"organizations@default '{default}' matches no organization; the first organization was used"
        )
    return candidates[0]


def _check_files(resources: dict[str, _Resource], file_names: set[str] | frozenset[str], warnings: list[str]) -> None:
    lowered = {name.lower() for name in file_names}
    missing: list[str] = []
    seen: set[str] = set()
    for resource in resources.values():
        references = list(resource.files)
        if resource.href:
            references.insert(0, resource.href)
        for href in references:
            if _is_external(href):
                continue
            path = _file_path(href)
            if not path or path in seen:
                continue
            seen.add(path)
            raw = urlsplit(href).path.lstrip("/")
            if path in file_names or raw in file_names:
                continue
            if path.lower() in lowered or raw.lower() in lowered:
                continue
            missing.append(path)
    if missing:
        listed = ", ".join(missing[:MAX_LISTED_MISSING])
        more = f" and {len(missing) - MAX_LISTED_MISSING} more" if len(missing) > MAX_LISTED_MISSING else ""
        warnings.append(f"{len(missing)} file(s) named in the manifest are not in the package: {listed}{more}")


def parse_manifest(
    data: bytes, file_names: set[str] | frozenset[str], *, entry: str = MANIFEST_NAME
) -> ParsedManifest:
    """Parse manifest bytes; `file_names` are the package's files relative to the manifest.

    Raises ManifestError naming the entry, the line and the cause.
    """
    warnings: list[str] = []
    root = _parse_xml(data, entry)
    standard = _detect_standard(root, warnings)
    resources = _parse_resources(root, standard, warnings)
    organization = _pick_organization(root, warnings, entry)
    collection_element = _child(root, "sequencingCollection")
    collection: dict[str, Any] = {}
    if collection_element is not None:
        for element in _children(collection_element, "sequencing"):
            if element.get("ID"):
                collection[element.get("ID")] = element

    builder = _Builder(standard, resources, collection)
    children = [builder.walk(item, None, 0) for item in _children(organization, "item")]
    if not children:
        raise ManifestError(
            f"organization '{organization.get('identifier') or ''}' has no items; add at least one <item>",
            entry=entry,
            line=organization.sourceline,
        )
    warnings.extend(builder.warnings)
    if builder.unknown_refs:
        warnings.append(
            "item identifierref names no resource: " + ", ".join(sorted(set(builder.unknown_refs)))
        )
    _check_files(resources, file_names, warnings)

    api_items = [
        {
            "identifier": identifier,
            "title": builder.items[identifier]["title"],
            "scorm_type": builder.items[identifier]["scorm_type"],
            "launch_path": builder.items[identifier]["launch_path"],
        }
        for identifier in builder.order
        if builder.items[identifier]["launch_path"] is not None
    ]
    if not api_items:
        raise ManifestError(
            "no item of the default organization references a resource with an href; add identifierref to an item",
            entry=entry,
        )
    scos = [item for item in api_items if item["scorm_type"] == "sco"]
    launch_path = (scos or api_items)[0]["launch_path"]
    if not scos:
        warnings.append("the package has no SCO, only assets; it launches but reports no tracking data")

    org_title = _title(organization)
    org_sequencing = parse_sequencing(_child(organization, "sequencing"), collection)
    manifest = {
        "standard": "1.2" if standard == STANDARD_12 else "2004",
        "scorm_standard": standard,
        "identifier": root.get("identifier"),
        "organization": {
            "identifier": organization.get("identifier"),
            "title": org_title,
            "children": children,
        },
        "items": builder.items,
        "control_mode": org_sequencing.get("control_mode") or {},
        "sequencing": org_sequencing,
    }
    return ParsedManifest(
        scorm_standard=standard,
        version=root.get("version") or "",
        title=org_title or root.get("identifier") or "",
        launch_path=launch_path,
        items=api_items,
        manifest=manifest,
        warnings=warnings,
    )
