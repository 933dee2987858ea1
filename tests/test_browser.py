"""A student's session in a real browser: JupyterLab started as the README tells students, on a scratch copy of
the repository, driven by Playwright in Debian's Chromium. What is checked is what a student sees: test results,
red boxes, pictures, the Validate dialog, the exports left on disk, and the nbgrader tools a student is offered; and
what a student and an instructor see of a graded submission: its feedback page and Formgrader.

Screenshots of each scenario's end are saved under build/browser/, also when a check fails, with what the tests
counted and timed (measures.json: for reports, never asserted on)."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from autograder import ASSIGNMENT, NOTEBOOK, RELEASE, REPO
from autograder.fixtures.notebooks import MUTANTS, RAW_BANNER, TAKEN_ID, dressed_up, filled_release
from autograder.grading.run import grade
from tests.helpers import RESNET, VENV_BIN, offline_env, unused_loopback_port

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by make setup: Playwright's own download is never used
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = REPO / "build" / "browser"
MEASURES = SCREENSHOTS / "measures.json"
FOLDER = "notebooks/serving_keras_resnet"
TOKEN = "browser-test"
RUN_TIMEOUT_MS = 240_000  # a Run All takes about 25 s, Validate about 20 s; much more under load
DIALOG_LIMIT = 4000  # characters of the Validate dialog for one mistake
KEEP_VERSIONS = 2  # what the notebook's export cell promises
RED_BOX = '[data-mime-type="application/vnd.jupyter.stderr"]'  # what stderr and errors are shown as
CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the tab shown
LAB_SETTINGS = {  # the test reads every cell's output from the page, so all cells are rendered, not just those in view
    "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}

pytestmark = pytest.mark.timeout(900)


@dataclass
class Lab:
    root: Path
    url: str
    temporary: Path  # the temporary folder of JupyterLab and its kernels
    log: Path  # what JupyterLab and its kernels printed

    def notebook(self, name: str) -> Path:
        return self.root / FOLDER / name


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab as a student starts it (README), on a copy of the repository, offline, on a free port."""
    with started_lab(tmp_path_factory.mktemp("student"), [f"{FOLDER}/{NOTEBOOK}"]) as running:
        yield running


