"""Reading submissions: a folder or a zip, plain or as an LMS downloads it, each student's notebook found and
read as data, with a note for whatever is odd. No submission's code runs here."""
