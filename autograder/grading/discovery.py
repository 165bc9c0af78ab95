"""Find the submissions of one assignment and give each its student id (the first step of grading).

    found = find_submissions(Path("moodle-download.zip"), "hopfield_batchnorm", Path("out/unpacked"))

Where a student id comes from, most trusted first:
- an LMS zip: the prefix the LMS puts on each member (`LMS_NAMINGS`), never the part after it, which
  the student chose; a member that fits no naming falls back to its file name, with a note;
- nbgrader's `submitted/<student>/<assignment>/`: the student's folder;
- a folder of notebooks, or one notebook: the file name (`student_id`).

Every file that looks like a submission (`*.ipynb` in any case, dot names included) gets a row:
- a symbolic link is never followed: its row says it was not graded;
- ids equal but for case (one file on macOS and Windows) are all kept, as `<id>+1`, `<id>+2`, ...
  in the order of their paths, each marked `duplicate` with a note naming the others. `+` is never
  in an id otherwise (`safe_id`), so these cannot collide with a real one, and it is safe in file
  names and URLs (unlike `#`, which ends a URL's path).
Only other tools' bookkeeping (`IGNORED_PARTS`) and files that are not notebooks are passed over;
the log counts them.
"""
from __future__ import annotations

import logging
import re
import shutil
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from autograder.analysis import notebook
from autograder.errors import AutograderError

log = logging.getLogger(__name__)

# Zip archives from a learning-management system are unpacked with these caps (and each notebook
# with notebook.MAX_NOTEBOOK_BYTES).
MAX_ZIP_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 4 * 2**30
# Folders an archive or a folder may hold that are never submissions.
IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints")
DUPLICATE_MARK = "+"


class DiscoveryError(AutograderError):
    """The submissions cannot be found (the message says where and why)."""


@dataclass(frozen=True)
class LmsIdentity:
    """Who a submission is in the LMS's own terms: the LMS, its user id (Moodle's participant
    number, Canvas's and D2L's user id, Blackboard's or nbgrader's username) and the name it shows
    ("" when its naming holds none). The LMS's grade import matches rows by `lms_id`."""
    lms: str
    lms_id: str
    name: str = ""

    def to_json(self) -> dict:
        return {"lms": self.lms, "lms_id": self.lms_id, "name": self.name}


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    problem: str = ""  # why it cannot be graded, found before reading it
    notes: tuple[str, ...] = ()  # for the report: how its id was found, which files share it
    duplicate: bool = False  # another submission gave the same id (see the module's docstring)
    identity: LmsIdentity | None = None  # from an LMS's naming or nbgrader's folders


@dataclass(frozen=True)
class LmsNaming:
    """How one LMS names the files of its "download all submissions" zip.

    `pattern` matches a member's path from a folder boundary; the named groups `id_parts`, joined by
    `_`, give the student id (`safe_id`). What the student chose comes after the match, so it never
    reaches the id. The group `lms_id` is the LMS's user id, and `name`, when there is one, the name
    it shows. `example` is a member's path and the id it gives (the tests check it)."""
    lms: str
    pattern: re.Pattern
    id_parts: tuple[str, ...]
    example: tuple[str, str]

    def student(self, member: str) -> str | None:
        match = self.pattern.match(member)
        return safe_id("_".join(match[part] for part in self.id_parts)) if match else None

    def identity(self, member: str) -> LmsIdentity | None:
        match = self.pattern.match(member)
        if not match:
            return None
        name = match.groupdict().get("name") or ""
        return LmsIdentity(self.lms, match["lms_id"], " ".join(name.split()))


