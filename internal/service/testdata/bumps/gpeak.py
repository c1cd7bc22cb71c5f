# A Gaussian peak on a flat background, fitted to the uploaded gpeak.txt
# (columns x y dy), read relative to the model's folder.
from bumps.names import *
import numpy as np

x, y, dy = np.loadtxt("gpeak.txt").T

def peak(x, height, center, width, background):
    return height*np.exp(-0.5*((x - center)/width)**2) + background

M = Curve(peak, x, y, dy, height=40, center=10, width=2, background=1)
M.height.range(0, 200)
M.center.range(0, 20)
M.width.range(0.1, 10)
M.background.range(0, 20)
problem = FitProblem(M)
