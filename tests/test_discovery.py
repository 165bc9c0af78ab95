"""Finding submissions: ids from the LMS's naming (never the student's), every notebook a row,
duplicates told apart, symbolic links never followed, zips unpacked safely. Nothing is graded here
(tests/test_grade.py grades some of these layouts end to end)."""
import logging
import os
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from archives import zip_of
from toy_submissions import TOY

from autograder.analysis import notebook
from autograder.grading.discovery import (
    LMS_NAMINGS,
    DiscoveryError,
    find_submissions,
    lms_student_id,
    student_id,
)

LINK = "is a symbolic link, not graded"


def touch(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rows(found) -> dict:
    return {s.student: (s.path.name, s.problem) for s in found}


# ---- ids ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("toy_jsmith.ipynb", "jsmith"),
    ("jsmith-TOY.ipynb", "jsmith"),
    ("jsmith toy (1).ipynb", "jsmith_1"),
    ("toy.ipynb", "toy"),
    ("Zoë O'Neil.ipynb", "Zoë_O_Neil"),
    ("toyota_toy.ipynb", "toyota"),
    (".hidden.ipynb", "hidden"),
    ("..ipynb", "_"),
    (".ipynb", "_"),
    ("JSMITH.IPYNB", "JSMITH"),
])
def test_student_id_from_file_name(name, expected):
    assert student_id(PurePosixPath(name), "toy") == expected


@pytest.mark.parametrize("naming", LMS_NAMINGS, ids=lambda naming: naming.lms)
def test_each_lms_naming_gives_the_id_of_its_example(naming):
    member, expected = naming.example
    assert naming.student(member) == expected
    assert lms_student_id(member) == expected


@pytest.mark.parametrize("member, expected", [
    ("Jane Doe_111_assignsubmission_file_toy.ipynb", "Jane_Doe_111"),  # Moodle before folders
    ("Jane Doe_111_assignsubmission_file_/Bob Roe_222_assignsubmission_file_toy.ipynb", "Jane_Doe_111"),
    ("Zoë O'Neil_7_assignsubmission_file_/toy.ipynb", "Zoë_O_Neil_7"),
    ("download/Jane Doe_111_assignsubmission_file_/toy.ipynb", "Jane_Doe_111"),  # a folder around it
    ("doejane_4321_98765_toy.ipynb", "doejane_4321"),
    ("doejane_4321_98765_roebob_222_333_toy.ipynb", "doejane_4321"),
    ("HW_1_jdoe_attempt_2024-03-01-09-30-00_HW_1_broe_attempt_2024-03-01-09-30-00_toy.ipynb", "jdoe"),
    ("toy_jsmith.ipynb", None),
    ("toy_2024_03_jsmith.ipynb", "toy_2024"),  # Canvas's shape: only an LMS makes it in a zip
    ("submissions/jsmith/toy.ipynb", None),
])
def test_lms_id_comes_from_the_lms_prefix_never_from_the_students_file_name(member, expected):
    assert lms_student_id(member) == expected


# ---- zips from an LMS -----------------------------------------------------------------------------

@pytest.mark.parametrize("members, expected", [
    ({  # Moodle: Jane names her file after Bob
        "Jane Doe_111_assignsubmission_file_/Bob Roe_222_assignsubmission_file_toy_broe.ipynb": b"jane",
        "Bob Roe_222_assignsubmission_file_/toy.ipynb": b"bob",
    }, {"Jane_Doe_111": b"jane", "Bob_Roe_222": b"bob"}),
    ({  # Canvas, late: the same
        "doejane_LATE_111_901_roebob_222_902_toy.ipynb": b"jane",
        "roebob_222_903_toy.ipynb": b"bob",
    }, {"doejane_111": b"jane", "roebob_222": b"bob"}),
])
def test_a_student_naming_her_file_after_a_classmate_keeps_her_lms_id(tmp_path, members, expected):
    found = find_submissions(zip_of(tmp_path / "class.zip", members), "toy", tmp_path / "unpacked")
    assert {s.student: s.path.read_bytes() for s in found} == expected
    assert all(s.notes == () and not s.duplicate and s.problem == "" for s in found)


