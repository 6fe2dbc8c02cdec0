import os
import sys

# The tools' code lives in tools/nova_tools; the executables put tools/ on the path the same way.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