LMS_NAMINGS = (
    # Moodle: "Full Name_<participant number>_assignsubmission_file_" as a folder, or before the file
    # name in older versions. The name is lazy: the first such prefix is the LMS's.
    LmsNaming("Moodle", re.compile(r"(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_(?:file|onlinetext)_"),
              ("name", "lms_id"),
              ("Jane Doe_12345_assignsubmission_file_/bob_toy.ipynb", "Jane_Doe_12345")),
    # Canvas: "<login>_<user id>_<attachment id>_<file>", with "LATE_" after the login when late.
    # The attachment id changes with every upload, so it is not part of the id.
    LmsNaming("Canvas", re.compile(r"(?P<name>[^_/]+)_(?:LATE_)?(?P<lms_id>\d+)_\d+_[^/]"),
              ("name", "lms_id"),
              ("doejane_LATE_4321_98765_smithbob_111_222_toy.ipynb", "doejane_4321")),
    # Blackboard: "<assignment>_<username>_attempt_<YYYY-MM-DD-hh-mm-ss>_<file>". The assignment's
    # title is lazy so that the first "_attempt_<date>" (the LMS's) ends the username.
    LmsNaming("Blackboard",
              re.compile(r"[^/]+?_(?P<lms_id>[^_/]+)_attempt_\d{4}(?:-\d\d){5}_[^/]"),
              ("lms_id",),
              ("Homework 1_jdoe_attempt_2024-03-01-09-30-00_toy.ipynb", "jdoe")),
    # D2L (Brightspace): "<submission id>-<user id> - <First Last> - <Mon D, YYYY HMM AM>" as a folder,
    # or before " - <file>"; some versions write "Name- Date". The date ends the name.
    LmsNaming("D2L",
              re.compile(r"\d+-(?P<lms_id>\d+) - (?P<name>[^/]+?) ?- [A-Z][a-z]{2} \d{1,2}, \d{4} \d{3,4} [AP]M(?:/| - )"),
              ("name", "lms_id"),
              ("98765-4321 - Jane Doe - Mar 4, 2024 1152 AM - toy_bob.ipynb", "Jane_Doe_4321")),
)


def find_submissions(submissions: Path, assignment: str, unpack_dir: Path) -> list[Submission]:
    """The submissions under `submissions`, sorted by student id, the ids told apart.

    `submissions` is one of: a notebook; a zip of notebooks (unpacked into `unpack_dir`); nbgrader's
    `submitted/` folder, or the course folder above it (`<student>/<assignment>/*.ipynb`); a folder
    of notebooks (both kinds may be mixed). Raises DiscoveryError when there is none.
    """
    submissions = Path(submissions)
    if submissions.is_file():
        if zipfile.is_zipfile(submissions):
            found = _unpack_zip(submissions, assignment, unpack_dir)
        elif _looks_like_notebook(submissions.name):
            found = [_file_submission(student_id(submissions, assignment), submissions)]
        else:
            raise DiscoveryError(f"{submissions} is neither a notebook nor a zip of notebooks")
    elif submissions.is_dir():
        found = _tell_apart(_folder_submissions(_submissions_root(submissions), assignment))
    else:
        raise DiscoveryError(f"{submissions} does not exist")
    if not found:
        raise DiscoveryError(f"no notebooks found in {submissions}: expected *.ipynb files, nbgrader's "
                             f"submitted/<student>/{assignment}/ folders, or a zip of notebooks")
    return sorted(found, key=lambda s: s.student)


def student_id(path: PurePosixPath | Path, assignment: str, folder: str | None = None) -> str:
    """The student id a notebook's name gives: the name without the assignment's name and the
    separators around it (`hopfield_batchnorm_jsmith.ipynb` -> `jsmith`); when nothing is left,
    `folder` (the notebook's folder in an archive), else the whole name. Characters other than
    letters, digits and `@.-_` become `_` (`safe_id`)."""
    # The assignment's name as a whole word in any case, its underscores also written `-` or ` `.
    spelled = "[-_ ]".join(map(re.escape, assignment.split("_")))
    name = re.compile(rf"(?<![^\W_]){spelled}(?![^\W_])", re.IGNORECASE)
    stem = path.name[:-len(".ipynb")] if _looks_like_notebook(path.name) else path.stem

    def words(text: str) -> str:
        return "_".join(w for w in re.split(r"[\s_.()\[\]-]+", name.sub(" ", text)) if w)
    return safe_id(words(stem) or words(folder or "") or stem)


def safe_id(text: str) -> str:
    """`text` with characters other than letters, digits and `@.-_` replaced by `_`: a file name."""
    return re.sub(r"[^\w@.-]", "_", text).lstrip(".") or "_"


def lms_student_id(member: str) -> str | None:
    """The id an LMS naming gives a zip member's path (`LMS_NAMINGS`), tried at each folder from the
    top, or None when none fits."""
    found = _lms_naming(member)
    return found[0].student(found[1]) if found else None


def lms_identity(member: str) -> LmsIdentity | None:
    """Who the LMS says a zip member is (`LmsIdentity`), or None when no naming fits."""
    found = _lms_naming(member)
    return found[0].identity(found[1]) if found else None


