"""Reading an archive: every member listed in the manifest, with its sha256, checked before use."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import FORMAT, fail


@dataclass
class Archive:
    manifest: dict[str, Any]
    zf: zipfile.ZipFile
    sha256: str

    @property
    def members(self) -> set[str]:
        return {m["name"] for m in self.manifest["members"]}

    def read(self, name: str) -> bytes | None:
        if name not in self.members:
            return None
        return self.zf.read(name)

    def json(self, name: str, default: Any = None) -> Any:
        data = self.read(name)
        return default if data is None else json.loads(data)

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        name = f"tables/{table}.jsonl"
        if name not in self.members:
            return
        with self.zf.open(name) as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def close(self) -> None:
        self.zf.close()


def read_archive(path: str | os.PathLike) -> Archive:
    """Open and check an archive: the format, and every member listed in the manifest with its sha256."""
    path = Path(path)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        zf = zipfile.ZipFile(path)
    except OSError as e:
        raise fail(f"cannot read {path}: {e.strerror}", f"无法读取 {path}", rule="backup.read") from None
    except zipfile.BadZipFile as e:
        raise fail(f"not a readable backup archive: {e}", "备份文件已损坏或格式错误", rule="backup.format") from None
    try:
        names = zf.namelist()
        if "manifest.json" not in names:
            raise fail("not a backup archive (no manifest.json)", "不是备份文件（缺少manifest.json）",
                       rule="backup.format")
        manifest = json.loads(zf.read("manifest.json"))
        if manifest.get("format") != FORMAT:
            raise fail(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT}; an "
                       "archive of an older version is restored with that version, then backed up again)",
                       "备份格式无法识别", rule="backup.format")
        listed = {m["name"]: m for m in manifest.get("members", [])}
        extra = set(names) - set(listed) - {"manifest.json"}
        if extra:
            raise fail(f"members not in the manifest: {sorted(extra)[0]}", "备份文件含有清单之外的内容",
                       rule="backup.integrity")
        for name, meta in listed.items():
            if name not in names:
                raise fail(f"member {name} is missing", f"备份文件缺少 {name}", rule="backup.integrity")
            mh, size = hashlib.sha256(), 0
            with zf.open(name) as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    mh.update(block)
                    size += len(block)
            if mh.hexdigest() != meta["sha256"] or size != meta["size"]:
                raise fail(f"member {name} does not match its sha256", f"备份文件中的 {name} 校验值不符",
                           rule="backup.integrity")
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, TypeError, OSError) as e:
        zf.close()
        raise fail(f"not a readable backup archive: {e}", "备份文件已损坏或格式错误", rule="backup.format") from None
    except BaseException:
        zf.close()
        raise
    return Archive(manifest, zf, h.hexdigest())
