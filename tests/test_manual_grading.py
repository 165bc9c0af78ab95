"""The manual half of the grade, on a few hopfield_batchnorm samples graded once: grading by question
(`autograder mark`) in headless Chromium (keyboard marking, marks kept across a reload and in
grades.csv, the page's defences against a hostile notebook, the server's token; one browser session
for the module), then the grades in nbgrader's gradebook, read back with nbgrader's own API and CSV
export."""
import csv
import http.client
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from autograder import cli, paths
from autograder.grading.grade import load_graded
from autograder.grading.manual import SCORES_FILE, ManualScores, Mark, ScoresError
from autograder.verbs.gradebook import COURSE_ID, write_gradebook
from autograder.verbs.export import find_chromium
from autograder.verbs.mark import Marking
from autograder.verbs.mark_server import MarkServer
from conftest import DELETED_ANSWER

selenium = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# A 1x1 PNG: a plot, as a notebook stores it.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
HOSTILE_MARKDOWN = ('**Q1a** $x < y$ <script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> '
                    '![a](javascript:window.pwned=3) <svg onload="window.pwned = 4"></svg> '
                    '<a href="javascript:window.pwned=5">link</a> $\\href{javascript:window.pwned=6}{x}$ '
                    '<iframe src="data:text/html,<script>parent.pwned=7</script>"></iframe>')