def _lms_naming(member: str) -> tuple[LmsNaming, str] | None:
    parts = PurePosixPath(member).parts
    for start in range(len(parts)):
        for naming in LMS_NAMINGS:
            if naming.pattern.match("/".join(parts[start:])):
                return naming, "/".join(parts[start:])
    return None


# ---- folders ------------------------------------------------------------------------------------

def _submissions_root(folder: Path) -> Path:
    """nbgrader's `submitted/` when `folder` is the course folder above it, else `folder`."""
    submitted = folder / "submitted"
    return submitted if submitted.is_dir() and not submitted.is_symlink() else folder


def _folder_submissions(root: Path, assignment: str) -> list[Submission]:
    """One submission per notebook, nbgrader student folder and symbolic link directly in `root`."""
    found, passed_over = [], Counter()
    for entry in sorted(root.iterdir()):
        if entry.is_symlink():
            found.append(_file_submission(student_id(entry, assignment), entry))
        elif entry.name in IGNORED_PARTS:
            passed_over["bookkeeping of other tools"] += 1
        elif entry.is_dir() and (entry / assignment).is_dir():
            found.append(_nbgrader_submission(entry.name, entry / assignment, assignment))
        elif entry.is_file() and _looks_like_notebook(entry.name):
            found.append(_file_submission(student_id(entry, assignment), entry))
        else:
            passed_over[f"not a notebook nor a folder holding {assignment}/"] += 1
    _log_passed_over(root, passed_over)
    return found


def _nbgrader_submission(student: str, folder: Path, assignment: str) -> Submission:
    """nbgrader's `<student>/<assignment>/`: the notebook named after the assignment, else the only one."""
    identity = LmsIdentity("nbgrader", student)
    student = safe_id(student)
    if folder.is_symlink():
        return replace(_file_submission(student, folder), identity=identity)
    notebooks = sorted(p for p in folder.iterdir() if _looks_like_notebook(p.name))
    named = folder / f"{assignment}.ipynb"
    if named in notebooks or len(notebooks) == 1:
        return replace(_file_submission(student, named if named in notebooks else notebooks[0]), identity=identity)
    problem = (f"{folder} holds no notebook" if not notebooks else
               f"{folder} holds {len(notebooks)} notebooks and none is named {assignment}.ipynb")
    return Submission(student, named, problem, identity=identity)


def _file_submission(student: str, path: Path) -> Submission:
    """A notebook file found in a folder, with what stops it being graded before it is read."""
    if path.is_symlink():
        return Submission(student, path, _link_problem(str(path)))
    return Submission(student, path, _size_problem(str(path), path.lstat().st_size))


def _link_problem(name: str) -> str:
    return f"{name} is a symbolic link, not graded: the grader reads regular files, never what a link points to"


def _size_problem(name: str, size: int) -> str:
    if size <= notebook.MAX_NOTEBOOK_BYTES:
        return ""
    return (f"{name} is larger than {notebook.MAX_NOTEBOOK_BYTES // 2**20} MB, the limit for a notebook "
            "(clear its outputs and save it again)")


def _looks_like_notebook(name: str) -> bool:
    return name.lower().endswith(".ipynb")


def _log_passed_over(where, passed_over: Counter) -> None:
    for reason, count in sorted(passed_over.items()):
        log.info("%s: passed over %d %s (%s)", where, count, "entry" if count == 1 else "entries", reason)


def _tell_apart(found: list[Submission]) -> list[Submission]:
    """`found`, in its order, with ids equal but for case numbered apart and marked duplicate (see
    the module's docstring)."""
    by_id: dict[str, list[int]] = {}
    for index, submission in sorted(enumerate(found), key=lambda pair: str(pair[1].path)):
        by_id.setdefault(submission.student.casefold(), []).append(index)
    told_apart = list(found)
    for same in (indexes for indexes in by_id.values() if len(indexes) > 1):
        for number, index in enumerate(same, start=1):
            submission = found[index]
            others = ", ".join(str(found[other].path) for other in same if other != index)
            note = (f"{submission.path} gives the student id {submission.student}, as does {others}: each "
                    "was graded under its own numbered id, and your instructor will decide which counts.")
            told_apart[index] = replace(submission, student=f"{submission.student}{DUPLICATE_MARK}{number}",
                                        notes=(*submission.notes, note), duplicate=True)
    return told_apart


