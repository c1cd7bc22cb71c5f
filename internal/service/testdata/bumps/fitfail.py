# Loads, then fails while fitting: the model function raises once the
# fitter has called it a few times.
from bumps.names import *

calls = [0]

def line(x, m, b):
    calls[0] += 1
    if calls[0] > 50:
        raise ValueError("model blew up during the fit")
    return m*x + b

M = Curve(line, [1, 2, 3, 4], [2, 4, 6, 8], [0.1]*4, m=1, b=0)
M.m.range(0, 5)
M.b.range(-5, 5)
problem = FitProblem(M)
