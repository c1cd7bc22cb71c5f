from bumps.names import *

raise RuntimeError("this model refuses to load")