def test_zip_members_that_fit_no_lms_naming_keep_the_file_name_rule_with_a_note(tmp_path):
    archive = zip_of(tmp_path / "class.zip", {"toy_alice.ipynb": b"{}", "bob/toy.ipynb": b"{}",
                                              "Carol Poe_3_assignsubmission_file_/x.ipynb": b"{}"})
    found = {s.student: s for s in find_submissions(archive, "toy", tmp_path / "unpacked")}
    assert sorted(found) == ["Carol_Poe_3", "alice", "bob"]
    assert found["alice"].notes == ("toy_alice.ipynb in the archive is not named as Moodle, Canvas, Blackboard, D2L "
                                    "name submissions; its student id comes from its file name.",)
    assert found["Carol_Poe_3"].notes == ()


def test_duplicate_ids_in_a_zip_are_unpacked_side_by_side(tmp_path):
    archive = zip_of(tmp_path / "class.zip", {
        "Jane Doe_111_assignsubmission_file_/toy.ipynb": b"first",
        "Jane Doe_111_assignsubmission_file_/toy (1).ipynb": b"second",
    })
    found = find_submissions(archive, "toy", tmp_path / "unpacked")
    assert [(s.student, s.path.name, s.path.read_bytes(), s.duplicate) for s in found] == [
        ("Jane_Doe_111+1", "Jane_Doe_111+1.ipynb", b"second", True),
        ("Jane_Doe_111+2", "Jane_Doe_111+2.ipynb", b"first", True)]
    assert found[0].notes == (
        "Jane Doe_111_assignsubmission_file_/toy (1).ipynb gives the student id Jane_Doe_111, as does Jane "
        "Doe_111_assignsubmission_file_/toy.ipynb: each was graded under its own numbered id, and your "
        "instructor will decide which counts.",)


def test_a_symbolic_link_in_a_zip_is_a_row_and_is_not_written(tmp_path):
    link = zipfile.ZipInfo("toy_mallory.ipynb")
    link.create_system, link.external_attr = 3, (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "class.zip", "w") as archive:
        archive.writestr(link, str(TOY / "toy.ipynb"))
        archive.writestr("toy_alice.ipynb", b"{}")
    found = {s.student: s for s in find_submissions(tmp_path / "class.zip", "toy", tmp_path / "unpacked")}
    assert found["mallory"].problem.startswith(f"toy_mallory.ipynb in the archive {LINK}")
    assert not found["mallory"].path.exists()
    assert found["alice"].problem == ""


@pytest.mark.parametrize("evil", ["../escaped.ipynb", "/tmp/absolute.ipynb", "a/../../escaped.ipynb",
                                  "C:\\escaped.ipynb", "..\\escaped.ipynb"])
def test_zip_slip_refuses_the_archive(tmp_path, evil):
    archive = zip_of(tmp_path / "class.zip", {"toy_alice.ipynb": b"{}", evil: b"{}"})
    with pytest.raises(DiscoveryError, match="path traversal"):
        find_submissions(archive, "toy", tmp_path / "out" / "unpacked")
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path / "out").exists()


def test_zip_members_are_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 2**20)
    archive = zip_of(tmp_path / "class.zip", {"toy_alice.ipynb": b"{}", "toy_bob.ipynb": b" " * (3 * 2**20)})
    found = {s.student: s for s in find_submissions(archive, "toy", tmp_path / "unpacked")}
    assert found["alice"].problem == ""
    assert found["bob"].problem == ("toy_bob.ipynb in the archive is larger than 1 MB, the limit for a notebook "
                                    "(clear its outputs and save it again)")
    assert not found["bob"].path.exists()


def test_zip_bookkeeping_is_passed_over_and_counted(tmp_path, caplog):
    archive = zip_of(tmp_path / "class.zip", {"toy_alice.ipynb": b"{}", "__MACOSX/._toy_alice.ipynb": b"fork",
                                              "a/.ipynb_checkpoints/toy-checkpoint.ipynb": b"{}",
                                              "readme.txt": b"hi"})
    with caplog.at_level(logging.INFO, logger="autograder.grading.discovery"):
        found = find_submissions(archive, "toy", tmp_path / "unpacked")
    assert [s.student for s in found] == ["alice"]
    assert f"{archive}: passed over 2 entries (bookkeeping of other tools)" in caplog.messages
    assert f"{archive}: passed over 1 entry (not a notebook)" in caplog.messages


# ---- folders --------------------------------------------------------------------------------------

