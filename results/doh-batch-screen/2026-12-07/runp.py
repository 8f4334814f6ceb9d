"""cli.main with env patches: CARRY (weight_space.CARRY_EVERY), EXTRA (flags appended)."""
import os, sys
from inrzip import cli
if os.environ.get("CARRY"):
    from inrzip.nets import weight_space
    weight_space.CARRY_EVERY = int(os.environ["CARRY"])
sys.exit(cli.main(sys.argv[1:] + os.environ.get("EXTRA", "").split()))
