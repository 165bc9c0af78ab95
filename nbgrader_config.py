"""nbgrader settings for the Neural Networks Course Kit (read by `nbgrader` and `autograder release`)."""
c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook that `nbgrader autograde` and `autograder grade --gradebook` write scores into.
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# utils.py is copied in by `autograder release`; nothing else in source/<a>/ is shipped but the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
