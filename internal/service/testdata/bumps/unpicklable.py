from bumps.names import *
x = [1, 2, 3, 4, 5, 6]
y = [2.1, 4.0, 6.3, 8.03, 9.6, 11.9]
dy = [0.05, 0.05, 0.2, 0.05, 0.2, 0.2]
# A line whose function refers to a generator: not even dill (which bumps
# uses when installed) can pickle that, so bumps --parallel cannot
# send this model to its worker processes.
unpicklable = (i for i in range(1))
def line(x, m, b=0):
    unpicklable
    return m*x + b
M = Curve(line, x, y, dy, m=2, b=2)
M.m.range(0, 4)
M.b.range(-5, 5)
problem = FitProblem(M)
