# A hostile Bumps model. It is a valid small fit, but as its process
# exits (after bumps has written its store) it leaves in output/ what
# attack.json, uploaded beside it, says: links to host files and FIFOs
# under the names bumpserve reads and writes. With "fake_pickle", a
# --parallel run plants and then claims the pickling failure after which
# bumpserve runs the fit again serially. As it is imported it also
# leaves "sparse" files of "sparse_mb" each (holes: no blocks on disk) and
# "files" empty files, then waits "sleep" seconds so that the run's disk
# watch sees them.
import atexit
import json
import os
import shutil
import sys
import time

import numpy as np
from bumps.names import Curve, FitProblem

attack = json.load(open(os.path.join(os.environ["BUMPSERVE_INPUT"], "attack.json")))
out = os.environ["BUMPSERVE_OUTPUT"]


def plant(name, kind, target):
    p = os.path.join(out, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)
    if kind == "fifo":
        os.mkfifo(p)
    else:
        os.symlink(target, p)


def leave():
    for a in attack.get("plant", []):
        plant(a["name"], a["kind"], a.get("target"))


for i in range(attack.get("sparse", 0)):
    with open(os.path.join(out, "sparse-%d.bin" % i), "wb") as f:
        f.truncate(attack["sparse_mb"] << 20)
if attack.get("files"):
    os.makedirs(os.path.join(out, "many"), exist_ok=True)
for i in range(attack.get("files", 0)):
    os.close(os.open(os.path.join(out, "many", str(i)), os.O_CREAT | os.O_WRONLY, 0o644))
time.sleep(attack.get("sleep", 0))

parallel = any(a.startswith("--parallel") for a in sys.argv)
if attack.get("fake_pickle"):
    if parallel:
        leave()
        sys.stderr.write("_pickle.PicklingError: Can't pickle <function line>\n")
        sys.stderr.flush()
        os._exit(1)
else:
    atexit.register(leave)

x = np.linspace(0, 1, 11)
dy = 0.1 + 0 * x
y = 2 * x + 1 + dy * np.sin(7 * x)


def line(x, m, b):
    return m * x + b


M = Curve(line, x, y, dy, m=1, b=0)
M.m.range(0, 5)
M.b.range(-5, 5)
problem = FitProblem(M)