# ---- zip archives --------------------------------------------------------------------------------

def _unpack_zip(archive_path: Path, assignment: str, unpack_dir: Path) -> list[Submission]:
    """Unpack the notebooks of an LMS archive into `unpack_dir` as `<student>.ipynb`.

    The archive is refused as a whole when any member's path would leave the folder (absolute,
    `..`, a drive letter) or when it is too big; members are copied by this code, never by
    `extractall`, so nothing but plain notebook files is ever written."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DiscoveryError(f"{archive_path} cannot be opened as a zip archive ({error})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise DiscoveryError(f"{archive_path} has {len(members)} files, more than the {MAX_ZIP_MEMBERS} allowed")
        for member in members:
            _check_member_path(archive_path, member.filename)
        notebooks = [m for m in members if _looks_like_notebook(m.filename) and not _ignored(m.filename)]
        _log_passed_over(archive_path, Counter(
            "bookkeeping of other tools" if _ignored(m.filename) else "not a notebook"
            for m in members if m not in notebooks))
        declared = sum(m.file_size for m in notebooks)
        if declared > MAX_UNPACKED_BYTES:
            raise DiscoveryError(f"{archive_path} would unpack to {declared / 2**30:.1f} GB of notebooks, more than "
                                 f"the {MAX_UNPACKED_BYTES / 2**30:.0f} GB allowed")
        found = _tell_apart([_member_submission(member, assignment) for member in notebooks])
        shutil.rmtree(unpack_dir, ignore_errors=True)
        unpack_dir.mkdir(parents=True)
        unpacked, total = [], 0
        for submission, member in zip(found, notebooks):
            target = unpack_dir / f"{submission.student}.ipynb"
            problem = submission.problem or _copy_capped(archive, member, target)
            unpacked.append(replace(submission, path=target, problem=problem))
            total += target.stat().st_size if target.exists() else 0
            if total > MAX_UNPACKED_BYTES:  # headers can lie about sizes; the bytes written cannot
                raise DiscoveryError(f"{archive_path} unpacks to more than the "
                                     f"{MAX_UNPACKED_BYTES / 2**30:.0f} GB of notebooks allowed")
        return unpacked


def _member_submission(member: zipfile.ZipInfo, assignment: str) -> Submission:
    """A notebook in an archive, its id from the LMS's naming, else from its file name with a note.
    Its `path` is the member's name until it is unpacked."""
    name = member.filename
    problem = _link_problem(f"{name} in the archive") if _is_link(member) else ""
    student = lms_student_id(name.replace("\\", "/"))
    if student:
        return Submission(student, Path(name), problem, identity=lms_identity(name.replace("\\", "/")))
    inner = PurePosixPath(name.replace("\\", "/"))
    folder = inner.parts[0] if len(inner.parts) > 1 else None
    lms = ", ".join(naming.lms for naming in LMS_NAMINGS)
    note = f"{name} in the archive is not named as {lms} name submissions; its student id comes from its file name."
    return Submission(student_id(inner, assignment, folder), Path(name), problem, (note,))


def _ignored(name: str) -> bool:
    return any(part in IGNORED_PARTS for part in PurePosixPath(name.replace("\\", "/")).parts)


def _is_link(member: zipfile.ZipInfo) -> bool:
    """Zips made on Unix keep the file's mode in the high 16 bits of `external_attr`."""
    return member.create_system == 3 and stat.S_ISLNK(member.external_attr >> 16)


def _check_member_path(archive_path: Path, name: str) -> None:
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix) or ".." in PurePosixPath(posix).parts:
        raise DiscoveryError(f"{archive_path} is refused: its member {name!r} would be written outside the "
                             "folder it is unpacked into (path traversal)")


def _copy_capped(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> str:
    """Copy one member, stopping at notebook.MAX_NOTEBOOK_BYTES whatever its header claims; return a
    problem that makes it ungradable, or ''."""
    written = 0
    try:
        with archive.open(member) as source, open(target, "wb") as sink:
            while chunk := source.read(2**20):
                written += len(chunk)
                if written > notebook.MAX_NOTEBOOK_BYTES:
                    break
                sink.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as error:  # RuntimeError: encrypted
        return f"{member.filename} in the archive cannot be unpacked ({error})"
    if written > notebook.MAX_NOTEBOOK_BYTES:
        target.unlink()
        return _size_problem(f"{member.filename} in the archive", written)
    return ""
