"""nbgrader reads its configuration from the course root; this course keeps it in autograder/course/."""

c = get_config()
load_subconfig("autograder/course/nbgrader_config.py")
