from bumps.names import *

x = [1, 2, 3
y = [2, 4, 6]
