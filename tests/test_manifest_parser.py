"""Unit tests of the manifest parser on hand-written manifests, plus a fuzz test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorm.errors import ManifestError
from scorm.manifest import join_parameters, parse_manifest

MANIFEST_2004 = """<?xml version="1.0" encoding="{encoding}"?>
<manifest identifier = "m2004" version="3.1"
  xmlns = "http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:ADL="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:ss="http://www.imsglobal.org/xsd/imsss"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xml:base="course/">
  <metadata>
    <schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion>
    <lom xmlns="http://ltsc.ieee.org/xsd/LOM"><general><title><string>LOM title</string></title></general></lom>
  </metadata>
  <organizations default="org2">
    <organization identifier="org1"><title>Unused</title>
      <item identifier="u1" identifierref="r1"><title>Unused item</title></item>
    </organization>
    <organization identifier="org2"><title>Caf\u00e9 course</title>
      <item identifier="parent" identifierref="r1" parameters="?a=1"><title>Parent</title>
        <item identifier="child" identifierref="r2" isvisible="false" parameters="#start">
          <title>Child</title>
          <ADL:dataFromLMS>launch-me</ADL:dataFromLMS>
          <ADL:timeLimitAction>exit,message</ADL:timeLimitAction>
          <ADL:completionThreshold minProgressMeasure="0.8" completedByMeasure="true"/>
          <ss:sequencing IDRef="common">
            <ss:limitConditions attemptAbsoluteDurationLimit="PT1H"/>
            <ss:objectives>
              <ss:primaryObjective objectiveID="obj-main" satisfiedByMeasure="true">
                <ss:minNormalizedMeasure>0.6</ss:minNormalizedMeasure>
              </ss:primaryObjective>
              <ss:objective objectiveID="obj-extra"/>
            </ss:objectives>
          </ss:sequencing>
        </item>
      </item>
      <ss:sequencing><ss:controlMode choice="false" flow="true"/></ss:sequencing>
    </organization>
  </organizations>
  <resources xml:base="res/">
    <resource identifier="r1" type="webcontent" ADL:scormType="SCO" href="start.html?x=y" xml:base="a/">
      <file href="start.html"/>
    </resource>
    <resource identifier="r2" type="webcontent" ADL:SCORMTYPE="asset" href="page.html">
      <file href="page.html"/>
    </resource>
  </resources>
  <ss:sequencingCollection>
    <ss:sequencing ID="common">
      <ss:controlMode choiceExit="false"/>
      <ss:sequencingRules>
        <ss:preConditionRule>
          <ss:ruleConditions><ss:ruleCondition condition="satisfied"/></ss:ruleConditions>
          <ss:ruleAction action="skip"/>
        </ss:preConditionRule>
      </ss:sequencingRules>
      <ss:rollupRules objectiveMeasureWeight="0.5">
        <ss:rollupRule childActivitySet="any">
          <ss:rollupConditions><ss:rollupCondition condition="completed"/></ss:rollupConditions>
          <ss:rollupAction action="completed"/>
        </ss:rollupRule>
      </ss:rollupRules>
    </ss:sequencing>
  </ss:sequencingCollection>
