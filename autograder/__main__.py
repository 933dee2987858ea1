"""Command line: `python -m autograder grade SUBMISSIONS --out DIR`, `probe`, `release` and `check`."""

import argparse
import json
import sys
from pathlib import Path

from autograder import REPO
from autograder.course.assignment import available, find, loadable
from autograder.grading.course_folder import load_course_config
from autograder.grading.results import GradingRun
from autograder.grading.run import grade
from autograder.probing import probe_sandboxes
from autograder.release import check_all, release_all
from autograder.report.inert import inert

NOT_ALL_GRADED = 3  # exit status: the run finished, but some submissions could not be graded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade the course's notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    choices = ", ".join(available())
    grading = commands.add_parser(
        "grade",
        help="grade a batch of submissions",
        description="Grade every student's notebook of an assignment in SUBMISSIONS, each in a sandbox, and write "
        "grades.csv (and grades_canvas.csv for a Canvas download), grades.png and feedback/<student>/*.html to DIR. "
        "SUBMISSIONS is a folder or .zip of <student>/ folders, or a Canvas, Moodle or Blackboard download. "
        "The nbgrader course directory of the run is kept in DIR/course.",
    )
    grading.add_argument("submissions", type=Path, help="a folder or .zip of submissions, plain or from an LMS")
    grading.add_argument("--out", type=Path, required=True, help="folder for the grades, the chart and feedback")
    grading.add_argument(
        "--cell-timeout", type=int, help="seconds each cell may run (default: the assignment's [limits] cell)"
    )
    grading.add_argument(
        "--jobs", type=int, help="submissions graded at once (default: one per core; each takes about 1 GB of memory)"
    )
    grading.add_argument("--quiet", action="store_true", help="no progress bar")
    grading.add_argument(
        "--scheduler",
        help="grade on a Dask cluster: the address of its scheduler, tcp://HOST:8786 (default: grade on this machine)",
    )
    grading.add_argument(
        "--canvas-assignment",
        default="",
        help="the Canvas assignment grades_canvas.csv fills, 'Title (ID)' as Canvas's gradebook export names its "
        "column (default: the assignment's name, which Canvas imports as a new assignment)",
    )
    grading.add_argument(
        "--assignment",
        help=f"the assignment graded: a folder of solutions/ ({choices}; default: the only one), or a folder's path",
    )
    probing = commands.add_parser(
        "probe",
        help="show what the grading sandboxes allow",
        description="Run a probe inside a notebook kernel's sandbox and inside a judge's, as grading starts them, "
        "and print what each reports: user, capabilities, seccomp, mounts, environment, limits, and the outcome "
        "of each attempt to write, mount, read secrets or reach the network.",
    )
    probing.add_argument("--assignment", help="the assignment whose sandboxes are probed (default: the only one)")
    commands.add_parser(
        "release",
        help="release every assignment of solutions/ into notebooks/",
        description="Make the student release of every assignment in solutions/ with nbgrader; a folder that is not "
        "a gradable assignment is reported and skipped (exit status 1).",
    )
    checking = commands.add_parser(
        "check",
        help="grade each assignment's solution and untouched release",
        description="Grade each assignment's solution and its untouched release as submissions; an assignment whose "
        "solution does not score full marks is refused with the tests it fails (exit status 1).",
    )
    checking.add_argument("--assignment", help="the assignment checked (default: every one in solutions/)")
    args = parser.parse_args(argv)
    if args.command == "release":
        return release_all()
    try:
        if args.command == "check":
            return check_all(*(([find(args.assignment)], {}) if args.assignment else loadable()))
        assignment = find(args.assignment)
        if args.command == "probe":
            print(json.dumps(probe_sandboxes(load_course_config(REPO), assignment), indent=1))
            return 0
        run = grade(
            args.submissions,
            args.out,
            show_progress=not args.quiet,
            cell_timeout=args.cell_timeout,
            jobs=args.jobs,
            assignment=assignment,
            scheduler=args.scheduler,
            canvas_assignment=args.canvas_assignment,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {inert(str(error))}", file=sys.stderr)
        return 2
    print(summary(run))
    return NOT_ALL_GRADED if run.not_graded else 0


def summary(run: GradingRun) -> str:
    graded = [result for result in run.results if not (result.problem or result.not_graded)]
    kept = f" ({run.kept} kept from the earlier run in this folder)" if run.kept else ""
    lines = [
        f"Graded {len(graded)} of {len(run.results)} submissions in {run.seconds:.0f} s{kept}.",
        *(f"  {r.student_id}: 0 points, {r.note}" for r in run.results if r.problem and not r.not_graded),
        *(f"  {r.student_id}: {r.note}" for r in run.results if r.notes and not (r.problem or r.not_graded)),
    ]
    if run.not_graded:
        lines.append(
            f"NOT GRADED: {len(run.not_graded)} submissions, through no fault of theirs; their scores are left empty "
            "in the grade files. Run the same command again: it grades only these (and notebooks that changed)."
        )
        lines += [f"  {r.student_id}: {r.note}" for r in run.not_graded]
    if run.skipped:
        more = f" and {len(run.skipped) - 10} more" if len(run.skipped) > 10 else ""
        shown = ", ".join(inert(name, 200) for name in run.skipped[:10]) + more
        lines.append(f"Skipped {len(run.skipped)} entries that belong to no student: {shown}")
    if graded:
        mean = sum(r.score for r in graded) / len(graded)
        disk = sum(r.disk_bytes for r in graded) / len(graded) / 1e6
        lines.append(f"Mean score of graded submissions: {mean:.1f}. Disk left per graded submission: {disk:.2f} MB.")
    lines.append(f"Grades: {run.grades_csv}  Chart: {run.out / 'grades.png'}  Feedback: {run.out / 'feedback'}")
    if any(r.lms == "canvas" for r in run.results) and not run.canvas_column:
        lines.append(
            "grades_canvas.csv names its column after the assignment, which Canvas imports as a new assignment: "
            "to fill the existing one, run again with --canvas-assignment 'Title (ID)', as Canvas's gradebook "
            "export names its column"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
