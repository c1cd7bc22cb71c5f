# Opens a file by its absolute path on the server, as a model written
# for bumpserve may (BUMPSERVE_INPUT); the file was never uploaded.
import os

notes = open(os.path.join(os.environ["BUMPSERVE_INPUT"], "sub", "notes.txt")).read()
