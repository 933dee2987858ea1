"""nbgrader zip_collect plugin for submissions laid out as <student>/<notebook>.ipynb (in a folder or a zip)."""

from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin


class StudentFolderCollector(FileNameCollectorPlugin):
    """The student id is the name of the folder that holds the notebook; the file name is the notebook's."""

    def collect(self, submitted_file: str) -> dict[str, str] | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext:
            return None
        return {"student_id": path.parent.name, "file_id": path.name}
