# Model functions in a module of their own can be pickled by bumps'
# --parallel mapper (those defined in the model script cannot).
import time

def line(x, m, b):
    return m*x + b

def slow_line(x, m, b):
    # Burns CPU so that a fit lasts long enough to watch, cancel or limit.
    end = time.process_time() + 0.002
    while time.process_time() < end:
        pass
    return m*x + b