@contextlib.contextmanager
def started_lab(scratch: Path, arguments: list[str], served: Path | None = None, **env_settings: str) -> Iterator[Lab]:
    """`.venv/bin/jupyter lab ARGUMENTS` run from a copy of the repository in scratch (or from the served folder),
    with a HOME of its own."""
    root = served or scratch / "repo"
    if served is None:
        ignored = shutil.ignore_patterns(".git", ".venv", "build", "keras_servable", "__pycache__", ".*_cache")
        shutil.copytree(REPO, root, ignore=ignored)
        (root / ".venv").symlink_to(VENV_BIN.parent)
    settings = scratch / "home" / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    for extension, setting in LAB_SETTINGS.items():
        (settings / extension).parent.mkdir(parents=True, exist_ok=True)
        (settings / extension).write_text(json.dumps(setting))
    port = unused_loopback_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "RESNET_", "JUPYTER"))}
    env.update(offline_env(), HOME=str(scratch / "home"), PATH=f"{VENV_BIN}{os.pathsep}{env['PATH']}")
    (scratch / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(scratch / "tmp")
    env.update({key: value.format(root=root, home=scratch / "home") for key, value in env_settings.items()})
    command = [
        str(VENV_BIN / "jupyter") if served else ".venv/bin/jupyter",
        "lab",
        *arguments,
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
        "--LabApp.expose_app_in_browser=True",  # lets the test ask JupyterLab what it shows; students see no change
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root; students do not
    ]
    with (scratch / "jupyter.log").open("w") as log:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_server(url, server)
            yield Lab(root, url, scratch / "tmp", scratch / "jupyter.log")
        finally:
            server.terminate()
            server.wait(30)


def wait_for_server(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "JupyterLab exited at start"
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("JupyterLab did not answer within 120 s")


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.is_file(), f"no {CHROMIUM}: make setup installs Debian's chromium"
    MEASURES.unlink(missing_ok=True)
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; when the test fails, a screenshot of it and JupyterLab's log are saved under build/browser/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    yield page
    if getattr(request.node, "failed_call", False):  # set by tests/conftest.py
        screenshot(page, f"FAILED-{request.node.name}")
        lab = request.node.funcargs.get("lab")
        if lab:
            shutil.copyfile(lab.log, SCREENSHOTS / f"FAILED-{request.node.name}-jupyter.log")
    context.close()


def measured(scenario: str, **figures) -> None:
    """Add what a test counted or timed in a scenario to build/browser/measures.json."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    known = json.loads(MEASURES.read_text()) if MEASURES.is_file() else {}
    MEASURES.write_text(json.dumps({**known, scenario: {**known.get(scenario, {}), **figures}}, indent=1))


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    workspace = re.sub(r"\W", "-", name)  # a workspace of its own: no tab left open by another test
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?token={TOKEN}")  # the root: the notebook's folder
    page.wait_for_function(
        """name => {
            const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const kernel = widget && widget.sessionContext && widget.sessionContext.session
                && widget.sessionContext.session.kernel;
            return Boolean(widget && widget.context && widget.context.path.endsWith(name) && kernel
                && kernel.status === 'idle');
        }""",
        arg=name,
    )


def run_all(page) -> None:
    """Run > Run All Cells from the menu, then wait until no cell is running or waiting to run."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        """CURRENT => {
            const prompts = [...document.querySelectorAll(`${CURRENT} .jp-CodeCell .jp-InputPrompt`)];
            return prompts.every(prompt => !prompt.textContent.includes('*'))
                && prompts.some(prompt => /\\d/.test(prompt.textContent));
        }""",
        arg=CURRENT,
    )


def validate(page) -> str:
    """Click the notebook's Validate button; return the text of the dialog that answers, and close it."""
    name = page.evaluate("window.jupyterapp.shell.currentWidget.context.path").split("/")[-1]
    clicked = time.monotonic()
    page.locator(".validate-button").first.click()
    body = page.locator(".jp-Dialog .jp-Dialog-body")
    body.wait_for(state="visible")
    text = body.inner_text()
    measured(f"Validate {name}", seconds_to_its_dialog=round(time.monotonic() - clicked, 1), characters=len(text))
    screenshot(page, f"validate-{name}")
    page.locator(".jp-Dialog .jp-Dialog-button").last.click()
    return text


def outputs(page, selector: str) -> list[str]:
    return page.locator(f"{CURRENT} .jp-OutputArea-output{selector}").all_inner_texts()


def scratch_folders(lab: Lab) -> set[str]:
    """The temporary folders that notebook kernels make (Validate's export, the model server's log), which each
    kernel deletes when it stops."""
    return {path.name for pattern in ("keras_servable-*", "model-server-*") for path in lab.temporary.glob(pattern)}


def write_notebook(lab: Lab, name: str, nb: nbformat.NotebookNode) -> None:
    nbformat.write(nb, lab.notebook(name))


def export_versions(lab: Lab) -> list[str]:
    exports = lab.root / FOLDER / "keras_servable"
    return sorted(path.name for path in exports.iterdir()) if exports.is_dir() else []


def folder_megabytes(path: Path) -> float:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) / 1e6


def test_a_correct_notebook_runs_clean_shows_pictures_validates_and_keeps_two_exports(lab: Lab, page) -> None:
    write_notebook(lab, NOTEBOOK, filled_release())
    open_notebook(page, lab, NOTEBOOK)
    run_all(page)
    page.keyboard.press("Control+End")
    screenshot(page, "correct-run-end")
    passed = [text for text in outputs(page, "") if ": passed." in text]
    tests = sum(bool(cell.metadata.get("nbgrader", {}).get("grade")) for cell in nbformat.read(RELEASE, 4).cells)
    images = page.locator(f"{CURRENT} .jp-OutputArea-output img").count()
    red_boxes = len(outputs(page, RED_BOX))
    measured("Run All, correct notebook", tests_passed=len(passed), red_boxes=red_boxes, images=images)
    assert len(passed) == tests == 13, f"{len(passed)} of the {tests} tests printed 'passed'"
    assert red_boxes == 0, f"{red_boxes} red boxes: {outputs(page, RED_BOX)}"
    assert images >= 4, "the pictures are shown"
    assert "Your servable answers every sample image" in "".join(outputs(page, ""))
    assert validate(page) == "Success! Your notebook passes all the tests."
    assert export_versions(lab) == ["1"], "one run, one export; Validate exported into a scratch folder"

    # Exporting again and again keeps the newest two versions, and the notebook says which it removed.
    export = page.locator(f"{CURRENT} .jp-CodeCell").filter(has_text="def export_servable(")
    for printed in ("Exported the servable to keras_servable/2", "Removed version(s) 1 of keras_servable to keep 2"):
        export.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        export.locator(".jp-OutputArea-output").filter(has_text=printed).wait_for()
    assert export_versions(lab) == ["2", "3"]
    megabytes = folder_megabytes(lab.root / FOLDER / "keras_servable")
    measured("exports kept after Run All, Validate and two more exports", versions=["2", "3"], MB=round(megabytes, 1))
    assert megabytes < KEEP_VERSIONS * 120, f"{megabytes:.0f} MB of exports"


def test_one_mistake_gets_one_short_message_that_names_it(lab: Lab, page) -> None:
    name = "one_mistake.ipynb"
    write_notebook(lab, name, filled_release(MUTANTS["decode_one_channel"]))
    open_notebook(page, lab, name)
    run_all(page)
    [error] = outputs(page, RED_BOX)  # Run All stops at the first error
    assert len(error.strip().splitlines()) <= 2 and all(len(line) <= 100 for line in error.splitlines()), error
    assert "in build_jpeg_to_image_graph (Part 1)" in error and "a grayscale JPEG must become RGB too" in error
    running = scratch_folders(lab)  # those of the kernels still running, this notebook's and the last test's
    dialog = validate(page)
    assert len(dialog) <= DIALOG_LIMIT, f"the dialog has {len(dialog)} characters"
    assert dialog.count("a grayscale JPEG must become RGB too") >= 2, "each of Part 1's tests says it"
    assert "Part 3" not in dialog and "Part 5" not in dialog, "the later parts' tests use stand-ins: they pass"
    assert "Traceback" not in dialog and "File " not in dialog
    left = scratch_folders(lab) - running
    assert left == set(), "Validate's kernel, stopped after failing cells, did not delete its scratch folders"


def test_the_untouched_release_says_which_blanks_to_fill_first(lab: Lab, page) -> None:
    name = "untouched.ipynb"
    shutil.copy(RELEASE, lab.notebook(name))
    open_notebook(page, lab, name)
    assert not page.evaluate("window.jupyterapp.shell.currentWidget.context.model.dirty"), "opening changed it"
    assert lab.notebook(name).read_bytes() == RELEASE.read_bytes()
    # The set-up and the checks are collapsed: the first blank is on the first screen, under the introduction.
    assert page.locator(f"{CURRENT} .jp-InputPlaceholder").count() == 3, "the set-up and checks cells are collapsed"
    first_blank = page.locator(f"{CURRENT} .jp-CodeCell").filter(has_text="def build_jpeg_to_image_graph").first
    box = first_blank.bounding_box()
    screenshot(page, "first-screen")
    measured("first screen at 1400x1000", first_blank_bottom_px=round(box["y"] + box["height"]))
    assert box["y"] + box["height"] <= page.viewport_size["height"], "the first blank is below the first screen"
    dialog = validate(page)
    assert "build_jpeg_to_image_graph is not defined: fill in the ??? of Part 1 first" in dialog
    assert len(dialog) <= DIALOG_LIMIT


def test_a_student_sees_only_the_tools_that_work(lab: Lab, page) -> None:
    open_notebook(page, lab, NOTEBOOK)
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus and "Formgrader" not in " ".join(menus)
    assert page.locator(".validate-button").count() == 1, "Validate is there"
    assert page.get_by_text("Create Assignment").count() == 0
    for tool in ("formgrader", "assignments", "courses"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{lab.url}/{tool}?token={TOKEN}", timeout=10)
    assert not (lab.root / "gradebook.db").exists()
    assert re.search(r"Error fetching|exchange directory", page.locator("body").inner_text()) is None


def test_instructors_get_their_tools_with_make_instructor(tmp_path, page) -> None:
    """`make instructor`: the same JupyterLab with the instructor's configuration (autograder/jupyter/instructor)."""
    config = {  # as make instructor sets them
        "JUPYTER_CONFIG_DIR": "{root}/autograder/jupyter/instructor",
        "JUPYTER_PREFER_ENV_PATH": "0",
        "JUPYTERLAB_SETTINGS_DIR": "{home}/.jupyter/lab/user-settings",
    }
    with started_lab(tmp_path, [], **config) as instructor:
        page.goto(f"{instructor.url}/lab?token={TOKEN}")
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert {"Formgrader", "Course List"} <= set(items), items
        assert urllib.request.urlopen(f"{instructor.url}/formgrader?token={TOKEN}", timeout=60).status == 200


# Elements that a page draws out of the text's flow, where they can cover or pose as other text.
OUT_OF_FLOW = """() => [...document.querySelectorAll('body *')]
    .filter(element => ['fixed', 'absolute', 'sticky'].includes(getComputedStyle(element).position))
    .map(element => element.innerText)"""
IN_FLOW = "element => getComputedStyle(element).position === 'static'"
PAGE_TOP = "element => element.getBoundingClientRect().top + window.scrollY"  # how far down the page it starts
# The element a person sees at the middle of the one given.
ON_TOP = """element => {
    const box = element.getBoundingClientRect();
    const seen = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return element.contains(seen);
}"""


def test_a_submission_cannot_dress_up_its_score_in_the_feedback_page_or_formgrader(tmp_path, page) -> None:
    """A submission whose raw cell lays a fixed "Score: 999.0 / 100.0" banner in the page's own classes over the
    score (autograder/fixtures/notebooks.py: dressed_up), graded by `grade`: in its feedback page, and in Formgrader
    (the instructor's JupyterLab started in the run's course folder, as the README says), the score a person sees is the
    grader's and the banner is text in the notebook's flow, below it."""
    submissions = tmp_path / "submissions"
    (submissions / "dressed_up").mkdir(parents=True)
    nbformat.write(dressed_up(), submissions / "dressed_up" / NOTEBOOK)
    run = grade(submissions, tmp_path / "out", show_progress=False, assignment=RESNET)
    assert [result.score for result in run.results] == [100.0], run.results[0].note
    fake = RAW_BANNER.split("<h4>")[1].split("<")[0]

    page.goto((tmp_path / "out" / "feedback" / "dressed_up" / NOTEBOOK.replace(".ipynb", ".html")).as_uri())
    header = page.locator(".panel-heading h4").first
    assert header.inner_text() == f"{ASSIGNMENT} (Score: 100.0 / 100.0)" and header.evaluate(ON_TOP)
    assert page.evaluate(OUT_OF_FLOW) == [], "nothing in the feedback page is drawn out of the text's flow"
    assert_shown_as_text(page, fake, below=header)
    # The summary's link to a test goes to the grader's anchor (<a name=...>), which an id would take over.
    assert page.locator(f'[id="{TAKEN_ID}"]').count() == 0, "a student's heading takes no test's id"
    assert page.locator(f'[id="student-{TAKEN_ID}"]').count() == 1, "the student's heading has an id of its own"
    screenshot(page, "feedback-of-a-dressed-up-submission")

    instructor_config = {
        "JUPYTER_CONFIG_DIR": str(REPO / "autograder/jupyter/instructor"),
        "JUPYTER_PREFER_ENV_PATH": "0",
    }
    with started_lab(tmp_path, [], served=tmp_path / "out" / "course", **instructor_config) as formgrader:
        api = f"{formgrader.url}/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}?token={TOKEN}"
        [submission] = json.load(urllib.request.urlopen(api, timeout=60))
        assert (submission["student"], submission["score"]) == ("dressed_up", 100.0)
        page.goto(f"{formgrader.url}/formgrader/submissions/{submission['id']}/?token={TOKEN}")
        header = page.locator(".panel-heading").first
        assert ASSIGNMENT in header.inner_text() and header.evaluate(ON_TOP)
        drawn_over = [text for text in page.evaluate(OUT_OF_FLOW) if "Score" in text or "My notes" in text]
        assert drawn_over == [], "Formgrader's own bars and buttons are the only things out of the text's flow"
        assert_shown_as_text(page, fake, below=header)
        screenshot(page, "formgrader-of-a-dressed-up-submission")


def assert_shown_as_text(page, text: str, below) -> None:
    """Every copy of text on the page is preformatted text in the page's flow, further down than the element below."""
    copies = page.get_by_text(text).all()
    assert copies, f"{text!r} is shown"
    for copy in copies:
        assert copy.evaluate("element => element.closest('pre') !== null") and copy.evaluate(IN_FLOW)
        assert copy.evaluate(PAGE_TOP) > below.evaluate(PAGE_TOP)
