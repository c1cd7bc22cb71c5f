# A Gaussian peak on a flat background, for Bumps. The data file comes
# beside the model (columns x y dy); pass another file name as the model's
# first argument to fit other data: bumps peak.py other.txt
import sys

import numpy as np
from bumps.names import Curve, FitProblem

data = sys.argv[1] if len(sys.argv) > 1 else "peak.txt"
x, y, dy = np.loadtxt(data).T


def peak(x, height, center, width, background):
    return height * np.exp(-0.5 * ((x - center) / width) ** 2) + background


M = Curve(peak, x, y, dy, height=40, center=10, width=2, background=1)
M.height.range(0, 200)
M.center.range(0, 20)
M.width.range(0.1, 10)
M.background.range(0, 20)
problem = FitProblem(M)
