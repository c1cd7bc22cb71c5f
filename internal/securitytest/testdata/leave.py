# A hostile Bumps model that leaves in output/, as it is imported, what
# leave.json (uploaded beside it) says: "sparse" files of "sparse_mb" each
# (holes: no blocks on disk) and "files" empty files, then waits "sleep"
# seconds so that the run's disk watch sees them. The fit itself is valid.
import json
import os
import time

import numpy as np
from bumps.names import Curve, FitProblem

conf = json.load(open(os.path.join(os.environ["BUMPSERVE_INPUT"], "leave.json")))
out = os.environ["BUMPSERVE_OUTPUT"]

for i in range(conf.get("sparse", 0)):
    with open(os.path.join(out, "sparse-%d.bin" % i), "wb") as f:
        f.truncate(conf["sparse_mb"] << 20)
many = os.path.join(out, "many")
if conf.get("files"):
    os.makedirs(many, exist_ok=True)
for i in range(conf.get("files", 0)):
    os.close(os.open(os.path.join(many, str(i)), os.O_CREAT | os.O_WRONLY, 0o644))
time.sleep(conf.get("sleep", 0))

x = np.linspace(0, 1, 11)
dy = 0.1 + 0 * x
y = 2 * x + 1 + dy * np.sin(7 * x)


def line(x, m, b):
    return m * x + b


M = Curve(line, x, y, dy, m=1, b=0)
M.m.range(0, 5)
M.b.range(-5, 5)
problem = FitProblem(M)
