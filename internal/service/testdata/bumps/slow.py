# A line whose every evaluation burns about 2 ms of CPU: a fit that runs
# for as long as a test needs it to.
import os, sys
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from bumps.names import *
from linefn import slow_line

M = Curve(slow_line, [1, 2, 3, 4, 5, 6], [2.1, 4.0, 6.3, 8.03, 9.6, 11.9],
          [0.05, 0.05, 0.2, 0.05, 0.2, 0.2], m=2, b=2)
M.m.range(0, 4)
M.b.range(-5, 5)
problem = FitProblem(M)
