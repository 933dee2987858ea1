"""What the grader shows people: notes in its own words, untrusted text made inert, the grade files and histogram,
the feedback and Formgrader pages made safe, and the time each step took."""