def test_every_notebook_in_a_folder_gets_a_row(tmp_path, caplog):
    for name in (".hidden.ipynb", "..ipynb", "Zoë Smith.IPYNB", "toy_alice.ipynb"):
        touch(tmp_path / "in" / name)
    touch(tmp_path / "in" / ".ipynb_checkpoints" / "toy_alice-checkpoint.ipynb")
    touch(tmp_path / "in" / "notes.txt")
    with caplog.at_level(logging.INFO, logger="autograder.grading.discovery"):
        found = find_submissions(tmp_path / "in", "toy", tmp_path / "unpacked")
    assert rows(found) == {"_": ("..ipynb", ""), "hidden": (".hidden.ipynb", ""),
                           "Zoë_Smith": ("Zoë Smith.IPYNB", ""), "alice": ("toy_alice.ipynb", "")}
    assert caplog.messages == [
        f"{tmp_path / 'in'}: passed over 1 entry (bookkeeping of other tools)",
        f"{tmp_path / 'in'}: passed over 1 entry (not a notebook nor a folder holding toy/)"]


def test_ids_equal_but_for_case_are_numbered_apart_and_marked(tmp_path):
    for name in ("toy_alice.ipynb", "alice-toy.ipynb", "ALICE.ipynb", "bob.ipynb"):
        touch(tmp_path / "in" / name)
    found = find_submissions(tmp_path / "in", "toy", tmp_path / "unpacked")
    assert [(s.student, s.path.name, s.duplicate) for s in found] == [
        ("ALICE+1", "ALICE.ipynb", True), ("alice+2", "alice-toy.ipynb", True),
        ("alice+3", "toy_alice.ipynb", True), ("bob", "bob.ipynb", False)]
    folder = tmp_path / "in"
    assert found[1].notes == (f"{folder / 'alice-toy.ipynb'} gives the student id alice, as does "
                              f"{folder / 'ALICE.ipynb'}, {folder / 'toy_alice.ipynb'}: each was graded under "
                              "its own numbered id, and your instructor will decide which counts.",)


def test_symbolic_links_are_rows_never_followed(tmp_path):
    folder = touch(tmp_path / "in" / "toy_alice.ipynb").parent
    os.symlink(TOY / "toy.ipynb", folder / "toy_mallory.ipynb")  # the instructor's reference
    os.symlink(TOY, folder / "eve")  # a folder holding toy.ipynb
    found = find_submissions(folder, "toy", tmp_path / "unpacked")
    assert rows(found) == {
        "alice": ("toy_alice.ipynb", ""),
        "eve": ("eve", f"{folder / 'eve'} {LINK}: the grader reads regular files, never what a link points to"),
        "mallory": ("toy_mallory.ipynb", f"{folder / 'toy_mallory.ipynb'} {LINK}: the grader reads regular "
                                         "files, never what a link points to")}


def test_nbgrader_layout_never_follows_links(tmp_path):
    submitted = tmp_path / "course" / "submitted"
    touch(submitted / "alice" / "toy" / "toy.ipynb")
    (submitted / "bob" / "toy").mkdir(parents=True)
    os.symlink(TOY / "toy.ipynb", submitted / "bob" / "toy" / "toy.ipynb")
    (submitted / "carol").mkdir()
    os.symlink(TOY, submitted / "carol" / "toy")
    touch(tmp_path / "dave" / "toy" / "toy.ipynb")
    os.symlink(tmp_path / "dave", submitted / "dave")
    found = {s.student: s.problem for s in find_submissions(tmp_path / "course", "toy", tmp_path / "unpacked")}
    assert found["alice"] == ""
    for student in ("bob", "carol", "dave"):
        assert LINK in found[student], student


def test_a_folder_can_mix_nbgrader_folders_and_notebooks(tmp_path):
    touch(tmp_path / "in" / "alice" / "toy" / "whatever.ipynb")
    touch(tmp_path / "in" / "toy_bob.ipynb")
    touch(tmp_path / "in" / "carol" / "other_assignment" / "x.ipynb")
    assert rows(find_submissions(tmp_path / "in", "toy", tmp_path / "unpacked")) == {
        "alice": ("whatever.ipynb", ""), "bob": ("toy_bob.ipynb", "")}


def test_files_over_the_size_limit_are_found_but_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 2**20)
    path = touch(tmp_path / "in" / "toy_alice.ipynb", "{" + " " * 2**20 + "}")
    [alice] = find_submissions(tmp_path / "in", "toy", tmp_path / "unpacked")
    assert alice.problem == (f"{path} is larger than 1 MB, the limit for a notebook (clear its outputs and "
                             "save it again)")


def test_no_notebooks_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiscoveryError, match="no notebooks found"):
        find_submissions(tmp_path / "empty", "toy", tmp_path / "unpacked")
    with pytest.raises(DiscoveryError, match="does not exist"):
        find_submissions(tmp_path / "nowhere", "toy", tmp_path / "unpacked")
