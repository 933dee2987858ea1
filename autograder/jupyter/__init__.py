"""The student's and the instructor's Jupyter set-up: the kernel spec and its start-up files, JupyterLab's settings."""
