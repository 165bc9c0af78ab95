"""`python -m autograder`: the same command as `autograder`."""
import sys

from autograder.cli import main

sys.exit(main())
