"""Sharded grading and its merge, with the cluster examples that run it (examples/cluster/).

A class of six hopfield_batchnorm samples (two per shard: correct, stubs, unbiased variance, an
invalid file, a wrong network, an exit at import) is graded once in this process, and as three
shards in three parallel processes: shard 0 by the Slurm array script with SLURM_ARRAY_TASK_ID=0,
shards 1 and 2 by `autograder grade --shard K/3`. The merge of the three folders must give the
reports of the unsharded run, and every way the folders can fail to make one class is refused.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from autograder import paths
from autograder.grading import grade
from autograder.grading.shards import RECORD_FILE, Shard, ShardError
from autograder.verbs import report
from autograder.verbs.merge import MergeError, merge


ASSIGNMENT = "hopfield_batchnorm"
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
CLUSTER = paths.REPO_ROOT / "examples" / "cluster"
# student -> its shard of 3: fixed by sha256, so the same on every machine and in every process.
CLASS = {"dmitri_unbiased_variance": 0, "adam_invalid_json": 0, "amelia_correct_torch": 1,
         "chloe_untouched": 1, "jonas_normalnet_with_batchnorm": 2, "samir_sys_exit": 2}


def test_a_shard_is_K_of_N_counted_from_0():
    assert Shard.parse(" 2/3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad, said in [("3/3", "does not exist"), ("0/0", "does not exist"), ("-1/3", "is not K/N"),
                      ("1", "is not K/N"), ("a/b", "is not K/N")]:
        with pytest.raises(ShardError, match=said):
            Shard.parse(bad)


def test_every_student_is_in_exactly_one_shard_by_a_stable_hash():
    ids = [f"student{number}" for number in range(600)] + list(CLASS)
    shards = [Shard(index, 3) for index in range(3)]
    assert all(sum(shard.holds(student) for shard in shards) == 1 for student in ids)
    sizes = [sum(shard.holds(student) for student in ids) for shard in shards]
    assert min(sizes) > 150  # about a third each
    assert {student: next(s.index for s in shards if s.holds(student)) for student in CLASS} == CLASS


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    """(the unsharded class result, its folder, the three shard folders, the merged result)."""
    tmp = tmp_path_factory.mktemp("shards")
    submissions = tmp / "class"
    submissions.mkdir()
    for student in CLASS:
        shutil.copy(SAMPLES / f"{student}.ipynb", submissions / f"{student}.ipynb")
    environment = {**os.environ, "SUBMISSIONS": str(submissions), "OUT": str(tmp / "out"),
                   "AUTOGRADER": f"{sys.executable} -m autograder"}
    slurm = {**environment, "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3"}
    processes = [subprocess.Popen(["bash", CLUSTER / "grade-array.sbatch"], env=slurm, cwd=paths.REPO_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    processes += [subprocess.Popen([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, submissions,
                                    "-o", tmp / "out" / f"shard-{index}", "--shard", f"{index}/3", "-j", "1"],
                                   env=environment, cwd=paths.REPO_ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for index in (1, 2)]
    whole = grade.grade_assignment(ASSIGNMENT, submissions, tmp / "whole", jobs=2, progress=False, zygote=course_zygote)
    report.write_reports(whole, tmp / "whole")
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    shards = [tmp / "out" / f"shard-{index}" for index in range(3)]
    merged = merge(shards, tmp / "merged")
    return whole, tmp / "whole", shards, merged, tmp


def _reports(folder):
    """Every report file of a grading output folder, by its path inside it."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for sub in ("grades.csv", "feedback", "gradescope") for path in sorted((folder / sub).rglob("*"))
            if path.is_file()} | {"grades.csv": (folder / "grades.csv").read_bytes()}


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_each_shard_grades_its_part_and_records_it(graded):
    _, _, shards, _, _ = graded
    for index, folder in enumerate(shards):
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        mine = sorted(student for student, shard in CLASS.items() if shard == index)
        assert record["shard"] == [index, 3] and record["students"] == mine and record["class"] == sorted(CLASS)
        assert sorted(path.stem for path in (folder / "results").glob("*.json")) == mine


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_the_merge_of_three_shards_is_the_unsharded_run(graded):
    whole, whole_folder, _, merged, tmp = graded
    assert [s.student for s in merged.students] == sorted(CLASS)
    assert [(s.student, s.status_text, s.total) for s in merged.students] == \
           [(s.student, s.status_text, s.total) for s in whole.students]
    assert _reports(tmp / "merged") == _reports(whole_folder)
    assert report.class_table(merged) == report.class_table(whole)
    assert sorted(p.name for p in (tmp / "merged" / "results").iterdir()) == [f"{s}.json" for s in sorted(CLASS)]


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_the_merge_refuses_what_is_not_one_class(graded):
    _, whole_folder, shards, _, tmp = graded
    with pytest.raises(MergeError, match=r"2 of the class's 6 students have no result: "
                                         r"jonas_normalnet_with_batchnorm, samir_sys_exit"):
        merge(shards[:2], tmp / "partial")
    with pytest.raises(MergeError, match="shard-0 is named twice"):
        merge([shards[0], shards[1], shards[0]], tmp / "twice")
    shutil.copytree(shards[0], tmp / "again")
    with pytest.raises(MergeError, match="are both shard 0/3"):
        merge([shards[0], tmp / "again"], tmp / "twice")
    with pytest.raises(MergeError, match=r"student adam_invalid_json is in both .*shard-0 and .*whole"):
        merge([*shards, whole_folder], tmp / "overlap")  # an unsharded folder brings every result it holds
    lost = tmp / "lost"
    shutil.copytree(shards[2], lost)
    (lost / "results" / "samir_sys_exit.json").unlink()
    with pytest.raises(MergeError, match="1 of the class's 6 students have no result: samir_sys_exit"):
        merge([shards[0], shards[1], lost], tmp / "lost-merged")
    other = tmp / "other"
    shutil.copytree(shards[2], other)
    record = json.loads((other / RECORD_FILE).read_text(encoding="utf-8"))
    (other / RECORD_FILE).write_text(json.dumps({**record, "shard": [2, 4]}), encoding="utf-8")
    with pytest.raises(MergeError, match="is shard 2/4 but .* is shard 0/3"):
        merge([shards[0], shards[1], other], tmp / "other-merged")
    with pytest.raises(MergeError, match="nowhere does not exist"):
        merge([shards[0], tmp / "nowhere"], tmp / "none")
    with pytest.raises(MergeError, match="no results/ folder"):
        merge([shards[0], tmp / "class"], tmp / "none")
    assert not (tmp / "partial").exists()  # nothing written when refused


def test_the_kubernetes_manifest_is_an_indexed_job_of_shards():
    (job,) = yaml.safe_load_all((CLUSTER / "grade-job.yaml").read_text(encoding="utf-8"))
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 3
    (container,) = spec["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["SHARD_COUNT"]["value"] == str(spec["completions"])
    assert env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    args = container["args"]
    assert args[:2] == ["grade", ASSIGNMENT]
    assert args[args.index("--shard") + 1] == "$(SHARD_INDEX)/$(SHARD_COUNT)"
    assert "$(SHARD_INDEX)" in args[args.index("-o") + 1]  # each shard its own folder
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_image_and_ci_are_built_by_one_script():
    dockerfile = (CLUSTER / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert [line for line in dockerfile if line.startswith("RUN ")] == ["RUN bash scripts/install-kit.sh"]
    assert 'ENTRYPOINT ["autograder"]' in dockerfile
    makefile = (paths.REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "bash scripts/install-kit.sh" in makefile
    assert subprocess.run(["bash", "-n", CLUSTER / "grade-array.sbatch"]).returncode == 0
    assert subprocess.run(["bash", "-n", paths.REPO_ROOT / "scripts" / "install-kit.sh"]).returncode == 0
