"""The output folder: which folders a run may write into, a lock, staging and the swap.

The rule (docs/outputs.md, "The output folder"): dcsim never deletes or overwrites a file
it did not write. A run writes into a missing or empty folder, or into the folder of an
earlier dcsim run, where it replaces exactly the files that run's ``manifest.json`` lists
and leaves every other file alone. A folder holding anything else, or a file named like
one of ours that the manifest does not list, is refused before the simulation starts.

Writing happens in a staging folder beside the destination (``.<name>.tmp-<hex>``). A new
folder appears with one rename; into an existing folder, the manifest is first replaced by
one marked ``"complete": false`` that lists old and new files, then the files move in one
rename each, and the final manifest moves in last, so a reader never mistakes a half
replaced folder for a finished run. A lock file beside the folder (``.<name>.lock``) keeps a
second run out while one is writing; staging folders left by a killed run are removed by
the next run that holds the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

MANIFEST = "manifest.json"


class OutDirError(Exception):
    """The output folder cannot receive this run; the message says why."""


def _staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.tmp-"


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of the dcsim run in ``out_dir``, or None if it holds none of ours."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("files"), dict) and "scenario_name" in data:
        return data
    return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def out_dir_problem(out_dir: Path, files: list[str]) -> str | None:
    """Why ``out_dir`` may not receive a run writing ``files``, or None if it may."""
    out_dir = out_dir.resolve()
    if not out_dir.exists():
        ancestor = _nearest_existing(out_dir.parent)
        if not ancestor.is_dir():
            return f"{ancestor} is a file, not a folder"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"cannot create {out_dir}: {ancestor} is not writable"
        return None
    if not out_dir.is_dir():
        return f"{out_dir} exists and is not a folder"
    entries = {p.name for p in out_dir.iterdir()}
    if not entries:
        return None
    manifest = read_manifest(out_dir)
    if manifest is None:
        why = (
            "holds a manifest.json dcsim did not write"
            if MANIFEST in entries
            else "is not empty and holds no dcsim manifest.json"
        )
        return (
            f"{out_dir} {why}; dcsim writes only into a new or empty folder or an earlier "
            "run's folder: choose another --out"
        )
    ours = {*manifest["files"], MANIFEST}
    foreign = sorted((entries & set(files)) - ours)
    if foreign:
        return (
            f"{out_dir} holds {', '.join(foreign)}, which the earlier run's manifest does "
            "not list; dcsim will not overwrite them: move them or choose another --out"
        )
    if not os.access(out_dir, os.W_OK | os.X_OK):
        return f"{out_dir} is not writable"
    return None


class OutputFolder:
    """Hold ``out_dir`` for one run: check it, lock it, stage files and move them in.

    Use as a context manager around the simulation, so a bad folder or a second run into
    the same folder is refused before any work, and a failure or interrupt (Ctrl-C, and
    SIGTERM once the CLI turns it into an exception) removes its own staging folder and
    the parent folders it created.
    """

    def __init__(self, out_dir: str | Path, files: list[str]) -> None:
        self.out_dir = Path(out_dir).resolve()
        self.files = list(files)
        self._lock_fd: int | None = None
        self._lock_path = self.out_dir.with_name(f".{self.out_dir.name}.lock")
        self._created: list[Path] = []
        self._staging: Path | None = None

    def __enter__(self) -> OutputFolder:
        problem = out_dir_problem(self.out_dir, self.files)
        if problem:
            raise OutDirError(problem)
        try:
            self._make_parents()
            self._lock()
        except OSError as exc:
            self._release()
            raise OutDirError(f"cannot write to {self.out_dir}: {exc.strerror or exc}") from exc
        self._remove_stale_staging()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
        self._release()
        if kind is not None:
            for folder in reversed(self._created):  # only the ones we made, only if empty
                with contextlib.suppress(OSError):
                    folder.rmdir()

    def _make_parents(self) -> None:
        missing = []
        parent = self.out_dir.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()  # mode 0o777 less the umask, like mkdir(1)
            self._created.append(folder)

    def _lock(self) -> None:
        while True:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise OutDirError(
                        f"another dcsim run is writing to {self.out_dir} (it holds "
                        f"{self._lock_path}); wait for it or choose another --out"
                    ) from exc
                raise
            # the holder before us may have unlinked the file we opened: lock the live one
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(self._lock_path).st_ino:
                    self._lock_fd = fd
                    return
            os.close(fd)

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            self._lock_path.unlink()  # unlinked while held, so no one locks a stale file
        os.close(self._lock_fd)
        self._lock_fd = None

    def _remove_stale_staging(self) -> None:
        """Staging folders of runs killed before they finished (we hold the lock)."""
        prefix = _staging_prefix(self.out_dir)
        for entry in self.out_dir.parent.iterdir():
            if entry.name.startswith(prefix) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)

    def staging(self) -> Path:
        """A new, empty staging folder beside the destination (made once per run)."""
        if self._staging is None:
            name = _staging_prefix(self.out_dir) + secrets.token_hex(4)
            self._staging = self.out_dir.parent / name
            self._staging.mkdir()  # mode 0o777 less the umask, unlike tempfile.mkdtemp
        return self._staging

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Move the staged files and then ``manifest`` into the destination."""
        staging = self.staging()
        if not self.out_dir.exists():
            _write_json(staging / MANIFEST, manifest)
            staging.rename(self.out_dir)
        else:
            self._replace_into(staging, manifest)
            staging.rmdir()
        self._staging = None
        return self.out_dir

    def _replace_into(self, staging: Path, manifest: dict[str, Any]) -> None:
        problem = out_dir_problem(self.out_dir, list(manifest["files"]))
        if problem:  # the folder changed while the run was simulating
            raise OutDirError(problem)
        earlier = read_manifest(self.out_dir)
        old = set(earlier["files"]) if earlier else set()
        new = set(manifest["files"])
        pending = {**manifest, "complete": False, "files": dict.fromkeys(sorted(old | new), None)}
        pending_path = staging / f".{MANIFEST}.pending"
        _write_json(pending_path, pending)
        os.replace(pending_path, self.out_dir / MANIFEST)
        for name in sorted(new):
            os.replace(staging / name, self.out_dir / name)
        for name in sorted(old - new):
            with contextlib.suppress(FileNotFoundError):
                (self.out_dir / name).unlink()
        _write_json(staging / MANIFEST, manifest)
        os.replace(staging / MANIFEST, self.out_dir / MANIFEST)
