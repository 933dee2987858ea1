"""nbgrader reads its configuration from the course root; this course keeps it in autograder/."""

c = get_config()
load_subconfig("autograder/nbgrader_config.py")
