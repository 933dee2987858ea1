"""An assignment as the course defines it: its folder (notebook and assignment.toml, with its typed schema), the
blanks students fill, the course's nbgrader configuration and the steps it adds to nbgrader's release, and the
release and check commands."""