</manifest>
"""

FILES = {"course/res/a/start.html", "course/res/page.html"}


def parse_2004(encoding: str = "UTF-8", prefix: bytes = b""):
    return parse_manifest(prefix + MANIFEST_2004.replace("{encoding}", encoding).encode(encoding), FILES)


def test_2004_standard_and_title() -> None:
    parsed = parse_2004()
    assert parsed.scorm_standard == "SCORM 2004 4th Edition"
    assert parsed.version == "3.1"
    assert parsed.title == "Caf\u00e9 course"
    assert parsed.manifest["standard"] == "2004"
    assert parsed.warnings == []


def test_xml_base_and_parameters_joined() -> None:
    parsed = parse_2004()
    assert parsed.launch_path == "course/res/a/start.html?x=y&a=1"
    paths = {item["identifier"]: item["launch_path"] for item in parsed.items}
    assert paths == {"parent": "course/res/a/start.html?x=y&a=1", "child": "course/res/page.html#start"}


def test_default_organization_tree() -> None:
    tree = parse_2004().manifest["organization"]
    assert tree["identifier"] == "org2"
    assert tree["children"][0]["identifier"] == "parent"
    assert tree["children"][0]["launch"] is True
    assert tree["children"][0]["children"][0]["identifier"] == "child"


def test_item_runtime_from_sequencing() -> None:
    child = parse_2004().manifest["items"]["child"]
    assert child["is_visible"] is False
    assert child["depth"] == 1
    assert child["parent"] == "parent"
    assert child["scorm_type"] == "asset"
    runtime = child["runtime"]
    assert runtime["launch_data"] == "launch-me"
    assert runtime["time_limit_action"] == "exit,message"
    assert runtime["completion_threshold"] == "0.8"
    assert runtime["max_time_allowed"] == "PT1H"
    assert runtime["scaled_passing_score"] == "0.6"
    assert runtime["objective_ids"] == ["obj-main", "obj-extra"]


def test_sequencing_collection_merged() -> None:
    sequencing = parse_2004().manifest["items"]["child"]["sequencing"]
    assert sequencing["collection_ref"] == "common"
    assert sequencing["control_mode"] == {"choice_exit": False}
    assert sequencing["rules"]["pre"][0]["action"] == "skip"
    assert sequencing["rules"]["pre"][0]["conditions"]["conditions"] == [{"condition": "satisfied"}]
    assert sequencing["rollup"]["rules"][0]["child_activity_set"] == "any"
    assert sequencing["rollup"]["objective_measure_weight"] == "0.5"


def test_organization_control_mode() -> None:
    assert parse_2004().manifest["control_mode"] == {"choice": False, "flow": True}


def test_bom_and_latin1_accepted() -> None:
    assert parse_2004(prefix=b"\xef\xbb\xbf").title == "Caf\u00e9 course"
    assert parse_2004(encoding="ISO-8859-1").title == "Caf\u00e9 course"
    assert parse_2004(encoding="UTF-16").title == "Caf\u00e9 course"


def test_missing_files_warned() -> None:
    parsed = parse_manifest(MANIFEST_2004.replace("{encoding}", "UTF-8").encode(), {"course/res/page.html"})
    assert len(parsed.warnings) == 1
    assert "course/res/a/start.html" in parsed.warnings[0]


SCORM12 = b"""<manifest identifier="m12" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
<organizations default="o"><organization identifier="o">
<item identifier="a" identifierref="r"><title>A</title><adlcp:masteryscore>80</adlcp:masteryscore>
<adlcp:datafromlms>d</adlcp:datafromlms><adlcp:maxtimeallowed>00:30:00</adlcp:maxtimeallowed>
<adlcp:timelimitaction>exit,no message</adlcp:timelimitaction><adlcp:prerequisites type="aicc_script">b</adlcp:prerequisites></item>
</organization></organizations>
<resources><resource identifier="r" href="a.html"/></resources></manifest>"""


def test_scorm12_runtime_and_fallbacks() -> None:
    parsed = parse_manifest(SCORM12, {"a.html"})
    assert parsed.scorm_standard == "SCORM 1.2"
    assert parsed.title == "m12"
    item = parsed.manifest["items"]["a"]
    assert item["scorm_type"] == "sco"
    assert item["prerequisites"] == "b"
    assert item["runtime"]["mastery_score"] == "80"
    assert item["runtime"]["launch_data"] == "d"
    assert item["runtime"]["max_time_allowed"] == "00:30:00"
    assert item["runtime"]["time_limit_action"] == "exit,no message"
    assert any("schemaversion" in warning for warning in parsed.warnings)
    assert any("scormtype" in warning for warning in parsed.warnings)


@pytest.mark.parametrize(
    "href,parameters,expected",
    [
        ("a.html", "?x=1", "a.html?x=1"),
        ("a.html", "x=1", "a.html?x=1"),
        ("a.html?y=2", "?x=1", "a.html?y=2&x=1"),
        ("a.html?y=2", "&x=1", "a.html?y=2&x=1"),
        ("a.html", "#frag", "a.html#frag"),
        ("a.html", None, "a.html"),
        ("a.html", "?", "a.html"),
    ],
)
def test_join_parameters(href: str, parameters: str | None, expected: str) -> None:
    assert join_parameters(href, parameters) == expected


def test_mismatched_tag_names_line() -> None:
    data = b"<manifest>\n<organizations>\n</manifest>"
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, set())
    assert caught.value.line == 3
    assert str(caught.value).startswith("imsmanifest.xml line 3: not well-formed XML")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    try:
        parse_manifest(data, set())
    except ManifestError:
        pass


fragments = st.sampled_from(
    ["<manifest>", "</manifest>", "<organizations default='o'>", "</organizations>",
     "<organization identifier='o'>", "</organization>", "<item identifier='i' identifierref='r' parameters='?a'>",
     "</item>", "<resources xml:base='x/'>", "</resources>", "<resource identifier='r' href='a.html'/>",
     "<title>t</title>", "<metadata><schemaversion>CAM 1.3</schemaversion></metadata>", "&amp;", "<![CDATA[x]]>",
     "<imsss:sequencing xmlns:imsss='http://www.imsglobal.org/xsd/imsss' IDRef='z'/>", "<!-- c -->"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(fragments, max_size=30))
def test_fuzz_manifest_fragments(parts: list[str]) -> None:
    try:
        parse_manifest("".join(parts).encode(), {"a.html"})
    except ManifestError:
        pass
