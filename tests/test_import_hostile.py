"""Crafted bad zips: each import ends `failed` with a clear error and leaves nothing behind."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from server.config import Settings
from server.importer import content_root, import_package

MANIFEST_12 = b"""<?xml version="1.0"?>
<manifest identifier="m1" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org1">
    <organization identifier="org1"><title>Course</title>
      <item identifier="i1" identifierref="r1"><title>One</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="index.html">
      <file href="index.html"/>
    </resource>
  </resources>
</manifest>
"""


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def patch_central_header(zip_path: Path, name: str, offset: int, value: bytes) -> None:
    """Overwrite bytes at `offset` in the central directory header of entry `name`."""
    data = bytearray(zip_path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position >= 0:
        name_length = int.from_bytes(data[position + 28 : position + 30], "little")
        if data[position + 46 : position + 46 + name_length] == name.encode():
            data[position + offset : position + offset + len(value)] = value
            zip_path.write_bytes(bytes(data))
            return
        position = data.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"entry {name} not found in {zip_path}")


def run_import(tmp_path: Path, zip_path: Path, **limits) -> dict:
    settings = Settings(data_dir=tmp_path / "data", **limits)
    result = import_package(settings, 7, zip_path)
    root = content_root(settings)
    leftovers = sorted(p.name for p in root.iterdir()) if root.exists() else []
    if result.fields["status"] == "failed":
        assert leftovers == [], f"failed import left {leftovers}"
    return result.fields


def assert_failed(fields: dict, *words: str) -> None:
    assert fields["status"] == "failed"
    assert len(fields["errors"]) == 1
    message = fields["errors"][0].lower()
    for word in words:
        assert word.lower() in message, message


def test_valid_zip_is_ready(tmp_path: Path) -> None:
    zip_path = write_zip(tmp_path / "ok.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"<html></html>"})
    fields = run_import(tmp_path, zip_path)
    assert fields["status"] == "ready"
    assert fields["launch_path"] == "index.html"
    assert (tmp_path / "data" / "content" / "7" / "index.html").read_bytes() == b"<html></html>"


def test_zip_slip_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "slip.zip",
        {"imsmanifest.xml": MANIFEST_12, "index.html": b"x", "../../evil.txt": b"owned"},
    )
    assert_failed(run_import(tmp_path, zip_path), "escapes")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "data" / "evil.txt").exists()


@pytest.mark.parametrize(
    "name,word",
    [("/etc/evil.txt", "absolute"), ("C:/evil.txt", "absolute"), ("dir\\evil.txt", "backslash"), ("a\x01b.html", "control")],
)
def test_bad_entry_names_rejected(tmp_path: Path, name: str, word: str) -> None:
    zip_path = tmp_path / "names.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr(zipfile.ZipInfo(name), b"x")
    assert_failed(run_import(tmp_path, zip_path), word)


def test_symlink_rejected(tmp_path: Path) -> None:
    zip_path = tmp_path / "link.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        link = zipfile.ZipInfo("index.html")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert_failed(run_import(tmp_path, zip_path), "symbolic link")


def test_zip_bomb_rejected(tmp_path: Path) -> None:
    zip_path = tmp_path / "bomb.zip"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        with archive.open("index.html", "w", force_zip64=True) as entry:
            for _ in range(1024):
                entry.write(chunk)
    assert zip_path.stat().st_size < 10 * 1024 * 1024
    assert_failed(run_import(tmp_path, zip_path), "compression ratio")


def test_bomb_over_total_size_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "big.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"x" * 5000}
    )
    assert_failed(run_import(tmp_path, zip_path, max_unpacked_size=4000), "unpacked size")


def test_lying_header_rejected(tmp_path: Path) -> None:
    zip_path = tmp_path / "lying.zip"
    payload = b"A" * 50_000
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr("index.html", payload)
    # The central directory now declares 10 bytes, so only counting the
    # bytes actually written can catch the 50 000 that follow.
    patch_central_header(zip_path, "index.html", 24, (10).to_bytes(4, "little"))
    assert_failed(run_import(tmp_path, zip_path))


def test_encrypted_entry_rejected(tmp_path: Path) -> None:
    zip_path = tmp_path / "enc.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr("index.html", b"secret")
    patch_central_header(zip_path, "index.html", 8, (0x1).to_bytes(2, "little"))
    assert_failed(run_import(tmp_path, zip_path), "encrypted")


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    zip_path = tmp_path / "dup.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr("index.html", b"one")
        with pytest.warns(UserWarning):
            archive.writestr("index.html", b"two")
    assert_failed(run_import(tmp_path, zip_path), "twice")


def test_xxe_manifest_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    manifest = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file://' + str(secret).encode() + b'">]>'
        + MANIFEST_12.split(b"?>", 1)[1].replace(b"<title>Course</title>", b"<title>&x;</title>")
    )
    zip_path = write_zip(tmp_path / "xxe.zip", {"imsmanifest.xml": manifest, "index.html": b"x"})
    fields = run_import(tmp_path, zip_path)
    assert_failed(fields, "imsmanifest.xml", "entities")
    assert "TOP-SECRET" not in repr(fields)


def test_billion_laughs_rejected(tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    manifest = (
        f'<?xml version="1.0"?><!DOCTYPE manifest [{entities}]>'.encode()
        + MANIFEST_12.split(b"?>", 1)[1].replace(b"<title>Course</title>", b"<title>&a9;</title>")
    )
    zip_path = write_zip(tmp_path / "lol.zip", {"imsmanifest.xml": manifest, "index.html": b"x"})
    assert_failed(run_import(tmp_path, zip_path), "imsmanifest.xml")


def test_not_xml_manifest_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(tmp_path / "nx.zip", {"imsmanifest.xml": b"this is not xml", "index.html": b"x"})
    assert_failed(run_import(tmp_path, zip_path), "imsmanifest.xml line 1", "not well-formed")


def test_no_organizations_rejected(tmp_path: Path) -> None:
    manifest = MANIFEST_12.replace(
        MANIFEST_12[MANIFEST_12.index(b"<organizations") : MANIFEST_12.index(b"</organizations>") + 16],
        b"<organizations/>",
    )
    zip_path = write_zip(tmp_path / "noorg.zip", {"imsmanifest.xml": manifest, "index.html": b"x"})
    assert_failed(run_import(tmp_path, zip_path), "no <organization>")


def test_empty_zip_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(tmp_path / "empty.zip", {})
    assert_failed(run_import(tmp_path, zip_path), "no files")


def test_non_zip_rejected(tmp_path: Path) -> None:
    path = tmp_path / "plain.zip"
    path.write_bytes(b"%PDF-1.4 not a zip at all" * 100)
    assert_failed(run_import(tmp_path, path), "not a readable zip")


def test_truncated_zip_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "full.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": bytes(range(256)) * 400}
    )
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(zip_path.read_bytes()[: zip_path.stat().st_size // 2])
    assert_failed(run_import(tmp_path, truncated), "zip")


def test_missing_manifest_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(tmp_path / "nom.zip", {"index.html": b"x"})
    assert_failed(run_import(tmp_path, zip_path), "imsmanifest.xml")


def test_manifest_in_single_folder_imported(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "nested.zip",
        {"course/imsmanifest.xml": MANIFEST_12, "course/index.html": b"x", "__MACOSX/course/._index.html": b"junk"},
    )
    fields = run_import(tmp_path, zip_path)
    assert fields["status"] == "ready"
    assert any("not at the zip root" in warning for warning in fields["warnings"])
    assert (tmp_path / "data" / "content" / "7" / "index.html").exists()
    assert not (tmp_path / "data" / "content" / "7" / "__MACOSX").exists()


def test_too_many_entries_rejected(tmp_path: Path) -> None:
    entries = {f"f{i}.txt": b"x" for i in range(20)}
    entries["imsmanifest.xml"] = MANIFEST_12
    zip_path = write_zip(tmp_path / "many.zip", entries)
    assert_failed(run_import(tmp_path, zip_path, max_zip_entries=10), "entries")


def test_entry_name_encodings(tmp_path: Path) -> None:
    zip_path = tmp_path / "names.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr("index.html", b"x")
        # Python's zipfile sets the UTF-8 flag (bit 11) for non-ASCII names.
        archive.writestr("caf\u00e9 menu.html", b"utf8")
        legacy = zipfile.ZipInfo("placeholder.html")
        archive.writestr(legacy, b"cp437")
    # Rename the last entry to the CP437 bytes of "na\u00efve.html" without the UTF-8 flag.
    data = zip_path.read_bytes().replace(b"placeholder.html", "na\u00efve.html".encode("cp437").ljust(16, b"_"))
    zip_path.write_bytes(data)
    fields = run_import(tmp_path, zip_path)
    assert fields["status"] == "ready", fields.get("errors")
    folder = tmp_path / "data" / "content" / "7"
    assert (folder / "caf\u00e9 menu.html").read_bytes() == b"utf8"
    assert (folder / "na\u00efve.html______").read_bytes() == b"cp437"


@pytest.mark.parametrize(
    "entries",
    [
        {"data": b"file", "data/x.json": b"{}"},
        {"data/x.json": b"{}", "data": b"file"},
        {"index.html/inner.html": b"x"},
        {"a/b": b"file", "a/b/c/d.html": b"x"},
    ],
)
def test_file_used_as_folder_rejected(tmp_path: Path, entries: dict[str, bytes]) -> None:
    zip_path = write_zip(
        tmp_path / "clash.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"x", **entries}
    )

    fields = run_import(tmp_path, zip_path)

    assert_failed(fields, "is a file", "uses it as a folder")


@pytest.mark.parametrize(
    "name,word",
    [("a" * 256 + ".html", "255 bytes"), ("\u00e9" * 128 + ".html", "255 bytes"), ("d/" * 600 + "f.html", "1024 bytes")],
)
def test_unstorable_names_rejected(tmp_path: Path, name: str, word: str) -> None:
    zip_path = write_zip(
        tmp_path / "long.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"x", name: b"x"}
    )

    fields = run_import(tmp_path, zip_path)

    assert_failed(fields, word)
    assert len(fields["errors"][0]) < 300


def test_corrupt_entry_data_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "corrupt.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": bytes(range(256)) * 50}
    )
    data = bytearray(zip_path.read_bytes())
    # Flip bytes of the deflate stream that follows the local header of index.html.
    start = data.find(b"index.html") + len(b"index.html") + 5
    data[start : start + 32] = bytes(byte ^ 0xFF for byte in data[start : start + 32])
    zip_path.write_bytes(bytes(data))

    fields = run_import(tmp_path, zip_path)

    assert_failed(fields, "damaged")


def test_invalid_utf8_name_rejected(tmp_path: Path) -> None:
    zip_path = write_zip(
        tmp_path / "utf8.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"x", "caf\u00e9.html": b"x"}
    )
    # The name keeps its UTF-8 flag but its bytes are no longer UTF-8.
    zip_path.write_bytes(zip_path.read_bytes().replace("caf\u00e9".encode(), b"caf\xff\xfe"))

    fields = run_import(tmp_path, zip_path)

    assert_failed(fields, "not valid UTF-8")


def test_unexpected_error_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zip_path = write_zip(tmp_path / "ok.zip", {"imsmanifest.xml": MANIFEST_12, "index.html": b"x"})

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("server.importer.parse_manifest", fail)
    settings = Settings(data_dir=tmp_path / "data")

    with pytest.raises(RuntimeError):
        import_package(settings, 7, zip_path)

    assert list(content_root(settings).iterdir()) == []
