# A straight line whose function lives in linefn.py beside the model, so
# that --parallel can send it to worker processes.
import os, sys
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from bumps.names import *
from linefn import line

M = Curve(line, [1, 2, 3, 4, 5, 6], [2.1, 4.0, 6.3, 8.03, 9.6, 11.9],
          [0.05, 0.05, 0.2, 0.05, 0.2, 0.2], m=2, b=2)
M.m.range(0, 4)
M.b.range(-5, 5)
problem = FitProblem(M)