@pytest.fixture(scope="module")
def served(hopfield_marking_class, tmp_path_factory):
    """A copy of the graded class, one hostile notebook added, served on 127.0.0.1."""
    out_dir, submissions = hopfield_marking_class
    out = Path(shutil.copytree(out_dir, tmp_path_factory.mktemp("served") / "out"))
    # mallory: celine's notebook whose Q1b answer is hostile Markdown, as if it had been graded too.
    saved = json.loads((out / "results" / "celine_cp1252.json").read_text(encoding="utf-8"))
    nb = json.loads((submissions / "celine_cp1252.ipynb").read_bytes().decode("cp1252"))
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "q1b_answer":
            cell["source"] = HOSTILE_MARKDOWN
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "q2b_demo":
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": "mean 0.00 <b>variance</b> 1.00\n"},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": PNG, "text/plain": "<Figure>"}},
                {"output_type": "display_data", "metadata": {},
                 "data": {"text/html": "<script>window.pwned = 8</script>", "text/plain": "table as text"}},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><script>window.pwned=9</script></svg>'}}]
    mallory = out.parent / "mallory.ipynb"
    mallory.write_text(json.dumps(nb), encoding="utf-8")
    saved.update(student="mallory", notebook=str(mallory))
    for question in saved["questions"]:
        if question["id"] == "Q1b":
            question["answer"] = "changed"  # matches no mark: mallory stays unmarked
    (out / "results" / "mallory.json").write_text(json.dumps(saved), encoding="utf-8")
    marking = Marking.open("hopfield_batchnorm", out)
    marking.write_reports()
    server = MarkServer(marking)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, out
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = str(find_chromium())
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    driver = selenium.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def grades(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def click(driver, element):
    """A real click, after scrolling the element clear of the page's sticky header."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def cards(driver):
    return driver.find_elements(By.CSS_SELECTOR, "article.card")


def test_a_deleted_answer_cell_is_flagged_and_never_scored(hopfield_marking_class):
    out, _ = hopfield_marking_class
    row = grades(out)[DELETED_ANSWER]
    assert row["status"] == "missing answer cell (q1a_answer)"
    assert (row["Q1a (manual)"], row["no_answer"]) == ("", "Q1a")
    assert "Q1a" in row["manual_pending"].split(";")
    untouched = grades(out)["chloe_untouched"]
    assert untouched["no_answer"] == "Q1a;Q1b;Q2B;Q2C-plot" and untouched["manual"] == "0"
    assert untouched["max"] == "19" and untouched["autograded_max"] == "9" and untouched["manual_max"] == "10"
    feedback = (out / "feedback" / f"{DELETED_ANSWER}.md").read_text(encoding="utf-8")
    assert "q1a\\_answer" in feedback and "deleted" in feedback


def test_keyboard_marks_survive_a_reload_and_reach_grades_csv(served, browser):
    server, out = served
    before = grades(out)
    browser.get(f"{server.url}q/Q1a")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return !!document.querySelector('article.current')"))
    groups = [(card.get_attribute("data-group"), card.find_element(By.CSS_SELECTOR, ".students").text.split(", "))
              for card in cards(browser)]
    assert any(len(students) == 2 for _, students in groups)  # amelia and celine: one answer, marked once
    no_answer = [students for _, students in groups if students == ["chloe_untouched", DELETED_ANSWER]]
    assert no_answer, groups
    progress = browser.find_element(By.ID, "progress")
    assert progress.text == "0 of 7 marked"
    body = browser.find_element(By.TAG_NAME, "body")
    for key in ("2", "j", "1", "j", "0"):  # three answers: 2, 1 and 0 points
        body.send_keys(key)
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "progress").text != "0 of 7 marked"
                                     and "saving" not in d.page_source)
    expected = {tuple(students_): score for (_, students_), score in zip(groups, (2, 1, 0))}
    marked = sum(len(students_) for students_ in expected)
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "progress").text == f"{marked} of 7 marked")

    browser.refresh()
    WebDriverWait(browser, 20).until(lambda d: len(cards(d)) == len(groups))
    assert browser.find_element(By.ID, "progress").text == f"{marked} of 7 marked"
    shown = [card.get_attribute("data-points") for card in cards(browser)]
    assert shown[:3] == ["2", "1", "0"] and set(shown[3:]) == {""}
    after = grades(out)
    for students_, score in expected.items():
        for student in students_:
            assert after[student]["Q1a (manual)"] == str(score), student
            assert float(after[student]["total"]) == float(before[student]["total"]) + score
            assert "Q1a" not in after[student]["manual_pending"].split(";")
    scores = ManualScores.load(out, "hopfield_batchnorm")
    assert {s: scores.get(s, "Q1a").points for students_ in expected for s in students_} == \
        {s: float(score) for students_, score in expected.items() for s in students_}
    feedback = (out / "feedback" / f"{groups[0][1][0]}.md").read_text(encoding="utf-8")
    assert "2 / 2 points, marked by hand" in feedback and "needs manual grading" in feedback  # Q1a done, Q1b not


def test_rubric_items_and_comment_by_click(served, browser):
    server, out = served
    browser.get(f"{server.url}q/Q1b")
    WebDriverWait(browser, 20).until(lambda d: len(cards(d)) > 0)
    rubric = browser.find_element(By.CSS_SELECTOR, "section.rubric").text
    assert "chain rule" in rubric
    card = cards(browser)[0]
    student = card.find_element(By.CSS_SELECTOR, ".students").text.split(", ")[0]
    click(browser, card.find_elements(By.CSS_SELECTOR, "input[data-item]")[1])  # the second item, 1 point
    comment = card.find_element(By.CSS_SELECTOR, "textarea.comment")
    comment.send_keys("Say where σ' ≥ 0 is used.")
    click(browser, card.find_element(By.CSS_SELECTOR, "h2"))  # leaving the box saves the comment
    WebDriverWait(browser, 20).until(
        lambda d: (ManualScores.load(out, "hopfield_batchnorm").get(student, "Q1b") or 0) and
        ManualScores.load(out, "hopfield_batchnorm").get(student, "Q1b").comment)
    mark = ManualScores.load(out, "hopfield_batchnorm").get(student, "Q1b")
    assert (mark.points, mark.rubric, mark.comment) == (1.0, [1], "Say where σ' ≥ 0 is used.")
    # The reports follow the scores file; each is replaced whole, so a reader never sees half of one.
    WebDriverWait(browser, 20).until(lambda d: "Say where" in (out / "feedback" / f"{student}.md").read_text("utf-8"))
    assert grades(out)[student]["Q1b (manual)"] == "1"


def test_math_is_typeset_offline_and_hostile_markup_never_runs(served, browser):
    server, _ = served
    browser.get(f"{server.url}q/Q1b")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "mjx-container"))
    mallory = [card for card in cards(browser) if "mallory" in card.find_element(By.CSS_SELECTOR, ".students").text][0]
    for link in mallory.find_elements(By.CSS_SELECTOR, "a, mjx-container a"):
        browser.execute_script("arguments[0].click()", link)
    assert browser.execute_script("return window.pwned === undefined")
    answer = mallory.find_element(By.CSS_SELECTOR, ".answer")
    assert "<script>window.pwned = 1</script>" in answer.text  # shown as text, never run
    assert not answer.find_elements(By.CSS_SELECTOR, "script, iframe, svg:not(mjx-container svg), [onerror], [onload]")
    assert all((img.get_attribute("src") or "").startswith(("data:", "")) and "javascript" not in (img.get_attribute("src") or "")
               for img in answer.find_elements(By.TAG_NAME, "img"))
    assert mallory.find_elements(By.CSS_SELECTOR, ".cell.markdown mjx-container")  # its math typeset

    browser.get(f"{server.url}q/Q2B")  # a code cell's outputs: text and images, never HTML or scripts
    WebDriverWait(browser, 20).until(lambda d: len(cards(d)) > 0)
    mallory = [card for card in cards(browser) if "mallory" in card.find_element(By.CSS_SELECTOR, ".students").text][0]
    code = mallory.find_element(By.CSS_SELECTOR, ".cell.code")
    assert code.find_elements(By.CSS_SELECTOR, ".highlight span")  # highlighted
    assert [o.text for o in code.find_elements(By.CSS_SELECTOR, "pre.output")] == [
        "mean 0.00 <b>variance</b> 1.00", "table as text"]
    images = [img.get_attribute("src") for img in code.find_elements(By.CSS_SELECTOR, "img.output")]
    assert images[0] == f"data:image/png;base64,{PNG}" and images[1].startswith("data:image/svg+xml;base64,")
    assert browser.execute_script("return document.querySelector('img.output').naturalWidth") == 1
    assert browser.execute_script("return window.pwned === undefined")


def test_the_server_answers_only_its_token_and_its_own_address(served):
    server, out = served
    port = server.server_address[1]
    for path, host in ((f"/{'x' * 32}/", f"127.0.0.1:{port}"), (f"/{server.token}/", f"evil.example:{port}"),
                       ("/", f"127.0.0.1:{port}")):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"Host": host})
        assert connection.getresponse().status == 403, (path, host)
    page = urllib.request.urlopen(server.url, timeout=10)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "0 of 7 marked" in page.read().decode() or "marked" in page.read().decode()

    def post(body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(f"{server.url}api/mark", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)
    group = server.marking.pages["Q2B"].groups[0].key
    assert post({"question": "Q2B", "group": group, "points": 3})[0] == 400  # Q2B is worth 2
    assert "from 0 to 2" in post({"question": "Q2B", "group": group, "points": 3})[1]["error"]
    assert post({"question": "Q1c", "group": group, "points": 1})[0] == 400  # autograded
    assert post({"question": "Q2B", "group": "nope", "points": 1})[0] == 400
    assert post({"question": "Q2B", "group": group, "points": True})[0] == 400


def test_a_damaged_scores_file_is_refused_not_overwritten(tmp_path, hopfield_marking_class):
    out = Path(shutil.copytree(hopfield_marking_class[0], tmp_path / "out"))
    (out / SCORES_FILE).write_text('{"format": 1, "assign', encoding="utf-8")
    with pytest.raises(ScoresError, match="cannot be read"):
        Marking.open("hopfield_batchnorm", out)
    assert (out / SCORES_FILE).read_text(encoding="utf-8") == '{"format": 1, "assign'
    with pytest.raises(ScoresError, match="holds no results"):
        Marking.open("hopfield_batchnorm", tmp_path / "empty")


ASSIGNMENT = "hopfield_batchnorm"


# ---- nbgrader's gradebook -----------------------------------------------------------------------

def gradebook_urls(tmp_path):
    import os
    urls = [f"sqlite:///{tmp_path / 'gradebook.db'}"]
    if os.environ.get("COURSE_TEST_POSTGRES_URL"):
        urls.append(os.environ["COURSE_TEST_POSTGRES_URL"])
    return urls


def test_the_gradebook_holds_every_cell_of_every_sample_student(hopfield_marking_class, tmp_path, monkeypatch,
                                                                capsys):
    """`grade --gradebook` (the grading itself replaced by the class graded once), then nbgrader's API."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    from autograder.grading import grade
    out = Path(shutil.copytree(hopfield_marking_class[0], tmp_path / "out"))
    result = load_graded(ASSIGNMENT, out)
    amelia = next(s for s in result.students if s.student == "amelia_correct_torch")
    scores = ManualScores.load(out, ASSIGNMENT)
    scores.mark("amelia_correct_torch", "Q1a", Mark(1.5, "the symmetry is never named",
                                                    answer=amelia.questions[0].answer))
    result = load_graded(ASSIGNMENT, out)
    config = result.config
    monkeypatch.setattr(grade, "grade_assignment", lambda *args, **kwargs: load_graded(ASSIGNMENT, out))
    for url in gradebook_urls(tmp_path):
        assert cli.main(["grade", ASSIGNMENT, str(tmp_path), "-o", str(out), "--gradebook", url,
                         "--nbgrader-course", str(tmp_path / "course")]) == 0
        assert f"nbgrader gradebook {url}: 6 students, 42 grades, 23 manual grades still to mark" in \
            capsys.readouterr().out
        written = write_gradebook(result, url)  # writing again updates, never duplicates
        assert written.students == len(result.students)
        with Gradebook(url, course_id=COURSE_ID) as gradebook:
            assert [s.id for s in gradebook.students] == [s.student for s in result.students]
            for student in result.students:
                for question in student.questions:
                    spec = next(q for q in config.questions if q.id == question.id)
                    grade = gradebook.find_grade(spec.cells[-1], ASSIGNMENT, ASSIGNMENT, student.student)
                    assert grade.max_score == question.max_points
                    if not question.manual:
                        assert (grade.auto_score, grade.needs_manual_grade) == (question.points, False)
                    elif question.points is None:
                        assert (grade.manual_score, grade.needs_manual_grade) == (None, True), (student.student, spec.id)
                    else:
                        assert (grade.manual_score, grade.needs_manual_grade) == (1.5, False)
                        comment = gradebook.find_comment(spec.cells[-1], ASSIGNMENT, ASSIGNMENT, student.student)
                        assert comment.manual_comment == "the symmetry is never named"
            exported = tmp_path / "nbgrader_grades.csv"
            CsvExportPlugin(to=str(exported)).export(gradebook)  # what `nbgrader export` runs
        with open(exported, newline="") as file:
            rows = {row["student_id"]: row for row in csv.DictReader(file)}
        for student in result.students:
            assert float(rows[student.student]["score"]) == student.grade
            assert float(rows[student.student]["max_score"]) == student.full_marks == 19
    assert (tmp_path / "course" / "autograded" / "amelia_correct_torch" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    # A mark entered in formgrader reaches the marking page; a mark on the page reaches the gradebook.
    url = gradebook_urls(tmp_path)[0]
    with Gradebook(url, course_id=COURSE_ID) as gradebook:
        gradebook.find_grade("q1b_answer", ASSIGNMENT, ASSIGNMENT, "bruno_correct_manual").manual_score = 1.0
        gradebook.find_comment("q1b_answer", ASSIGNMENT, ASSIGNMENT, "bruno_correct_manual").manual_comment = "in formgrader"
        gradebook.db.commit()
    marking = Marking.open(ASSIGNMENT, out, gradebook=url)
    bruno = ManualScores.load(out, ASSIGNMENT).get("bruno_correct_manual", "Q1b")
    assert (bruno.points, bruno.comment) == (1.0, "in formgrader")
    assert marking.progress("Q1b") == (1, 6)  # bruno only: his group's other answers are not marked
    assert "Marked one by one (a score here marks them all alike): bruno_correct_manual 1" in \
        marking.question_page("Q1b", "token", mathjax=False)
    no_answer = next(group for group in marking.pages["Q2B"].groups if "chloe_untouched" in group.students)
    marking.save("Q2B", no_answer.key, 0, "nothing written")
    with Gradebook(url, course_id=COURSE_ID) as gradebook:
        grade = gradebook.find_grade("q2b_answer", ASSIGNMENT, ASSIGNMENT, "chloe_untouched")
        assert (grade.manual_score, grade.needs_manual_grade) == (0.0, False)
    marking.save("Q2B", no_answer.key, None, clear=True)
    with Gradebook(url, course_id=COURSE_ID) as gradebook:
        grade = gradebook.find_grade("q2b_answer", ASSIGNMENT, ASSIGNMENT, "chloe_untouched")
        assert (grade.manual_score, grade.needs_manual_grade) == (None, True)


def test_nbgrader_config_names_the_kits_course_id():
    assert f'course_id = "{COURSE_ID}"' in (paths.REPO_ROOT / "nbgrader_config.py").read_text(encoding="utf-8")


def test_a_linked_notebook_is_never_shown_as_an_answer(tmp_path, hopfield_marking_class):
    out = Path(shutil.copytree(hopfield_marking_class[0], tmp_path / "out"))
    link = tmp_path / "eve.ipynb"
    link.symlink_to(paths.REPO_ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")  # the model answers
    saved = json.loads((out / "results" / "amelia_correct_torch.json").read_text(encoding="utf-8"))
    saved.update(student="eve", notebook=str(link))
    (out / "results" / "eve.json").write_text(json.dumps(saved), encoding="utf-8")
    marking = Marking.open(ASSIGNMENT, out)
    eve = next(group for group in marking.pages["Q1a"].groups if "eve" in group.students)
    assert eve.key == "no-answer" and eve.parts == [] and "could not be graded" in eve.no_answer
