# A straight line through data given in the model itself.
from bumps.names import *

x = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
y = [1.62, 2.41, 2.83, 3.61, 4.08, 4.79, 5.22, 5.93]
dy = [0.1] * len(x)

def line(x, slope, intercept):
    return slope*x + intercept

M = Curve(line, x, y, dy, slope=1, intercept=0)
M.slope.range(-10, 10)
M.intercept.range(-10, 10)
problem = FitProblem(M)
