"""nbgrader settings for the Neural Networks Course Kit.

Read by nbgrader's own commands run from the repository root, and by `autograder release`, which
runs `nbgrader generate_assignment --no-db` there on a private copy of source/<a>/.
"""
c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook of nbgrader's own commands (`nbgrader formgrader`, `nbgrader export`).
# `autograder release` runs nbgrader with --no-db. `autograder grade ... --gradebook` (run from the
# repository root) writes the grades into this database through nbgrader's own API: the autograded
# score of each question's graded cell, the manual marks entered with `autograder mark`, and the
# manual cells still to mark; with `--nbgrader-course .` it also puts the notebooks in autograded/,
# where formgrader opens them (docs/marking.md). The course_id above must stay the one
# autograder.verbs.gradebook.COURSE_ID writes (a test checks it).
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# nbgrader copies every file of source/<a>/ not matched here into the release, so source/<a>/ holds
# only the notebook; `autograder release` adds utils.py and the check/ bundle itself.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
